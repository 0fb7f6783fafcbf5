# Derives data/progeny_human_top500.csv: PROGENy's human model, the 500 genes of smallest p-value per pathway.
#
# Needs R with progeny 1.20.0 (Debian/Ubuntu: apt-get install r-bioc-progeny; or BiocManager::install("progeny")).
# Run from the repository root:  Rscript data/scripts/progeny_top500.R
# Writes the file byte for byte as shipped (sha256 recorded in data/README.md and drugprint.resources.COLLECTIONS):
# rows sorted by pathway, then p-value (ties in the model's order); numbers as R's write.csv prints them.
suppressPackageStartupMessages(library(progeny))
stopifnot(packageVersion("progeny") == "1.20.0")
data("model_human_full", package = "progeny", envir = environment())

m <- model_human_full
m$pathway <- as.character(m$pathway)
m$gene <- as.character(m$gene)
m <- m[order(m$pathway, m$p.value, method = "radix"), ]
top <- do.call(rbind, lapply(split(m, m$pathway), head, 500))
out <- data.frame(pathway = top$pathway, gene = top$gene, weight = top$weight, p.value = top$p.value)
write.csv(out, "data/progeny_human_top500.csv", row.names = FALSE, quote = FALSE)
message("wrote data/progeny_human_top500.csv: ", nrow(out), " rows, ", length(unique(out$pathway)), " pathways")
