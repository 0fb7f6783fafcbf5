# Reference outputs of R's limma, edgeR and DESeq2 for drugprint's tests.
# Run from the repository root after `python tests/data/make_counts.py`:
#     Rscript tests/data/make_reference.R
# Needs Debian's r-bioc-limma, r-bioc-edger, r-bioc-deseq2 and r-bioc-all. The tests never run R.
suppressPackageStartupMessages({library(limma); library(edgeR); library(DESeq2); library(ALL)})
out <- "tests/data"
wcsv <- function(x, name, ...) {  # gzip-compressed CSV
  con <- gzfile(file.path(out, paste0(name, ".csv.gz")), "w")
  write.csv(x, con, ...)
  close(con)
}
versions <- c(R = R.version.string, limma = as.character(packageVersion("limma")),
              edgeR = as.character(packageVersion("edgeR")), DESeq2 = as.character(packageVersion("DESeq2")),
              ALL = as.character(packageVersion("ALL")))
writeLines(paste(names(versions), versions, sep = ": "), file.path(out, "reference_versions.txt"))

## 1. limma on a real microarray dataset: ALL (Chiaretti et al. 2004), B-lineage, three molecular
##    subtypes, sex as a covariate; the 1,000 most variable probes, values rounded to 5 decimals.
data(ALL)
sel <- grepl("^B", ALL$BT) & ALL$mol.biol %in% c("NEG", "BCR/ABL", "ALL1/AF4") & !is.na(ALL$sex)
eset <- ALL[, sel]
expr <- exprs(eset)
expr <- round(expr[order(-apply(expr, 1, var))[1:1000], ], 5)
samples <- data.frame(sample = colnames(expr), mol_biol = eset$mol.biol, sex = as.character(eset$sex))
write.csv(samples, file.path(out, "all_samples.csv"), row.names = FALSE)
wcsv(expr, "all_expr", quote = FALSE)
group <- factor(make.names(samples$mol_biol), levels = c("NEG", "BCR.ABL", "ALL1.AF4"))
sex <- factor(samples$sex)
design <- model.matrix(~ sex + group)
fit <- lmFit(expr, design)
eb <- eBayes(fit)
tt <- topTable(eb, coef = "groupBCR.ABL", number = Inf, sort.by = "none")
wcsv(tt, "limma_all_bcrabl_vs_neg")
cm <- matrix(c(0, 0, 1, -1), ncol = 1, dimnames = list(colnames(design), "BCR.ABL-ALL1.AF4"))
tt2 <- topTable(eBayes(contrasts.fit(fit, cm)), coef = 1, number = Inf, sort.by = "none")
wcsv(tt2, "limma_all_bcrabl_vs_all1af4")

## 2. Counts: the simulated screen's myeloma pseudobulk (donor + drug).
counts <- as.matrix(read.csv(file.path(out, "screen_myeloma_counts.csv.gz"), row.names = 1, check.names = FALSE))
meta <- read.csv(file.path(out, "screen_myeloma_samples.csv"))
meta$drug <- relevel(factor(meta$drug), ref = "DMSO")
meta$donor <- factor(meta$donor)
keep <- filterByExpr(counts, group = meta$drug)
writeLines(rownames(counts)[keep], file.path(out, "edger_filterbyexpr_kept.txt"))
y <- counts[keep, ]
design <- model.matrix(~ donor + drug, data = meta)

# edgeR TMM factors and limma-voom
dge <- calcNormFactors(DGEList(y))
write.csv(data.frame(sample = colnames(y), norm_factor = dge$samples$norm.factors),
          file.path(out, "edger_tmm_factors.csv"), row.names = FALSE)
v <- voom(dge, design)
vfit <- lmFit(v, design)
wcsv(topTable(eBayes(vfit), coef = "drugmezigdomide", number = Inf, sort.by = "none"), "voom_mezigdomide_vs_dmso")
cm <- makeContrasts(drugpomalidomide - druglenalidomide, levels = make.names(colnames(design)))
colnames(vfit$coefficients) <- rownames(cm)
wcsv(topTable(eBayes(contrasts.fit(vfit, cm)), coef = 1, number = Inf, sort.by = "none"),
     "voom_pomalidomide_vs_lenalidomide")

# DESeq2 on the same genes and design
dds <- DESeqDataSetFromMatrix(y, colData = meta, design = ~ donor + drug)
dds <- DESeq(dds, quiet = TRUE)
for (drug in c("lenalidomide", "mezigdomide")) {
  res <- results(dds, contrast = c("drug", drug, "DMSO"))
  wcsv(as.data.frame(res), sprintf("deseq2_%s_vs_dmso", drug))
}
