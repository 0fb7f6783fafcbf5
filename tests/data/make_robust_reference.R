# limma's fitFDistRobustly (the prior of eBayes(robust = TRUE)) on the variance vectors of
# make_robust_variances.py, and eBayes(robust = TRUE) after voom and limma: reference outputs for
# tests/tl/test_fdist_robust.py. Run from the repository root:
#   Rscript tests/data/make_robust_reference.R
suppressPackageStartupMessages({library(limma); library(edgeR)})
v <- read.csv("tests/data/robust_variances.csv")
cases <- list(
  outliers = list(x = v$outliers, df1 = 4),
  mixed_df1 = list(x = v$mixed_df1, df1 = v$df1_mixed),
  sampling_only = list(x = v$sampling_only, df1 = 4),
  sampling_outliers = list(x = v$sampling_outliers, df1 = 4),
  sampling_mixed_df1 = list(x = v$sampling_mixed_df1, df1 = v$df1_mixed),
  few = list(x = v$few[!is.na(v$few)], df1 = 4)
)
out <- list()
for (name in names(cases)) {
  fit <- fitFDistRobustly(cases[[name]]$x, df1 = cases[[name]]$df1)
  out[[name]] <- data.frame(case = name, i = seq_along(cases[[name]]$x), scale = fit$scale, df2 = fit$df2,
                            df2_shrunk = fit$df2.shrunk)
}
write.csv(do.call(rbind, out), "tests/data/robust_fdist.csv", row.names = FALSE)
writeLines(c(paste("R", getRversion()), paste("limma", packageVersion("limma")),
             paste("statmod", packageVersion("statmod")), paste("edgeR", packageVersion("edgeR"))),
           "tests/data/reference_versions_robust.txt")

# limma-voom with eBayes(robust = TRUE) on the screen's myeloma pseudobulk (as make_reference.R's voom), and
# limma with robust = TRUE on the ALL probes
wcsv <- function(x, name) {
  con <- gzfile(file.path("tests/data", paste0(name, ".csv.gz")), "w")
  write.csv(x, con)
  close(con)
}
counts <- as.matrix(read.csv("tests/data/screen_myeloma_counts.csv.gz", row.names = 1, check.names = FALSE))
meta <- read.csv("tests/data/screen_myeloma_samples.csv")
meta$drug <- relevel(factor(meta$drug), ref = "DMSO")
meta$donor <- factor(meta$donor)
y <- counts[filterByExpr(counts, group = meta$drug), ]
design <- model.matrix(~ donor + drug, data = meta)
eb <- eBayes(lmFit(voom(calcNormFactors(DGEList(y)), design), design), robust = TRUE)
wcsv(cbind(topTable(eb, coef = "drugmezigdomide", number = Inf, sort.by = "none"), df_prior = eb$df.prior),
     "voom_robust_mezigdomide_vs_dmso")
expr <- as.matrix(read.csv("tests/data/all_expr.csv.gz", row.names = 1, check.names = FALSE))
samples <- read.csv("tests/data/all_samples.csv")
group <- factor(make.names(samples$mol_biol), levels = c("NEG", "BCR.ABL", "ALL1.AF4"))
eb <- eBayes(lmFit(expr, model.matrix(~ factor(samples$sex) + group)), robust = TRUE)
wcsv(cbind(topTable(eb, coef = "groupBCR.ABL", number = Inf, sort.by = "none"), df_prior = eb$df.prior),
     "limma_robust_all_bcrabl_vs_neg")
