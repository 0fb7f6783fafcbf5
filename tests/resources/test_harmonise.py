import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

import drugprint as dp


def _sig_with_ensembl(sig_all):
    """The screen's signatures renamed to (fake, versioned) Ensembl IDs, symbols in var['gene_symbols']."""
    ens = [f"ENSG{i:011d}.{i % 5 + 1}" for i in range(sig_all.n_vars)]
    out = sig_all.copy()
    out.var["gene_symbols"] = out.var_names.to_numpy()
    out.var_names = ens
    return out


def test_pathways_match_through_symbol_column(sig_all):
    ens = _sig_with_ensembl(sig_all)
    dp.tl.pathways(ens, "hallmark")
    rec = ens.uns["pathways"]
    assert rec["matched_by"] == "var['gene_symbols']"
    assert rec["overlap"]["fraction"].min() == 1.0
    np.testing.assert_allclose(ens.obsm["pathways"].to_numpy(), sig_all.obsm["pathways"].to_numpy())


def test_harmonise_with_aliases_and_ensembl_net():
    var = pd.DataFrame(
        {"ids": ["ENSG1", "ENSG2", "ENSG3"], "aliases": ["CRBN|MRT2A", "IKZF1|IK1", "MYC"]},
        index=["CRBN", "IKZF1", "MYC"],
    )
    net = pd.DataFrame({"source": ["s"] * 3, "target": ["IK1", "MRT2A", "NOPE"], "weight": 1.0})
    out, how = dp.resources.harmonise_net(net, var)
    assert how == "var['aliases']" and sorted(out["target"]) == ["CRBN", "IKZF1"]
    net2 = pd.DataFrame({"source": ["s"] * 2, "target": ["ENSG2.4", "ENSG3"], "weight": 1.0})
    out2, how2 = dp.resources.harmonise_net(net2, var)
    assert how2 == "var['ids']" and out2["target"].tolist() == ["IKZF1", "MYC"]
    assert out2["input_target"].tolist() == ["ENSG2.4", "ENSG3"]  # the net's own IDs, version kept
    with pytest.raises(KeyError, match="no column 'symbols'"):
        dp.resources.harmonise_net(net, var, id_column="symbols")


def test_low_overlap_warns_and_no_overlap_errors():
    genes = ["ISG15", "MX1", "IFIT1"] + [f"G{i}" for i in range(20)]
    sig = AnnData(np.random.default_rng(0).normal(size=(2, len(genes))), var=pd.DataFrame(index=genes))
    sig.layers["stat"] = sig.X.copy()
    net = pd.DataFrame({"source": ["ifn"] * 7, "target": ["ISG15", "MX1", "IFIT1", "OAS1", "OAS2", "RSAD2", "IRF7"]})
    with pytest.warns(UserWarning, match=r"ifn \(3/7\)"):
        dp.tl.pathways(sig, net, tmin=3)
    assert sig.uns["pathways"]["overlap"].set_index("source").loc["ifn", "n_matched"] == 3
    with pytest.raises(ValueError, match="No gene of the 1 sets"):
        dp.tl.pathways(sig, pd.DataFrame({"source": ["x"], "target": ["ENSG000001"]}))


def test_every_collection_by_name_records_provenance(sig_all):
    sig = sig_all[sig_all.obs["cell_type"] == "Myeloma"].copy()
    for name in ("hallmark", "progeny", "imid"):
        dp.tl.pathways(sig, name, key_added=name)
        assert sig.uns[name]["net"]["name"] == name
        assert sig.uns[name]["net"]["version"]
