# Reference outputs of R DESeq2's dispersion steps (gene-wise estimates, parametric trend, prior variance, MAP and
# final dispersions), for drugprint's own dispersion-trend fit. Run from the repository root:
#     Rscript tests/data/make_trend_reference.R
# Needs Debian's r-bioc-deseq2. The tests never run R. Numbers to 10 significant digits.
#
# Cases (counts and samples already in tests/data; genes with a nonzero total over the profiles used):
#   screen       screen_myeloma_counts.csv.gz, all 23 profiles, ~ donor + drug (levels as make_designs_reference.R)
#   interaction  designs_counts.csv.gz, DMSO and 1 uM lenalidomide / mezigdomide at 6 and 24 h (24 profiles),
#                ~ donor + drug * time (9 coefficients)
#   dose         designs_counts.csv.gz, lenalidomide at 24 h (12 profiles), ~ donor + log2_dose
# Files per case:
#   trend_<case>.csv.gz        per gene: baseMean, dispGeneEst, dispFit, dispMAP, dispersion
#   trend_<case>_params.csv    asymptDisp, extraPois (the parametric trend a0 + a1 / mean), dispPriorVar, the
#                              fit type DESeq2 used
suppressPackageStartupMessages(library(DESeq2))
out <- "tests/data"
read_counts <- function(name) as.matrix(read.csv(file.path(out, name), row.names = 1, check.names = FALSE))
write_case <- function(counts, meta, design, name) {
  dds <- DESeqDataSetFromMatrix(counts[rowSums(counts) > 0, ], colData = meta, design = design)
  dds <- estimateDispersions(estimateSizeFactors(dds), quiet = TRUE)
  mc <- mcols(dds)
  genes <- data.frame(baseMean = mc$baseMean, dispGeneEst = mc$dispGeneEst, dispFit = mc$dispFit,
                      dispMAP = mc$dispMAP, dispersion = mc$dispersion, row.names = rownames(dds))
  genes[] <- lapply(genes, signif, digits = 10)
  con <- gzfile(file.path(out, paste0("trend_", name, ".csv.gz")), "w")
  write.csv(genes, con)
  close(con)
  coefs <- attr(dispersionFunction(dds), "coefficients")
  params <- data.frame(asymptDisp = signif(coefs[["asymptDisp"]], 10), extraPois = signif(coefs[["extraPois"]], 10),
                       dispPriorVar = signif(attr(dispersionFunction(dds), "dispPriorVar"), 10),
                       fitType = attr(dispersionFunction(dds), "fitType"))
  write.csv(params, file.path(out, paste0("trend_", name, "_params.csv")), row.names = FALSE)
}

counts <- read_counts("screen_myeloma_counts.csv.gz")
meta <- read.csv(file.path(out, "screen_myeloma_samples.csv"))
meta$drug <- relevel(factor(meta$drug), ref = "DMSO")
meta$donor <- factor(meta$donor)
write_case(counts, meta, ~ donor + drug, "screen")

counts <- read_counts("designs_counts.csv.gz")
meta <- read.csv(file.path(out, "designs_samples.csv"))
meta$donor <- factor(meta$donor)
sel <- meta$drug == "DMSO" | meta$dose == 1
m2 <- meta[sel, ]
m2$drug <- relevel(factor(m2$drug), ref = "DMSO")
m2$time <- factor(m2$time, levels = c(6, 24))
write_case(counts[, sel], m2, ~ donor + drug * time, "interaction")
sel <- meta$drug == "lenalidomide" & meta$time == 24
write_case(counts[, sel], meta[sel, ], ~ donor + log2_dose, "dose")

writeLines(c(R.version.string, paste("DESeq2", packageVersion("DESeq2"))), file.path(out, "reference_versions_trend.txt"))
