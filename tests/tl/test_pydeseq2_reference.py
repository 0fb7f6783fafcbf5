"""``dp.tl.de(method="deseq2")`` against R DESeq2 on PyDESeq2's own reference suite.

Counts, metadata and R ``results()`` tables are those of PyDESeq2 (https://github.com/owkin/PyDESeq2, commit
28cb7932326d4a82fe47e5637ac8fbab7343554b, MIT licence), copied to ``tests/data/pydeseq2`` (provenance in its
README). The cases, designs, outlier edits, tolerances and comparison rule are those of PyDESeq2's
``tests/test_pydeseq2.py``: ``test_deseq_independent_filtering_parametric_fit`` (single factor),
``test_multifactor_deseq`` and ``test_continuous_deseq`` (each with and without outliers) and ``test_wide_deseq``.
"""

from pathlib import Path

import anndata as ad
import pandas as pd
import pytest

import drugprint as dp

DATA = Path(__file__).parents[1] / "data" / "pydeseq2"

CONTRAST = {"contrasts": [("B", "A")]}
GROUP_CONDITION = {"design": "~ group + condition", **CONTRAST}
MEASUREMENT = {"design": "~ group + condition + measurement", "coef": "measurement"}

# id: (counts and metadata folder, R results, PyDESeq2's outlier edits?, PyDESeq2's tolerance, dp.tl.de arguments, row)
CASES = {
    "single_factor": ("synthetic", "single_factor/r_test_res.csv", False, 0.02, CONTRAST, "all|B vs A"),
    "multi_factor": ("synthetic", "multi_factor/r_test_res.csv", False, 0.04, GROUP_CONDITION, "all|B vs A"),
    "multi_factor_outliers": (
        "synthetic",
        "multi_factor/r_test_res_outliers.csv",
        True,
        0.04,
        GROUP_CONDITION,
        "all|B vs A",
    ),
    "continuous": ("continuous", "continuous/r_test_res.csv", False, 0.04, MEASUREMENT, "all|measurement"),
    "continuous_outliers": (
        "continuous",
        "continuous/r_test_res_outliers.csv",
        True,
        0.04,
        MEASUREMENT,
        "all|measurement",
    ),
    "wide": ("wide", "wide/r_test_res.csv", False, 0.02, GROUP_CONDITION, "all|B vs A"),
}


def _adata(folder: str, outliers: bool) -> ad.AnnData:
    counts = pd.read_csv(DATA / folder / "test_counts.csv", index_col=0).T  # stored genes × samples
    obs = pd.read_csv(DATA / folder / "test_metadata.csv", index_col=0)
    if outliers:  # as PyDESeq2: two outlier counts and a level "C" with a single replicate
        counts.loc["sample1", "gene1"] = 2000
        counts.loc["sample11", "gene7"] = 1000
        obs.loc["sample1", "condition"] = "C"
    for col in ("condition", "group"):
        obs[col] = obs[col].astype("category")
    return ad.AnnData(counts.astype("int64"), obs=obs)


@pytest.mark.parametrize(("folder", "r_file", "outliers", "tol", "kwargs", "row"), CASES.values(), ids=CASES.keys())
def test_deseq2_equals_r_on_pydeseq2_suite(folder, r_file, outliers, tol, kwargs, row):
    r = pd.read_csv(DATA / r_file, index_col=0)
    sig = dp.tl.de(
        _adata(folder, outliers),
        condition_key="condition",
        control="A",
        groupby=None,
        method="deseq2",
        filter_genes=False,
        min_replicates=1,
        verbose=False,
        **kwargs,
    )
    assert sorted(sig.var_names) == sorted(r.index)
    py = pd.DataFrame({k: sig[row].layers[k][0] for k in ("log2fc", "pvalue", "padj")}, index=sig.var_names).loc[
        r.index
    ]
    # PyDESeq2's assert_res_almost_equal (tests/test_pydeseq2.py), verbatim up to column names: the same NaNs,
    # then the largest relative error over the non-NaN entries (pandas' max skips NaN) below tol
    assert (py.pvalue.isna() == r.pvalue.isna()).all()
    assert (py.padj.isna() == r.padj.isna()).all()
    assert (abs(r.log2FoldChange - py.log2fc) / abs(r.log2FoldChange)).max() < tol
    assert (abs(r.pvalue - py.pvalue) / r.pvalue).max() < tol
    assert (abs(r.padj - py.padj) / r.padj).max() < tol
