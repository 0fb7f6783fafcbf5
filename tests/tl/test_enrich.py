"""Over-representation of the up and down lists: limma's goana to 1e-8, the universe rule, the stored tables."""

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import drugprint as dp

DATA = Path(__file__).resolve().parents[1] / "data"


def _signatures() -> ad.AnnData:
    """R DESeq2's mezigdomide and lenalidomide signatures on the genes R gave goana as its universe."""
    rows, tables = [], {}
    for drug in ("mezigdomide", "lenalidomide"):
        de = pd.read_csv(DATA / f"deseq2_{drug}_vs_dmso.csv.gz", index_col=0)
        universe = (DATA / f"enrich_universe_{drug}.txt").read_text().split()
        tables[drug] = de.loc[universe]
        rows.append(drug)
    genes = pd.Index(sorted(set().union(*(t.index for t in tables.values()))))
    padj = np.vstack([tables[d]["padj"].reindex(genes).to_numpy() for d in rows])  # NaN: not in R's universe
    lfc = np.vstack([tables[d]["log2FoldChange"].reindex(genes).to_numpy() for d in rows])
    obs = pd.DataFrame({"condition": rows, "reference": "DMSO"}, index=[f"Myeloma|{d} vs DMSO" for d in rows])
    return ad.AnnData(np.nan_to_num(lfc), obs=obs, var=pd.DataFrame(index=genes), layers={"padj": padj, "log2fc": lfc})


@pytest.fixture(scope="module")
def enriched():
    sig = _signatures()
    dp.tl.enrich(sig, "go_bp", min_size=1, max_size=10**6)
    return sig


@pytest.mark.parametrize("drug", ["mezigdomide", "lenalidomide"])
def test_ora_equals_goana(enriched, drug):
    ref = pd.read_csv(DATA / f"enrich_goana_{drug}.csv.gz").set_index("go_id")
    tab = dp.get.enrich_table(enriched)
    tab = tab[tab["signature"] == f"Myeloma|{drug} vs DMSO"]
    for direction in ("up", "down"):
        ours = tab[tab["direction"] == direction].set_index("source").reindex(ref.index)
        assert ours["n_set"].notna().all()  # every term R tested is tested here
        np.testing.assert_array_equal(ours["n_set"], ref["N"])
        np.testing.assert_array_equal(ours["overlap"], ref[f"DE_{direction}"])
        np.testing.assert_allclose(ours["pvalue"], ref[f"P_{direction}"], rtol=1e-8, atol=1e-300)
    assert len(ref) > 1000 and (ref[["P_up", "P_down"]].min(axis=1) < 1e-4).any()


def test_universe_lists_and_table(enriched):
    tab = dp.get.enrich_table(enriched)
    assert tab.columns[:6].tolist() == ["signature", "condition", "direction", "source", "term", "n_set"]
    mez = tab[tab["signature"] == "Myeloma|mezigdomide vs DMSO"]
    de = pd.read_csv(DATA / "deseq2_mezigdomide_vs_dmso.csv.gz", index_col=0)
    universe = set((DATA / "enrich_universe_mezigdomide.txt").read_text().split()) & set(dp.resources.go_annotated())
    up = de.index[(de["padj"] < 0.05) & (de["log2FoldChange"] > 0)].intersection(list(universe))
    first = mez[mez["direction"] == "up"].iloc[0]
    assert first["n_universe"] == len(universe) and first["n_list"] == len(up)
    assert mez.groupby("direction")["pvalue"].apply(lambda p: p.is_monotonic_increasing).all()
    # BH within each signature × direction, over every set tested (not only the significant ones)
    for _, part in tab.groupby(["signature", "direction"]):
        np.testing.assert_allclose(part["padj"], dp.tl._stats.multitest.bh(part["pvalue"].to_numpy()))
    row = mez[(mez["direction"] == "up") & (mez["pvalue"] < 0.05)].iloc[0]
    genes = row["genes"].split(";")
    assert len(genes) == row["overlap"] and set(genes) <= set(up)
    assert row["term"] and row["source"].startswith("GO:")
    assert enriched.uns["enrich"]["net"]["licence"] == "CC BY 4.0"


def test_size_filter_and_directions():
    sig = _signatures()
    dp.tl.enrich(sig, "go_bp", directions=("any",), min_size=15, max_size=200, key_added="go_any")
    tab = dp.get.enrich_table(sig, "go_any")
    assert set(tab["direction"]) == {"any"} and tab["n_set"].between(15, 200).all()
    with pytest.raises(ValueError, match="directions must name"):
        dp.tl.enrich(sig, directions=("sideways",))
    with pytest.raises(ValueError, match=r"No gene of the \d+ sets .* is among the data.s \d+ genes"):
        dp.tl.enrich(_renamed(sig))


def _renamed(sig):
    out = sig.copy()
    out.var_names = [f"ENSG{i:011d}" for i in range(out.n_vars)]
    return out


def test_go_collections_shipped():
    bp = dp.resources.genesets("go_bp")
    assert bp.attrs["licence"] == "CC BY 4.0" and bp.attrs["sha256"] == dp.resources.COLLECTIONS["go_bp"]["sha256"]
    immune = bp[bp["source"] == "GO:0006955"]
    assert immune["term"].iloc[0] == "immune response" and {"IFNG", "CD8A", "CD4"} <= set(immune["target"])
    # ancestors propagated: every gene of a child term is in its parent
    child = set(bp.loc[bp["source"] == "GO:0060337", "target"])  # type I interferon-mediated signaling pathway
    parent = set(bp.loc[bp["source"] == "GO:0071357", "target"])  # cellular response to type I interferon
    assert child and child <= parent
    sizes = {o: dp.resources.genesets(f"go_{o}")["source"].nunique() for o in ("bp", "mf", "cc")}
    assert sizes == {"bp": 15975, "mf": 4964, "cc": 2024}


def test_mouse_copy_enriches_as_the_human_one(sig_all):
    """enrich and gsea reach mouse genes through the same matching as pathways (one-to-one orthologues): a mouse
    copy of the signatures gives the same tables as the human original, GO's annotated universe included."""
    human = sig_all[sig_all.obs["cell_type"] == "Myeloma"].copy()
    pairs = dp.resources.orthologs("mouse").set_index("human")["mouse"]
    human = human[:, human.var_names.isin(pairs.index)].copy()
    mouse = human.copy()
    mouse.var_names = pairs.reindex(human.var_names).to_numpy()
    for sig in (human, mouse):
        dp.tl.enrich(sig, "go_bp")
        dp.tl.gsea(sig, "hallmark", n_perm=200)
    assert mouse.uns["enrich"]["params"]["matched_by"].startswith("mouse orthologs")
    cols = ["signature", "direction", "source", "n_set", "n_universe", "overlap", "pvalue", "padj"]
    ours, theirs = dp.get.enrich_table(mouse)[cols], dp.get.enrich_table(human)[cols]
    assert len(ours) > 1000
    pd.testing.assert_frame_equal(ours, theirs)
    cols = ["signature", "source", "n_set", "es", "nes", "pvalue", "padj", "n_leading_edge"]
    pd.testing.assert_frame_equal(dp.get.gsea_table(mouse)[cols], dp.get.gsea_table(human)[cols])
