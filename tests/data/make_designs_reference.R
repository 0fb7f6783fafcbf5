# Reference outputs of R's DESeq2 and limma(-voom) for drugprint's study designs: likelihood-ratio and
# moderated F tests, numeric contrasts, a continuous dose and a drug × time interaction.
# Run from the repository root after `python tests/data/make_designs_counts.py`:
#     Rscript tests/data/make_designs_reference.R
# Needs Debian's r-bioc-limma, r-bioc-edger and r-bioc-deseq2. The tests never run R.
#
# Every table has genes as row names, in input order (sort.by = "none", number = Inf), values rounded to 8
# significant digits. DESeq2: `results()` defaults (alpha = 0.1, independent filtering, Cook's cutoff) on all
# genes with a nonzero total over the profiles used. voom: genes kept by edgeR's `filterByExpr(group = ...)`
# (the group named below; exactly the rows of each voom table), TMM factors (`calcNormFactors`), `voom`,
# `lmFit`, `eBayes` with defaults. Factor levels: sorted, with the reference first.
#
# Dataset A: screen_myeloma_counts.csv.gz / screen_myeloma_samples.csv, all 23 profiles, design ~ donor + drug
#   (donor D1 < D2 < D3 < D4; drug DMSO < iberdomide < lenalidomide < mezigdomide < pomalidomide < thalidomide).
#   DESeq2 genes: the 5,575 of 5,586 with a nonzero total. voom genes: filterByExpr(group = drug) (the genes of
#   edger_filterbyexpr_kept.txt).
#   designs_deseq2_lrt_drug       DESeq(test = "LRT", reduced = ~ donor): baseMean, stat, pvalue, padj,
#                                 dispersion (DESeq2's final dispersions, for every LRT table)
#   designs_deseq2_class          results(contrast = c(0,0,0,0, .5,-.5,.5,-.5,0)) over resultsNames
#                                 (Intercept, donor_D2/3/4_vs_D1, drug_iberdomide/lenalidomide/mezigdomide/
#                                 pomalidomide/thalidomide_vs_DMSO): 0.5 (iberdomide + mezigdomide) -
#                                 0.5 (lenalidomide + pomalidomide); baseMean, log2FoldChange, lfcSE, stat,
#                                 pvalue, padj
#   designs_voom_f_drug           topTable(coef = the 5 drug columns): moderated F; F, P.Value, adj.P.Val, AveExpr
#   designs_voom_class            the same class contrast through contrasts.fit: logFC, AveExpr, t, P.Value,
#                                 adj.P.Val, B
#   designs_deseq2_lrt_outliers   Cook's outlier replacement and refitting (none happen in ~ donor + drug: no
#                                 design cell has 7 profiles): design ~ imid with imid = "yes" for
#                                 thalidomide, lenalidomide, pomalidomide (12 profiles), "no" (reference) for
#                                 DMSO, iberdomide, mezigdomide (11); DESeq(test = "LRT", reduced = ~ 1);
#                                 baseMean, stat, pvalue, padj, dispersion, replace (had counts replaced;
#                                 their dispersion is the one refitted on the replaced counts). Counts with
#                                 planted outliers: of the genes with a nonzero total, every 40th (the 40th,
#                                 80th, ... in file order) gets 10 × its maximum + 20 in profile D1_thalidomide;
#                                 the 11 all-zero genes get 50 in D2_lenalidomide (all zero again after
#                                 replacement). Genes: the 5,586 with a nonzero total after planting.
# Dataset A4: all_expr.csv.gz / all_samples.csv (1,000 ALL probes, log2), design ~ sex + group, group NEG <
#   BCR.ABL < ALL1.AF4 (make.names of mol_biol), sex F < M; limma lmFit + eBayes.
#   designs_limma_all_f           topTable(coef = c("groupBCR.ABL", "groupALL1.AF4")): F, P.Value, adj.P.Val,
#                                 AveExpr
# Dataset B: designs_counts.csv.gz / designs_samples.csv (2,500 genes × 56 profiles: donors D1-D4, DMSO at 6
#   and 24 h, lenalidomide and mezigdomide at 0.1, 1 and 10 uM at 6 and 24 h).
#   B1, dose: lenalidomide at 24 h (12 profiles: 4 donors × 3 doses), design ~ donor + log2_dose (log2_dose
#   numeric). DESeq2 genes: nonzero total over these 12 profiles. voom genes: filterByExpr(group = dose).
#   designs_deseq2_dose           results(name = "log2_dose"): baseMean, log2FoldChange, lfcSE, stat, pvalue, padj
#   designs_voom_dose             topTable(coef = "log2_dose"): logFC, AveExpr, t, P.Value, adj.P.Val, B
#   B2, interaction: DMSO, lenalidomide at 1 uM and mezigdomide at 1 uM, 6 and 24 h (24 profiles), design
#   ~ donor + drug * time (drug DMSO < lenalidomide < mezigdomide; time a factor, 6 < 24). DESeq2 genes:
#   nonzero total over these 24 profiles. voom genes: filterByExpr(group = drug:time, 6 groups of 4).
#   designs_deseq2_interaction    results(name = "druglenalidomide.time24") (model.matrix column
#                                 "druglenalidomide:time24"): baseMean, log2FoldChange, lfcSE, stat, pvalue, padj
#   designs_voom_interaction      topTable(coef = "druglenalidomide:time24"): logFC, AveExpr, t, P.Value,
#                                 adj.P.Val, B
#   designs_deseq2_lrt_interaction  DESeq(test = "LRT", reduced = ~ donor + drug + time): baseMean, stat,
#                                 pvalue, padj, dispersion
suppressPackageStartupMessages({library(limma); library(edgeR); library(DESeq2)})
out <- "tests/data"
wcsv <- function(x, name) {  # gzip-compressed CSV, numbers to 8 significant digits
  x <- as.data.frame(x)
  num <- vapply(x, is.numeric, logical(1))
  x[num] <- lapply(x[num], signif, digits = 8)
  con <- gzfile(file.path(out, paste0(name, ".csv.gz")), "w")
  write.csv(x, con)
  close(con)
}
deseq_cols <- c("baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj")
lrt_table <- function(dds) {  # results() of an LRT, with the dispersions (to test the LRT on R's own)
  cbind(as.data.frame(results(dds)[, c("baseMean", "stat", "pvalue", "padj")]), dispersion = dispersions(dds))
}
voom_fit <- function(counts, group, design) {  # filterByExpr genes, TMM, voom, lmFit
  y <- counts[filterByExpr(counts, group = group), ]
  lmFit(voom(calcNormFactors(DGEList(y)), design), design)
}
read_counts <- function(name) as.matrix(read.csv(file.path(out, name), row.names = 1, check.names = FALSE))

