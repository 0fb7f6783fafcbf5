# limma's fitFDistRobustly (the prior of eBayes(robust = TRUE)) on the variance vectors of
# make_robust_variances.py: reference outputs for tests/tl/test_fdist_robust.py. Run from the repository root:
#   Rscript tests/data/make_robust_reference.R
suppressPackageStartupMessages(library(limma))
v <- read.csv("tests/data/robust_variances.csv")
cases <- list(
  outliers = list(x = v$outliers, df1 = 4),
  mixed_df1 = list(x = v$mixed_df1, df1 = v$df1_mixed),
  sampling_only = list(x = v$sampling_only, df1 = 4),
  sampling_outliers = list(x = v$sampling_outliers, df1 = 4),
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
             paste("statmod", packageVersion("statmod"))), "tests/data/reference_versions_robust.txt")
