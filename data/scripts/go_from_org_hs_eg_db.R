# Gene Ontology collections for drugprint, from Bioconductor's GO.db and org.Hs.eg.db (Debian: r-bioc-go.db,
# r-bioc-org.hs.eg.db 3.16.0). Writes data/go_human.tsv.xz.
#
# Each GO term's genes are org.Hs.egGO2ALLEGS: the genes annotated to the term or to any of its descendants
# (ancestors propagated), every evidence code, as limma's goana reads them. Genes are written as the NCBI Gene
# symbols of their Entrez IDs (org.Hs.egSYMBOL); a symbol shared by several Entrez IDs carries the union of their
# terms.
#
# File layout (tab-separated, xz-compressed), so that 2.1 million term-gene pairs fit in about 2 MB:
#   line 1   "#genes" then every annotated gene symbol, sorted (the genes that carry at least one GO annotation,
#            in any ontology: goana's universe)
#   line 2   "#meta" then key=value pairs (GO release, org.Hs.eg.db version, NCBI Gene date)
#   then     go_id, ontology (BP/MF/CC), term name, and the term's genes as gaps between sorted positions in the
#            "#genes" list (first position, then differences; 0-based; comma-separated)
#
# Licences: Gene Ontology annotations and ontology, CC BY 4.0 (http://geneontology.org/docs/go-citation-policy/);
# NCBI Gene symbols, public domain. Usage: Rscript data/scripts/go_from_org_hs_eg_db.R [out]
suppressPackageStartupMessages({
  library(AnnotationDbi)
  library(GO.db)
  library(org.Hs.eg.db)
})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "data/go_human.tsv.xz"

pairs <- toTable(org.Hs.egGO2ALLEGS)[, c("gene_id", "go_id", "Ontology")]
pairs <- pairs[!duplicated(pairs[, c("gene_id", "go_id")]), ]
symbol <- toTable(org.Hs.egSYMBOL)
stopifnot(!anyDuplicated(symbol$gene_id))
pairs$symbol <- symbol$symbol[match(pairs$gene_id, symbol$gene_id)]
pairs <- pairs[!is.na(pairs$symbol), ]
# about 60 symbols name two or more Entrez genes (e.g. HBD, MEMO1, TEC): such a symbol carries the union of their
# terms, as the data a symbol-named count table gives can only be read that way
pairs <- pairs[!duplicated(pairs[, c("symbol", "go_id")]), ]

genes <- sort(unique(pairs$symbol), method = "radix")
pairs$pos <- match(pairs$symbol, genes) - 1L
terms <- toTable(GOTERM)[, c("go_id", "Term")]
terms <- terms[!duplicated(terms$go_id), ]

by_term <- split(pairs$pos, pairs$go_id)
ontology <- pairs$Ontology[match(names(by_term), pairs$go_id)]
gaps <- vapply(by_term, function(p) {
  p <- sort(p)
  paste(c(p[1], diff(p)), collapse = ",")
}, "")
name <- terms$Term[match(names(by_term), terms$go_id)]
name <- gsub("[\t\n]", " ", name)

info <- GO_dbInfo()
go_date <- info$value[info$name == "GOSOURCEDATE"]
eg <- org.Hs.eg_dbInfo()
eg_date <- eg$value[eg$name == "EGSOURCEDATE"]
meta <- c(
  paste0("go_release=", go_date),
  paste0("go_db=", as.character(packageVersion("GO.db"))),
  paste0("org_hs_eg_db=", as.character(packageVersion("org.Hs.eg.db"))),
  paste0("ncbi_gene_date=", eg_date)
)
con <- xzfile(out, "w", compression = 9)
writeLines(paste(c("#genes", genes), collapse = "\t"), con)
writeLines(paste(c("#meta", meta), collapse = "\t"), con)
writeLines(paste(names(by_term), ontology, name, gaps, sep = "\t"), con)
close(con)
cat(out, ":", length(by_term), "terms,", length(genes), "genes,", nrow(pairs), "pairs\n")
