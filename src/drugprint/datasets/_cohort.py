"""``survival_cohort``: a simulated patient cohort whose hazards depend on a planted signature score."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

_MODULES, _MODULE_SIZE, _MODULE_SD = 12, 60, 0.5  # co-varying gene modules (log2 sd of a module's factor)
_PROGRAMME_SD, _NOISE_SD, _BASE = 0.6, 0.5, (4.0, 12.0)  # the signature's programme, gene noise, baseline range
_PROGRESSION, _DEATH = 1 / 120, 1 / 240  # baseline hazards per month (median EFS ~ 5 years at mean covariates)
_FOLLOW_UP = (24.0, 96.0)  # months: uniform administrative censoring
_AGE_LOG_HR, _STAGE_LOG_HR = np.log(1.3), {"I": 0.0, "II": np.log(1.5), "III": np.log(2.2)}  # per 10 years; stage


def survival_cohort(
    sig: AnnData | None = None,
    signature: str | None = None,
    *,
    n_patients: int = 200,
    hazard_ratio: float = 1.5,
    n_genes: int = 200,
    alpha: float = 0.05,
    random_state: int = 0,
) -> AnnData:
    """A simulated cohort (patients × genes, log2 expression) with two endpoints driven by a planted score.

    Each patient has log2 expression of the genes of :func:`drugprint.datasets.gene_universe` (or of ``sig``):
    gene baselines, co-varying gene modules, a programme that raises the signature's up genes and lowers its down
    genes by a patient-specific amount, and gene noise. The **planted score** (``obs["planted_score"]``) is the
    singscore of the signature in the patient's expression — exactly what :func:`drugprint.tl.signature_score`
    measures with the same genes. Progression and death occur at exponential times whose hazards are
    multiplied by ``hazard_ratio`` per standard deviation of the planted score, by 1.3 per 10 years of age and by
    1.5 (stage II) or 2.2 (stage III); follow-up ends uniformly between 24 and 96 months. EFS is the earlier of
    progression and death, OS the time to death, so both endpoints have the planted hazard ratio per SD
    given age and stage (without them the estimate is slightly nearer 1: Cox models are not collapsible).

    Parameters
    ----------
    sig, signature
        Signatures and the row whose genes are planted (the up and down genes as
        :func:`drugprint.tl.signature_score` selects them with ``alpha`` and ``n_genes``); by default 50 up and
        50 down genes drawn at random (listed in ``uns["survival_truth"]``).
    n_patients
        Patients.
    hazard_ratio
        Hazard ratio per SD of the planted score (1: a null cohort).
    n_genes, alpha
        How the signature's genes are selected from ``sig``.
    random_state
        Seed (equal seeds give equal cohorts).

    Returns
    -------
    AnnData with ``X`` (log2 expression), ``obs`` ``planted_score``, ``age``, ``stage``, ``efs_time``,
    ``efs_event``, ``os_time``, ``os_event`` (months; 1 event, 0 censored), and ``uns["survival_truth"]``
    (the hazard ratios, the up and down genes).

    Examples
    --------
    >>> import drugprint as dp
    >>> cohort = dp.datasets.survival_cohort(n_patients=100, random_state=1)
    >>> cohort.shape[0], sorted(cohort.obs["stage"].unique())
    (100, ['I', 'II', 'III'])
    >>> bool((cohort.obs["os_time"] >= cohort.obs["efs_time"]).all())
    True
    """
    if n_patients < 10 or hazard_ratio <= 0:
        raise ValueError(f"Need n_patients >= 10 and hazard_ratio > 0; got {n_patients} and {hazard_ratio}.")
    rng = np.random.default_rng(random_state)
    genes, up, down = _signature(sig, signature, n_genes, alpha, rng)
    where = (np.searchsorted(genes, up), np.searchsorted(genes, down))
    x = _expression(len(genes), *where, n_patients, rng).astype(np.float32)
    from ..tl._stats.singscore import singscore

    planted = singscore(x.astype(float), [where])[:, 0]  # of the values stored
    obs = _outcomes(planted, hazard_ratio, rng)
    obs.index = [f"P{i + 1:04d}" for i in range(n_patients)]
    truth = {
        "hazard_ratio": float(hazard_ratio),
        "per": "standard deviation of planted_score, given age and stage",
        "age_hazard_ratio_per_10y": float(np.exp(_AGE_LOG_HR)),
        "stage_hazard_ratio": {k: float(np.exp(v)) for k, v in _STAGE_LOG_HR.items()},
        "up": list(up),
        "down": list(down),
    }
    return AnnData(X=x, obs=obs, var=pd.DataFrame(index=genes), uns={"survival_truth": truth})


def _signature(sig, signature, n_genes, alpha, rng) -> tuple[np.ndarray, list[str], list[str]]:
    """The cohort's genes (sorted) and the planted up and down genes."""
    if sig is None:
        from ._imid_screen import gene_universe

        genes = np.array(gene_universe())
        chosen = rng.choice(genes, 100, replace=False)
        return genes, sorted(chosen[:50]), sorted(chosen[50:])
    from ..tl._signature_score import signature_genes

    if signature is None:
        if sig.n_obs != 1:
            raise ValueError(f"sig has {sig.n_obs} signatures; name the one to plant with signature=.")
        signature = str(sig.obs_names[0])
    long = signature_genes(sig, [signature], alpha=alpha, n_genes=n_genes)
    up = sorted(long.loc[long["direction"] == "up", "gene"])
    down = sorted(long.loc[long["direction"] == "down", "gene"])
    if len(up) + len(down) < 5:
        raise ValueError(f"Signature {signature!r} has {len(up) + len(down)} genes at padj < {alpha}; need 5.")
    return np.array(sorted(sig.var_names.astype(str))), up, down