## A. The screen's myeloma pseudobulk, ~ donor + drug.
counts <- read_counts("screen_myeloma_counts.csv.gz")
meta <- read.csv(file.path(out, "screen_myeloma_samples.csv"))
meta$drug <- relevel(factor(meta$drug), ref = "DMSO")
meta$donor <- factor(meta$donor)
stopifnot(identical(colnames(counts), meta$sample))
nz <- counts[rowSums(counts) > 0, ]

dds <- DESeq(DESeqDataSetFromMatrix(nz, colData = meta, design = ~ donor + drug), test = "LRT",
             reduced = ~ donor, quiet = TRUE)
wcsv(lrt_table(dds), "designs_deseq2_lrt_drug")

dds <- DESeq(DESeqDataSetFromMatrix(nz, colData = meta, design = ~ donor + drug), quiet = TRUE)
class_weights <- c(drug_iberdomide_vs_DMSO = 0.5, drug_mezigdomide_vs_DMSO = 0.5,
                   drug_lenalidomide_vs_DMSO = -0.5, drug_pomalidomide_vs_DMSO = -0.5)
class_vec <- setNames(numeric(length(resultsNames(dds))), resultsNames(dds))
class_vec[names(class_weights)] <- class_weights
wcsv(results(dds, contrast = unname(class_vec))[, deseq_cols], "designs_deseq2_class")

design <- model.matrix(~ donor + drug, data = meta)
vfit <- voom_fit(counts, meta$drug, design)
drug_cols <- grep("^drug", colnames(design), value = TRUE)
wcsv(topTable(eBayes(vfit), coef = drug_cols, number = Inf, sort.by = "none")[, c("F", "P.Value", "adj.P.Val", "AveExpr")],
     "designs_voom_f_drug")
cm <- matrix(0, ncol(design), 1, dimnames = list(colnames(design), "class"))
cm[c("drugiberdomide", "drugmezigdomide", "druglenalidomide", "drugpomalidomide"), 1] <- c(0.5, 0.5, -0.5, -0.5)
wcsv(topTable(eBayes(contrasts.fit(vfit, cm)), coef = 1, number = Inf, sort.by = "none"), "designs_voom_class")

meta$imid <- factor(ifelse(meta$drug %in% c("thalidomide", "lenalidomide", "pomalidomide"), "yes", "no"))
planted <- counts
every40 <- which(rowSums(counts) > 0)[seq(40, sum(rowSums(counts) > 0), by = 40)]
planted[every40, "D1_thalidomide"] <- 10L * apply(counts[every40, , drop = FALSE], 1, max) + 20L
planted[rowSums(counts) == 0, "D2_lenalidomide"] <- 50L
dds <- DESeq(DESeqDataSetFromMatrix(planted[rowSums(planted) > 0, ], colData = meta, design = ~ imid), test = "LRT",
             reduced = ~ 1, quiet = TRUE)
