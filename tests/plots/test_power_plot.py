"""The power curve is checked through its artists: the curve, the target and required-n
lines, simulated points and the axis labels."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.ticker import PercentFormatter

import pfps_stats as ps


@pytest.fixture(scope="module")
def plan() -> pd.Series:
    return ps.plan_study("knee_ext_strength_nmkg", "military", dropout=0.1)


def _lines(ax):
    curve, target, required = ax.get_lines()[:3]
    return curve, target, required


def test_power_curve_of_a_plan(plan):
    ax = ps.plot_power_curve(plan, ax=plt.figure().gca())
    curve, target, required = _lines(ax)
    n, power = curve.get_data()
    assert np.all(np.diff(power) >= -1e-12), "power rises with n"
    assert n.min() < plan["n"] < n.max()
    assert set(target.get_ydata()) == {0.8}
    assert set(required.get_xdata()) == {plan["n"]}
    at = int(np.searchsorted(n, plan["n"]))
    expected = ps.power_logistic(
        plan["effect"], scale="smd", incidence=plan["incidence"], n=int(n[at]), dropout=0.1
    )["power"]
    assert power[at] == pytest.approx(expected)
    assert ax.get_xlabel().startswith("Runners recruited (n)")
    assert "10% drop-out" in ax.get_xlabel()
    assert ax.get_ylabel() == "Power"
    assert isinstance(ax.yaxis.get_major_formatter(), PercentFormatter)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(f"required: {plan['n']} runners" in t for t in legend)
    assert any("target power 80%" in t for t in legend)
    assert any(t.startswith("likelihood-ratio test (SMD") for t in legend)


def test_power_curve_follows_the_plans_method():
    hsieh = ps.plan_study("knee_ext_strength_nmkg", "military", method="hsieh")
    ax = ps.plot_power_curve(hsieh, ax=plt.figure().gca())
    curve, _, required = _lines(ax)
    assert set(required.get_xdata()) == {hsieh["n"]} == {161}
    n, power = curve.get_data()
    expected = ps.power_logistic(-0.69, incidence=0.11, n=int(n[0]), method="hsieh")["power"]
    assert power[0] == pytest.approx(expected)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("Hsieh et al. 1998 (SMD") for t in legend)
    with pytest.raises(ValueError, match="method must be one of"):
        ps.plot_power_curve(-0.69, incidence=0.11, method="exact", ax=plt.figure().gca())


def test_power_curve_from_an_effect_and_given_n():
    n = [50, 100, 200, 400]
    ax = ps.plot_power_curve(0.5, incidence=0.1, n=n, target=0.9, ax=plt.figure().gca())
    curve, target, required = _lines(ax)
    assert list(curve.get_xdata()) == n
    assert set(target.get_ydata()) == {0.9}
    needed = ps.power_logistic(0.5, scale="smd", incidence=0.1, power=0.9)["n"]
    assert set(required.get_xdata()) == {needed}
    assert ax.get_xlabel() == "Runners recruited (n)"


def test_simulated_points_sit_at_runners_recruited(plan):
    simulated = pd.DataFrame(
        {"n": [100, 180], "power": [0.6, 0.8], "mc_se": [0.015, 0.012], "n_sim": [1000, 1000]}
    )
    ax = ps.plot_power_curve(plan, simulated=simulated, ax=plt.figure().gca())
    points = ax.containers[0]
    x, y = points.lines[0].get_data()
    assert np.allclose(x, simulated["n"] / 0.9), "analysed n shown as runners recruited"
    assert np.allclose(y, simulated["power"])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("1000 simulated cohorts each" in t for t in legend)


def test_bad_arguments_are_named(plan):
    with pytest.raises(ValueError, match="holds its own alpha"):
        ps.plot_power_curve(plan, alpha=0.01)
    with pytest.raises(ValueError, match="incidence= is required"):
        ps.plot_power_curve(0.5)
    with pytest.raises(ValueError, match="lacks column"):
        ps.plot_power_curve(plan, simulated=pd.DataFrame({"n": [100]}))


def test_simulate_powers_table_is_drawn_as_it_comes(plan):
    scenario = ps.power_scenario(effect=plan["effect"], scale="smd", incidence=plan["incidence"])
    simulated = ps.simulate_power(scenario, [plan["n_analysed"]], n_sim=200, seed=1)
    ax = ps.plot_power_curve(plan, simulated=simulated, ax=plt.figure().gca())
    x, y = ax.containers[0].lines[0].get_data()
    assert x[0] == pytest.approx(plan["n_analysed"] / 0.9)
    assert y[0] == pytest.approx(simulated["power"].iloc[0])


def test_sizes_axes_and_mixed_tests_are_checked(plan):
    ax = ps.plot_power_curve(plan, n=150, ax=plt.figure().gca())  # one size is fine
    assert list(_lines(ax)[0].get_xdata()) == [150]
    for bad in ([], [100.7], [1], "100"):
        with pytest.raises(ValueError, match="n must be whole numbers of runners"):
            ps.plot_power_curve(plan, n=bad, ax=plt.figure().gca())
    with pytest.raises(ValueError, match="ax must be a matplotlib Axes"):
        ps.plot_power_curve(plan, ax="x")
    both = pd.DataFrame(
        {"n": [100, 100], "power": [0.5, 0.4], "mc_se": [0.01, 0.01], "test": ["lr", "wald"]}
    )
    with pytest.raises(ValueError, match="holds the powers of several tests"):
        ps.plot_power_curve(plan, simulated=both, ax=plt.figure().gca())
