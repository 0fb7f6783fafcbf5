"""Results keyed by user labels survive ``write_h5ad`` and ``write_zarr``, whatever characters the labels hold.

HDF5 and zarr keys cannot hold ``/`` (and zarr refuses ``.``), so labels such as ``"CD4/CD8 T"`` or
``"len/dex"`` must never become keys of ``uns`` dicts or column names of stored DataFrames.
"""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import drugprint as dp

CELL_TYPES = {"CD8 T": "CD4/CD8 T", "B": "."}  # a "/" and a lone "." (a path segment to zarr)
DRUGS = {"lenalidomide": "len/dex", "pomalidomide": " pom "}  # a "/" and leading/trailing spaces
GROUPS = ["CD4/CD8 T", "Myeloma", "."]
METRICS = ["spearman", "pearson", "cosine", "effect_r"]
UNS_KEYS = ["de", "pathways", "panels", "potency", "potency_rank", "compare", "deg_overlap", "time_course"]
GETTERS = {
    "compare": dp.get.compare_table,
    "potency": dp.get.potency_table,
    "potency_rank": dp.get.potency_rank_table,
    "deg_overlap": dp.get.overlap_table,
    "time_course": dp.get.time_course_table,
}


@pytest.fixture(scope="module")
def odd(screen):
    """Signatures of cell types and drugs with awkward labels, through every step that stores results."""
    adata = screen.copy()
    adata.obs["cell_type"] = adata.obs["cell_type"].cat.rename_categories(CELL_TYPES)
    for col in ("drug", "condition"):
        adata.obs[col] = adata.obs[col].cat.rename_categories(DRUGS)
    pdata = dp.pp.pseudobulk(adata)
    sig = dp.tl.de(pdata, groups=GROUPS, method="voom", verbose=False)
    dp.tl.pathways(sig)
    dp.tl.panels(sig)
    dp.tl.potency(sig)
    dp.tl.potency_rank(sig, n_draws=200)
    dp.tl.compare(sig, pdata=pdata, n_boot=40)
    dp.tl.deg_overlap(sig)
    dp.tl.time_course(sig)
    return pdata, sig


@pytest.fixture(scope="module", params=["h5ad", "zarr-v2", "zarr-v3"])
def back(request, odd, tmp_path_factory):
    """The format and ``odd``'s signatures written in it and read back."""
    return request.param, _roundtrip(odd[1], request.param, tmp_path_factory.mktemp("roundtrip"))


def _unsafe(elem, path: str = "") -> list[str]:
    """Paths of keys (dict keys, DataFrame columns) that HDF5 or zarr would refuse or alter."""
    if isinstance(elem, pd.DataFrame):
        keys, children = [str(c) for c in elem.columns], {}
    elif isinstance(elem, dict):
        keys, children = [str(k) for k in elem], elem
    else:
        return []
    bad = [f"{path}/{k}" for k in keys if "/" in k or "\\" in k or k in ("", ".", "..") or k != k.strip()]
    for k, v in children.items():
        bad += _unsafe(v, f"{path}/{k}")
    return bad


def _roundtrip(adata, fmt: str, tmp_path):
    """Write and read back, with every warning (e.g. anndata's "slashes will be disallowed") an error."""
    path = tmp_path / f"sig.{fmt.split('-')[0]}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if fmt == "h5ad":
            adata.write_h5ad(path)
            return ad.read_h5ad(path)
        # notices about the zarr format itself (anndata's next defaults; zarr v3's consolidated metadata)
        warnings.filterwarnings("ignore", "Writing zarr v2 data will no longer be the default", UserWarning)
        warnings.filterwarnings("ignore", "zarr v3 autosharding will be the default", UserWarning)
        warnings.filterwarnings("ignore", "Consolidated metadata is currently not part", UserWarning)
        with ad.settings.override(zarr_write_format=int(fmt[-1])):
            adata.write_zarr(path)
        return ad.read_zarr(path)


def test_no_label_becomes_a_key(odd):
    _, sig = odd
    assert set(UNS_KEYS) <= set(sig.uns)
    assert _unsafe(dict(sig.uns)) == []
    assert {"len/dex", " pom "} <= set(sig.obs["condition"].astype(str))
    compared = dp.get.compare_table(sig)["group"].unique().tolist()
    assert sorted(compared) == sorted(GROUPS)  # every odd group was compared, and stored by position
    assert [sig.uns["compare"]["groups"][f"g{i}"]["group"] for i in range(3)] == compared


