"""``screen``: a simulated compound screen, returned as pseudobulk profiles (well × cell line) with planted truth.

Three independent random streams make the screen, so that screens of different sizes share what they should:

- the *structure* (gene baselines, dispersions, co-varying gene modules, the mechanism-of-action families'
  fingerprints and each line's sensitivity to them), seeded by ``random_state`` and the structural arguments
  only (``n_genes``, ``n_families``, the number of cell lines);
- the *compounds* (which are inactive, their families, Hill parameters, deviations from the family and own genes);
- the *noise* (replicate and plate effects, module shifts, library sizes, cell numbers, negative-binomial draws).

The last two are seeded by ``random_state`` and whether the screen holds new members of the families
(``new_members``), so a screen of new members meets the families of the original screen in fresh compounds and
fresh noise.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from anndata import AnnData

CONTROL = "DMSO"
# well-known screen lines (sci-Plex, LINCS): names of the first lines when ``cell_lines`` is a number
_CELL_LINES = ("A549", "K562", "MCF7", "HT29", "PC3", "HEPG2", "A375", "VCAP", "HA1E", "HCC515")

# baselines (natural log of a gene's share of the library)
_BASE_SD, _LINE_SD = 1.2, 0.5  # shared spread across genes; line-specific deviation (lines correlate ~0.85)
_HIGH_SHARE, _HIGH_BOOST = 0.01, 2.5  # a few highly expressed genes
# negative-binomial dispersion: a biological CV of ~0.12 plus a term falling with expression (mean count at 2e6)
_CV2, _CV2_SD, _TREND, _TREND_DEPTH = 0.12**2, 0.4, 1.0, 2e6
# families (log2 fold changes)
_MOVED = 0.05  # share of the genes a family moves in each line
_SHARED = 0.6  # share of those shared by every line
_EFFECT_SHAPE, _EFFECT_SCALE = 2.0, 0.6  # gamma of a moved gene's |log2FC| (mean 1.2)
_AMP_SD, _GENE_SD = 0.25, 0.2  # ln sd of a family's amplitude per line, and of a shared gene's per line
# compounds
_DEVIATION = 0.25  # sd of a compound's deviation on its family's genes, relative to the family's rms effect
_OWN = 0.1  # a compound's own genes, relative to the number its family moves
_OWN_SCALE = 0.3  # gamma scale of their |log2FC| (shape _EFFECT_SHAPE: mean 0.6)
_EC50, _EMAX, _HILL = (0.03, 10.0), (0.5, 1.5), (0.8, 1.6)  # log-uniform EC50 (µM), uniform Emax and Hill slope
_TIERS = ((0.3, "weak"), (0.7, "moderate"), (np.inf, "strong"))  # potency at 1 µM below each bound
# noise (log2 unless said)
_REPLICATE_SD, _PLATE_SD, _MODULE_SD = 0.1, 0.07, 0.12
#: The Hallmark pathway each family moves coherently (family k: the k-th, cycling), so pathway tests have truth
FAMILY_PATHWAYS = (
    "HALLMARK_INTERFERON_ALPHA_RESPONSE",
    "HALLMARK_P53_PATHWAY",
    "HALLMARK_TNFA_SIGNALING_VIA_NFKB",
    "HALLMARK_G2M_CHECKPOINT",
    "HALLMARK_UNFOLDED_PROTEIN_RESPONSE",
    "HALLMARK_CHOLESTEROL_HOMEOSTASIS",
    "HALLMARK_HYPOXIA",
    "HALLMARK_MYC_TARGETS_V1",
    "HALLMARK_OXIDATIVE_PHOSPHORYLATION",
    "HALLMARK_DNA_REPAIR",
    "HALLMARK_MTORC1_SIGNALING",
    "HALLMARK_ESTROGEN_RESPONSE_EARLY",
)
_PATHWAY_GENES = 40  # at most this many of a family's pathway's genes are among its shared genes, moved one way
_GENES_PER_MODULE = 300  # one co-varying module per this many genes (at least 3)
_DEPTH_SD = 0.25  # ln sd of the library size
_CELLS = 200  # mean cells per profile (Poisson)


@dataclass(frozen=True)
class _Structure:
    log_share: np.ndarray  # lines × genes, natural log of each gene's share of the library (rows sum to 1)
    dispersion: np.ndarray  # genes
    modules: np.ndarray  # modules × genes, 0/1 float32
    families: np.ndarray  # families × lines × genes, log2FC (float32)
    amplitude: np.ndarray  # families × lines; 0 where a line ignores the family


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}.")
    return int(value)


def _cell_lines(cell_lines: int | Sequence[str]) -> list[str]:
    if isinstance(cell_lines, numbers.Integral) and not isinstance(cell_lines, bool):
        n = _check_int(cell_lines, "cell_lines", 1)
        return [_CELL_LINES[i] if i < len(_CELL_LINES) else f"LINE{i + 1:02d}" for i in range(n)]
    names = [cell_lines] if isinstance(cell_lines, str) else cell_lines
    if not isinstance(names, Sequence) or not names or not all(isinstance(c, str) and c for c in names):
        raise ValueError(f"cell_lines must be a number of lines or a list of their names, got {cell_lines!r}.")
    names = list(names)
    if len(set(names)) < len(names) or any("|" in c or "/" in c for c in names):
        raise ValueError(f"cell_lines must be unique names without '|' or '/', got {names}.")
    return names


def _doses(n_doses: int) -> list[float]:
    """Doses 10-fold apart holding 1 µM: 1; 0.1, 1; 0.1, 1, 10; 0.01, 0.1, 1, 10; and so on."""
    return [float(10.0 ** (k - n_doses // 2)) for k in range(n_doses)]


def gene_names(n_genes: int) -> pd.Index:
    """Human gene symbols that the shipped gene sets use (``GENE…`` names beyond the bundled universe's 5,586)."""
    from ._imid_screen import gene_universe

    symbols = gene_universe()[:n_genes]
    extra = [f"GENE{g + 1:05d}" for g in range(n_genes - len(symbols))]
    return pd.Index([*symbols, *extra])


def _pathway_genes(genes: pd.Index, n_families: int) -> list[np.ndarray]:
    """Positions in ``genes`` of each family's Hallmark pathway (:data:`FAMILY_PATHWAYS`, cycling)."""
    from ..resources import genesets

    net = genesets("hallmark")
    return [
        np.flatnonzero(genes.isin(net.loc[net["source"] == FAMILY_PATHWAYS[f % len(FAMILY_PATHWAYS)], "target"]))
        for f in range(n_families)
    ]


def _structure(random_state: int, n_genes: int, n_families: int, n_lines: int) -> _Structure:
    """Everything shared by screens of one seed and shape: baselines, dispersions, modules, family fingerprints.

    Each family's shared genes include up to 40 genes of its Hallmark pathway, all moved in one direction.
    """
    rng = np.random.default_rng([random_state, 0, n_genes, n_families, n_lines])
    pathways = _pathway_genes(gene_names(n_genes), n_families)
    shared = rng.normal(0.0, _BASE_SD, n_genes)
    shared[rng.random(n_genes) < _HIGH_SHARE] += _HIGH_BOOST
    log_share = shared[None, :] + rng.normal(0.0, _LINE_SD, (n_lines, n_genes))
    log_share -= np.log(np.exp(log_share).sum(axis=1, keepdims=True))
    mean_count = _TREND_DEPTH * np.exp(log_share).mean(axis=0)
    dispersion = _CV2 * np.exp(rng.normal(0.0, _CV2_SD, n_genes)) + _TREND / mean_count

    n_modules = max(3, round(n_genes / _GENES_PER_MODULE))
    sizes = rng.integers(max(5, n_genes // 150), max(10, n_genes // 40) + 1, n_modules)
    order = rng.permutation(n_genes)
    modules = np.zeros((n_modules, n_genes), dtype=np.float32)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    for m in range(n_modules):  # disjoint modules
        modules[m, order[starts[m] : starts[m + 1]]] = 1.0

    n_moved = max(8, round(_MOVED * n_genes))
    n_core = round(_SHARED * n_moved)
    fams = np.zeros((n_families, n_lines, n_genes), dtype=np.float32)
    amplitude = np.exp(rng.normal(0.0, _AMP_SD, (n_families, n_lines)))

    def effects(n: int, p_up: float) -> np.ndarray:
        return np.where(rng.random(n) < p_up, 1.0, -1.0) * rng.gamma(_EFFECT_SHAPE, _EFFECT_SCALE, n)

    for f in range(n_families):
        p_up = rng.uniform(0.35, 0.65)
        planted = rng.permutation(pathways[f])[: min(_PATHWAY_GENES, n_core // 2)]
        others = rng.choice(np.setdiff1d(np.arange(n_genes), planted), n_core - planted.size, replace=False)
        core = np.concatenate([planted, others])
        core_effect = effects(n_core, p_up)
        core_effect[: planted.size] = np.abs(core_effect[: planted.size]) * (1.0 if rng.random() < 0.5 else -1.0)
        rest = np.setdiff1d(np.arange(n_genes), core)
        for li in range(n_lines):
            own = rng.choice(rest, n_moved - n_core, replace=False)
            fams[f, li, core] = core_effect * amplitude[f, li] * np.exp(rng.normal(0.0, _GENE_SD, n_core))
            fams[f, li, own] = effects(len(own), p_up) * amplitude[f, li]
    if n_lines >= 2:  # one line does not respond to one family
        f, li = rng.integers(n_families), rng.integers(n_lines)
        amplitude[f, li] = 0.0
        fams[f, li] = 0.0
    return _Structure(log_share, dispersion, modules, fams, amplitude)


def _compounds(
    rng: np.random.Generator,
    n_compounds: int,
    inactive: float,
    family_names: list[str],
    new_members: int,
    compounds_per_plate: int,
) -> pd.DataFrame:
    """One row per compound: name, family (index, −1 when inactive), Hill parameters, potency at 1 µM and plate."""
    n_families = len(family_names)
    if new_members:
        family = np.repeat(np.arange(n_families), new_members)
        names = [f"NEW-{family_names[f]}-{j + 1:02d}" for f in range(n_families) for j in range(new_members)]
    else:
        n_inactive = round(inactive * n_compounds)
        if inactive > 0 and n_compounds >= 4:
            n_inactive = max(n_inactive, 1)
        n_inactive = min(n_inactive, n_compounds - 1)
        n_active = n_compounds - n_inactive
        tiles = np.concatenate([rng.permutation(n_families) for _ in range(-(-n_active // n_families))])
        family = np.full(n_compounds, -1)
        where = rng.permutation(n_compounds)[:n_active]
        family[np.sort(where)] = rng.permutation(tiles[:n_active])
        width = max(4, len(str(n_compounds)))
        names = [f"cmpd-{i + 1:0{width}d}" for i in range(n_compounds)]
    n = len(names)
    active = family >= 0
    ec50 = np.where(active, 10.0 ** rng.uniform(*np.log10(_EC50), n), np.nan)
    emax = np.where(active, rng.uniform(*_EMAX, n), 0.0)
    hill = np.where(active, rng.uniform(*_HILL, n), np.nan)
    potency = np.where(active, _hill(1.0, emax, ec50, hill), 0.0)
    tier = np.asarray([t for _, t in _TIERS])[np.searchsorted([b for b, _ in _TIERS], potency, side="right")]
    n_plates = -(-n // compounds_per_plate)
    plates = _plate_names(n_plates)
    return pd.DataFrame(
        {
            "family_code": family,
            "family": np.asarray([*family_names, "none"])[family],  # −1: "none"
            "active": active,
            "potency": potency,
            "tier": np.where(active, tier, "inactive"),
            "emax": emax,
            "ec50_uM": ec50,
            "hill": hill,
            "plate": np.asarray(plates)[np.arange(n) // compounds_per_plate],
        },
        index=pd.Index(names, name="compound"),
    )


def _hill(dose, emax, ec50, hill):
    dose = np.asarray(dose, dtype=float)
    with np.errstate(invalid="ignore"):
        return emax * dose**hill / (dose**hill + ec50**hill)


def _plate_names(n_plates: int) -> list[str]:
    width = max(2, len(str(n_plates)))
    return [f"p{p + 1:0{width}d}" for p in range(n_plates)]


def _compound_fingerprints(rng: np.random.Generator, st: _Structure, family: np.ndarray) -> np.ndarray:
    """Compounds × lines × genes log2FC at potency 1: the family's fingerprint, a deviation, and a few own genes."""
    n_lines, n_genes = st.families.shape[1:]
    out = np.zeros((len(family), n_lines, n_genes), dtype=np.float32)
    act = np.flatnonzero(family >= 0)
    if act.size == 0:
        return out
    fam = family[act]
    moved = st.families != 0
    rms = np.sqrt((st.families**2).sum(axis=2) / np.maximum(moved.sum(axis=2), 1))  # families × lines
    fp = rng.standard_normal((act.size, n_lines, n_genes), dtype=np.float32)
    fp *= (_DEVIATION * rms[fam]).astype(np.float32)[:, :, None]
    fp *= moved[fam]
    fp += st.families[fam]
    n_own = max(2, round(_OWN * _MOVED * n_genes))
    genes = rng.random((act.size, n_genes)).argpartition(n_own, axis=1)[:, :n_own]
    sign = np.where(rng.random((act.size, n_own)) < 0.5, 1.0, -1.0)
    own = sign * rng.gamma(_EFFECT_SHAPE, _OWN_SCALE, (act.size, n_own))
    rows = np.arange(act.size)[:, None]
    fp[rows, :, genes] += (own[:, :, None] * st.amplitude[fam][:, None, :]).astype(np.float32)
    out[act] = fp
    return out


def _layout(compounds: pd.DataFrame, n_doses: int, n_lines: int, n_replicates: int, n_controls: int) -> dict:
    """Row indices of every profile: line, replicate, plate, treatment (−1 for DMSO) and control number."""
    n_comp = len(compounds)
    plate_codes = pd.Categorical(compounds["plate"]).codes
    n_plates = int(plate_codes.max()) + 1
    treat = np.arange(n_comp * n_doses)
    plate = np.concatenate([np.repeat(np.arange(n_plates), n_controls), plate_codes[treat // n_doses]])
    treat = np.concatenate([np.full(n_plates * n_controls, -1), treat])
    control = np.concatenate([np.tile(np.arange(n_controls), n_plates), np.full(n_comp * n_doses, -1)])
    order = np.lexsort((treat >= 0, plate))  # each plate: its controls, then its compounds
    plate, treat, control = plate[order], treat[order], control[order]
    width = len(plate)
    n_rows = n_lines * n_replicates * width
    return {
        "line": np.repeat(np.arange(n_lines), n_replicates * width),
        "replicate": np.tile(np.repeat(np.arange(n_replicates), width), n_lines),
        "plate": np.tile(plate, n_lines * n_replicates),
        "treatment": np.tile(treat, n_lines * n_replicates),
        "control": np.tile(control, n_lines * n_replicates),
        "n_rows": n_rows,
        "n_plates": n_plates,
    }


def _draw_counts(
    rng: np.random.Generator, st: _Structure, fingerprints: np.ndarray, lay: dict, n_replicates: int, depth: float
) -> tuple[np.ndarray, dict]:
    """Negative-binomial counts of every profile (one line at a time), and the noise planted on the way."""
    n_lines, n_genes = st.log_share.shape
    n_modules = st.modules.shape[0]
    replicate = rng.normal(0.0, _REPLICATE_SD, (n_lines, n_replicates, n_genes)).astype(np.float32)
    plate = rng.normal(0.0, _PLATE_SD, (n_lines, lay["n_plates"], n_genes)).astype(np.float32)
    shifts = rng.normal(0.0, _MODULE_SD, (lay["n_rows"], n_modules)).astype(np.float32)
    library = depth * np.exp(rng.normal(-(_DEPTH_SD**2) / 2, _DEPTH_SD, lay["n_rows"]))
    n_cells = np.maximum(rng.poisson(_CELLS, lay["n_rows"]), 1)
    big = depth * np.exp(st.log_share.max()) * 50 > np.iinfo(np.int32).max
    counts = np.empty((lay["n_rows"], n_genes), dtype=np.int64 if big else np.int32)
    shape = 1.0 / st.dispersion
    for li in range(n_lines):
        rows = np.flatnonzero(lay["line"] == li)
        log2_mu = (st.log_share[li] / np.log(2)).astype(np.float32)[None, :] + replicate[li, lay["replicate"][rows]]
        log2_mu += plate[li, lay["plate"][rows]]
        log2_mu += shifts[rows] @ st.modules
        treated = lay["treatment"][rows] >= 0
        log2_mu[treated] += fingerprints[li, lay["treatment"][rows][treated]]
        mu = np.exp2(log2_mu, dtype=np.float64)
        mu *= (library[rows] / mu.sum(axis=1))[:, None]  # shares of each profile's library
        mu /= shape  # gamma scale: NB = Poisson(Gamma(1 / dispersion, mean · dispersion))
        mu *= rng.standard_gamma(shape, size=mu.shape, dtype=np.float32)
        counts[rows] = rng.poisson(mu)
    noise = {"replicate": replicate, "plate": plate, "module_shifts": shifts}
    return counts, {"noise": noise, "n_cells": n_cells}


def _genesets(st: _Structure, family_names: list[str], genes: pd.Index) -> pd.DataFrame:
    """Family gene sets (genes a family moves in any line; weight: the sign of their mean effect) and modules."""
    frames = []
    mean = st.families.mean(axis=1)
    for f, name in enumerate(family_names):
        hit = np.flatnonzero((st.families[f] != 0).any(axis=0))
        frames.append(pd.DataFrame({"source": f"family_{name}", "target": genes[hit], "weight": np.sign(mean[f, hit])}))
    for m in range(st.modules.shape[0]):
        hit = np.flatnonzero(st.modules[m])
        frames.append(pd.DataFrame({"source": f"module_{m + 1:02d}", "target": genes[hit], "weight": 1.0}))
    return pd.concat(frames, ignore_index=True).astype({"weight": float})


def _obs(compounds: pd.DataFrame, doses: list[float], lines: list[str], lay: dict, n_replicates: int) -> pd.DataFrame:
    """The profiles' metadata, as ``dp.pp.pseudobulk`` lays it out (sample and cell line first, ``n_cells`` last)."""
    n_doses = len(doses)
    comp_names = compounds.index.to_numpy(dtype=object)
    t = np.arange(len(comp_names) * n_doses)
    t_comp, t_dose = comp_names[t // n_doses], np.tile(np.asarray(doses), len(comp_names))
    dose_txt = [f"{d:g}uM" for d in t_dose]
    labels = list(t_comp) if n_doses == 1 else [f"{c} {d}" for c, d in zip(t_comp, dose_txt, strict=True)]
    plates = _plate_names(lay["n_plates"])
    reps = [f"r{r + 1}" for r in range(n_replicates)]
    treat, treated = lay["treatment"], lay["treatment"] >= 0
    tcode = np.where(treated, treat, 0)
    rep = np.asarray(reps, dtype=object)[lay["replicate"]]
    treated_txt = np.asarray([f"{c}|{d}" for c, d in zip(t_comp, dose_txt, strict=True)], dtype=object)
    n_controls = int(lay["control"].max()) + 1
    control_txt = np.asarray([f"{CONTROL}|{p}-c{k + 1}" for p in plates for k in range(n_controls)], dtype=object)
    sample = np.where(treated, treated_txt[tcode], control_txt[lay["plate"] * n_controls + lay["control"]]) + "|" + rep
    family = compounds["family"].to_numpy(dtype=object)[t // n_doses]
    obs = pd.DataFrame(
        {
            "sample": pd.Categorical(sample, categories=pd.unique(sample)),
            "cell_line": pd.Categorical.from_codes(lay["line"], categories=lines),
            "compound": pd.Categorical.from_codes(np.where(treated, tcode // n_doses + 1, 0), [CONTROL, *comp_names]),
            "dose": np.where(treated, t_dose[tcode], 0.0),
            "treatment": pd.Categorical.from_codes(np.where(treated, tcode + 1, 0), [CONTROL, *labels]),
            "replicate": pd.Categorical.from_codes(lay["replicate"], categories=reps),
            "plate": pd.Categorical.from_codes(lay["plate"], categories=plates),
            "family": np.where(treated, family[tcode], "vehicle"),
        }
    )
    fams = ["vehicle", *sorted(set(compounds["family"]) - {"none"}), "none"]
    obs["family"] = pd.Categorical(obs["family"], categories=fams).remove_unused_categories()
    obs.index = pd.Index(np.asarray(lines, dtype=object)[lay["line"]] + "|" + obs["sample"].astype(str).to_numpy())
    return obs


def screen(
    n_compounds: int = 40,
    *,
    n_families: int = 8,
    inactive: float = 0.25,
    n_doses: int = 1,
    cell_lines: int | Sequence[str] = 3,
    n_replicates: int = 3,
    n_controls: int = 4,
    compounds_per_plate: int = 96,
    n_genes: int = 3000,
    depth: float = 2e6,
    new_members: int = 0,
    random_state: int = 0,
) -> AnnData:
    """Simulated compound screen of cell lines, as pseudobulk profiles (raw counts) with the planted truth.

    A screen of the shape of sci-Plex, Tahoe-100M or LINCS, for tests, benchmarks and tutorials with 10 to
    thousands of compounds: each well × cell line is one profile of summed counts, as :func:`drugprint.pp.pseudobulk`
    makes from cells, drawn directly (fast: a thousand compounds in three lines and three replicates take seconds).

    - **Genes** (human symbols of the shipped gene sets; ``GENE…`` beyond 5,586) have a log-normal baseline per
      cell line (a few genes high, most modest; lines correlated, not identical) and a negative-binomial
      dispersion of a biological CV near 0.12 plus a trend falling with expression.
    - **Families**: ``n_families`` mechanisms of action, each moving 5 % of the genes in each line (log2 fold
      changes of gamma-distributed size, mean 1.2, either sign); 60 % of those genes are moved in every line,
      each line with its own amplitude, and one line does not respond to one family at all. Up to 40 of the
      shared genes belong to the family's Hallmark pathway (:data:`FAMILY_PATHWAYS`; interferon-α, p53, TNFα/NF-κB
      …) and move one way, so that each family moves a known pathway.
    - **Compounds**: a share ``inactive`` do nothing (family ``"none"``; at least one from 4 compounds on);
      each other belongs to one family and moves ``potency × (family fingerprint + deviation)``: a deviation of
      25 % of the family's effect on its genes plus a few genes of the compound's own. Potency follows a Hill
      curve over the dose (Emax 0.5–1.5, EC50 0.03–10 µM, slope 0.8–1.6), from weak to strong at 1 µM.
    - **Noise**: negative-binomial counts around each profile's mean, with a replicate effect (replicates are
      independent batches: a per-gene shift of sd 0.1 log2 shared by the replicate's wells of a line), a plate
      effect (sd 0.07 log2 per plate and line, the same plate in every replicate), co-varying gene modules
      (each shifts by N(0, 0.12²) log2 in each profile, as gene programmes do between real samples), library
      sizes varying by 25 % and about 200 cells per profile.
    - **Plates**: compounds sit on plates of ``compounds_per_plate``, each dose of a compound on its plate; every
      plate carries ``n_controls`` DMSO wells per replicate and line.

    Parameters
    ----------
    n_compounds
        Compounds screened (ignored when ``new_members`` is set).
    n_families
        Mechanism-of-action families. The families, baselines and modules depend only on ``random_state``,
        ``n_genes``, ``n_families`` and the number of cell lines: screens that share those share them.
    inactive
        Share of the compounds without any effect, in [0, 1).
    n_doses
        Doses per compound, 10-fold apart and holding 1 µM: 1 µM for one dose; 0.1 and 1 µM for two; 0.1, 1 and
        10 µM for three; 0.01, 0.1, 1 and 10 µM for four …
    cell_lines
        Number of cell lines (named ``A549``, ``K562``, ``MCF7``, ``HT29``, ``PC3``, ``HEPG2``, ``A375``, ``VCAP``,
        ``HA1E``, ``HCC515``, then ``LINE11`` …) or their names (without ``|`` or ``/``).
    n_replicates
        Replicates (independent batches) of every well, at least 2.
    n_controls
        DMSO wells per plate, replicate and cell line.
    compounds_per_plate
        Compounds per plate (with all their doses).
    n_genes
        Genes, at least 100.
    depth
        Mean library size of a profile (counts).
    new_members
        When above 0, the screen holds only new compounds: ``new_members`` new members of each family (named
        ``NEW-F3-01`` …), all active, with the families of the screen of the same ``random_state`` and shape but
        their own deviations, potencies, plates and noise, and their plates' DMSO controls.
    random_state
        Seed (a non-negative integer); equal arguments give identical screens.

    Returns
    -------
    AnnData of profiles × genes: raw counts in ``layers["counts"]`` (``int32``) and in ``X`` (``float32``). Profiles
    are named ``"{cell_line}|{sample}"``, e.g. ``"A549|cmpd-0007|1uM|r2"`` and ``"A549|DMSO|p01-c1|r2"``. ``obs``
    columns: ``sample`` (the well), ``cell_line``, ``compound`` (``"DMSO"`` first), ``dose`` (µM, 0 for DMSO),
    ``treatment`` (the compound, with ``" {dose}uM"`` when ``n_doses > 1``; ``"DMSO"``), ``replicate`` (``r1`` …),
    ``plate`` (``p01`` …), ``family`` (``"vehicle"`` for DMSO, ``"none"`` for inactive compounds) and ``n_cells``.
    ``var``: ``dispersion`` (planted), ``moved_by`` (families moving the gene in any line, comma-separated) and
    ``module``. ``uns["pseudobulk"]`` is recorded as :func:`drugprint.pp.pseudobulk` records it (``sample_key``
    ``"sample"``, ``groupby`` ``["cell_line"]``), so :func:`drugprint.tl.de` groups by cell line.
    ``uns["screen_truth"]`` holds what was planted:

    - ``compounds``: per compound (index) ``family``, ``active``, ``potency`` (at 1 µM; 0 when inactive), ``tier``
      (``weak``, ``moderate``, ``strong`` or ``inactive``), ``emax``, ``ec50_uM``, ``hill`` and ``plate``;
    - ``treatments``: per treatment (index) ``compound``, ``dose`` and ``potency`` (at that dose);
    - ``families``: the family names; ``family_pathways``: each family's pathway and its ``direction``;
      ``sensitivity``: the amplitude of each family (rows) in each line (columns),
      0 for the line that ignores one family;
    - ``fingerprints``: every treatment's true log2 fold change in every line, a ``float32`` array of rows
      ``fingerprint_rows`` (``"{cell_line}|{treatment}"``, lines in order, then treatments) × genes (``var_names``);
      zero for inactive compounds. ``family_fingerprints`` and ``family_fingerprint_rows`` (``"{cell_line}|{family}"``)
      likewise for the families at potency 1;
    - ``genesets``: decoupler-style ``source``/``target``/``weight`` table of each family's moved genes
      (``family_F1`` …; weight: sign of the mean effect) and of the co-varying modules (``module_01`` …), e.g. for
      :func:`drugprint.tl.pathways`;
    - ``baseline``: each line's (rows, ``cell_line`` order) log2 expected counts per million of every gene;
    - ``noise``: ``replicate`` (lines × replicates × genes) and ``plate`` (lines × plates × genes) shifts in log2,
      and ``module_shifts`` (profiles in ``obs`` order × modules, log2);
    - ``params``: every argument (``cell_lines`` as names) and ``doses_uM``.

    Examples
    --------
    >>> import drugprint as dp
    >>> pdata = dp.datasets.screen(12, cell_lines=2, n_genes=500)
    >>> pdata.shape, pdata.obs["cell_line"].cat.categories.tolist()
    ((96, 500), ['A549', 'K562'])
    >>> pdata.obs.loc["A549|cmpd-0001|1uM|r1", ["compound", "replicate", "plate"]].tolist()
    ['cmpd-0001', 'r1', 'p01']
    >>> truth = pdata.uns["screen_truth"]
    >>> int(truth["compounds"]["active"].sum()), truth["fingerprints"].shape
    (9, (24, 500))
    >>> sig = dp.tl.de(pdata, condition_key="treatment", covariates=["replicate"], method="voom", verbose=False)
    >>> sig.obs_names[0]
    'A549|cmpd-0001 vs DMSO'

    New members of the same families, in a screen of their own:

    >>> new = dp.datasets.screen(12, cell_lines=2, n_genes=500, new_members=1)
    >>> new.obs["compound"].cat.categories[:3].tolist()
    ['DMSO', 'NEW-F1-01', 'NEW-F2-01']
    """
    n_compounds = _check_int(n_compounds, "n_compounds", 1)
    n_families = _check_int(n_families, "n_families", 1)
    if isinstance(inactive, bool) or not isinstance(inactive, numbers.Real) or not 0 <= inactive < 1:
        raise ValueError(f"inactive must be a share in [0, 1), got {inactive!r}.")
    n_doses = _check_int(n_doses, "n_doses", 1)
    lines = _cell_lines(cell_lines)
    n_replicates = _check_int(n_replicates, "n_replicates", 2)
    n_controls = _check_int(n_controls, "n_controls", 1)
    compounds_per_plate = _check_int(compounds_per_plate, "compounds_per_plate", 1)
    n_genes = _check_int(n_genes, "n_genes", 100)
    if isinstance(depth, bool) or not isinstance(depth, numbers.Real) or not (np.isfinite(depth) and depth > 0):
        raise ValueError(f"depth must be a positive number of counts, got {depth!r}.")
    new_members = _check_int(new_members, "new_members", 0)
    random_state = _check_int(random_state, "random_state", 0)
    params = {
        "n_compounds": n_compounds,
        "n_families": n_families,
        "inactive": float(inactive),
        "n_doses": n_doses,
        "doses_uM": _doses(n_doses),
        "cell_lines": lines,
        "n_replicates": n_replicates,
        "n_controls": n_controls,
        "compounds_per_plate": compounds_per_plate,
        "n_genes": n_genes,
        "depth": float(depth),
        "new_members": new_members,
        "random_state": random_state,
    }
    return _simulate(params)


def _simulate(p: dict) -> AnnData:
    lines, doses = p["cell_lines"], p["doses_uM"]
    width = len(str(p["n_families"]))
    family_names = [f"F{f + 1:0{width}d}" for f in range(p["n_families"])]
    st = _structure(p["random_state"], p["n_genes"], p["n_families"], len(lines))
    new = int(p["new_members"] > 0)
    rng = np.random.default_rng([p["random_state"], 1, new])
    compounds = _compounds(
        rng, p["n_compounds"], p["inactive"], family_names, p["new_members"], p["compounds_per_plate"]
    )
    per_compound = _compound_fingerprints(rng, st, compounds["family_code"].to_numpy())
    potency = _hill(
        np.asarray(doses)[None, :], *(compounds[k].to_numpy()[:, None] for k in ("emax", "ec50_uM", "hill"))
    )
    potency = np.nan_to_num(potency).ravel()  # treatments: compound-major, then dose
    n_doses = len(doses)
    fingerprints = per_compound.repeat(n_doses, axis=0) * potency.astype(np.float32)[:, None, None]
    fingerprints = np.ascontiguousarray(fingerprints.transpose(1, 0, 2))  # lines × treatments × genes

    lay = _layout(compounds, n_doses, len(lines), p["n_replicates"], p["n_controls"])
    counts, drawn = _draw_counts(
        np.random.default_rng([p["random_state"], 2, new]), st, fingerprints, lay, p["n_replicates"], p["depth"]
    )
    obs = _obs(compounds, doses, lines, lay, p["n_replicates"])
    obs["n_cells"] = drawn["n_cells"]
    genes = gene_names(p["n_genes"])
    var = pd.DataFrame(index=genes)
    var["dispersion"] = st.dispersion
    moved = st.families != 0
    var["moved_by"] = [",".join(np.asarray(family_names)[moved[:, :, g].any(axis=1)]) for g in range(p["n_genes"])]
    module_of = np.where(st.modules.any(axis=0), st.modules.argmax(axis=0) + 1, 0)
    var["module"] = np.where(module_of > 0, [f"module_{m:02d}" for m in module_of], "")

    x = counts.astype(np.float32 if counts.max(initial=0) < 2**24 else np.float64)
    adata = AnnData(X=x, obs=obs, var=var)
    adata.layers["counts"] = counts
    adata.uns["pseudobulk"] = _pseudobulk_record(adata.n_obs)
    adata.uns["screen_truth"] = _truth(p, compounds, family_names, st, fingerprints, potency, genes, drawn, obs)
    return adata


def _pseudobulk_record(n_obs: int) -> dict:
    return {
        "sample_key": "sample",
        "groupby": ["cell_line"],
        "layer": "counts",
        "use_raw": False,
        "func": "sum",
        "min_cells": 0,
        "mod": "rna",
        "allow_normalized": False,
        "n_profiles": int(n_obs),
        "dropped": pd.DataFrame({"sample": [], "cell_line": [], "n_cells": []}).astype(
            {"sample": str, "cell_line": str, "n_cells": int}
        ),
        "varying": pd.DataFrame({"column": [], "n_profiles": []}, dtype=object).astype({"n_profiles": int}),
        "simulated_by": "drugprint.datasets.screen",
    }


def _direction(fingerprint: np.ndarray, pathway: np.ndarray) -> str:
    """``"up"``/``"down"``: the sign of a family's mean effect on its pathway's genes over the lines."""
    return "up" if fingerprint[:, pathway].sum() > 0 else "down"


def _truth(p, compounds, family_names, st, fingerprints, potency, genes, drawn, obs) -> dict:
    pathways = _pathway_genes(genes, len(family_names))
    lines, doses = p["cell_lines"], p["doses_uM"]
    treatments = obs["treatment"].cat.categories[1:]
    comp = compounds.drop(columns="family_code")
    treat = pd.DataFrame(
        {
            "compound": np.repeat(comp.index.to_numpy(dtype=object), len(doses)),
            "dose": np.tile(np.asarray(doses, dtype=float), len(comp)),
            "potency": potency,
        },
        index=pd.Index(np.asarray(treatments, dtype=object), name="treatment"),
    )
    n_lines, n_treat, n_genes = fingerprints.shape
    baseline = (st.log_share + np.log(1e6)) / np.log(2)
    return {
        "compounds": comp,
        "treatments": treat,
        "families": np.asarray(family_names, dtype=str),
        "family_pathways": pd.DataFrame(
            {
                "pathway": [FAMILY_PATHWAYS[f % len(FAMILY_PATHWAYS)] for f in range(len(family_names))],
                "direction": [_direction(st.families[f], where) for f, where in enumerate(pathways)],
            },
            index=pd.Index(family_names, name="family"),
        ),
        "sensitivity": pd.DataFrame(st.amplitude, index=pd.Index(family_names, name="family"), columns=lines),
        "fingerprints": fingerprints.reshape(n_lines * n_treat, n_genes),
        "fingerprint_rows": np.asarray([f"{c}|{t}" for c in lines for t in treatments], dtype=str),
        "family_fingerprints": np.ascontiguousarray(st.families.transpose(1, 0, 2)).reshape(-1, n_genes),
        "family_fingerprint_rows": np.asarray([f"{c}|{f}" for c in lines for f in family_names], dtype=str),
        "genesets": _genesets(st, family_names, genes),
        "baseline": baseline.astype(np.float32),
        "noise": {
            "replicate": drawn["noise"]["replicate"],
            "plate": drawn["noise"]["plate"],
            "module_shifts": drawn["noise"]["module_shifts"],
        },
        "params": p,
    }
