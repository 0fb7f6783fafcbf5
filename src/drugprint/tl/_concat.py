"""``concat_signatures``: signatures from several studies and platforms in one AnnData."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import anndata as ad
import numpy as np
import pandas as pd
from anndata import AnnData

from .._checks import check_choice


def concat_signatures(
    sigs: Sequence[AnnData] | dict[str, AnnData],
    *,
    study: Sequence[str] | None = None,
    platform: Sequence[str] | None = None,
    genes: Literal["intersection", "union"] = "intersection",
    groupby: str = "cell_type",
) -> AnnData:
    """Stack signatures of different studies or platforms for a rank-based comparison.

    Every signature keeps its statistics; ``obs`` gains ``study`` and ``platform`` (so that
    :func:`drugprint.tl.compare` flags cross-platform pairs) and the rows are renamed
    ``"{study}:{name}"``. Genes are those measured in all inputs (``"intersection"``, the default for
    comparisons) or in any (``"union"``, NaN where missing). Scores in ``obsm`` are dropped (re-score the
    combined object so all rows use the same genes).

    Parameters
    ----------
    sigs
        Signatures AnnData objects, or a mapping study name → signatures.
    study, platform
        Labels per input (defaults: the mapping's keys or ``obs["study"]``; ``obs["platform"]`` or
        ``uns["de"]["method"]``).
    genes
        Gene set of the result.
    groupby
        Name of the group column in the result (inputs' own group columns are renamed to it).

    Returns
    -------
    One signatures AnnData with ``uns["de"]`` describing the inputs. Signatures made by :func:`drugprint.tl.de`
    keep their per-profile data (restricted to the genes kept), so their pathways are still tested with the
    samples as replicates; published tables have none.

    Examples
    --------
    >>> import drugprint as dp, pandas as pd
    >>> a = dp.io.read_de_table(pd.DataFrame({"g": ["A", "B", "C"], "lfc": [1, -1, 0.5], "p": [0.01, 0.02, 0.5]}),
    ...                         "g", "lfc", pvalue_col="p", condition="len", reference="DMSO", study="s1")
    >>> b = dp.io.read_de_table(pd.DataFrame({"g": ["B", "C", "D"], "lfc": [-2, 1, 3], "p": [0.01, 0.02, 0.5]}),
    ...                         "g", "lfc", pvalue_col="p", condition="len", reference="DMSO", study="s2")
    >>> both = dp.tl.concat_signatures([a, b], platform=["microarray", "RNA-seq"])
    >>> list(both.var_names), both.obs["platform"].tolist()
    (['B', 'C'], ['microarray', 'RNA-seq'])
    """
    check_choice(genes, ["intersection", "union"], name="genes")
    if isinstance(sigs, dict):
        study = list(sigs) if study is None else study
        sigs = list(sigs.values())
    sigs = list(sigs)
    if len(sigs) < 2:
        raise ValueError("concat_signatures needs at least two signatures objects.")
    for lab, name in ((study, "study"), (platform, "platform")):
        if lab is not None and len(lab) != len(sigs):
            raise ValueError(f"{name} has {len(lab)} labels for {len(sigs)} inputs.")
    parts, methods, kept = [], [], []
    for i, s in enumerate(sigs):
        if "stat" not in s.layers or "log2fc" not in s.layers:
            raise ValueError(f"Input {i} is not a signatures AnnData (needs layers 'stat' and 'log2fc').")
        de = s.uns.get("de", {}) if isinstance(s.uns.get("de"), dict) else {}
        methods.append(str(de.get("method", "unknown")))
        obs = s.obs.copy()
        own = de.get("groupby") or None
        if own and own in obs and own != groupby:
            obs = obs.rename(columns={own: groupby})
        st = study[i] if study is not None else (str(obs["study"].iloc[0]) if "study" in obs else f"study{i + 1}")
        pf = (
            platform[i]
            if platform is not None
            else (str(obs["platform"].iloc[0]) if "platform" in obs else str(de.get("method", "unknown")))
        )
        obs["study"], obs["platform"] = st, pf
        obs = obs.astype({c: str for c in obs.columns if isinstance(obs[c].dtype, pd.CategoricalDtype)})
        part = AnnData(
            X=s.X.copy(),
            obs=obs,
            var=pd.DataFrame(index=s.var_names),
            layers={k: np.asarray(v, dtype=float).copy() for k, v in s.layers.items()},
        )
        part.obs_names = [f"{st}:{n}" for n in s.obs_names]
        parts.append(part)
        kept.append((st, de.get("replicates") or {}))
    out = ad.concat(parts, join="inner" if genes == "intersection" else "outer", merge=None, fill_value=np.nan)
    if genes == "union":
        out.X = np.nan_to_num(out.layers["stat"])
    if out.n_vars == 0:
        raise ValueError("The inputs share no gene; check that they use the same gene identifiers (symbols?).")
    for c in (groupby, "condition", "reference", "study", "platform"):
        if c in out.obs:
            out.obs[c] = pd.Categorical(out.obs[c].astype(str), categories=list(dict.fromkeys(out.obs[c].astype(str))))
    out.uns["de"] = {
        "method": "concatenated",
        "groupby": groupby if groupby in out.obs else "",
        "inputs": pd.DataFrame(
            {
                "study": [p.obs["study"].iloc[0] for p in parts],
                "platform": [p.obs["platform"].iloc[0] for p in parts],
                "method": methods,
                "n_signatures": [p.n_obs for p in parts],
                "n_genes": [p.n_vars for p in parts],
            }
        ),
        "replicates": _replicates(kept, out.var_names),
    }
    return out


def _replicates(kept: list, var_names: pd.Index) -> dict:
    """Each input's per-fit replicate data, renamed to the concatenated rows and restricted to its genes."""
    out = {}
    for st, store in kept:
        for key, f in store.items():
            own = np.asarray(f["genes"]).astype(str)
            keep = pd.Index(own).isin(var_names)
            rec = {k: v for k, v in f.items() if k not in ("genes", "expr", "weights", "signatures")}
            rec["genes"] = own[keep]
            rec["gene_index"] = var_names.get_indexer(own[keep])
            rec["n_vars"] = len(var_names)
            rec["expr"] = np.asarray(f["expr"])[:, keep]
            if "weights" in f:
                rec["weights"] = np.asarray(f["weights"])[:, keep]
            rec["signatures"] = np.asarray([f"{st}:{n}" for n in np.asarray(f["signatures"])], dtype=str)
            rec["study"], rec["study_fit"] = str(st), str(key)
            out[f"fit{len(out)}"] = rec  # positional: study labels may hold characters HDF5/zarr keys refuse
    return out
