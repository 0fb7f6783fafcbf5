"""Write ``robust_variances.csv``: variance vectors for limma's ``fitFDistRobustly`` reference (R).

Four cases, each a column: ``outliers`` (500 scaled chi-square variances, df1 = 4, prior df 8, with 15
hypervariable ones ×8), ``mixed_df1`` (the same draws, df1 = 4 for the first 400 and 2 for the rest),
``sampling_only`` (pure chi-square / df1 with df1 = 4: the prior df is infinite), ``sampling_outliers`` (the same
with 5 of them ×12: infinite prior df, finite for the outliers), ``sampling_mixed_df1`` (pure chi-square / df1
with df1 = 4 for the first 400 and 2 for the rest: infinite prior df with unequal df1) and ``few`` (12 variances, so
the 10 % Winsorization keeps one value per tail). Run from the repository root:
``python tests/data/make_robust_variances.py``; then ``Rscript tests/data/make_robust_reference.R``.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def main() -> None:
    rng = np.random.default_rng(11)
    n = 500
    prior = 0.3 * 8 / rng.chisquare(8, n)  # true variances around 0.3 with prior df 8
    outliers = prior * rng.chisquare(4, n) / 4
    outliers[rng.choice(n, 15, replace=False)] *= 8
    df1 = np.where(np.arange(n) < 400, 4.0, 2.0)
    mixed = prior * rng.chisquare(df1) / df1
    sampling = 0.3 * rng.chisquare(4, n) / 4
    sampling_outliers = sampling.copy()
    sampling_outliers[:5] *= 12
    sampling_mixed = 0.3 * rng.chisquare(df1) / df1
    few = np.full(n, np.nan)
    few[:12] = 0.3 * 8 / rng.chisquare(8, 12) * rng.chisquare(4, 12) / 4
    pd.DataFrame(
        {
            "outliers": outliers,
            "mixed_df1": mixed,
            "df1_mixed": df1,
            "sampling_only": sampling,
            "sampling_outliers": sampling_outliers,
            "sampling_mixed_df1": sampling_mixed,
            "few": few,
        }
    ).to_csv(HERE / "robust_variances.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
