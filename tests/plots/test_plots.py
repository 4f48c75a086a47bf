"""Figures are checked through their artists (points, lines, labels, scales), not pixels."""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

import pfps_stats as ps


@pytest.fixture(scope="module")
def military():
    cohort = ps.load_cohort(ps.DEMO_COHORT)
    return cohort[cohort["subgroup"] == "military"]


@pytest.fixture(scope="module")
def fit(military):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        return ps.fit_logistic(military, "pfp ~ knee_ext_strength_nmkg + q_angle_deg + C(sex)")


@pytest.fixture(scope="module")
def table(military):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        return ps.odds_ratio_table(
            military, "pfp", ["knee_ext_strength_nmkg", "q_angle_deg", "sex"]
        )


def test_forest_of_an_odds_ratio_table(table):
    ax = ps.plot_forest(table, ax=plt.figure().gca())
    assert ax.get_xscale() == "log"
    assert "Odds ratio" in ax.get_xlabel()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "Q angle, per 5°" in labels
    assert "Knee extension strength, per 0.5 Nm/kg" in labels
    assert any(line.get_xdata()[0] == 1 for line in ax.get_lines()), "the line at OR = 1"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["univariable", "multivariable"]
    texts = [t.get_text() for t in ax.texts]
    assert "n (events)" in texts
    assert f"{table['n'].iloc[0]} ({table['events'].iloc[0]})" in texts


def test_forest_with_published_estimates(table):
    published = pd.DataFrame(
        {
            "factor": ["knee_ext_strength_nmkg"],
            "odds_ratio": [0.55],
            "ci_low": [0.4],
            "ci_high": [0.75],
            "source": ["test"],
        }
    )
    ax = ps.plot_forest(table, published=published)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "published (test)" in legend


def test_forest_of_a_fit_and_bad_tables(fit):
    ax = ps.plot_forest(fit)
    assert len(ax.get_yticklabels()) == len(fit.odds_ratios())
    with pytest.raises(ValueError, match="missing"):
        ps.plot_forest(pd.DataFrame({"x": [1]}))


def test_effect_curve_lies_inside_its_band(fit):
    ax = ps.plot_effect(fit, "knee_ext_strength_nmkg")
    (curve,) = [line for line in ax.get_lines() if line.get_label() == "predicted"]
    x, y = curve.get_xdata(), curve.get_ydata()
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    vertices = band.get_paths()[0].vertices
    for xi, yi in zip(x[::10], y[::10], strict=True):
        at = vertices[np.isclose(vertices[:, 0], xi)][:, 1]
        assert at.min() - 1e-12 <= yi <= at.max() + 1e-12
    assert np.all(np.diff(y) < 0), "weaker quadriceps, higher risk"
    assert ax.get_xlabel() == "Knee extension strength (Nm/kg)"
    data_x = fit.design.data["knee_ext_strength_nmkg"]
    assert (x.min(), x.max()) == pytest.approx((data_x.min(), data_x.max()))


def test_effect_by_group_draws_one_curve_per_level(fit):
    ax = ps.plot_effect(fit, "q_angle_deg", by="sex")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["Sex: F", "Sex: M"]
    assert ax.get_ylim()[0] == 0
    with pytest.raises(ValueError, match="not a numeric variable"):
        ps.plot_effect(fit, "sex")
    with pytest.raises(ValueError, match="by='subgroup' is not a variable"):
        ps.plot_effect(fit, "q_angle_deg", by="subgroup")


def test_calibration_plot(fit):
    ax = ps.plot_calibration(fit, groups=10)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:2] == ["ideal", "lowess (apparent)"]
    assert "bias-corrected (bootstrap)" not in legend
    assert "Predicted risk" in ax.get_xlabel()
    assert "Observed" in ax.get_ylabel()
    curve = ps.calibrate_bootstrap(fit, n_boot=20, seed=1)
    ax = ps.plot_calibration(fit, ax=plt.figure().gca(), curve=curve)
    assert "bias-corrected (bootstrap)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_calibration_plot_does_not_depend_on_call_order(fit):
    """calibrate_bootstrap returns its curve and leaves the fit alone: a plot made after it,
    without curve=, is the same as one made before."""
    before = [t.get_text() for t in ps.plot_calibration(fit).get_legend().get_texts()]
    ps.calibrate_bootstrap(fit, n_boot=10, seed=2)
    after = ps.plot_calibration(fit, ax=plt.figure().gca()).get_legend().get_texts()
    assert [t.get_text() for t in after] == before


def test_roc_plot_has_auc_with_delong_ci(fit):
    ax = ps.plot_roc(fit)
    text = ax.get_legend().get_texts()[1].get_text()
    auc = ps.roc_auc(fit.y_, fit.fitted_)
    assert text.startswith(f"AUC {auc['auc']:.2f} (95% CI ")
    assert "DeLong" in text
    line = ax.get_lines()[1]
    assert (line.get_xdata()[0], line.get_ydata()[0]) == (0, 0)
    assert (line.get_xdata()[-1], line.get_ydata()[-1]) == (1, 1)
    assert np.all(np.diff(line.get_xdata()) >= 0)


def test_roc_curve_points_match_the_auc(fit):
    from pfps_stats.models.performance import roc_curve

    points = roc_curve(fit.y_, fit.fitted_)
    area = np.trapezoid(points["tpr"], points["fpr"])
    assert area == pytest.approx(ps.roc_auc(fit.y_, fit.fitted_)["auc"], abs=1e-12)


def test_distributions_in_the_variables_unit(military):
    ax = ps.plot_distributions(military, "knee_ext_strength_nmkg")
    assert ax.get_ylabel() == "Knee extension strength (Nm/kg)"
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0].startswith("No PFP\n(n=")
    assert ticks[1].startswith("PFP\n(n=")
    ax = ps.plot_distributions(military, "bmi", ax=plt.figure().gca(), kind="violin")
    assert ax.get_ylabel() == "Body-mass index (kg/m²)"
    with pytest.raises(ValueError, match="kind must be"):
        ps.plot_distributions(military, "bmi", kind="pie")


def test_missing_and_correlations(military):
    ax = ps.plot_missing(military)
    assert len(ax.patches) == military.shape[1]
    assert ax.get_xlabel() == "Missing values (% of rows)"
    ax = ps.plot_correlations(
        military[["bmi", "q_angle_deg", "knee_ext_strength_nmkg"]], ax=plt.figure().gca()
    )
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Body-mass index",
        "Q angle",
        "Knee extension strength",
    ]
    with pytest.raises(ValueError, match="at least two"):
        ps.plot_correlations(military[["bmi"]])


def test_set_theme_uses_the_colour_blind_palette():
    ps.set_theme()
    import seaborn as sns
    from matplotlib.colors import to_hex

    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    assert [to_hex(c) for c in cycle[:3]] == sns.color_palette("colorblind").as_hex()[:3]
    assert plt.rcParams["savefig.bbox"] == "tight"


def test_plots_never_show(monkeypatch, fit, military):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show() was called"))
    ps.plot_roc(fit)
    ps.plot_effect(fit, "q_angle_deg")
    ps.plot_missing(military)


def test_roc_with_one_case_says_there_is_no_interval():
    y = np.array([0] * 30 + [1])
    score = np.linspace(0, 1, 31)

    class OneCase:  # the two attributes plot_roc reads
        y_ = y
        fitted_ = score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        ax = ps.plot_roc(OneCase(), ax=plt.figure().gca())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("no CI" in text for text in legend)
    assert not any("nan" in text for text in legend)
