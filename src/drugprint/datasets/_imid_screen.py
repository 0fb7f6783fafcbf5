"""``imid_screen``: a simulated single-cell screen of thalidomide and its progeny with planted truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from mudata import MuData
from scipy import sparse

from .._checks import check_choice
from .._results import renamed
from ..resources import genesets, panels
from ._baselines import _MARKERS, CELL_TYPES, baseline_profiles, pbmc68k_profiles

#: The simulated drugs, weakest to most potent (each against the control, ``"DMSO"``).
DRUGS: tuple[str, ...] = ("thalidomide", "lenalidomide", "pomalidomide", "iberdomide", "mezigdomide")
CONTROL = "DMSO"

# Hill parameters of each drug's cereblon-driven activity (dose in µM). Activity at 1 µM grows
# thalidomide < lenalidomide < pomalidomide < iberdomide < mezigdomide (0.15, 0.36, 0.69, 0.95, 1.24).
_HILL = pd.DataFrame(
    {
        "class": ["IMiD", "IMiD", "IMiD", "CELMoD", "CELMoD"],
        "ec50_uM": [5.0, 1.5, 0.3, 0.05, 0.01],
        "emax": [0.9, 0.9, 0.9, 1.0, 1.25],
        "hill": [1.0, 1.0, 1.0, 1.0, 1.0],
    },
    index=pd.Index(DRUGS, name="drug"),
)


@dataclass(frozen=True)
class _Programme:
    name: str
    sets: tuple[str, ...]  # source collections' set names, or literal genes prefixed "gene:"
    amplitude: dict[str, float]  # cell type -> log2 fold change at activity 1 (mean over responders)
    tau_h: float  # time constant of the response; effects are scaled to 1 at 24 h
    respond: float  # fraction of the set's genes that respond
    shape: float  # gamma shape of the per-gene multipliers (mean 1)
    pathway: str  # the shipped pathway/panel that reads this programme out


_PROGRAMMES: tuple[_Programme, ...] = (
    _Programme(
        "interferon",
        ("HALLMARK_INTERFERON_ALPHA_RESPONSE", "IMID_CORE_ISG"),
        {"Myeloma": 1.5},
        6.0,
        0.7,
        3.0,
        "HALLMARK_INTERFERON_ALPHA_RESPONSE",
    ),
    _Programme("p53", ("HALLMARK_P53_PATHWAY",), {"Myeloma": 1.0}, 12.0, 0.6, 3.0, "HALLMARK_P53_PATHWAY"),
    _Programme("apoptosis", ("HALLMARK_APOPTOSIS",), {"Myeloma": 0.9}, 24.0, 0.6, 3.0, "HALLMARK_APOPTOSIS"),
    _Programme(
        "cell_cycle",
        ("HALLMARK_G2M_CHECKPOINT", "HALLMARK_E2F_TARGETS"),
        {"Myeloma": -1.2},
        24.0,
        0.6,
        3.0,
        "HALLMARK_G2M_CHECKPOINT",
    ),
    _Programme("irf4_myc", ("gene:IRF4", "gene:MYC"), {"Myeloma": -1.6}, 4.0, 1.0, 20.0, "irf4_myc"),
    _Programme(
        "cytotoxicity",
        tuple(f"gene:{g}" for g in ("NKG7", "GZMB", "GZMA", "GZMH", "PRF1", "GNLY", "IFNG")),
        {"NK": 1.2, "CD8 T": 1.0},
        12.0,
        1.0,
        8.0,
        "cytotoxicity",
    ),
    _Programme("il2", ("gene:IL2",), {"CD4 T": 2.0}, 12.0, 1.0, 50.0, "il2_derepression"),
    _Programme(
        "costimulation",
        tuple(f"gene:{g}" for g in ("IL2RA", "CD69", "TNFRSF9", "IFNG")),
        {"CD4 T": 0.6},
        12.0,
        1.0,
        8.0,
        "il2_derepression",
    ),
    _Programme("tnf", ("gene:TNF",), {"CD14 Mono": -1.2}, 6.0, 1.0, 50.0, "cytotoxicity"),
    _Programme(
        "ikzf_mrna",
        ("gene:IKZF1", "gene:IKZF3"),
        {"CD4 T": 0.2, "CD8 T": 0.2, "NK": 0.2, "Myeloma": 0.2},
        24.0,
        1.0,
        50.0,
        "neosubstrates",
    ),
)

_PROPORTIONS = dict(zip(CELL_TYPES, (0.25, 0.15, 0.12, 0.12, 0.16, 0.20), strict=True))

#: Planted change in each cell type's abundance (log2) at full activity (1.25) after 24 h: myeloma cells die,
#: NK and CD8 T cells expand; the other cell types are unchanged (their proportions move only by renormalisation).
COMPOSITION: dict[str, float] = {"Myeloma": -1.0, "NK": 1.0, "CD8 T": 0.6}
#: Activity at which the composition effects are full (mezigdomide at 1 µM: 1.24).
_FULL_ACTIVITY = 1.25
_LIBRARY = dict(zip(CELL_TYPES, (2000.0, 2000.0, 2000.0, 2000.0, 3000.0, 5000.0), strict=True))

_PRESETS: dict[str, dict[str, int]] = {
    "default": {"n_donors": 6, "cells_per_sample": 350},
    "small": {"n_donors": 4, "cells_per_sample": 150},
}


def activity(drug: str, dose_uM: float | np.ndarray) -> float | np.ndarray:
    """Planted cereblon-driven activity of ``drug`` at ``dose_uM`` (Hill curve; 0 for the control).

    Parameters
    ----------
    drug
        ``"DMSO"`` (the control) or one of :data:`DRUGS`.
    dose_uM
        Dose in µM, a number or an array.

    Returns
    -------
    ``Emax · dose^h / (dose^h + EC50^h)`` with the drug's planted parameters (``uns["truth"]["compounds"]`` of
    :func:`imid_screen`): a float for a number, an array for an array.

    Examples
    --------
    >>> import drugprint as dp
    >>> dp.datasets.activity("thalidomide", 1.0), dp.datasets.activity("DMSO", 1.0)
    (0.15, 0.0)
    >>> dp.datasets.activity("lenalidomide", [0.1, 1.0, 10.0]).round(2).tolist()
    [0.06, 0.36, 0.78]
    """
    check_choice(drug, [CONTROL, *DRUGS], name="drug")
    if drug == CONTROL:
        return np.zeros_like(np.asarray(dose_uM, dtype=float)) if np.ndim(dose_uM) else 0.0
    p = _HILL.loc[drug]
    d = np.asarray(dose_uM, dtype=float)
    out = p["emax"] * d ** p["hill"] / (d ** p["hill"] + p["ec50_uM"] ** p["hill"])
    return out if np.ndim(out) else float(out)


def _time_factor(tau_h: float, time_h: float) -> float:
    return float((1 - np.exp(-time_h / tau_h)) / (1 - np.exp(-24.0 / tau_h)))


def gene_universe() -> list[str]:
    """Genes of the simulated screen, sorted.

    Every gene of the shipped Hallmark, PROGENy (top 100) and curated sets, the panels, the
    ``pbmc68k_reduced`` genes and the lineage markers.

    Returns
    -------
    The gene symbols, sorted: the ``var_names`` of :func:`imid_screen`.

    Examples
    --------
    >>> import drugprint as dp
    >>> genes = dp.datasets.gene_universe()
    >>> "IKZF1" in genes, genes == sorted(genes)
    (True, True)
    """
    genes: set[str] = set(pbmc68k_profiles().index) | set(_MARKERS)
    for name, kw in (("hallmark", {}), ("progeny", {"top": 100}), ("imid", {})):
        genes |= set(genesets(name, **kw)["target"])
    for members in panels().values():
        genes |= set(members)
    return sorted(genes)


def _set_members() -> dict[str, list[str]]:
    nets = pd.concat([genesets("hallmark"), genesets("imid")], ignore_index=True)
    return {k: list(v) for k, v in nets.groupby("source", sort=False)["target"]}


def _plant(
    genes: pd.Index, rng: np.random.Generator, members: dict[str, list[str]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per programme × cell type × gene multipliers (mean 1), and drug-specific fingerprints."""
    rows = []
    for prog in _PROGRAMMES:
        pool: list[str] = []
        for s in prog.sets:
            pool += [s[5:]] if s.startswith("gene:") else members[s]
        pool = [g for g in dict.fromkeys(pool) if g in genes]
        for ct, amp in prog.amplitude.items():
            chosen = [g for g in pool if rng.random() < prog.respond] if prog.respond < 1 else pool
            mult = rng.gamma(prog.shape, 1.0 / prog.shape, len(chosen))
            rows += [(prog.name, ct, g, amp * m) for g, m in zip(chosen, mult, strict=True)]
    programme_genes = pd.DataFrame(rows, columns=["programme", "cell_type", "gene", "log2fc_at_activity_1"])
    # fingerprints beyond the shared programmes: genes moved by one drug class, and by one drug only
    taken = set(programme_genes["gene"])
    free = np.array([g for g in genes if g not in taken])
    rows = []
    for ct in CELL_TYPES:
        if ct == "B":  # B cells are the null cell type: nothing planted
            continue
        for cls in ("IMiD", "CELMoD"):
            for g in rng.choice(free, 30, replace=False):
                rows.append((f"{cls}_specific", ct, g, rng.choice([-1, 1]) * rng.gamma(4.0, 0.2), cls))
        for drug in DRUGS:
            for g in rng.choice(free, 15, replace=False):
                rows.append((f"{drug}_specific", ct, g, rng.choice([-1, 1]) * rng.gamma(4.0, 0.15), drug))
    specific = pd.DataFrame(rows, columns=["programme", "cell_type", "gene", "log2fc_at_activity_1", "applies_to"])
    return programme_genes, specific