wcsv(cbind(lrt_table(dds), replace = mcols(dds)$replace), "designs_deseq2_lrt_outliers")
n_replaced <- sum(mcols(dds)$replace)

## A4. limma on the ALL microarray probes, ~ sex + group.
expr <- read_counts("all_expr.csv.gz")
samples <- read.csv(file.path(out, "all_samples.csv"), colClasses = "character")
stopifnot(identical(colnames(expr), samples$sample))
group <- factor(make.names(samples$mol_biol), levels = c("NEG", "BCR.ABL", "ALL1.AF4"))
sex <- factor(samples$sex)
eb <- eBayes(lmFit(expr, model.matrix(~ sex + group)))
wcsv(topTable(eb, coef = c("groupBCR.ABL", "groupALL1.AF4"), number = Inf, sort.by = "none")[, c("F", "P.Value", "adj.P.Val", "AveExpr")],
     "designs_limma_all_f")

## B. Dose and time (simulated, tests/data/make_designs_counts.py).
counts <- read_counts("designs_counts.csv.gz")
meta <- read.csv(file.path(out, "designs_samples.csv"))
stopifnot(identical(colnames(counts), meta$sample))
meta$donor <- factor(meta$donor)

# B1. Continuous dose: lenalidomide at 24 h, ~ donor + log2_dose.
sel <- meta$drug == "lenalidomide" & meta$time == 24
m1 <- meta[sel, ]
c1 <- counts[, sel]
dds <- DESeq(DESeqDataSetFromMatrix(c1[rowSums(c1) > 0, ], colData = m1, design = ~ donor + log2_dose), quiet = TRUE)
wcsv(results(dds, name = "log2_dose")[, deseq_cols], "designs_deseq2_dose")
design <- model.matrix(~ donor + log2_dose, data = m1)
wcsv(topTable(eBayes(voom_fit(c1, factor(m1$dose), design)), coef = "log2_dose", number = Inf, sort.by = "none"),
     "designs_voom_dose")
dose_genes <- c(deseq2 = sum(rowSums(c1) > 0), voom = sum(filterByExpr(c1, group = factor(m1$dose))))

# B2. Interaction: DMSO, lenalidomide and mezigdomide at 1 uM, 6 and 24 h, ~ donor + drug * time.
sel <- meta$drug == "DMSO" | meta$dose == 1
m2 <- meta[sel, ]
c2 <- counts[, sel]
m2$drug <- relevel(factor(m2$drug), ref = "DMSO")
m2$time <- factor(m2$time, levels = c(6, 24))
dds <- DESeq(DESeqDataSetFromMatrix(c2[rowSums(c2) > 0, ], colData = m2, design = ~ donor + drug * time), quiet = TRUE)
interaction_name <- "druglenalidomide.time24"
stopifnot(interaction_name %in% resultsNames(dds))
wcsv(results(dds, name = interaction_name)[, deseq_cols], "designs_deseq2_interaction")
design <- model.matrix(~ donor + drug * time, data = m2)
interaction_coef <- "druglenalidomide:time24"
wcsv(topTable(eBayes(voom_fit(c2, interaction(m2$drug, m2$time), design)), coef = interaction_coef, number = Inf,
              sort.by = "none"), "designs_voom_interaction")
dds <- DESeq(DESeqDataSetFromMatrix(c2[rowSums(c2) > 0, ], colData = m2, design = ~ donor + drug * time),
             test = "LRT", reduced = ~ donor + drug + time, quiet = TRUE)
wcsv(lrt_table(dds), "designs_deseq2_lrt_interaction")
interaction_genes <- c(deseq2 = sum(rowSums(c2) > 0), voom = sum(filterByExpr(c2, group = interaction(m2$drug, m2$time))))

versions <- c(R = R.version.string, limma = as.character(packageVersion("limma")),
              edgeR = as.character(packageVersion("edgeR")), DESeq2 = as.character(packageVersion("DESeq2")),
              `A class contrast (DESeq2 resultsNames)` = paste(sprintf("%s=%g", names(class_vec), class_vec), collapse = ", "),
              `A outliers: genes with counts replaced` = n_replaced,
              `B1 coefficient (DESeq2 / limma)` = "log2_dose / log2_dose",
              `B1 genes (DESeq2 / voom)` = paste(dose_genes, collapse = " / "),
              `B2 coefficient (DESeq2 / limma)` = paste(interaction_name, "/", interaction_coef),
              `B2 DESeq2 resultsNames` = paste(resultsNames(dds), collapse = ", "),
              `B2 genes (DESeq2 / voom)` = paste(interaction_genes, collapse = " / "))
writeLines(paste(names(versions), versions, sep = ": "), file.path(out, "reference_versions_designs.txt"))