def _expression(n_genes: int, up: np.ndarray, down: np.ndarray, n: int, rng) -> np.ndarray:
    """Log2 expression: baselines + co-varying modules + the signature programme + noise."""
    x = rng.uniform(*_BASE, n_genes)[None, :] + rng.normal(0, _NOISE_SD, (n, n_genes))
    for _ in range(_MODULES):
        members = rng.choice(n_genes, _MODULE_SIZE, replace=False)
        x[:, members] += rng.normal(0, _MODULE_SD, (n, 1)) * rng.uniform(0.5, 1.5, _MODULE_SIZE)
    programme = rng.normal(0, _PROGRAMME_SD, (n, 1))
    x[:, up] += programme
    x[:, down] -= programme
    return x


def _outcomes(planted: np.ndarray, hazard_ratio: float, rng) -> pd.DataFrame:
    """Age, stage and the two endpoints given the planted score."""
    n = planted.size
    age = np.clip(np.round(rng.normal(62, 9, n)), 30, 90)
    stage = rng.choice(["I", "II", "III"], n, p=[0.3, 0.4, 0.3])
    z = (planted - planted.mean()) / planted.std(ddof=1)
    risk = np.exp(np.log(hazard_ratio) * z + _AGE_LOG_HR * (age - 62) / 10 + np.vectorize(_STAGE_LOG_HR.get)(stage))
    progression = rng.exponential(1 / (_PROGRESSION * risk))
    death = rng.exponential(1 / (_DEATH * risk))
    censor = rng.uniform(*_FOLLOW_UP, n)
    efs, os_ = np.minimum(progression, death), death
    return pd.DataFrame(
        {
            "planted_score": planted,
            "age": age.astype(int),
            "stage": pd.Categorical(stage, categories=["I", "II", "III"]),
            "efs_time": np.round(np.minimum(efs, censor), 2),
            "efs_event": (efs <= censor).astype(int),
            "os_time": np.round(np.minimum(os_, censor), 2),
            "os_event": (os_ <= censor).astype(int),
        }
    )