@renamed(seed="random_state")
def imid_screen(
    preset: Literal["default", "small"] = "default",
    random_state: int = 0,
    modalities: Sequence[str] = ("rna",),
    *,
    doses: Sequence[float] | None = None,
    timepoints: Sequence[float] | None = None,
    n_donors: int | None = None,
    cells_per_sample: int | None = None,
    programme_sd: float = 0.1,
    composition_scale: float = 1.0,
) -> AnnData | MuData:
    """Simulated single-cell screen of thalidomide, lenalidomide, pomalidomide, iberdomide and mezigdomide.

    Peripheral blood cells and myeloma cells of several donors are exposed to each drug or to DMSO.
    Counts are negative binomial with gene-wise dispersion around cell-type baselines (five PBMC types
    seeded from scanpy's ``pbmc68k_reduced``; plasma-cell-like myeloma cells), with cell library-size
    variation, donor effects, per-profile biological noise and, as in real samples, gene programmes that
    rise and fall together from profile to profile for reasons unrelated to the drug (donor state,
    activation, handling: each Hallmark set's genes shift together by a random amount per profile, see
    ``programme_sd``). Drug effects are planted in log space and
    scale with each drug's Hill activity at the dose (potency thalidomide < lenalidomide < pomalidomide <
    iberdomide < mezigdomide):

    - Myeloma: interferon response, p53 and apoptosis up; IRF4/MYC and G2M/E2F down.
    - NK and CD8 T: cytotoxicity genes (NKG7, GZMB, GZMA, GZMH, PRF1, GNLY, IFNG) up.
    - Composition: myeloma cells die, NK and CD8 T cells expand (:data:`COMPOSITION`: log2 abundance changes
      of −1, +1 and +0.6 at full activity, scaled by ``min(activity, 1.25) / 1.25`` and rising towards 24 h with a
      24 h time constant); the proportions of the other cell types move only as the total is renormalised.
    - CD4 T: IL2 up (and IL2RA, CD69, TNFRSF9, IFNG mildly). CD14 Mono: TNF down.
    - IKZF1/IKZF3 mRNA slightly up (their degradation is post-transcriptional).
    - B cells: nothing (a null cell type).
    - Each drug class and each drug also moves a few genes of its own (its fingerprint).

    Parameters
    ----------
    preset
        ``"default"`` (6 donors, ~12,600 cells) or ``"small"`` (4 donors, ~3,600 cells, for tests).
    random_state
        Seed of the random generator; equal seeds give identical data.
    modalities
        ``("rna",)`` for an AnnData, or ``("rna", "prot")`` for a MuData with CITE-seq-like antibody counts
        as well (``prot``: lineage markers and intracellular Ikaros/Aiolos, whose protein falls with each
        drug's potency while their mRNA does not; truth in ``uns["truth"]["protein"]`` of the RNA modality).
    doses
        Doses in µM given of every drug (default one dose, 1 µM).
    timepoints
        Hours of exposure (default 24 h). Effects rise towards 24 h with programme-specific time constants.
    n_donors, cells_per_sample
        Override the preset's number of donors and mean number of cells per sample.
    programme_sd
        Standard deviation (log2 units) of the shared shift of each Hallmark set's genes in each profile
        (sample × cell type); a gene in several sets takes the sum of their shifts. The default, 0.1, is at
        the low end of the 0.1–0.25 seen between samples of real data; ``0`` gives independent genes. The
        shifts are recorded in ``uns["truth"]["programme_shifts"]``.
    composition_scale
        Multiplies the planted log2 abundance changes (:data:`COMPOSITION`); ``0`` gives a screen in which no
        drug changes which cells are there.

    Returns
    -------
    AnnData (or MuData with ``rna`` and ``prot``) with raw counts in ``layers["counts"]`` and log-normalised
    values in ``X``; ``obs`` columns
    ``donor``, ``drug``, ``dose`` (µM), ``time`` (h), ``condition`` (drug, with the dose when several are
    given), ``sample`` and ``cell_type``; the planted truth in ``uns["truth"]``: ``compounds`` (Hill
    parameters), ``activity`` (per drug, dose and time), ``effects`` (cell type × programme × drug effect
    sizes in log2), ``gene_effects`` (every planted gene's log2 fold change), ``programmes`` (which
    shipped pathway or panel reads each programme out), ``potency_order``, ``null_cell_types`` and
    ``programme_shifts`` (each profile's shift of each Hallmark set, log2; not a drug effect) and ``composition``
    (per drug, dose, time and cell type: the planted log2 change of abundance and the resulting log2 change of the
    mean proportion).

    Examples
    --------
    >>> import drugprint as dp
    >>> adata = dp.datasets.imid_screen("small", random_state=0)
    >>> sorted(adata.obs["drug"].unique())[:2]
    ['DMSO', 'iberdomide']
    """
    check_choice(preset, list(_PRESETS), name="preset")
    modalities = tuple(modalities)
    for m in modalities:
        check_choice(m, ["rna", "prot"], name="modality")
    if "rna" not in modalities:
        raise ValueError("modalities must include 'rna'.")
    cfg = dict(_PRESETS[preset])
    if n_donors is not None:
        cfg["n_donors"] = int(n_donors)
    if cells_per_sample is not None:
        cfg["cells_per_sample"] = int(cells_per_sample)
    if cfg["n_donors"] < 2:
        raise ValueError(f"n_donors must be at least 2 to allow replicates, got {cfg['n_donors']}.")
    doses = [1.0] if doses is None else [float(d) for d in doses]
    timepoints = [24.0] if timepoints is None else [float(t) for t in timepoints]
    if any(d <= 0 for d in doses) or any(t <= 0 for t in timepoints):
        raise ValueError("doses and timepoints must be positive numbers.")
    if not (np.isfinite(programme_sd) and programme_sd >= 0):
        raise ValueError(f"programme_sd must be a non-negative number (log2 units), got {programme_sd!r}.")
    if not (np.isfinite(composition_scale) and composition_scale >= 0):
        raise ValueError(f"composition_scale must be a non-negative number, got {composition_scale!r}.")

    rng = np.random.default_rng(random_state)
    genes = pd.Index(gene_universe())
    n_genes = len(genes)
    members = _set_members()
    prolif = set(members["HALLMARK_G2M_CHECKPOINT"]) | set(members["HALLMARK_E2F_TARGETS"])
    base = baseline_profiles(list(genes), prolif, rng)
    programme_genes, specific = _plant(genes, rng, members)
    gpos = pd.Series(np.arange(n_genes), index=genes)
    dispersion = np.exp(rng.normal(np.log(0.2), 0.5, n_genes))  # cell-level NB dispersion
    profile_sd = 0.12 * np.exp(rng.normal(0.0, 0.4, n_genes))  # per-profile biological noise (ln scale)

    donors = [f"D{i + 1}" for i in range(cfg["n_donors"])]
    donor_effect = {d: rng.normal(0.0, 0.2, n_genes) for d in donors}
    donor_ct_effect = {(d, ct): rng.normal(0.0, 0.1, n_genes) for d in donors for ct in CELL_TYPES}
    programme_rng = np.random.default_rng([random_state, 2])
    hallmark = genesets("hallmark")
    hallmark = hallmark[hallmark["target"].isin(genes)]
    membership = sparse.csr_matrix(
        (
            np.ones(len(hallmark)),
            (pd.Categorical(hallmark["source"]).codes, gpos[hallmark["target"]].to_numpy()),
        ),
        shape=(hallmark["source"].nunique(), n_genes),
    )
    donor_props = {d: rng.dirichlet(np.array([_PROPORTIONS[c] for c in CELL_TYPES]) * 60.0) for d in donors}

    # conditions: DMSO once per time point, each drug at each dose and time point
    conds = [(CONTROL, 0.0, t) for t in timepoints] + [(k, d, t) for t in timepoints for k in DRUGS for d in doses]
    multi_dose, multi_time = len(doses) > 1, len(timepoints) > 1

    def label(drug: str, dose: float) -> str:
        return drug if (drug == CONTROL or not multi_dose) else f"{drug}_{dose:g}uM"

    # log2 effect vector per (cell type, drug, dose, time)
    tau = {prog.name: prog.tau_h for prog in _PROGRAMMES}
    planted = programme_genes.assign(
        pos=gpos[programme_genes["gene"]].to_numpy(), tau=programme_genes["programme"].map(tau)
    )
    planted_by_ct = {ct: df for ct, df in planted.groupby("cell_type", sort=False)}
    specific_pos = gpos[specific["gene"]].to_numpy()

    @cache
    def effect(ct: str, drug: str, dose: float, time_h: float) -> np.ndarray:
        eff = np.zeros(n_genes)
        if drug == CONTROL:
            return eff
        a = activity(drug, dose)
        if ct in planted_by_ct:
            pg = planted_by_ct[ct]
            scale = [_time_factor(t, time_h) for t in pg["tau"]]
            np.add.at(eff, pg["pos"].to_numpy(), pg["log2fc_at_activity_1"].to_numpy() * a * np.asarray(scale))
        sp = ((specific["cell_type"] == ct) & specific["applies_to"].isin([drug, _HILL.loc[drug, "class"]])).to_numpy()
        np.add.at(
            eff, specific_pos[sp], specific["log2fc_at_activity_1"].to_numpy()[sp] * a * _time_factor(12.0, time_h)
        )
        return eff

    log_base = {ct: np.log(base[ct].to_numpy()) for ct in CELL_TYPES}
    blocks, obs_rows, gene_rows, shift_rows = [], [], [], []
    for donor in donors:
        for drug, dose, time_h in conds:
            props = donor_props[donor] * _abundance(drug, dose, time_h, composition_scale)
            props /= props.sum()
            n_cells = rng.poisson(cfg["cells_per_sample"])
            per_type = rng.multinomial(n_cells, props)
            sample = f"{donor}_{label(drug, dose)}" + (f"_{time_h:g}h" if multi_time else "")
            for ct, n in zip(CELL_TYPES, per_type, strict=True):
                eff = effect(ct, drug, dose, time_h)
                if donor == donors[0] and drug != CONTROL:
                    nz = np.flatnonzero(eff)
                    gene_rows += [(ct, drug, dose, time_h, genes[i], eff[i]) for i in nz]
                set_shift = programme_rng.normal(0.0, programme_sd, membership.shape[0])
                shift_rows.append((sample, ct, *set_shift))
                shift = membership.T @ set_shift
                if n == 0:
                    continue
                log_mu = (
                    log_base[ct]
                    + donor_effect[donor]
                    + donor_ct_effect[donor, ct]
                    + rng.normal(0.0, profile_sd)
                    + (eff + shift) * np.log(2)
                )
                lib = np.exp(rng.normal(np.log(_LIBRARY[ct]), 0.35, n))
                mu = lib[:, None] * np.exp(log_mu)[None, :]
                lam = rng.gamma(1.0 / dispersion, mu * dispersion)
                blocks.append(sparse.csr_matrix(rng.poisson(lam).astype(np.int32)))
                obs_rows += [(donor, drug, dose, time_h, label(drug, dose), sample, ct)] * n

    counts = sparse.vstack(blocks, format="csr")
    obs = pd.DataFrame(obs_rows, columns=["donor", "drug", "dose", "time", "condition", "sample", "cell_type"])
    obs.index = [f"cell{i:06d}" for i in range(len(obs))]
    obs["donor"] = pd.Categorical(obs["donor"], categories=donors)
    obs["drug"] = pd.Categorical(obs["drug"], categories=[CONTROL, *DRUGS])
    obs["condition"] = pd.Categorical(
        obs["condition"], categories=list(dict.fromkeys(label(k, d) for k, d, _ in conds))
    )
    obs["sample"] = pd.Categorical(obs["sample"], categories=list(dict.fromkeys(obs["sample"])))
    obs["cell_type"] = pd.Categorical(obs["cell_type"], categories=list(CELL_TYPES))

    adata = AnnData(X=_log_normalise(counts), obs=obs, var=pd.DataFrame(index=genes.astype(str)))
    adata.layers["counts"] = counts
    adata.uns["truth"] = _truth(conds, programme_genes, gene_rows)
    adata.uns["truth"]["composition"] = _composition_truth(conds, composition_scale)
    set_names = pd.Categorical(hallmark["source"]).categories
    adata.uns["truth"]["programme_shifts"] = pd.DataFrame(shift_rows, columns=["sample", "cell_type", *set_names])
    adata.uns["imid_screen"] = {
        "preset": preset,
        "random_state": random_state,
        **cfg,
        "doses_uM": doses,
        "timepoints_h": timepoints,
        "programme_sd": float(programme_sd),
        "composition_scale": float(composition_scale),
    }
    if "prot" not in modalities:
        return adata
    import mudata as md

    from ._protein import simulate_protein

    prot, truth = simulate_protein(adata.obs, activity, np.random.default_rng([random_state, 1]))
    adata.uns["truth"]["protein"] = truth
    with md.set_options(pull_on_update=False):
        mdata = md.MuData({"rna": adata, "prot": prot})
    mdata.obs = adata.obs.copy()
    return mdata


