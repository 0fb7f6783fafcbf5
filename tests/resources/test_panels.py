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


@pytest.mark.parametrize(
    ("cell_type", "imid", "expected"),
    [
        ("NK", True, ["cytotoxicity", "interferon", "neosubstrates"]),
        ("NK", False, ["cytotoxicity", "interferon"]),
        ("CD8+ effector memory", False, ["cytotoxicity", "interferon"]),
        ("CD14 Mono", True, ["interferon", "neosubstrates"]),
        ("CD14 Mono", False, ["interferon"]),
        ("Myeloma", True, ["irf4_myc", "interferon", "neosubstrates"]),
        ("Plasma/Myeloma", True, ["irf4_myc", "interferon", "neosubstrates"]),
        ("B", True, ["irf4_myc", "interferon", "neosubstrates"]),
        ("Memory B cells", True, ["irf4_myc", "interferon", "neosubstrates"]),
        ("Myeloma", False, ["interferon"]),
        ("CD4 T", True, ["il2_derepression", "interferon", "neosubstrates"]),
        ("CD4 T", False, ["interferon"]),
        ("NKT-like", True, ["interferon", "neosubstrates"]),  # neither NK nor B by its label
        ("DC", True, ["interferon", "neosubstrates"]),
    ],
)
def test_panels_for_cell_type(cell_type, imid, expected):
    assert dp.resources.panels_for(cell_type, imid=imid) == expected
    assert set(expected) <= set(dp.resources.panels())


def test_interferon_panel_is_canonical_isgs():
    isg = dp.resources.panels()["interferon"]
    assert isg == ["ISG15", "MX1", "IFI6", "IFIT1", "IFIT3", "ISG20", "OAS1", "RSAD2", "IFI44L", "CXCL10"]
    assert dp.resources.panels(describe=True)["interferon"].startswith("type I/II interferon-stimulated genes")
    hallmark = dp.resources.genesets("hallmark").groupby("source")["target"].agg(set)
    assert set(isg) - hallmark["HALLMARK_INTERFERON_ALPHA_RESPONSE"] == {"IFI6", "IFIT1"}
    assert "IFIT1" in hallmark["HALLMARK_INTERFERON_GAMMA_RESPONSE"]
    genes = dp.datasets.imid_screen("small").var_names
    assert set(isg) <= set(genes)


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (["DMSO", "lenalidomide"], True),
        (["vehicle", "CC-92480"], True),
        (["DMSO", "Revlimid @ 1"], True),
        (["ctrl", "stim"], False),
        (["DMSO", "bortezomib"], False),
        ([], False),
    ],
)
def test_is_imid_study(conditions, expected):
    assert dp.resources.is_imid_study(conditions) is expected
