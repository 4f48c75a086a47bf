"""meta_analysis and effect_size at the edges (issue 10), against metafor 3.8.1.

Reference values made by tests/evidence/reference/metafor_edge_cases.R; run it from the
repository root with ``Rscript tests/evidence/reference/metafor_edge_cases.R``.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import pfps_stats as ps
from pfps_stats.evidence.effect_sizes import effect_size
from pfps_stats.evidence.meta import MetaResult, meta_analysis

R = json.loads((Path(__file__).parent / "reference" / "metafor_edge_cases.json").read_text())
KEYS = ["estimate", "se", "ci_low", "ci_high", "p_value", "tau2", "i2", "h2", "q", "q_p", "k"]


def _nan(value):
    return np.nan if value is None else value


# -- item 2: identical effects with Knapp-Hartung ----------------------------------------------
@pytest.mark.parametrize("method", ["REML", "DL", "PM"])
def test_identical_effects_with_knha_give_se_zero_as_metafor(method):
    ref = R["knha_identical"]
    result = meta_analysis(ref["yi"], ref["vi"], method=method, test="knha")
    expected = ref["fits"][method]
    got = result.to_series()
    for name in [*KEYS, "pi_low", "pi_high", "tau2_ci_low", "tau2_ci_high"]:
        assert got[name] == pytest.approx(expected[name], abs=1e-12), name


def test_all_zero_effects_with_knha_have_no_p_value_as_metafor():
    ref = R["knha_all_zero"]
    result = meta_analysis(ref["yi"], ref["vi"], test="knha")
    assert (result.estimate, result.se, result.ci_low, result.ci_high) == (0.0, 0.0, 0.0, 0.0)
    assert ref["p_value"] is None
    assert np.isnan(result.p_value)


# -- item 3: level --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("level", "message"),
    [(95, r"level must be between 0 and 1 .*did you mean 0\.95\?"), (0, "between 0 and 1")],
)
def test_level_is_checked(level, message):
    with pytest.raises(ValueError, match=message):
        meta_analysis([0.1, 0.3, 0.2], [0.01, 0.02, 0.03], test="knha", level=level)
    with pytest.raises(ValueError, match=message):
        MetaResult(np.array([0.1, 0.3]), np.array([0.01, 0.02]), ["a", "b"], "REML", "z", level)


def test_level_90_is_used():
    result = meta_analysis([0.1, 0.3, 0.2], [0.01, 0.02, 0.03], test="knha", level=0.9)
    wide = meta_analysis([0.1, 0.3, 0.2], [0.01, 0.02, 0.03], test="knha", level=0.95)
    assert wide.ci_low < result.ci_low < result.estimate < result.ci_high < wide.ci_high


# -- item 4: subgroups with no label --------------------------------------------------------
@pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
def test_subgroup_without_a_label_is_named(missing):
    result = meta_analysis(
        [0.1, 0.3, 0.2, 0.5, 0.4],
        [0.01, 0.02, 0.03, 0.02, 0.01],
        test="knha",
        labels=["A", "B", "C", "D", "E"],
    )
    groups = ["x", missing, "y", "x", missing]
    with pytest.raises(
        ValueError, match=r"no subgroup for 2 studies at positions 2, 5 \('B', 'E'\)"
    ):
        result.subgroups(groups)


# -- item 5: one study ----------------------------------------------------------------------
@pytest.mark.parametrize("test", ["z", "knha"])
def test_one_study_is_reported_as_itself_as_metafor(test):
    ref = R["k1"]
    expected = ref["fits"][test]
    with pytest.warns(ps.MetaWarning, match="k = 1") as record:
        result = meta_analysis([ref["yi"]], [ref["vi"]], test=test)
    for name in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        assert getattr(result, name) == pytest.approx(expected[name], rel=1e-12), name
    assert result.k == 1
    assert result.test == expected["test"] == "z"  # metafor: 'Setting argument test="z"'
    if test == "knha":
        assert any("Knapp-Hartung" in str(w.message) for w in record)
    # no heterogeneity and no prediction interval (metafor sets tau2 = 0 and pi = ci)
    for name in ("pi_low", "pi_high", "tau2", "tau2_ci_low", "tau2_ci_high", "i2", "h2", "q_p"):
        assert np.isnan(getattr(result, name)), name
    assert result.weights().tolist() == [100.0]
    assert result.summary_frame()["yi"].tolist() == pytest.approx([0.3, 0.3])
    result.plot_forest(ax=plt.figure().gca())


# -- item 6: effect sizes and missing values -------------------------------------------------
def test_negative_sd_is_refused_naming_the_studies():
    assert R["negative_sd_error"] == "One or more standard deviations are negative."
    with pytest.raises(ValueError, match=r"negative standard deviation.*positions 2, 3"):
        effect_size(
            "SMD",
            m1i=[1, 2, 3],
            sd1i=[1, -1, 1],
            n1i=[10, 10, 10],
            m2i=[0, 0, 0],
            sd2i=[1, 1, -2],
            n2i=[10, 10, 10],
        )
    with pytest.raises(ValueError, match=r"negative standard deviation.*position 1\b"):
        effect_size("MD", m1i=[1], sd1i=[-1], n1i=[10], m2i=[0], sd2i=[1], n2i=[10])


@pytest.mark.parametrize("measure", ["OR", "RR"])
def test_a_table_with_no_participants_is_left_out(measure):
    """metafor's escalc keeps an all-zero table by default (log OR 0, vi 8) and returns NA with
    drop00 = TRUE; a study with no participants carries no information, so it is NA here,
    with a warning. A table with participants but no events (study 3) is kept, as escalc's
    default."""
    table = pd.DataFrame(R["escalc_all_zero"]["table"])
    with pytest.warns(ps.MetaWarning, match=r"no participants.*position 2\b"):
        es = effect_size(measure, ai=table.ai, bi=table.bi, ci=table.ci, di=table.di)
    default = R["escalc_all_zero"][f"{measure}_default"]
    drop00 = R["escalc_all_zero"][f"{measure}_drop00"]
    keep = [0, 2, 3]
    assert_allclose(es["yi"].to_numpy()[keep], np.take(default["yi"], keep), rtol=1e-10)
    assert_allclose(es["vi"].to_numpy()[keep], np.take(default["vi"], keep), rtol=1e-10)
    assert drop00["yi"][1] is None
    assert drop00["vi"][1] is None
    assert np.isnan(es["yi"].iloc[1])
    assert np.isnan(es["vi"].iloc[1])


@pytest.mark.filterwarnings("ignore:with k = 3 studies")
def test_missing_effects_are_omitted_with_a_warning_as_metafor():
    ref = R["na"]
    assert ref["warnings"] == "Studies with NAs omitted from model fitting."
    yi, vi = [_nan(v) for v in ref["yi"]], [_nan(v) for v in ref["vi"]]
    labels = ["a", "b", "c", "d", "e"]
    with pytest.warns(ps.MetaWarning, match=r"2 of 5 studies omitted.*positions 2, 3 \('b', 'c'\)"):
        result = meta_analysis(yi, vi, labels=labels)
    assert result.omitted == ["b", "c"]
    assert result.labels == ["a", "d", "e"]
    got = result.to_series()
    for name in [*KEYS, "pi_low", "pi_high"]:
        assert got[name] == pytest.approx(ref[name], rel=1e-6, abs=1e-10), name


def test_a_table_with_no_participants_is_not_pooled():
    with pytest.warns(ps.MetaWarning, match="no participants"):
        es = effect_size(
            "OR", ai=[5, 0, 4, 7], bi=[10, 0, 10, 9], ci=[3, 0, 2, 5], di=[12, 0, 12, 8]
        )
    with pytest.warns(ps.MetaWarning, match="1 of 4 studies omitted"):
        result = meta_analysis(es["yi"], es["vi"], test="knha")
    assert result.k == 3


@pytest.mark.parametrize(
    ("yi", "vi", "message"),
    [
        ([0.1, np.inf], [0.01, 0.02], "finite"),
        ([np.nan, np.nan], [0.01, 0.02], "no studies"),
    ],
)
def test_infinite_or_all_missing_effects_are_refused(yi, vi, message):
    with pytest.raises(ValueError, match=message):
        meta_analysis(yi, vi)


def test_subgroups_with_one_study_each_are_refused():
    result = meta_analysis([0.1, 0.4, 0.2], [0.02, 0.03, 0.04], test="knha")
    with pytest.raises(ValueError, match="no residual degrees of freedom"):
        result.subgroups(["a", "b", "c"])