def _abundance(drug: str, dose: float, time_h: float, scale: float = 1.0) -> np.ndarray:
    """Planted abundance multipliers of the cell types (:data:`CELL_TYPES` order) under a drug, before renormalising."""
    a = min(float(activity(drug, dose)), _FULL_ACTIVITY) / _FULL_ACTIVITY * _time_factor(24.0, time_h)
    return np.array([2.0 ** (scale * a * COMPOSITION.get(ct, 0.0)) for ct in CELL_TYPES])


def _composition_truth(conds, scale: float) -> pd.DataFrame:
    """Per drug condition and cell type: planted log2 abundance change and log2 change of the mean proportion."""
    base = np.array([_PROPORTIONS[c] for c in CELL_TYPES])
    base = base / base.sum()
    rows = []
    for drug, dose, time_h in conds:
        if drug == CONTROL:
            continue
        mult = _abundance(drug, dose, time_h, scale)
        prop = base * mult / (base * mult).sum()
        rows += [
            (drug, dose, time_h, ct, np.log2(m), np.log2(p / b))
            for ct, m, p, b in zip(CELL_TYPES, mult, prop, base, strict=True)
        ]
    return pd.DataFrame(rows, columns=["drug", "dose", "time", "cell_type", "log2_abundance", "log2fc_proportion"])


