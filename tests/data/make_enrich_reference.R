# limma's goana on the up and down genes of R DESeq2's mezigdomide and lenalidomide signatures (the screen myeloma
# counts, deseq2_*_vs_dmso.csv.gz): the reference of dp.tl.enrich (tests/tl/test_enrich.py).
#
# Universe: the genes with a padj (tested) whose symbol names exactly one Entrez gene (org.Hs.egSYMBOL) and that
# carry at least one GO annotation (drugprint's rule; goana given a universe keeps every gene org.Hs.eg.db knows,
# annotated or not, so the annotated ones are selected here). The lists: padj < 0.05, log2FC > 0 (up) and
# < 0 (down). Written: enrich_universe_<drug>.txt (the symbols given as universe) and enrich_goana_<drug>.csv.gz,
# the biological-process terms with P.up or P.down below 0.05 and every 10th of the others (by GO ID).
# Usage: Rscript tests/data/make_enrich_reference.R (from the repository root)
suppressPackageStartupMessages({
  library(limma)
  library(org.Hs.eg.db)
  library(GO.db)
})
here <- "tests/data"
s2e <- AnnotationDbi::toTable(org.Hs.egSYMBOL)
single <- s2e[!(s2e$symbol %in% s2e$symbol[duplicated(s2e$symbol)]), ]
annotated <- unique(AnnotationDbi::toTable(org.Hs.egGO2ALLEGS)$gene_id)
single <- single[single$gene_id %in% annotated, ]
for (drug in c("mezigdomide", "lenalidomide")) {
  de <- read.csv(file.path(here, sprintf("deseq2_%s_vs_dmso.csv.gz", drug)), row.names = 1)
  de <- de[!is.na(de$padj), ]
  de <- de[rownames(de) %in% single$symbol, ]
  eg <- single$gene_id[match(rownames(de), single$symbol)]
  up <- eg[de$padj < 0.05 & de$log2FoldChange > 0]
  down <- eg[de$padj < 0.05 & de$log2FoldChange < 0]
  res <- goana(list(up = up, down = down), universe = eg, species = "Hs")
  res <- res[res$Ont == "BP", ]
  res <- res[order(rownames(res)), ]
  keep <- pmin(res$P.up, res$P.down) < 0.05 | seq_len(nrow(res)) %% 10 == 0
  out <- data.frame(
    go_id = rownames(res)[keep], N = res$N[keep], DE_up = res$up[keep], DE_down = res$down[keep],
    P_up = signif(res$P.up[keep], 12), P_down = signif(res$P.down[keep], 12)
  )
  con <- gzfile(file.path(here, sprintf("enrich_goana_%s.csv.gz", drug)), "w")
  write.csv(out, con, row.names = FALSE)
  close(con)
  writeLines(rownames(de), file.path(here, sprintf("enrich_universe_%s.txt", drug)))
  cat(drug, ":", length(up), "up,", length(down), "down,", length(eg), "universe,", sum(keep), "terms written\n")
}
writeLines(c(
  R.version.string, paste("limma", packageVersion("limma")), paste("GO.db", packageVersion("GO.db")),
  paste("org.Hs.eg.db", packageVersion("org.Hs.eg.db"))
), file.path(here, "reference_versions_enrich.txt"))
