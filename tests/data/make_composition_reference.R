# propeller's test, done with limma on the transformed proportions (Phipson et al. 2022): reference outputs
# for tests/tl/test_composition.py. Run from the repository root after make_composition_counts.py:
#   Rscript tests/data/make_composition_reference.R
suppressPackageStartupMessages(library(limma))
tab <- read.csv("tests/data/composition_counts.csv", check.names = FALSE)
types <- setdiff(colnames(tab), c("sample", "donor", "drug"))
counts <- as.matrix(tab[, types])
rownames(counts) <- tab$sample
# speckle::getTransformedProps: logit of (n + 0.5) / rowSums(n + 0.5); asin(sqrt(n / rowSums(n)))
pseudo <- (counts + 0.5) / rowSums(counts + 0.5)
trans <- list(logit = log(pseudo / (1 - pseudo)), asin = asin(sqrt(counts / rowSums(counts))))
drug <- relevel(factor(tab$drug), ref = "DMSO")
donor <- factor(tab$donor)
design <- model.matrix(~ donor + drug)
out <- list()
for (tr in names(trans)) {
  fit <- lmFit(t(trans[[tr]]), design)
  for (d in c("lenalidomide", "mezigdomide")) {
    eb <- eBayes(fit, robust = FALSE, trend = FALSE)
    tt <- topTable(eb, coef = paste0("drug", d), number = Inf, sort.by = "none", confint = 0.95)
    out[[length(out) + 1]] <- data.frame(transform = tr, condition = d, cell_type = rownames(tt), diff = tt$logFC,
                                         lo = tt$CI.L, hi = tt$CI.R,
                                         stat = tt$t, pvalue = tt$P.Value, padj = tt$adj.P.Val)
  }
}
write.csv(do.call(rbind, out), "tests/data/composition_limma.csv", row.names = FALSE)

# 24 clusters, logit: eBayes with and without robust = TRUE (propeller's default), prior df per cluster
tab <- read.csv("tests/data/composition_counts_many.csv", check.names = FALSE)
types <- setdiff(colnames(tab), c("sample", "donor", "drug"))
counts <- as.matrix(tab[, types])
pseudo <- (counts + 0.5) / rowSums(counts + 0.5)
design <- model.matrix(~ factor(tab$donor) + relevel(factor(tab$drug), ref = "DMSO"))
fit <- lmFit(t(log(pseudo / (1 - pseudo))), design)
out <- list()
for (robust in c(FALSE, TRUE)) {
  eb <- eBayes(fit, robust = robust)
  tt <- topTable(eb, coef = ncol(design), number = Inf, sort.by = "none", confint = 0.95)
  out[[length(out) + 1]] <- data.frame(robust = robust, cell_type = rownames(tt), diff = tt$logFC, lo = tt$CI.L,
                                       hi = tt$CI.R, stat = tt$t, pvalue = tt$P.Value, padj = tt$adj.P.Val,
                                       df_prior = eb$df.prior)
}
write.csv(do.call(rbind, out), "tests/data/composition_limma_many.csv", row.names = FALSE)
writeLines(c(paste("R", getRversion()), paste("limma", packageVersion("limma"))),
           "tests/data/reference_versions_composition.txt")
