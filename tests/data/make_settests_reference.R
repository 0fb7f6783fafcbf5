# Reference outputs of R limma's camera and fry, and of set activities tested with lmFit/eBayes, for
# drugprint's replicate-level pathway tests. Run from the repository root:
#     Rscript tests/data/make_settests_reference.R
# Needs Debian's r-bioc-limma, r-bioc-edger and r-cran-statmod (fry). The tests never run R.
suppressPackageStartupMessages({library(limma); library(edgeR)})
out <- "tests/data"
wcsv <- function(x, name) {
  con <- gzfile(file.path(out, paste0(name, ".csv.gz")), "w")
  write.csv(x, con, row.names = TRUE)
  close(con)
}
gmt <- strsplit(readLines("data/h.all.v2023.1.Hs.symbols.gmt"), "\t")
hallmark <- setNames(lapply(gmt, function(x) x[-(1:2)]), sapply(gmt, `[`, 1))

## 1. Precision-weighted: voom on the simulated screen's myeloma pseudobulk (donor + drug), Hallmark sets.
counts <- as.matrix(read.csv(file.path(out, "screen_myeloma_counts.csv.gz"), row.names = 1, check.names = FALSE))
meta <- read.csv(file.path(out, "screen_myeloma_samples.csv"))
meta$drug <- relevel(factor(meta$drug), ref = "DMSO")
meta$donor <- factor(meta$donor)
y <- counts[filterByExpr(counts, group = meta$drug), ]
design <- model.matrix(~ donor + drug, data = meta)
v <- voom(calcNormFactors(DGEList(y)), design)
index <- ids2indices(hallmark, rownames(v))
index <- index[lengths(index) >= 5]
contrasts <- list(
  mezigdomide_vs_dmso = as.numeric(colnames(design) == "drugmezigdomide"),
  pomalidomide_vs_lenalidomide = as.numeric(colnames(design) == "drugpomalidomide") -
    as.numeric(colnames(design) == "druglenalidomide")
)
for (nm in names(contrasts)) {
  con <- contrasts[[nm]]
  est <- camera(v, index, design, contrast = con, inter.gene.cor = NA, sort = FALSE)
  fixed <- camera(v, index, design, contrast = con, inter.gene.cor = 0.01, sort = FALSE)
  fr <- fry(v, index, design, contrast = con, sort = "none")
  wcsv(data.frame(NGenes = est$NGenes, Correlation = est$Correlation, Direction = est$Direction,
                  PValue = est$PValue, PValue_fixed = fixed$PValue, Direction_fixed = fixed$Direction,
                  fry_Direction = fr$Direction, fry_PValue = fr$PValue, fry_PValue_Mixed = fr$PValue.Mixed,
                  row.names = names(index)),
       paste0("settests_voom_", nm))
}
# set activities: mean of the centred log-CPM of each set's genes, tested like genes
centred <- v$E - rowMeans(v$E)
act <- t(sapply(index, function(i) colMeans(centred[i, , drop = FALSE])))
afit <- eBayes(contrasts.fit(lmFit(act, design), cbind(contrasts$mezigdomide_vs_dmso,
                                                         contrasts$pomalidomide_vs_lenalidomide)))
for (k in 1:2) {
  wcsv(data.frame(logFC = afit$coefficients[, k], SE = afit$stdev.unscaled[, k] * sqrt(afit$s2.post),
                  t = afit$t[, k], P.Value = afit$p.value[, k], df = afit$df.total, row.names = rownames(act)),
       paste0("settests_activity_", names(contrasts)[k]))
}
# signed net weights in fry: PROGENy (top 100 genes per pathway)
prog <- read.csv("data/progeny_human_top500.csv")
prog <- do.call(rbind, lapply(split(prog, prog$pathway), function(d) head(d[order(d$p.value), ], 100)))
windex <- lapply(split(prog, prog$pathway), function(d) {
  d <- d[d$gene %in% rownames(v), ]
  data.frame(gene = d$gene, weight = d$weight)
})
windex <- windex[sapply(windex, nrow) >= 5]
fw <- fry(v, windex, design, contrast = contrasts$mezigdomide_vs_dmso, sort = "none")
wcsv(data.frame(NGenes = fw$NGenes, Direction = fw$Direction, PValue = fw$PValue, PValue_Mixed = fw$PValue.Mixed,
                row.names = names(windex)), "settests_fry_progeny_mezigdomide_vs_dmso")

## 2. Unweighted: the ALL microarray probes (~ sex + group), 20 random probe sets of 5 to 60 probes.
expr <- as.matrix(read.csv(gzfile(file.path(out, "all_expr.csv.gz")), row.names = 1, check.names = FALSE))
samples <- read.csv(file.path(out, "all_samples.csv"))
group <- factor(make.names(samples$mol_biol), levels = c("NEG", "BCR.ABL", "ALL1.AF4"))
design2 <- model.matrix(~ factor(samples$sex) + group)
set.seed(1)
sets2 <- setNames(lapply(1:20, function(i) sort(sample(nrow(expr), sample(5:60, 1)))), sprintf("set%02d", 1:20))
con2 <- c(0, 0, 1, -1)
est2 <- camera(expr, sets2, design2, contrast = con2, inter.gene.cor = NA, sort = FALSE)
fr2 <- fry(expr, sets2, design2, contrast = con2, sort = "none")
wcsv(data.frame(members = sapply(sets2, function(i) paste(i - 1, collapse = " ")), NGenes = est2$NGenes,
                Correlation = est2$Correlation, Direction = est2$Direction, PValue = est2$PValue,
                fry_Direction = fr2$Direction, fry_PValue = fr2$PValue, fry_PValue_Mixed = fr2$PValue.Mixed,
                row.names = names(sets2)),
     "settests_all_bcrabl_vs_all1af4")
cat(sprintf("limma %s, edgeR %s, statmod %s\n", packageVersion("limma"), packageVersion("edgeR"),
            packageVersion("statmod")), file = file.path(out, "reference_versions_settests.txt"))
