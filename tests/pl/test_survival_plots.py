import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

import drugprint as dp
from drugprint.pl._survival import GROUP_COLOURS, _at_risk


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def cohort():
    """150 patients with a planted score (HR 1.8 per SD) and a score of noise, both endpoints, adjusted for age."""
    cohort = dp.datasets.survival_cohort(n_patients=150, hazard_ratio=1.8, random_state=3)
    cohort.obs["noise"] = np.random.default_rng(0).normal(size=cohort.n_obs)
    dp.tl.survival(
        cohort,
        ["planted_score", "noise"],
        time_key=["efs_time", "os_time"],
        event_key=["efs_event", "os_event"],
        endpoints=["EFS", "OS"],
        covariates=["age"],
        verbose=False,
    )
    return cohort


def _lines(ax, gid):
    return [line for line in ax.lines if line.get_gid() == gid]


def _groups(cohort, score="planted_score"):
    """The median split of :func:`drugprint.tl.survival`, from the scores themselves."""
    values = cohort.obs[score].to_numpy(float)
    return {"low": values <= np.median(values), "high": values > np.median(values)}


def test_kaplan_meier_draws_the_stored_curves(cohort, tmp_path):
    fig = dp.pl.kaplan_meier(cohort, "planted_score", "OS", time_unit="months", save=tmp_path / "km.png")
    assert isinstance(fig, Figure) and (tmp_path / "km.png").stat().st_size > 10_000
    ax = fig.axes[0]
    curves = dp.get.survival_curves(cohort, scores=["planted_score"], endpoints=["OS"])
    for group in ("low", "high"):
        part = curves[curves["group"] == group]
        (line,) = _lines(ax, f"km:{group}")
        assert line.get_drawstyle() == "steps-post"
        np.testing.assert_array_equal(line.get_xdata(), part["time"])
        np.testing.assert_array_equal(line.get_ydata(), part["survival"])
        (ticks,) = _lines(ax, f"censored:{group}")  # censoring marks where patients left follow-up
        censored = part[part["censored"] > 0]
        np.testing.assert_array_equal(ticks.get_xdata(), censored["time"])
        np.testing.assert_array_equal(ticks.get_ydata(), censored["survival"])
        (band,) = [c for c in ax.collections if c.get_gid() == f"ci:{group}"]
        lo_hi = band.get_paths()[0].vertices[:, 1]
        assert np.nanmin(lo_hi) == pytest.approx(part["ci_lo"].min()) and np.nanmax(lo_hi) == 1.0
        assert to_rgb(line.get_color()) == to_rgb(GROUP_COLOURS[group])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    obs, groups = cohort.obs, _groups(cohort)
    expected = [f"{g} (n = {m.sum()}, {obs['os_event'][m].sum()} events)" for g, m in groups.items()]
    assert legend == expected
    row = dp.get.survival_table(cohort, scores=["planted_score"], endpoints=["OS"]).iloc[0]
    title = ax.get_title()
    assert title.startswith("planted_score · OS")
    assert f"{row['hr']:.2f} ({row['hr_lo']:.2f}–{row['hr_hi']:.2f})" in title
    assert f"p = {row['logrank_pvalue']:.1e}" in title or f"p = {row['logrank_pvalue']:.2g}" in title
    assert ax.get_xlabel() == "time (months)" and ax.get_ylim()[0] == 0
    assert not [c for c in dp.pl.kaplan_meier(cohort, ci=False).axes[0].collections if c.get_gid()]


def test_numbers_at_risk_count_the_patients_still_followed(cohort):
    fig = dp.pl.kaplan_meier(cohort, "planted_score", "EFS")
    ax, rax = fig.axes
    ticks = ax.get_xticks()
    assert ticks[0] == 0 and ticks[-1] <= ax.get_xlim()[1] and len(ticks) >= 4
    assert rax.get_shared_x_axes().joined(ax, rax)
    assert [t.get_text() for t in rax.get_yticklabels()] == ["low", "high"]
    time = cohort.obs["efs_time"].to_numpy(float)
    for i, members in enumerate(_groups(cohort).values()):
        texts = sorted((t for t in rax.texts if t.get_position()[1] == i), key=lambda t: t.get_position()[0])
        assert [t.get_position()[0] for t in texts] == list(ticks)
        assert [int(t.get_text()) for t in texts] == [int((time[members] >= tick).sum()) for tick in ticks]
        assert int(texts[0].get_text()) == members.sum()  # all at time 0
    assert len(dp.pl.kaplan_meier(cohort, risk_table=False).axes) == 1


