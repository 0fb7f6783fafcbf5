"""Domain facts: the panels, the genes to point out per cell type, the key pathways."""

import pytest

import drugprint as dp


@pytest.mark.parametrize(
    ("cell_type", "panel", "extra"),
    [
        ("NK", "cytotoxicity", []),
        ("CD56 NK cells", "cytotoxicity", []),
        ("CD8 T", "cytotoxicity", []),
        ("CD8+ effector memory", "cytotoxicity", []),
        ("CD4 T", "il2_derepression", []),
        ("cd4+ t cells", "il2_derepression", []),
        ("Myeloma", "irf4_myc", ["IKZF1", "IKZF3"]),
        ("B", "irf4_myc", ["IKZF1", "IKZF3"]),
        ("NKT-like", "irf4_myc", ["IKZF1", "IKZF3"]),  # not an NK label: the default rule
    ],
)
def test_key_genes_by_cell_type(cell_type, panel, extra):
    assert dp.resources.key_genes(cell_type) == dp.resources.panels()[panel] + extra


def test_key_genes_are_panel_genes():
    panel_genes = {g for genes in dp.resources.panels().values() for g in genes}
    for cell_type in ("NK", "CD4 T", "Myeloma"):
        assert set(dp.resources.key_genes(cell_type)) <= panel_genes


def test_key_pathways_are_hallmark_sets():
    hallmark = set(dp.resources.genesets("hallmark")["source"])
    assert set(dp.resources.KEY_PATHWAYS) <= hallmark
    assert {"HALLMARK_INTERFERON_ALPHA_RESPONSE", "HALLMARK_P53_PATHWAY"} <= set(dp.resources.KEY_PATHWAYS)
