"""The report's section on a patient cohort (does a signature predict survival?) and its line in the summary.

Both read what the cohort's stages produced (:mod:`drugprint.report._cohort`): the survival table, the signatures
scored, the figures. Whatever the result, the section says that an association of a score with survival is not a
causal effect of the drug (:data:`drugprint.tl._survival.CAUSAL_NOTE`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..tl._survival import CAUSAL_NOTE
from ._cohort import ordered
from ._html import e, img, table

#: Rows of the survival table shown in the report, the smallest padj first (every row is in the CSV).
N_ROWS = 15
#: Significant score × endpoint pairs named in a sentence.
N_NAMED = 3
#: A proportional-hazards test below this is pointed out.
PH_LEVEL = 0.05
TITLE = "Patient cohort: does the signature predict survival?"


def _and(names) -> str:
    """``age``, ``age and stage``, ``age, stage and ISS``."""
    names = [str(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _hr(row: pd.Series) -> str:
    """``1.86 [1.53, 2.25]``: the hazard ratio per SD with its 95 % interval, or why there is none."""
    if not np.isfinite(row["hr"]):
        return f"not estimated ({row['note'] or 'no model'})"
    return f"{row['hr']:.2f} [{row['hr_lo']:.2f}, {row['hr_hi']:.2f}]"


def _hits(r) -> pd.DataFrame:
    tab = r["cohort_survival"]
    return ordered(tab[tab["padj"] < r.config.alpha])


def _named(rows: pd.DataFrame) -> str:
    """``score → endpoint: HR per SD [interval], padj`` for the first ``N_NAMED`` rows, and how many more."""
    named = "; ".join(
        f"<b>{e(row['score'])}</b> → {e(row['endpoint'])}: HR per SD {_hr(row)}, padj {row['padj']:.2g}"
        for _, row in rows.head(N_NAMED).iterrows()
    )
    return named + (f"; and {len(rows) - N_NAMED} more" if len(rows) > N_NAMED else "")


def _power(tab: pd.DataFrame, alpha: float) -> str:
    """Nothing significant: per endpoint, the hazard ratio the cohort would detect with 80 % power."""
    per = tab.groupby("endpoint", sort=False).agg(n_events=("n_events", "min"), hr=("hr_detectable", "max"))
    parts = [
        f"with {int(row['n_events'])} events ({e(end)}) the cohort detects hazard ratios of {row['hr']:.2f} per SD "
        f"or more (or {1 / row['hr']:.2f} or less) with 80 % power"
        for end, row in per.iterrows()
    ]
    return (
        f"No score reached padj &lt; {alpha:g}; {'; '.join(parts)} (a single Wald test at the 5 % level, "
        "<code>hr_detectable</code>; across many tests only larger effects are found). A score without a call has "
        "not been shown to be unrelated to survival, only not to move the hazard by that much."
    )


def _cohort_sentence(r) -> str:
    """The patients, the events per endpoint, the signatures scored, the models and their covariates."""
    c, rec, tab = r.config, r["cohort_record"], r["cohort_survival"]
    sigs = r["cohort_signatures"]
    scored, params = sigs[sigs["scored"].astype(bool)], rec["signature_score"]
    per = tab.groupby("endpoint", sort=False).agg(n=("n", "max"), n_events=("n_events", "max"))
    events = ", ".join(f"{e(end)} {int(row['n_events'])} of {int(row['n'])}" for end, row in per.iterrows())
    groups = f" of {e(', '.join(c.cohort_groups))}" if c.cohort_groups else ""
    used = scored["n_used"]
    adjusted = f"adjusted for {e(_and(c.cohort_covariates))}" if c.cohort_covariates else "without covariates"
    split = "above versus at-or-below the median score" if c.split == "median" else "the tertiles of the score"
    text = (
        f"{rec['n_patients']} patients × {rec['n_genes']:,} genes; patients with an event: {events}. "
        f"{len(scored)} signature(s){groups} were scored in every patient (singscore of their genes at padj &lt; "
        f"{params['alpha']:g}, at most {params['n_genes']} up and {params['n_genes']} down; {int(used.min())}–"
        f"{int(used.max())} of them measured in the cohort). Each score entered a Cox model per endpoint, "
        f"{adjusted}, standardised so that the hazard ratio is per SD of the score (HR &gt; 1: a higher score, a "
        f"higher hazard); Kaplan–Meier curves and the log-rank test compare {split} (unadjusted). p-values are "
        "adjusted (Benjamini–Hochberg) over every score × endpoint (<code>padj</code>)."
    )
    left = sigs.loc[~sigs["scored"].astype(bool), "signature"]
    if len(left):
        more = f" and {len(left) - 10} more" if len(left) > 10 else ""
        text += f" Not scored (too few genes in the cohort): {e(', '.join(left.head(10)))}{more}."
    return f"<p>{text}</p>"


def _table(tab: pd.DataFrame) -> str:
    """The first ``N_ROWS`` rows by padj: score, endpoint, HR per SD with its interval, p, padj, log-rank and PH p."""
    shown = ordered(tab).head(N_ROWS)
    out = pd.DataFrame(
        {
            "score": shown["score"],
            "endpoint": shown["endpoint"],
            "patients": shown["n"],
            "events": shown["n_events"],
            "HR per SD [95 % CI]": [_hr(row) for _, row in shown.iterrows()],
            "p": shown["pvalue"],
            "padj": shown["padj"],
            "log-rank p": shown["logrank_pvalue"],
            "PH p": shown["ph_pvalue"],
        }
    )
    if shown["note"].astype(str).str.len().gt(0).any():
        out["note"] = shown["note"]
    more = f"the {len(shown)} smallest padj of {len(tab)}; " if len(tab) > len(shown) else ""
    return (
        f"<p>Cox models ({more}every row in <code>tables/cohort_survival.csv</code>; the genes of each signature "
        "found in the cohort in <code>tables/cohort_signatures.csv</code>):</p>" + table(out, scroll=True)
    )


def _ph_note(tab: pd.DataFrame) -> str:
    """The rows shown whose proportional-hazards test is small: their single HR averages a changing one."""
    small = ordered(tab).head(N_ROWS)
    small = small[small["ph_pvalue"] < PH_LEVEL]
    if not len(small):
        return ""
    rows = "; ".join(
        f"{e(row['score'])} → {e(row['endpoint'])} (PH p = {row['ph_pvalue']:.2g})" for _, row in small.iterrows()
    )
    return (
        f"<p class='note'>The proportional-hazards test is small (p &lt; {PH_LEVEL:g}) for {rows}: the hazard ratio "
        "changes over follow-up, and the single HR per SD averages it. Read the Kaplan–Meier curves and do not carry "
        "the HR to other follow-up times.</p>"
    )


def _figures(r) -> list[str]:
    """The forest plot of the strongest scores and the Kaplan–Meier curves of the strongest score × endpoint."""
    made, c = r.get("cohort_figures"), r.config
    if made is None:
        return [f"<p>Figures of the cohort {e(r.stages.get('cohort_figures', ''))}.</p>"]
    figs, n_scores = r.out / "figures", r["cohort_survival"]["score"].nunique()
    adjusted = f", adjusted for {e(_and(c.cohort_covariates))}" if c.cohort_covariates else ""
    which = f"the {len(made['scores'])} scores of smallest padj of {n_scores}" if n_scores > len(made["scores"]) else ""
    score, endpoint = made["best"]
    groups = "above and at-or-below the median score" if c.split == "median" else "the tertiles of the score"
    return [
        img(
            figs / f"{made['forest']}.png",
            f"Hazard ratio per SD of each score (Cox{adjusted}) with its 95 % interval, per endpoint"
            + (f" ({which})" if which else "")
            + "; filled squares: padj < 0.05.",
            wide=True,
        ),
        img(
            figs / f"{made['km']}.png",
            f"{endpoint} of the patients {groups} of {score}, the score × endpoint of smallest padj: Kaplan–Meier "
            "curves with 95 % intervals (ticks: censored patients), patients at risk below; the title gives the Cox "
            "HR per SD and the log-rank p (the curves are not adjusted for covariates).",
        ),
    ]


def _causal_note(r) -> str:
    """Always: an association is not a causal effect of the drug; and what was, or was not, adjusted for."""
    covs = r.config.cohort_covariates
    more = (
        f" The hazard ratios are adjusted for {e(_and(covs))}; prognostic factors not measured can still stand "
        "behind a score."
        if covs
        else " No covariate was adjusted for: give the cohort's prognostic factors (stage, age, cytogenetic risk …) "
        "to <code>--cohort-covariates</code> (<code>cohort_covariates=</code>)."
    )
    return f"<p class='note'>{e(CAUSAL_NOTE)}{more}</p>"


def cohort(r):
    """The cohort, the survival table, the forest plot, the strongest Kaplan–Meier curves; ``None`` without one."""
    if "cohort" not in r.stages:
        return None
    tab = r.get("cohort_survival")
    if tab is None:
        body = f"<p>Survival in the cohort {e(r.stages.get('cohort_survival', ''))}.</p>"
        return "cohort", TITLE, body + _causal_note(r)
    hits, alpha = _hits(r), r.config.alpha
    found = (
        f"<p>{len(hits)} of {len(tab)} score × endpoint tests reached padj &lt; {alpha:g}: {_named(hits)}.</p>"
        if len(hits)
        else f"<p>{_power(tab, alpha)}</p>"
    )
    parts = [_cohort_sentence(r), found, _causal_note(r), _table(tab), _ph_note(tab), *_figures(r)]
    return "cohort", TITLE, "".join(parts)


def cohort_summary(r) -> str | None:
    """The summary's line on the cohort: the strongest association, or the effect it could have detected."""
    if "cohort" not in r.stages:
        return None
    tab = r.get("cohort_survival")
    if tab is None:
        return f"<b>Patient cohort</b>: survival {e(r.stages.get('cohort_survival', ''))}."
    hits, alpha, n = _hits(r), r.config.alpha, r["cohort_record"]["n_patients"]
    if len(hits):
        found = f"{len(hits)} of {len(tab)} score × endpoint tests reached padj &lt; {alpha:g}; strongest: "
        found += _named(hits.head(1))
    else:
        found = (
            f"no score predicted survival at padj &lt; {alpha:g} (with 80 % power the cohort detects hazard ratios "
            f"of {tab['hr_detectable'].max():.2f} per SD or more)"
        )
    return (
        f"<b>Patient cohort</b> ({n} patients, section “{TITLE}”): {found}. An association in patients, not a "
        "causal effect of the drug."
    )