def test_kaplan_meier_draws_into_the_given_ax(cohort, tmp_path):
    fig, ax = plt.subplots(figsize=(5, 4), layout="constrained")
    assert dp.pl.kaplan_meier(cohort, endpoint="EFS", ax=ax, save=tmp_path / "ax.png") is fig
    assert fig.axes == [ax] and (tmp_path / "ax.png").exists()
    assert ax.get_title().startswith("planted_score · EFS")  # the first score by default
    ticks, time = ax.get_xticks(), cohort.obs["efs_time"].to_numpy(float)
    numbers = [t for t in ax.texts if t.get_gid() == "at_risk"]  # the risk table as text under the ticks
    expected = [int((time[m] >= tick).sum()) for m in _groups(cohort).values() for tick in ticks]
    assert [int(t.get_text()) for t in numbers] == expected
    assert all(t.xyann[1] < 0 for t in numbers)  # below the axes
    _, ax2 = plt.subplots()
    dp.pl.kaplan_meier(cohort, ax=ax2, risk_table=False)
    assert not [t for t in ax2.texts if t.get_gid() == "at_risk"] and ax2.get_xlabel() == "time"


def test_kaplan_meier_errors_name_what_is_there(cohort):
    with pytest.raises(KeyError, match=r"score 'zz' is not in cohort.uns\['survival'\]; present: \['planted_score', "):
        dp.pl.kaplan_meier(cohort, "zz")
    with pytest.raises(KeyError, match=r"endpoint 'PFS' .* present: \['EFS', 'OS'\]"):
        dp.pl.kaplan_meier(cohort, endpoint="PFS")
    with pytest.raises(KeyError, match=r"run dp\.tl\.survival"):
        dp.pl.kaplan_meier(cohort, key="missing")


def test_kaplan_meier_tertiles_three_groups_darker_with_the_score():
    cohort = dp.datasets.survival_cohort(n_patients=60, random_state=1)
    dp.tl.survival(cohort, "planted_score", time_key="os_time", event_key="os_event", split="tertiles", verbose=False)
    fig = dp.pl.kaplan_meier(cohort)
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == ["low", "mid", "high"]
    grey = [np.dot(to_rgb(GROUP_COLOURS[g]), [0.299, 0.587, 0.114]) for g in ("low", "mid", "high")]
    assert grey[0] > grey[1] + 0.15 and grey[1] > grey[2] + 0.15  # distinct in greyscale too


def test_hazard_ratios_forest(cohort, tmp_path):
    fig = dp.pl.hazard_ratios(cohort, save=tmp_path / "forest.png")
    assert (tmp_path / "forest.png").stat().st_size > 5_000
    ax, tab = fig.axes[0], dp.get.survival_table(cohort)
    assert [t.get_text() for t in ax.get_yticklabels()] == (tab["score"] + " · " + tab["endpoint"]).tolist()
    intervals, points = _lines(ax, "interval"), _lines(ax, "hr")
    assert len(intervals) == len(points) == len(tab) == 4
    for y, (row, line, point) in enumerate(zip(tab.itertuples(), intervals, points, strict=True)):
        assert list(line.get_xdata()) == [row.hr_lo, row.hr_hi] and list(line.get_ydata()) == [y, y]
        assert list(point.get_xdata()) == [row.hr] and list(point.get_ydata()) == [y]
        filled = to_rgb(point.get_markerfacecolor()) != (1.0, 1.0, 1.0)
        assert filled == (row.padj < 0.05)
        assert any(t.get_text().startswith(f"{row.hr:.2f} ({row.hr_lo:.2f}–{row.hr_hi:.2f}), ") for t in ax.texts)
    assert {True, False} == {r < 0.05 for r in tab["padj"]}  # the planted score filled, noise open
    assert ax.get_xscale() == "log"
    assert any(list(line.get_xdata()) == [1.0, 1.0] for line in ax.lines)  # the reference line at HR = 1
    lo, hi = ax.get_xlim()
    assert lo < tab["hr_lo"].min() and hi > tab["hr_hi"].max()


def test_hazard_ratios_subsets_failed_fits_and_ax(cohort):
    fig, ax = plt.subplots()
    assert dp.pl.hazard_ratios(cohort, scores=["noise"], endpoints=["OS"], ax=ax) is fig
    assert [t.get_text() for t in ax.get_yticklabels()] == ["noise · OS"] and len(_lines(ax, "hr")) == 1
    with pytest.raises(KeyError, match=r"scores \['zz'\] are not in the results"):
        dp.pl.hazard_ratios(cohort, scores=["zz"])
    failed = cohort.copy()
    table = failed.uns["survival"]["table"]
    table.loc[1, ["hr", "hr_lo", "hr_hi", "padj"]] = np.nan
    table.loc[1, "note"] = "Cox fit did not converge"
    ax = dp.pl.hazard_ratios(failed).axes[0]
    assert len(_lines(ax, "hr")) == len(_lines(ax, "interval")) == 3
    assert [t.get_text() for t in ax.texts if t.get_text().startswith("not estimated")] == [
        "not estimated: Cox fit did not converge"
    ]
    assert ax.get_yticklabels()[1].get_text() == "planted_score · OS"  # the row stays, as text


def test_at_risk_at_event_times_and_beyond_the_last():
    curve = pd.DataFrame({"time": [0.0, 5.0, 10.0], "at_risk": [10, 8, 3]})
    assert _at_risk(curve, [0, 5, 7, 10, 12]) == [10, 8, 3, 3, 0]  # at a time: those with time >= it