def test_results_roundtrip(odd, back):
    (_, sig), (_, back) = odd, back
    assert list(back.obs_names) == list(sig.obs_names)
    for g in GROUPS:
        for metric in METRICS:
            for ordered in (False, True):
                want = dp.get.similarity_matrix(sig, g, metric, ordered=ordered)
                got = dp.get.similarity_matrix(back, g, metric, ordered=ordered)
                pd.testing.assert_frame_equal(got, want)
    mat = dp.get.similarity_matrix(back, "Myeloma", "effect_r")
    assert {"len/dex", " pom "} <= set(mat.index) and mat.loc["len/dex", " pom "] > 0.5
    for k, get in GETTERS.items():
        pd.testing.assert_frame_equal(get(back), get(sig), check_dtype=False, check_index_type=False, obj=k)
    assert isinstance(dp.get.potency_table(back)["tier"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(
        back.uns["deg_overlap"]["intersections"], sig.uns["deg_overlap"]["intersections"], check_dtype=False
    )
    pd.testing.assert_frame_equal(back.uns["panels"]["panels"], sig.uns["panels"]["panels"], check_dtype=False)
    for key in ("pathways", "panels"):
        for name in [key, f"{key}_padj", f"{key}_log2fc", f"{key}_log2fc_lo", f"{key}_log2fc_hi"]:
            pd.testing.assert_frame_equal(back.obsm[name], sig.obsm[name])
        pd.testing.assert_frame_equal(dp.get.pathway_table(back, key), dp.get.pathway_table(sig, key))
    for layer in sig.layers:
        np.testing.assert_array_equal(back.layers[layer], sig.layers[layer])


def test_roundtripped_comparison_still_works(odd, back):
    (pdata, sig), (_, back) = odd, back
    redo = dp.get.compare_table(dp.tl.compare(back, pdata=pdata, n_boot=40, copy=True))
    pd.testing.assert_frame_equal(redo, dp.get.compare_table(sig), check_dtype=False)
    fig = dp.pl.similarity(back, "CD4/CD8 T")
    ticks = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert ticks == list(dp.get.similarity_matrix(sig, "CD4/CD8 T", ordered=True).index)[::-1]
    assert {"len/dex", " pom "} <= set(ticks)
    dp.pl.similarity(back, "Myeloma", metric="effect_r")
    dp.pl.similarity(back, ".", metric="cosine")
    dp.pl.deg_upset(back, "Myeloma", "up")


def test_roundtripped_replicates_still_work(odd, back):
    """The replicate records (``uns["de"]["replicates"]``, ``uns["pathways"]["replicates"]``) stay usable, also
    from zarr, whose string arrays come back as numpy's StringDType."""
    (_, sig), (_, back) = odd, back
    again = dp.get.potency_rank_table(dp.tl.potency_rank(back, n_draws=200, copy=True))
    pd.testing.assert_frame_equal(again, dp.get.potency_rank_table(sig), check_dtype=False)
    dp.tl.pathways(back, key_added="again")
    np.testing.assert_allclose(back.obsm["again"].to_numpy(), sig.obsm["pathways"].to_numpy(), rtol=1e-8)


def test_concatenated_studies_roundtrip(odd, tmp_path):
    """Replicate records of concatenated studies are keyed by position, not by the study labels."""
    _, sig = odd
    a, b = sig[sig.obs["cell_type"] == "Myeloma"].copy(), sig[sig.obs["cell_type"] == "CD4/CD8 T"].copy()
    both = dp.tl.concat_signatures({"lab/1": a, ".": b})
    records = both.uns["de"]["replicates"]
    assert list(records) == [f"fit{i}" for i in range(6)]  # each input keeps its three fits
    assert [records[k]["study"] for k in records] == ["lab/1"] * 3 + ["."] * 3
    assert _unsafe(dict(both.uns)) == []
    dp.tl.pathways(both)
    back = _roundtrip(both, "h5ad", tmp_path)
    pd.testing.assert_frame_equal(back.obsm["pathways"], both.obsm["pathways"])
    pd.testing.assert_frame_equal(
        dp.get.potency_rank_table(dp.tl.potency_rank(back, keys=["pathways"], n_draws=100, copy=True)),
        dp.get.potency_rank_table(dp.tl.potency_rank(both, keys=["pathways"], n_draws=100, copy=True)),
        check_dtype=False,
    )


def test_similarity_matrix_reads_the_earlier_layout(odd):
    """Objects written before positional records (uns dicts keyed by group labels) are still read."""
    _, sig = odd
    sig = sig.copy()
    new = {g: dp.get.similarity_matrix(sig, g, "spearman") for g in GROUPS}
    rec = sig.uns["compare"]
    legacy = {
        "table": rec["table"],
        "matrices": {
            r["group"]: {m: pd.DataFrame(v, index=r["names"], columns=r["names"]) for m, v in r["matrices"].items()}
            for r in rec["groups"].values()
        },
        "order": {r["group"]: list(r["order"]) for r in rec["groups"].values()},
        "linkage": {r["group"]: r["linkage"] for r in rec["groups"].values()},
        "params": rec["params"],
    }
    sig.uns["compare"] = legacy
    for g in GROUPS:
        pd.testing.assert_frame_equal(dp.get.similarity_matrix(sig, g), new[g])
    dp.pl.similarity(sig, "Myeloma")


def test_deg_overlap_stores_the_wide_table_long(odd):
    """The stored table is the wide one (dp.get.overlap_table) with its condition columns (labels) melted into
    rows; each call is the signature's padj < 0.05 in that direction."""
    _, sig = odd
    keys = ["group", "direction", "gene"]
    wide = dp.get.overlap_table(sig).set_index(keys)
    conds = [c for c in wide.columns if c not in ("n_conditions", "category")]
    want = wide[conds].stack(future_stack=True).dropna().astype(bool)  # NaN: a condition of another group
    long = sig.uns["deg_overlap"]["table"].set_index([*keys, "condition"])
    got = long["called"]
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False, check_index_type=False)
    np.testing.assert_array_equal(long.groupby(keys, sort=False)["called"].sum(), wide["n_conditions"])
    assert {"len/dex", " pom "} <= set(long.index.get_level_values("condition"))
    padj = pd.DataFrame(sig.layers["padj"], index=sig.obs_names, columns=sig.var_names)
    lfc = pd.DataFrame(sig.layers["log2fc"], index=sig.obs_names, columns=sig.var_names)
    name = pd.Series(sig.obs_names, index=[sig.obs["cell_type"].astype(str), sig.obs["condition"].astype(str)])
    rows = long.reset_index()
    rows["signature"] = name.loc[list(zip(rows["group"], rows["condition"], strict=True))].to_numpy()
    p = padj.stack(future_stack=True).loc[list(zip(rows["signature"], rows["gene"], strict=True))].to_numpy()
    sign = np.where(rows["direction"] == "up", 1, -1)
    x = lfc.stack(future_stack=True).loc[list(zip(rows["signature"], rows["gene"], strict=True))].to_numpy()
    np.testing.assert_array_equal(rows["called"].to_numpy(dtype=bool), (p < 0.05) & (sign * x > 0))


def test_gene_set_names_with_slashes(odd, tmp_path):
    """A set named with '/' (GO and Reactome names have them) is stored with a division slash, warned, and
    round-trips; its scores equal those of the same set under a plain name."""
    _, sig = odd
    my = sig[sig.obs["cell_type"] == "Myeloma"].copy()
    genes = dp.resources.genesets("hallmark").query("source == 'HALLMARK_INTERFERON_ALPHA_RESPONSE'")["target"]
    net = pd.DataFrame({"source": "IFN a/b", "target": genes})
    with pytest.warns(UserWarning, match=r"1 gene-set name\(s\) contain '/'.*'IFN a/b'"):
        dp.tl.pathways(my, net, key_added="odd_sets")
    dp.tl.pathways(my, net.assign(source="plain"), key_added="plain_sets")
    assert list(my.obsm["odd_sets"].columns) == ["IFN a\u2215b"]
    np.testing.assert_allclose(my.obsm["odd_sets"].to_numpy(), my.obsm["plain_sets"].to_numpy())
    back = _roundtrip(my, "h5ad", tmp_path)
    np.testing.assert_allclose(back.obsm["odd_sets"].to_numpy(), my.obsm["odd_sets"].to_numpy())
