# Human gene identifiers for drugprint, from Bioconductor's org.Hs.eg.db (Debian: r-bioc-org.hs.eg.db 3.16.0;
# NCBI Gene 2022-Sep12). Writes data/human_genes.tsv.xz, read by dp.resources.gene_table().
#
# One row per Entrez gene x Ensembl gene pair (org.Hs.egENSEMBL: NCBI's gene2ensembl and Ensembl's own Entrez
# cross-references, combined), and one row with an empty ensembl for every Entrez gene that has none.
# Columns (tab-separated, one header line, xz-compressed at level 9):
#   entrez   NCBI Gene ID (every human gene of org.Hs.egSYMBOL)
#   symbol   its official symbol (org.Hs.egSYMBOL)
#   ensembl  an Ensembl gene ID (ENSG..., unversioned) mapped to it, or empty
#   type     NCBI gene type (org.Hs.egGENETYPE: protein-coding, ncRNA, pseudo, ...)
# Rows are sorted by entrez (as a number), then ensembl (radix: C-locale order), so every run writes the same bytes.
#
# Licence: NCBI Gene content is in the public domain (https://www.ncbi.nlm.nih.gov/home/about/policies/); Ensembl
# places no restrictions on the use of its data. (The org.Hs.eg.db package itself is Artistic-2.0.)
# Usage, from the repository root: Rscript data/scripts/human_genes_from_org_hs_eg_db.R [out]
suppressPackageStartupMessages(library(org.Hs.eg.db))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "data/human_genes.tsv.xz"

symbol <- toTable(org.Hs.egSYMBOL)
stopifnot(!anyDuplicated(symbol$gene_id))
type <- toTable(org.Hs.egGENETYPE)
stopifnot(!anyDuplicated(type$gene_id))
ens <- toTable(org.Hs.egENSEMBL)
ens <- ens[!duplicated(ens), ]

genes <- data.frame(entrez = symbol$gene_id, symbol = symbol$symbol, stringsAsFactors = FALSE)
genes$type <- type$gene_type[match(genes$entrez, type$gene_id)]
genes$type[is.na(genes$type)] <- ""
stopifnot(all(ens$gene_id %in% genes$entrez))
with_ens <- merge(genes, data.frame(entrez = ens$gene_id, ensembl = ens$ensembl_id), by = "entrez")
without <- genes[!genes$entrez %in% ens$gene_id, ]
without$ensembl <- rep("", nrow(without))
rows <- rbind(with_ens, without)[, c("entrez", "symbol", "ensembl", "type")]
rows <- rows[order(as.integer(rows$entrez), rows$ensembl, method = "radix"), ]
stopifnot(!grepl("[\t\n]", unlist(rows)))

con <- xzfile(out, "wb", compression = 9)
writeLines(paste(names(rows), collapse = "\t"), con, sep = "\n")
writeLines(do.call(paste, c(unname(as.list(rows)), sep = "\t")), con, sep = "\n")
close(con)
cat(out, ":", nrow(rows), "rows,", nrow(genes), "Entrez genes,", sum(rows$ensembl != ""), "Ensembl pairs\n")
