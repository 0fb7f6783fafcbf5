"""Write ``survival_cohort.csv``: a simulated cohort of 240 patients for the R ``survival`` reference.

Standalone (numpy and pandas only). Columns: ``sample`` (P001…P240), ``score_a`` and ``score_b`` (continuous,
independent, on arbitrary scales), ``age`` (integer years, 40–85), ``stage`` ("I", "II", "III"), and two endpoints,
event-free survival (``efs_time``, ``efs_event``) and overall survival (``os_time``, ``os_event``), times in whole
days, events 0/1.

Hazards (per day) are proportional: log-HR 0.4 per SD of ``score_a``, 0.02 per year of age, 0.3 for stage II and
0.7 for stage III against I; ``score_b`` has no effect. Progression and death without progression are competing;
after progression, death follows at a higher hazard with the same linear predictor. EFS ends at progression or
death, OS at death, both censored at the end of follow-up (so ``os_time >= efs_time``). Times are rounded up to
whole days, which gives tied event times (Efron's ties matter). ``score_b`` has 3 missing values and ``age`` 2
(empty cells, all on different patients), so that complete-case handling is checked.

Run from the repository root: ``python tests/data/make_survival_cohort.py``; then
``Rscript tests/data/make_survival_reference.R``.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
N = 240
SEED = 20240611


def main() -> None:
    rng = np.random.default_rng(SEED)
    score_a = rng.normal(6.0, 1.5, N)
    score_b = rng.normal(-1.0, 0.8, N)
    age = np.clip(np.rint(rng.normal(62, 10, N)), 40, 85).astype(int)
    stage = rng.choice(np.array(["I", "II", "III"]), N, p=[0.35, 0.40, 0.25])

    za = (score_a - score_a.mean()) / score_a.std(ddof=1)
    lp = 0.4 * za + 0.02 * (age - 62) + np.select([stage == "II", stage == "III"], [0.3, 0.7], 0.0)
    risk = np.exp(lp)
    progression = rng.exponential(1 / (risk / 2000), N)  # days
    death_first = rng.exponential(1 / (risk / 6000), N)  # death without progression
    after = rng.exponential(1 / (risk / 400), N)  # death after progression
    death = np.minimum(death_first, progression + after)
    efs = np.minimum(progression, death)
    # follow-up: administrative censoring between 1 and 5 years, some earlier loss to follow-up
    follow = np.minimum(rng.uniform(365, 1825, N), rng.exponential(4000, N))

    efs_time = np.ceil(np.minimum(efs, follow)).astype(int)
    os_time = np.ceil(np.minimum(death, follow)).astype(int)
    df = pd.DataFrame(
        {
            "sample": [f"P{i + 1:03d}" for i in range(N)],
            "score_a": np.round(score_a, 4),
            "score_b": np.round(score_b, 4),
            "age": age.astype(float),
            "stage": stage,
            "efs_time": efs_time,
            "efs_event": (efs <= follow).astype(int),
            "os_time": os_time,
            "os_event": (death <= follow).astype(int),
        }
    )
    missing = rng.choice(N, 5, replace=False)
    df.loc[missing[:3], "score_b"] = np.nan
    df.loc[missing[3:], "age"] = np.nan
    df["age"] = df["age"].astype("Int64")
    assert (df["os_time"] >= df["efs_time"]).all()
    df.to_csv(HERE / "survival_cohort.csv", index=False)
    for ep in ("efs", "os"):
        ev = df.loc[df[f"{ep}_event"] == 1, f"{ep}_time"]
        print(f"{ep}: {len(ev)} events ({len(ev) / N:.0%}), {ev.duplicated().sum()} tied event times")


if __name__ == "__main__":
    main()
