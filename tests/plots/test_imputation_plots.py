"""Figures of a multiple imputation (plot_imputed, plot_imputation_diagnostics) and the forest
plot of complete-case against multiply imputed odds ratios, checked through their artists.
SYNTHETIC data throughout."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.container import BarContainer, ErrorbarContainer
from scipy.stats import norm

import pfps_stats as ps

M = 5
FACTORS = ["hip_abd_strength_nkg", "age_years", "sex"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """SYNTHETIC: 200 runners; hip abduction strength 25% missing, sex 8% missing."""
    rng = np.random.default_rng(12)
    n = 200
    sex = np.where(rng.random(n) < 0.5, "F", "M")
    age = np.round(rng.normal(30, 8, n), 0)
    hip = np.round(rng.normal(2.0, 0.5, n) + 0.2 * (sex == "M"), 2)
    risk = 1 / (1 + np.exp(-(-1.2 - 1.0 * (hip - 2.0) + 0.02 * (age - 30))))
    data = pd.DataFrame(
        {
            "sex": pd.Categorical(sex, categories=["F", "M"]),
            "age_years": age,
            "hip_abd_strength_nkg": hip,
            "pfp": (rng.random(n) < risk).astype("int64"),
            "data_source": "SYNTHETIC",
        }
    )
    data.loc[rng.random(n) < 0.25, "hip_abd_strength_nkg"] = np.nan
    data.loc[rng.random(n) < 0.08, "sex"] = np.nan
    return data


@pytest.fixture(scope="module")
def imputed(frame) -> ps.ImputedCohort:
    return ps.impute(frame, m=M, variables=FACTORS, max_iter=3, seed=2024)


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


# plot_imputed ---------------------------------------------------------------------------------


def test_numeric_variable_one_density_per_dataset_plus_the_observed(frame, imputed):
    ax = ps.plot_imputed(imputed, "hip_abd_strength_nkg", ax=plt.figure().gca())
    n_missing = int(frame["hip_abd_strength_nkg"].isna().sum())
    assert 20 < n_missing < 80
    assert ax.get_xlabel() == ps.label("hip_abd_strength_nkg") == "Hip abduction strength (N/kg)"
    assert ax.get_ylabel() == "Density"
    assert "Hip abduction strength" in ax.get_title()
    lines = ax.get_lines()
    assert len(lines) == M + 1
    observed = [line for line in lines if line.get_label().startswith("observed")]
    assert len(observed) == 1
    assert observed[0].get_linewidth() > max(
        line.get_linewidth() for line in lines if line is not observed[0]
    )
    assert _legend(ax) == [
        f"imputed ({M} datasets, n={n_missing} each)",
        f"observed (n={len(frame) - n_missing})",
    ]
    for line in lines:  # densities: each integrates to ~1 over its grid
        area = np.trapezoid(line.get_ydata(), line.get_xdata())
        assert area == pytest.approx(1.0, abs=0.01)
    assert ax.get_ylim()[1] > max(line.get_ydata().max() for line in lines), "legend headroom"


def test_density_uses_r_default_bandwidth():
    """The observed density is the Gaussian KDE with R's bw.nrd0, as mice's densityplot.

    R 4.2:  x <- c(1.2, 2.5, 2.7, 3.1, 4.0, 5.5, 2.2, 3.3)
            bw.nrd0(x)                   # 0.46527424465686001
            mean(dnorm(3, x, bw.nrd0(x)))  # 0.37416738617160383
    """
    x = np.array([1.2, 2.5, 2.7, 3.1, 4.0, 5.5, 2.2, 3.3])
    fills = [[1.5, 2.0, 2.6, 3.0, 3.6, 4.4], [1.3, 2.1, 2.8, 3.2, 3.9, 5.0], [1, 2, 3, 4, 5, 6]]
    original = pd.DataFrame(
        {"pfp": [0, 1] * 7, "hip_abd_strength_nkg": [*x, *[np.nan] * 6]}, dtype=float
    )
    datasets = []
    for fill in fills:
        data = original.copy()
        data.loc[8:, "hip_abd_strength_nkg"] = fill
        datasets.append(data)
    imp = ps.ImputedCohort.from_datasets(datasets, original=original)
    ax = ps.plot_imputed(imp, "hip_abd_strength_nkg")
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "observed (n=8)"]
    grid, y = line.get_xdata(), line.get_ydata()
    bw_r = 0.46527424465686001
    expected = norm.pdf(grid[:, None], loc=x[None, :], scale=bw_r).mean(axis=1)
    np.testing.assert_allclose(y, expected, rtol=1e-9)
    assert np.interp(3.0, grid, y) == pytest.approx(0.37416738617160383, rel=2e-3)
    assert len(ax.get_lines()) == 3 + 1


def test_strip_when_a_dataset_has_too_few_distinct_imputed_values(frame):
    few = frame.copy()
    few["hip_abd_strength_nkg"] = few["hip_abd_strength_nkg"].fillna(2.0)
    few.loc[few.index[:3], "hip_abd_strength_nkg"] = np.nan
    imp = ps.impute(few, m=M, variables=["hip_abd_strength_nkg"], max_iter=2, seed=1)
    ax = ps.plot_imputed(imp, "hip_abd_strength_nkg")
    assert ax.get_xlabel() == "Hip abduction strength (N/kg)"
    assert ax.get_ylabel() == "Dataset (imputation)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["5", "4", "3", "2", "1", "observed"]
    strips = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(strips) == M + 1
    values = imp.values("hip_abd_strength_nkg")
    for k in range(1, M + 1):  # dataset k is drawn on row m - k, with its own values
        (strip,) = [s for s in strips if np.all(np.abs(s.get_offsets()[:, 1] - (M - k)) < 0.2)]
        drawn = np.sort(strip.get_offsets()[:, 0])
        np.testing.assert_array_equal(drawn, np.sort(values.query("imputation == @k")["value"]))
    assert _legend(ax) == [f"observed (n={len(few) - 3})", f"imputed ({M} datasets, n=3 each)"]


def test_category_bars_are_proportions_that_sum_to_one(frame, imputed):
    ax = ps.plot_imputed(imputed, "sex")
    assert ax.get_ylabel() == "Proportion"
    assert ax.get_xlabel() == "Sex"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["F", "M"]
    bars = {c.get_label(): c for c in ax.containers if isinstance(c, BarContainer)}
    n_missing = int(frame["sex"].isna().sum())
    observed = f"observed (n={len(frame) - n_missing})"
    guessed = f"imputed ({M} datasets, n={n_missing} each)"
    assert list(bars) == [observed, guessed] == _legend(ax)
    values = imputed.values("sex")
    for name, is_imputed in ((observed, False), (guessed, True)):
        heights = np.array([p.get_height() for p in bars[name].patches])
        assert heights.sum() == pytest.approx(1.0)
        share = values[values["imputed"] == is_imputed]["value"].value_counts(normalize=True)
        np.testing.assert_allclose(heights, share.reindex(["F", "M"]).to_numpy())


def test_a_named_variable_with_nothing_missing_says_so(frame):
    full = frame.assign(sex=frame["sex"].fillna("F"))
    imp = ps.impute(full, m=2, variables=["hip_abd_strength_nkg", "sex"], max_iter=2, seed=1)
    ax = ps.plot_imputed(imp, "sex")
    assert len([c for c in ax.containers if isinstance(c, BarContainer)]) == 1
    assert any("no values imputed" in t.get_text() for t in ax.texts)


def test_plot_imputed_errors(frame, imputed):
    with pytest.raises(TypeError, match="ImputedCohort that ps.impute returns, not a DataFrame"):
        ps.plot_imputed(frame, "hip_abd_strength_nkg")
    with pytest.raises(ValueError, match="'pfp' was not imputed; imputed variables: ") as err:
        ps.plot_imputed(imputed, "pfp")
    for name in imputed.variables:
        assert name in str(err.value)
    with pytest.raises(ValueError, match="'q_angle_deg' was not imputed"):
        ps.plot_imputation_diagnostics(imputed, variables=["sex", "q_angle_deg"])


# plot_imputation_diagnostics --------------------------------------------------------------------


def test_diagnostics_one_panel_per_imputed_variable(imputed):
    axes = ps.plot_imputation_diagnostics(imputed)
    assert isinstance(axes, np.ndarray)
    assert imputed.variables == ("hip_abd_strength_nkg", "age_years", "sex")
    assert not imputed.missing["age_years"].any(), "named, nothing missing: left out"
    assert [ax.get_xlabel() for ax in axes] == ["Hip abduction strength (N/kg)", "Sex"]
    figure = axes[0].figure
    assert len(figure.axes) == 2, "unused grid cells removed"
    assert f"m={M}" in figure.get_suptitle()
    assert [ax.get_ylabel() for ax in axes] == ["Density", "Proportion"]


def test_diagnostics_on_given_axes(imputed):
    fig, grid = plt.subplots(1, 3)
    axes = ps.plot_imputation_diagnostics(imputed, variables="sex", axes=grid)
    assert list(axes) == [grid[0]]
    assert grid[0].get_ylabel() == "Proportion"
    assert not grid[1].has_data()
    with pytest.raises(ValueError, match="axes holds 1 Axes for 2 variables"):
        ps.plot_imputation_diagnostics(imputed, axes=[plt.figure().gca()])
    with pytest.raises(TypeError, match="ImputedCohort"):
        ps.plot_imputation_diagnostics(imputed.datasets)


# plot_forest(table, imputed=...) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def complete(frame) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        return ps.odds_ratio_table(frame, "pfp", FACTORS)


@pytest.fixture
def by_hand(complete) -> pd.DataFrame:
    """A stand-in for a pooled table: the complete-case table with other numbers."""
    table = complete.copy()
    point = table["ci_low_multi"].notna()
    for column, factor in (("or_multi", 1.1), ("ci_low_multi", 1.05), ("ci_high_multi", 1.2)):
        table.loc[point, column] = table.loc[point, column] * factor
    table.attrs = {"multivariable": {"n": 200}, "imputation": {"m": M, "method": "pmm"}}
    return table


def _drawn(ax) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each errorbar series: its estimates (x) and line positions (y)."""
    return {
        c.get_label(): (c.lines[0].get_xdata(), c.lines[0].get_ydata())
        for c in ax.containers
        if isinstance(c, ErrorbarContainer)
    }