def _log_normalise(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """``log1p`` of counts scaled to 10,000 per cell (cells without counts stay 0), as float32."""
    size = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
    scale = np.divide(1e4, size, out=np.zeros_like(size), where=size > 0)
    x = counts.astype(np.float32)
    x.data *= np.repeat(scale, np.diff(x.indptr)).astype(np.float32)
    np.log1p(x.data, out=x.data)
    return x


def _truth(conds, programme_genes: pd.DataFrame, gene_rows: list) -> dict:
    compounds = _HILL.reset_index()
    act = pd.DataFrame(
        [(k, d, t, activity(k, d)) for k, d, t in conds if k != CONTROL],
        columns=["drug", "dose", "time", "activity"],
    )
    rows = []
    for prog in _PROGRAMMES:
        for ct, amp in prog.amplitude.items():
            for k, d, t in conds:
                if k == CONTROL:
                    continue
                rows.append((ct, prog.name, prog.pathway, k, d, t, amp * activity(k, d) * _time_factor(prog.tau_h, t)))
    effects = pd.DataFrame(rows, columns=["cell_type", "programme", "readout", "drug", "dose", "time", "log2fc"])
    programmes = pd.DataFrame(
        [(p.name, "; ".join(p.sets), p.pathway, p.tau_h, p.respond) for p in _PROGRAMMES],
        columns=["programme", "sets", "readout", "tau_h", "fraction_responding"],
    )
    gene_effects = pd.DataFrame(gene_rows, columns=["cell_type", "drug", "dose", "time", "gene", "log2fc"])
    return {
        "compounds": compounds,
        "activity": act,
        "effects": effects,
        "programmes": programmes,
        "gene_effects": gene_effects,
        "programme_genes": programme_genes,
        "potency_order": list(DRUGS),
        "null_cell_types": ["B"],
    }
