"""Effect sizes and random-effects meta-analysis against metafor 3.8.1.

Values made by tests/reference/metafor.R (REML threshold 1e-10, root tolerance 1e-12).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from pfps_stats.evidence.effect_sizes import convert_effect, effect_size
from pfps_stats.evidence.meta import meta_analysis

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "metafor.json").read_text())
BCG = pd.read_csv(REF / "data" / "dat_bcg.csv")
NORMAND = pd.read_csv(REF / "data" / "dat_normand1999.csv")


def _bcg_log_rr():
    return effect_size("RR", ai=BCG.tpos, bi=BCG.tneg, ci=BCG.cpos, di=BCG.cneg)


@pytest.mark.parametrize("measure", ["SMD", "MD"])
def test_escalc_means(measure):
    es = effect_size(
        measure,
        m1i=NORMAND.m1i,
        sd1i=NORMAND.sd1i,
        n1i=NORMAND.n1i,
        m2i=NORMAND.m2i,
        sd2i=NORMAND.sd2i,
        n2i=NORMAND.n2i,
    )
    key = measure.lower()
    assert_allclose(es["yi"], R["escalc"][f"{key}_yi"], rtol=1e-10, atol=1e-12)
    assert_allclose(es["vi"], R["escalc"][f"{key}_vi"], rtol=1e-10)


@pytest.mark.parametrize("measure", ["OR", "RR"])
def test_escalc_counts_with_a_zero_cell(measure):
    bcg = BCG.copy()
    bcg.loc[2, "tpos"] = 0  # as in metafor.R: 1/2 is added to that study's cells only
    es = effect_size(measure, ai=bcg.tpos, bi=bcg.tneg, ci=bcg.cpos, di=bcg.cneg)
    key = measure.lower()
    assert_allclose(es["yi"], R["escalc"][f"{key}_yi"], rtol=1e-10, atol=1e-12)
    assert_allclose(es["vi"], R["escalc"][f"{key}_vi"], rtol=1e-10)


def test_effect_from_a_reported_ci():
    es = effect_size(
        "CI", estimate=[0.5, 1.2, 2.0], ci_low=[0.3, 0.8, 1.1], ci_high=[0.83, 1.8, 3.6]
    )
    assert_allclose(es["yi"], R["escalc"]["ci_yi"], rtol=1e-12)
    assert_allclose(es["vi"], R["escalc"]["ci_vi"], rtol=1e-12)


@pytest.mark.parametrize("key", ["REML_z", "REML_knha", "DL_z", "DL_knha", "PM_z", "PM_knha"])
def test_rma_every_method_and_test(key):
    method, test = key.split("_")
    es = _bcg_log_rr()
    result = meta_analysis(es["yi"], es["vi"], method=method, test=test).to_series()
    for name, expected in R["rma"][key].items():
        assert result[name] == pytest.approx(expected, rel=1e-6, abs=1e-10), name


def test_leave_one_out():
    es = _bcg_log_rr()
    table = meta_analysis(es["yi"], es["vi"]).leave_one_out()
    for column, ref in (("estimate", "estimate"), ("tau2", "tau2"), ("i2", "i2"), ("q", "q")):
        assert_allclose(table[column], R["leave1out"][ref], rtol=1e-6)


def test_tau2_on_the_boundary():
    from pfps_stats.evidence.meta import MetaWarning

    with pytest.warns(MetaWarning, match="consider test='knha'"):
        result = meta_analysis([0.10, 0.12, 0.09, 0.11], [0.01, 0.02, 0.015, 0.012])
    assert result.tau2 == 0.0 == R["boundary"]["tau2"]
    assert result.estimate == pytest.approx(R["boundary"]["estimate"], rel=1e-12)
    assert result.i2 == 0.0


def test_chinn_conversion_round_trips():
    out = convert_effect([-0.69], [0.03], to="logOR")
    assert out["yi"].iloc[0] == pytest.approx(-0.69 * np.pi / np.sqrt(3))
    back = convert_effect(out["yi"], out["vi"], to="SMD")
    assert_allclose(back[["yi", "vi"]].to_numpy()[0], [-0.69, 0.03])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"yi": [0.1, 0.2], "vi": [0.01]}, "equal length"),
        ({"yi": [0.1, np.inf], "vi": [0.01, 0.02]}, "finite"),
        ({"yi": [0.1, 0.2], "vi": [0.01, 0.0]}, "positive"),
        ({"yi": [0.1, 0.2], "vi": [0.01, 0.02], "method": "ML"}, "method must be"),
        ({"yi": [], "vi": []}, "no studies"),
    ],
)
def test_meta_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        meta_analysis(**kwargs)


def test_effect_size_bad_input():
    with pytest.raises(ValueError, match="needs m1i"):
        effect_size("SMD", m1i=[1])
    with pytest.raises(ValueError, match="within its CI"):
        effect_size("CI", estimate=[2.0], ci_low=[2.5], ci_high=[3.0])
    with pytest.raises(ValueError, match="measure must be"):
        effect_size("HR", x=[1])


def test_forest_plot_of_a_meta_analysis():
    import matplotlib.pyplot as plt

    es = _bcg_log_rr()
    result = meta_analysis(es["yi"], es["vi"], labels=[f"trial {i}" for i in BCG.trial])
    ax = result.plot_forest(ax=plt.figure().gca(), exponentiate=True, xlabel="Risk ratio")
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "Pooled"
    assert "I² = 92%" in ax.get_legend().get_texts()[0].get_text()


@pytest.mark.parametrize("test", ["z", "knha"])
def test_egger_matches_regtest(test):
    es = _bcg_log_rr()
    result = meta_analysis(es["yi"], es["vi"], test=test)
    egger = result.egger()
    for name, expected in R[f"regtest_{test}"].items():
        assert egger[name] == pytest.approx(expected, rel=1e-6), name


@pytest.mark.parametrize("test", ["z", "knha"])
def test_subgroups_match_rma_with_a_moderator(test):
    es = _bcg_log_rr()
    table = meta_analysis(es["yi"], es["vi"], test=test).subgroups(BCG["alloc"])
    ref = R[f"subgroup_{test}"]
    for group, expected in ref["estimates"].items():
        got = table.set_index("group").loc[group, "estimate"]
        assert got == pytest.approx(expected, rel=1e-6), group
    difference = table.attrs["difference"]
    assert difference["statistic"] == pytest.approx(ref["statistic"], rel=1e-6)
    assert difference["p_value"] == pytest.approx(ref["p_value"], rel=1e-6)


def test_small_k_warnings():
    from pfps_stats.evidence.meta import MetaWarning

    with pytest.warns(MetaWarning, match="consider test='knha'"):
        result = meta_analysis([0.1, 0.4, -0.1], [0.01, 0.02, 0.03])
    with pytest.warns(MetaWarning, match="k = 3 < 10"):
        result.egger()


def test_funnel_plot():
    import matplotlib.pyplot as plt

    es = _bcg_log_rr()
    ax = meta_analysis(es["yi"], es["vi"]).plot_funnel(
        ax=plt.figure().gca(), xlabel="log risk ratio"
    )
    assert ax.get_ylim()[0] > ax.get_ylim()[1], "standard error axis is inverted"
    assert len(ax.collections[-1].get_offsets()) == len(BCG)
