"""The statistics behind the tools: each a published method, kept small, cited and tested against R.

Imports run downward only, in this order (a module imports only those above it):

- ``multitest`` (Benjamini–Hochberg), ``design`` (formulaic design matrices, contrasts, omnibus hypotheses),
  ``fdist`` (limma's variance prior: ``fitFDist``, ``fitFDistRobustly``, ``squeezeVar``), ``filter``
  (``filterByExpr``, DESeq2's independent filtering), ``trend`` (DESeq2's dispersion trends)
- ``linear`` (limma's ``lmFit``, ``contrasts.fit``, ``eBayes``), ``nbinom`` (the negative-binomial GLM steps)
- ``dupcor`` (``duplicateCorrelation``, GLS fits), ``dispersion`` (DESeq2's dispersions), ``lrt``
- the engines' fits: ``limma``, ``voom``, ``deseq2``, ``ttest``
- ``replicates`` (what replicate-level tests keep from a fit), ``settests`` (camera, fry, activity)
- on one signature's genes: ``ora`` (over-representation, limma's ``goana``), ``gsea`` (preranked GSEA: running
  sum, leading edge, gene-set permutations)
- on patient cohorts: ``singscore`` (a rank score of a signature per sample), ``survival`` (Cox models, Kaplan–Meier
  and the log-rank test through lifelines)
"""
