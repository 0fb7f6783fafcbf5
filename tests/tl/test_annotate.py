import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

import drugprint as dp
from tests.conftest import kang_cells


def test_annotate_recovers_simulated_cell_types(screen):
    adata = screen.copy()
    before = {
        "obs": adata.obs.copy(),
        "var": adata.var.copy(),
        "uns": set(adata.uns),
        "obsm": set(adata.obsm),
        "X": adata.X.copy(),
    }
    assert dp.tl.annotate(adata, key_added="predicted") is None
    ari = adjusted_rand_score(adata.obs["cell_type"].astype(str), adata.obs["predicted"].astype(str))
    assert ari >= 0.8
    top = pd.crosstab(adata.obs["cell_type"], adata.obs["predicted"]).idxmax(axis=1)
    assert top["Myeloma"] == "Plasma/Myeloma" and top["B"] == "B" and top["CD14 Mono"] == "CD14 Mono"
    assert adata.obs["predicted_confidence"].between(0, 1).all()
    # three obs columns and uns["predicted"] were added; nothing else changed
    assert list(adata.obs.columns) == [*before["obs"].columns, "predicted", "predicted_cluster", "predicted_confidence"]
    pd.testing.assert_frame_equal(adata.obs[before["obs"].columns], before["obs"])
    pd.testing.assert_frame_equal(adata.var, before["var"])
    assert set(adata.uns) == before["uns"] | {"predicted"} and set(adata.obsm) == before["obsm"]
    assert (adata.X != before["X"]).nnz == 0
    # uns["predicted"]: one row per cluster, agreeing with the obs columns, and the parameters
    rec = adata.uns["predicted"]
    clusters = rec["clusters"].set_index("cluster")
    assert list(rec["clusters"].columns) == ["cluster", "label", "confidence", "mean_score"]
    cells = adata.obs.drop_duplicates("predicted_cluster").set_index("predicted_cluster")
    assert set(clusters.index) == set(cells.index.astype(str))
    cells.index = cells.index.astype(str)
    assert (clusters["label"] == cells.loc[clusters.index, "predicted"].astype(str)).all()
    assert (clusters["confidence"] == cells.loc[clusters.index, "predicted_confidence"]).all()
    assert rec["params"]["resolution"] == 1.0 and rec["params"]["random_state"] == 0


def test_annotate_is_deterministic(screen):
    a = screen[:1500].copy()
    b = screen[:1500].copy()
    b_obs = b.obs.copy()
    dp.tl.annotate(a, random_state=1)
    c = dp.tl.annotate(b, random_state=1, copy=True)
    assert (a.obs["cell_type"] == c.obs["cell_type"]).all()
    pd.testing.assert_frame_equal(a.uns["cell_type"]["clusters"], c.uns["cell_type"]["clusters"])
    # copy=True returned the results and left b as it was
    pd.testing.assert_frame_equal(b.obs, b_obs)
    assert "cell_type" not in b.uns


def test_annotate_real_pbmc_kang2018():
    """Real PBMCs (Kang et al. 2018, 1,267 genes): symbols are matched through var['SYMBOL']."""
    adata = kang_cells()
    dp.tl.annotate(adata, key_added="predicted", resolution=0.5)
    assert adjusted_rand_score(adata.obs["cluster_id"], adata.obs["predicted"]) > 0.6
    top = pd.crosstab(adata.obs["cluster_id"], adata.obs["predicted"]).idxmax(axis=1)
    assert top["B cells"] == "B" and top["CD14+ Monocytes"] == "CD14 Mono"
    assert top["FCGR3A+ Monocytes"] == "CD16 Mono" and top["CD4 T cells"] == "CD4 T"


def test_annotate_errors(screen):
    with pytest.raises(ValueError, match="No marker gene"):
        dp.tl.annotate(screen[:300].copy(), markers={"x": ["NOT_A_GENE", "NOR_THIS"]})
