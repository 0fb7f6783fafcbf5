# Reference outputs of R limma's duplicateCorrelation and blocked (GLS) lmFit, alone and in the
# voom–duplicateCorrelation–voom–duplicateCorrelation workflow, for drugprint's tl/_dupcor.py.
# Run from the repository root after `python tests/data/make_repeated_counts.py`:
#     Rscript tests/data/make_dupcor_reference.R
# Needs Debian's r-bioc-limma, r-bioc-edger and r-cran-statmod (duplicateCorrelation). The tests never run R.
suppressPackageStartupMessages({library(limma); library(edgeR)})
out <- "tests/data"
wcsv <- function(x, name, digits = 9) {  # gzip-compressed CSV, numbers to `digits` significant digits
  num <- vapply(x, is.numeric, TRUE)
  x[num] <- lapply(x[num], signif, digits = digits)
  con <- gzfile(file.path(out, paste0(name, ".csv.gz")), "w")
  write.csv(x, con, row.names = TRUE)
  close(con)
}
writeLines(sprintf("%s, limma %s, edgeR %s, statmod %s", R.version.string, packageVersion("limma"),
                   packageVersion("edgeR"), packageVersion("statmod")),
           file.path(out, "reference_versions_dupcor.txt"))

## 1. Counts, repeated measures: 8 patients sampled before and after treatment in two arms (simulated
##    myeloma pseudobulk), voom with the patient as a blocking factor, limma's recommended two rounds.
counts <- as.matrix(read.csv(file.path(out, "repeated_counts.csv.gz"), row.names = 1, check.names = FALSE))
meta <- read.csv(file.path(out, "repeated_samples.csv"))
stopifnot(identical(colnames(counts), meta$sample))
meta$arm <- factor(meta$arm, levels = c("A", "B"))
meta$time <- factor(meta$time, levels = c("pre", "post"))
keep <- filterByExpr(counts, group = paste(meta$arm, meta$time))
dge <- calcNormFactors(DGEList(counts[keep, ]))
design <- model.matrix(~ arm * time, data = meta)
v <- voom(dge, design)
c1 <- duplicateCorrelation(v, design, block = meta$patient)
v <- voom(dge, design, block = meta$patient, correlation = c1$consensus.correlation)
c2 <- duplicateCorrelation(v, design, block = meta$patient)
wcsv(data.frame(round = c("first", "final"), consensus = c(c1$consensus.correlation, c2$consensus.correlation)),
     "dupcor_voom_consensus", digits = 15)
wcsv(data.frame(first = c1$atanh.correlations, final = c2$atanh.correlations, row.names = rownames(v)),
     "dupcor_voom_atanh")
fit <- eBayes(lmFit(v, design, block = meta$patient, correlation = c2$consensus.correlation))
wcsv(topTable(fit, coef = "armB:timepost", number = Inf, sort.by = "none"), "dupcor_voom_interaction")
wcsv(topTable(fit, coef = "timepost", number = Inf, sort.by = "none"), "dupcor_voom_timepost")

## 2. Log-scale values without weights: the ALL probes of make_reference.R (`~ sex + mol_biol`) with a
##    SYNTHETIC block -- consecutive pairs of samples within each mol_biol group, in file order (an odd
##    group's last sample is a block of its own) -- and a few missing values planted at random.
expr <- as.matrix(read.csv(file.path(out, "all_expr.csv.gz"), row.names = 1, check.names = FALSE))
samples <- read.csv(file.path(out, "all_samples.csv"), colClasses = "character")
stopifnot(identical(colnames(expr), samples$sample))
pair <- ave(seq_along(samples$mol_biol), samples$mol_biol, FUN = function(i) ceiling(seq_along(i) / 2))
block <- paste(samples$mol_biol, pair)
write.csv(data.frame(sample = samples$sample, block = block), file.path(out, "dupcor_limma_all_blocks.csv"),
          row.names = FALSE)
set.seed(1)
na <- do.call(rbind, lapply(list(c(2, 1), c(7, 3), c(50, 10), c(901, 82)), function(k)
  data.frame(probe = rownames(expr)[k[1]], sample = sample(colnames(expr), k[2]))))
blk <- samples$sample[block == block[5]]  # a whole block missing in probe 300
na <- rbind(na, data.frame(probe = rownames(expr)[300], sample = blk))
write.csv(na, file.path(out, "dupcor_limma_all_na.csv"), row.names = FALSE)
expr[cbind(match(na$probe, rownames(expr)), match(na$sample, colnames(expr)))] <- NA
group <- factor(make.names(samples$mol_biol), levels = c("NEG", "BCR.ABL", "ALL1.AF4"))
design <- model.matrix(~ factor(samples$sex) + group)
dc <- duplicateCorrelation(expr, design, block = block)
wcsv(data.frame(consensus = dc$consensus.correlation), "dupcor_limma_all_consensus", digits = 15)
wcsv(data.frame(atanh = dc$atanh.correlations, row.names = rownames(expr)), "dupcor_limma_all_atanh")
fit <- eBayes(lmFit(expr, design, block = block, correlation = dc$consensus.correlation))
wcsv(topTable(fit, coef = "groupBCR.ABL", number = Inf, sort.by = "none"), "dupcor_limma_all_bcrabl_vs_neg")
