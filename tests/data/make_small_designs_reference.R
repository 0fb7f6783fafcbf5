# R DESeq2 on small designs (1, 2, 3 and 4+ residual degrees of freedom, paired and unpaired), for drugprint's
# DESeq2 engine. Run from the repository root, after `python tests/data/make_small_designs_counts.py --kang DIR`:
#     Rscript tests/data/make_small_designs_reference.R DIR
# (DIR: where that script wrote Kang's pseudobulk counts; without it, the Kang cases are skipped.) Needs Debian's
# r-bioc-deseq2. The tests never run R. DESeq() with its defaults and no pre-filter (every gene given, all-zero
# ones included), results(contrast = c(condition, treated, control), alpha = 0.05).
#
# Cases:
#   sim_paired_<n>    small_designs_counts.csv.gz, donors D1..Dn, control and drug, ~ donor + condition
#                     (n = 2, 3, 4, 6: 1, 2, 3, 5 residual df)
#   sim_unpaired_<n>  control of D1..Dn, drug of D(n+1)..D(2n), ~ condition (n = 2, 3, 4: 2, 4, 6 residual df;
#                     with 4 per arm, Cook's distances filter outliers)
#   kang_<cell type>  Kang et al. 2018 IFN-beta PBMCs (muscat's example data, GPL-3), pseudobulk of one cell type,
#                     2 donors, ~ donor + group_id (1 residual df)
# With 3 residual df or fewer, DESeq2's prior variance is found by a simulation under set.seed(2): each such case is
# also run under seeds 1..20 (estimateDispersionsPriorVar with the seed replaced), to show R's own spread.
# Files:
#   small_designs_deseq2.csv.gz   case, gene and R's seed-2 results: baseMean, log2FoldChange, lfcSE, pvalue, padj,
#                                 dispGeneEst, dispGeneIter, dispFit, dispersion (8 significant digits)
#   small_designs_params.csv      case, residual df, fit type, dispPriorVar, varLogDispEsts, filterThreshold, calls
#   small_designs_seeds.csv       case, seed, dispPriorVar, calls at padj < 0.05, Jaccard of the calls with seed 2's
suppressPackageStartupMessages(library(DESeq2))
args <- commandArgs(TRUE)
kang_dir <- if (length(args) >= 1) args[1] else NA
out <- "tests/data"
orig_prior_var <- DESeq2:::estimateDispersionsPriorVar
prior_var_body <- paste(deparse(body(orig_prior_var)), collapse = "\n")
stopifnot(grepl("set.seed(2)", prior_var_body, fixed = TRUE))

with_seed <- function(seed) {
  f <- orig_prior_var
  body(f) <- parse(text = sub("set.seed(2)", sprintf("set.seed(%d)", seed), prior_var_body, fixed = TRUE))[[1]]
  assignInNamespace("estimateDispersionsPriorVar", f, "DESeq2")
}

fit <- function(counts, meta, design, cond, ref, trt, seed = 2L) {
  with_seed(seed)
  on.exit(assignInNamespace("estimateDispersionsPriorVar", orig_prior_var, "DESeq2"))
  dds <- DESeqDataSetFromMatrix(counts[, rownames(meta)], meta, design)
  dds <- suppressMessages(DESeq(dds, quiet = TRUE))
  list(dds = dds, res = results(dds, contrast = c(cond, trt, ref), alpha = 0.05))
}

genes <- list(); params <- list(); seeds <- list()
run_case <- function(name, counts, meta, design, cond, ref, trt) {
  for (v in colnames(meta)) meta[[v]] <- factor(meta[[v]])
  meta[[cond]] <- relevel(meta[[cond]], ref)
  f2 <- fit(counts, meta, design, cond, ref, trt)
  mc <- mcols(f2$dds); res <- f2$res
  g <- data.frame(case = name, gene = rownames(res), baseMean = res$baseMean, log2FoldChange = res$log2FoldChange,
                  lfcSE = res$lfcSE, pvalue = res$pvalue, padj = res$padj, dispGeneEst = mc$dispGeneEst,
                  dispGeneIter = mc$dispGeneIter, dispFit = mc$dispFit, dispersion = mc$dispersion)
  num <- sapply(g, is.numeric); g[num] <- lapply(g[num], signif, digits = 8)
  genes[[name]] <<- g
  mm <- model.matrix(design, meta)
  df <- nrow(mm) - ncol(mm)
  calls2 <- rownames(res)[which(res$padj < 0.05)]
  fn <- dispersionFunction(f2$dds)
  params[[name]] <<- data.frame(case = name, residual_df = df, fit_type = attr(fn, "fitType"),
                                dispPriorVar = signif(attr(fn, "dispPriorVar"), 10),
                                varLogDispEsts = signif(attr(fn, "varLogDispEsts"), 10),
                                filterThreshold = signif(unname(metadata(res)$filterThreshold), 10),
                                calls = length(calls2))
  if (df <= 3) {
    for (s in 1:20) {
      fs <- if (s == 2) f2 else fit(counts, meta, design, cond, ref, trt, s)
      calls <- rownames(fs$res)[which(fs$res$padj < 0.05)]
      seeds[[paste(name, s)]] <<- data.frame(
        case = name, seed = s, dispPriorVar = signif(attr(dispersionFunction(fs$dds), "dispPriorVar"), 10),
        calls = length(calls), jaccard_seed2 = length(intersect(calls, calls2)) / max(1, length(union(calls, calls2))))
    }
  }
  cat(name, "df", df, "calls", length(calls2), "prior var", attr(fn, "dispPriorVar"), "\n")
}

counts <- as.matrix(read.csv(file.path(out, "small_designs_counts.csv.gz"), row.names = 1, check.names = FALSE))
samples <- read.csv(file.path(out, "small_designs_samples.csv"), row.names = 1, colClasses = "character")
for (n in c(2, 3, 4, 6)) {
  meta <- samples[samples$donor %in% paste0("D", 1:n), ]
  run_case(paste0("sim_paired_", n), counts, meta, ~ donor + condition, "condition", "ctrl", "drug")
}
for (n in c(2, 3, 4)) {
  keep <- (samples$condition == "ctrl" & samples$donor %in% paste0("D", 1:n)) |
    (samples$condition == "drug" & samples$donor %in% paste0("D", (n + 1):(2 * n)))
  run_case(paste0("sim_unpaired_", n), counts, samples[keep, "condition", drop = FALSE], ~ condition,
           "condition", "ctrl", "drug")
}
if (!is.na(kang_dir)) {
  for (f in sort(list.files(kang_dir, pattern = "^kang_.*_counts.csv$"))) {
    name <- sub("_counts.csv$", "", f)
    kc <- as.matrix(read.csv(file.path(kang_dir, f), row.names = 1, check.names = FALSE))
    km <- read.csv(file.path(kang_dir, paste0(name, "_samples.csv")), row.names = 1, colClasses = "character")
    run_case(name, kc, km, ~ donor + group_id, "group_id", "ctrl", "stim")
  }
}
con <- gzfile(file.path(out, "small_designs_deseq2.csv.gz"), "w")
write.csv(do.call(rbind, genes), con, row.names = FALSE)
close(con)
write.csv(do.call(rbind, params), file.path(out, "small_designs_params.csv"), row.names = FALSE)
write.csv(do.call(rbind, seeds), file.path(out, "small_designs_seeds.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("DESeq2", packageVersion("DESeq2"))),
           file.path(out, "reference_versions_small_designs.txt"))
