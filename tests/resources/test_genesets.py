import hashlib

import pandas as pd
import pytest

import drugprint as dp
from drugprint.resources._files import data_file
from tests.conftest import shared_path


def test_shipped_collections_load_offline(no_network):
    hm = dp.resources.genesets("hallmark")
    assert hm["source"].nunique() == 50
    sizes = hm.groupby("source").size()
    assert sizes["HALLMARK_INTERFERON_ALPHA_RESPONSE"] == 97
    assert sizes["HALLMARK_P53_PATHWAY"] == 200
    assert sizes["HALLMARK_APOPTOSIS"] == 161
    pg = dp.resources.genesets("progeny")
    assert pg.groupby("source").size().eq(100).all() and pg["source"].nunique() == 14
    assert dp.resources.genesets("progeny", top=500).groupby("source").size().eq(500).all()
    im = dp.resources.genesets("imid")
    assert {"IMID_NEOSUBSTRATES", "IMID_CYTOTOXICITY", "IMID_CORE_ISG"} <= set(im["source"])
    assert im.loc[(im.source == "IMID_APOPTOSIS") & (im.target == "BCL2"), "weight"].item() == -1


@pytest.mark.parametrize("name", ["hallmark", "progeny"])
def test_provenance_and_checksum(name):
    net = dp.resources.genesets(name)
    for k in ("name", "version", "source", "citation", "licence", "sha256"):
        assert net.attrs[k]
    data = data_file(net.attrs["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == net.attrs["sha256"]


def test_shipped_files_equal_shared_originals():
    for fname in ("h.all.v2023.1.Hs.symbols.gmt", "progeny_human_top500.csv"):
        shared = shared_path(fname).read_bytes()
        assert data_file(fname).read_bytes() == shared


def test_read_gmt_and_csv(tmp_path):
    gmt = tmp_path / "sets.gmt"
    gmt.write_text("SET_A\tdesc\tG1\tG2\tG2\nSET_B\thttp://x\tG3\n")
    net = dp.resources.read_gmt(gmt)
    assert net.to_dict("list") == {
        "source": ["SET_A", "SET_A", "SET_B"],
        "target": ["G1", "G2", "G3"],
        "weight": [1.0, 1.0, 1.0],
    }
    assert len(net.attrs["sha256"]) == 64
    assert dp.resources.genesets(str(gmt)).shape == (3, 3)
    csv = tmp_path / "net.csv"
    pd.DataFrame({"source": ["S"], "target": ["G1"]}).to_csv(csv, index=False)
    assert dp.resources.genesets(str(csv))["weight"].tolist() == [1.0]
    bad = tmp_path / "bad.gmt"
    bad.write_text("ONLY_NAME\n")
    with pytest.raises(ValueError, match="line 1"):
        dp.resources.read_gmt(bad)
    wrong = tmp_path / "wrong.csv"
    pd.DataFrame({"set": ["S"], "gene": ["G1"]}).to_csv(wrong, index=False)
    with pytest.raises(ValueError, match="'source' and 'target'"):
        dp.resources.genesets(str(wrong))
    tsv = tmp_path / "net.tsv"
    net = pd.DataFrame({"source": ["S", "S"], "target": ["G1", "G2"], "weight": [0.5, -1.0]})
    net.to_csv(tsv, sep="\t", index=False)
    assert dp.resources.genesets(tsv)["weight"].tolist() == [0.5, -1.0]


@pytest.mark.parametrize("name", ["nope.csv", "nope.gmt", "sets/nope"])
def test_missing_geneset_file_names_path(name):
    with pytest.raises(FileNotFoundError, match=f"No gene-set file at '{name}'"):
        dp.resources.genesets(name)
    with pytest.raises(ValueError, match="Unknown gene-set collection 'nope'"):
        dp.resources.genesets("nope")


def test_match_net_reports_and_warns():
    net = dp.resources.genesets("imid")
    with pytest.warns(UserWarning, match="fewer than 50%"):
        rep = dp.resources.match_net(net, ["IKZF1", "IKZF3", "IRF4", "MYC", "PRDM1", "XBP1"])
    assert rep.loc["IMID_IRF4_MYC_AXIS", "n_matched"] == 4
    with pytest.raises(ValueError, match="Ensembl"):
        dp.resources.match_net(net, ["ENSG00000185811"])


def test_compounds_registry():
    reg = dp.resources.compounds()
    assert {
        "thalidomide",
        "lenalidomide",
        "pomalidomide",
        "iberdomide",
        "mezigdomide",
        "avadomide",
        "CC-885",
        "golcadomide",
    } <= set(reg.index)
    assert all(reg["reference"].str.len() > 10)
    assert "IKZF1" in reg.loc["lenalidomide", "neosubstrates"]
    assert dp.resources.resolve_compound("CC-5013") == "lenalidomide"
    assert dp.resources.resolve_compound("cc92480") == "mezigdomide"
    assert dp.resources.resolve_compound("Vehicle") == "DMSO"
    assert dp.resources.resolve_compound("aspirin") == "aspirin"
    with pytest.raises(ValueError, match="Unknown compound"):
        dp.resources.resolve_compound("aspirin", strict=True)


def test_curated_sets_agree_with_hallmark():
    """Curated genes that are in a matching Hallmark set are really there (no typos in symbols)."""
    hm = dp.resources.genesets("hallmark")
    im = dp.resources.genesets("imid")
    pairs = {
        "IMID_CORE_ISG": "HALLMARK_INTERFERON_ALPHA_RESPONSE",
        "IMID_P53_TARGETS": "HALLMARK_P53_PATHWAY",
        "IMID_PROLIFERATION": "HALLMARK_G2M_CHECKPOINT",
        "IMID_NFKB_TNF_TARGETS": "HALLMARK_TNFA_SIGNALING_VIA_NFKB",
    }
    for mine, theirs in pairs.items():
        a = set(im.loc[im.source == mine, "target"])
        b = set(hm.loc[hm.source == theirs, "target"])
        assert len(a & b) / len(a) >= 0.4, (mine, sorted(a - b))
    # every curated symbol exists in an independent official gene list (catches typos and outdated aliases)
    from drugprint.datasets._baselines import pbmc68k_profiles

    official = (
        set(hm["target"]) | set(dp.resources.genesets("progeny", top=500)["target"]) | set(pbmc68k_profiles().index)
    )
    not_listed = {"BBC3", "SALL4", "ZFP91", "ZNF692"}  # valid HGNC symbols absent from those three lists
    assert set(im["target"]) - official == not_listed