def _line_of(ax) -> dict[str, int]:
    ticks = zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)
    return {t.get_text(): round(v) for t, v in ticks}


def test_forest_complete_cases_against_imputed(complete, by_hand):
    ax = ps.plot_forest(complete, ax=plt.figure().gca(), imputed=by_hand)
    cc = f"complete cases (n={complete.attrs['multivariable']['n']})"
    mi = f"multiple imputation (m={M}, n=200)"
    assert complete.attrs["multivariable"]["n"] < 200
    assert _legend(ax) == [cc, mi]
    drawn = _drawn(ax)
    assert list(drawn) == [cc, mi], "no univariable series"
    point = complete["ci_low_multi"].notna()
    line = _line_of(ax)
    for name, table in ((cc, complete), (mi, by_hand)):
        x, y = drawn[name]
        np.testing.assert_allclose(x, table.loc[point, "or_multi"])
        assert [round(v) for v in y] == [line[lab] for lab in complete.loc[point, "label"]]
    assert not np.isin(complete.loc[point, "or_uni"].to_numpy(), drawn[cc][0]).any()
    assert list(line) == list(complete["label"])
    texts = [t.get_text() for t in ax.texts]
    assert "n (events)" in texts
    for n, events in zip(complete["n"], complete["events"], strict=True):
        assert f"{n} ({events})" in texts
    (reference,) = [ln for ln in ax.get_lines() if ln.get_marker() == "s"]
    assert list(reference.get_xdata()) == [1.0]


