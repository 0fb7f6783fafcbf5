"""What ``de`` refuses in its input: single cells taken for samples, and normalised values taken for counts."""

from __future__ import annotations

import re
import warnings

import numpy as np
from anndata import AnnData

from ..._anndata import get_matrix, to_dense
from ..._counts import is_integer_valued
from ..._libsize import check_library_sizes
from ..._results import caller_stacklevel

_BARCODE = re.compile(r"[ACGTN]{10,}")
#: More rows than this for one group and condition are single cells, not samples.
MAX_ROWS_PER_ARM = 100


def refuse_single_cells(pdata: AnnData, layer: str | None, condition_key: str | None, groupby: str | None) -> None:
    """Raise when the rows look like single cells rather than samples (pseudoreplication).

    Signs: cell-barcode row names; more than ``MAX_ROWS_PER_ARM`` rows for one group and condition; or more
    than 10 rows per arm that are mostly (≥ 75 %) zeros, as single cells are and samples are not.
    """
    if "n_cells" in pdata.obs.columns:  # profiles from dp.pp.pseudobulk (or an aggregate that counted cells)
        return
    names = pdata.obs_names[:2000].astype(str)
    keys = [k for k in (condition_key, groupby) if k]
    per_arm = int(pdata.obs.groupby(keys, observed=True).size().max()) if keys else pdata.n_obs
    why = []
    if np.mean([bool(_BARCODE.search(n)) for n in names]) >= 0.5:
        why.append(f"row names look like cell barcodes (e.g. {names[0]!r})")
    if per_arm > MAX_ROWS_PER_ARM:
        why.append(f"up to {per_arm} rows share one {' and '.join(keys)}")
    if per_arm > 10:
        zeros = float(np.mean(to_dense(get_matrix(pdata[: min(pdata.n_obs, 500)], layer)) == 0))
        if zeros >= 0.75:
            why.append(f"{zeros:.0%} of the values are zero")
    if why:
        raise ValueError(
            f"pdata looks like {pdata.n_obs} single cells, not samples ({'; '.join(why)}; no obs['n_cells']). Cells "
            "of one sample are not replicates: testing them as such gives p-values that count cells, not samples. "
            "Sum them per sample first: dp.pp.pseudobulk(adata, sample_key=..., groupby=...), then dp.tl.de. If "
            "the rows really are independent samples, pass allow_single_cells=True."
        )


def check_scale(x: np.ndarray, engine, layer: str | None, n_cells: np.ndarray | None, allow: bool) -> bool:
    """Whether ``x`` holds counts; an error when ``engine`` needs counts and ``x`` does not hold them.

    Integer values whose library sizes are all equal (or, for pseudobulk profiles, equal per cell) are normalised
    values rounded, not counts: an error for the count engines, unless ``allow``.
    """
    where = f"layers[{layer!r}]" if layer else "X"
    is_counts = is_integer_valued(x)
    if engine.counts and is_counts:
        fix = (
            "Pass the layer that holds the raw counts (layer=...), or pseudobulk the cells' raw counts "
            "(dp.pp.pseudobulk(adata, layer='counts') or use_raw=True); for normalised values on a log scale use "
            "method='limma'."
        )
        totals = x.sum(axis=1)
        check_library_sizes(totals, what=f"The profiles in {where}", fix=fix, allow=allow)
        if n_cells is not None:
            check_library_sizes(
                totals / np.maximum(n_cells, 1),
                what=f"The cells summed into {where}",
                fix=fix,
                allow=allow,
                cell_means=True,
            )
    if engine.counts and not is_counts:
        found = [
            f"{n} {kind} value(s)"
            for kind, n in (
                ("missing (NaN)", int(np.isnan(x).sum())),
                ("negative", int((x < 0).sum())),
                ("non-integer", int((np.isfinite(x) & (x != np.round(x))).sum())),
            )
            if n
        ]
        raise ValueError(
            f"method={engine.name!r} needs raw counts, but {where} holds {', '.join(found)}. "
            "Pseudobulk the raw counts (dp.pp.pseudobulk(adata, layer='counts')), or use method='limma' for "
            "log-scale data."
        )
    if engine.needs == "log values" and is_counts and np.nanmax(x) > 100:
        warnings.warn(
            f"{where} looks like raw counts; limma expects log-scale values. Use method='voom' (or 'deseq2').",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    return is_counts
