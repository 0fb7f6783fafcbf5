# One R engine on the count matrices bench_de.py exported; called by bench/bench_de.py, once per run.
#     Rscript bench/bench_de.R <deseq2|edger|voom> <dir> <group> ...
# Reads <dir>/<group>_counts.csv (genes x profiles, already filtered by filterByExpr) and <dir>/<group>_samples.csv,
# fits ~ donor + drug per group and tests each drug against DMSO. Only the analysis is inside system.time
# (not loading packages, reading or writing files). Writes <dir>/<engine>_<group>.csv (gene, contrast, log2fc,
# padj, base_mean) and prints one JSON line: {"engine": ..., "elapsed": seconds, "versions": {...}}.
args <- commandArgs(trailingOnly = TRUE)
engine <- args[1]
dir <- args[2]
groups <- args[-(1:2)]
suppressPackageStartupMessages({
  if (engine == "deseq2") library(DESeq2) else { library(limma); library(edgeR) }
})

inputs <- lapply(groups, function(g) {
  counts <- as.matrix(read.csv(file.path(dir, paste0(g, "_counts.csv")), row.names = 1, check.names = FALSE))
  meta <- read.csv(file.path(dir, paste0(g, "_samples.csv")), row.names = 1)
  stopifnot(identical(rownames(meta), colnames(counts)))
  meta$drug <- relevel(factor(meta$drug), ref = "DMSO")
  meta$donor <- factor(meta$donor)
  list(counts = counts, meta = meta)
})

# Each returns one data.frame per drug (vs DMSO): log2fc, padj, base_mean, rows in the input's gene order.
analyse <- list(
  deseq2 = function(x) {
    dds <- DESeqDataSetFromMatrix(x$counts, colData = x$meta, design = ~ donor + drug)
    dds <- DESeq(dds, quiet = TRUE)
    drugs <- setdiff(levels(x$meta$drug), "DMSO")
    setNames(lapply(drugs, function(d) {
      res <- results(dds, contrast = c("drug", d, "DMSO"))
      data.frame(log2fc = res$log2FoldChange, padj = res$padj, base_mean = res$baseMean)
    }), drugs)
  },
  edger = function(x) {  # quasi-likelihood pipeline: TMM, estimateDisp, glmQLFit, glmQLFTest per contrast
    design <- model.matrix(~ donor + drug, data = x$meta)
    y <- calcNormFactors(DGEList(x$counts))
    y <- estimateDisp(y, design)
    fit <- glmQLFit(y, design)
    drugs <- setdiff(levels(x$meta$drug), "DMSO")
    setNames(lapply(drugs, function(d) {
      contrast <- as.numeric(colnames(design) == paste0("drug", d))
      tab <- topTags(glmQLFTest(fit, contrast = contrast), n = Inf, sort.by = "none")$table
      data.frame(log2fc = tab$logFC, padj = tab$FDR, base_mean = tab$logCPM)
    }), drugs)
  },
  voom = function(x) {  # TMM, voom, lmFit, contrasts.fit + eBayes, topTable per contrast
    design <- model.matrix(~ donor + drug, data = x$meta)
    v <- voom(calcNormFactors(DGEList(x$counts)), design)
    fit <- lmFit(v, design)
    drugs <- setdiff(levels(x$meta$drug), "DMSO")
    cm <- sapply(drugs, function(d) as.numeric(colnames(design) == paste0("drug", d)))
    rownames(cm) <- colnames(design)
    eb <- eBayes(contrasts.fit(fit, cm))
    setNames(lapply(drugs, function(d) {
      tab <- topTable(eb, coef = d, number = Inf, sort.by = "none")
      data.frame(log2fc = tab$logFC, padj = tab$adj.P.Val, base_mean = tab$AveExpr)
    }), drugs)
  }
)[[engine]]

out <- vector("list", length(inputs))
elapsed <- system.time(for (i in seq_along(inputs)) out[[i]] <- analyse(inputs[[i]]))[["elapsed"]]

for (i in seq_along(groups)) {
  genes <- rownames(inputs[[i]]$counts)
  tab <- do.call(rbind, lapply(names(out[[i]]), function(d) data.frame(gene = genes, contrast = d, out[[i]][[d]])))
  write.csv(tab, file.path(dir, sprintf("%s_%s.csv", engine, groups[i])), row.names = FALSE)
}
pkgs <- if (engine == "deseq2") "DESeq2" else c("edgeR", "limma")
versions <- c(R = paste(R.version$major, R.version$minor, sep = "."),
              sapply(pkgs, function(p) as.character(packageVersion(p))), BLAS = extSoftVersion()[["BLAS"]])
cat(sprintf('{"engine": "%s", "elapsed": %.4f, "versions": {%s}}\n', engine, elapsed,
            paste(sprintf('"%s": "%s"', names(versions), versions), collapse = ", ")))