def test_forest_aligns_imputed_rows_by_factor_and_level(complete, by_hand):
    shuffled = by_hand.iloc[::-1]
    ax = ps.plot_forest(complete, imputed=shuffled)
    x, _ = _drawn(ax)[f"multiple imputation (m={M}, n=200)"]
    point = by_hand["ci_low_multi"].notna()
    np.testing.assert_allclose(x, by_hand.loc[point, "or_multi"])


def test_forest_without_imputed_is_unchanged(complete):
    ax = ps.plot_forest(complete)
    assert _legend(ax) == ["univariable", "multivariable"]


def test_forest_imputed_errors(complete, by_hand, imputed):
    with pytest.raises(ValueError, match="same factor/level rows.*only in imputed: none"):
        ps.plot_forest(complete, imputed=by_hand.iloc[:-1])
    plain = by_hand.copy()
    plain.attrs = {"multivariable": {"n": 200}}
    with pytest.raises(ValueError, match="not an odds_ratio_table made from an ImputedCohort"):
        ps.plot_forest(complete, imputed=plain)
    with pytest.raises(ValueError, match="pass the complete-case table first"):
        ps.plot_forest(by_hand, imputed=by_hand)
    relabelled = by_hand.assign(label=by_hand["label"].str.replace("per", "for each"))
    with pytest.raises(ValueError, match="same per="):
        ps.plot_forest(complete, imputed=relabelled)
    with pytest.raises(ValueError, match="must be an odds_ratio_table"):
        ps.plot_forest(complete, imputed=by_hand[["factor", "label"]])
    with pytest.raises(ValueError, match="not a ImputedCohort; make it with ps.odds_ratio_table"):
        ps.plot_forest(complete, imputed=imputed)


def test_forest_of_a_pooled_odds_ratio_table(frame, imputed, complete):
    """End to end: ps.odds_ratio_table on the ImputedCohort (Rubin's rules)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        pooled = ps.odds_ratio_table(imputed, "pfp", FACTORS)
    ax = ps.plot_forest(complete, imputed=pooled)
    mi = f"multiple imputation (m={M}, n={len(frame)})"
    assert _legend(ax)[1] == mi
    x, _ = _drawn(ax)[mi]
    point = pooled["ci_low_multi"].notna()
    np.testing.assert_allclose(x, pooled.loc[point, "or_multi"])
    assert not np.allclose(x, complete.loc[complete["ci_low_multi"].notna(), "or_multi"])
