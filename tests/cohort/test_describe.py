"""table_one and incidence: structure, and SMDs against their closed forms. (p-values and
intervals are checked against R in test_models_reference.py; R's tableone is not packaged for
Debian, so the SMDs are checked against the formulas it documents.)"""

import math

import numpy as np
import pandas as pd
import pytest

import pfps_stats as ps


@pytest.fixture(scope="module")
def demo():
    return ps.demo_cohort()


def test_smd_continuous_is_mean_difference_over_pooled_sd(demo):
    table = ps.table_one(demo, variables=["q_angle_deg"]).set_index("variable")
    a = demo.loc[demo["pfp"] == 1, "q_angle_deg"].dropna()
    b = demo.loc[demo["pfp"] == 0, "q_angle_deg"].dropna()
    expected = (a.mean() - b.mean()) / math.sqrt((a.var() + b.var()) / 2)
    assert table.loc["q_angle_deg", "smd"] == pytest.approx(expected, rel=1e-12)


def test_smd_of_two_levels_is_the_proportion_formula(demo):
    table = ps.table_one(demo, variables=["sex"])
    p1 = (demo.loc[demo["pfp"] == 1, "sex"] == "M").mean()
    p0 = (demo.loc[demo["pfp"] == 0, "sex"] == "M").mean()
    expected = abs(p1 - p0) / math.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
    assert table.loc[1, "smd"] == pytest.approx(expected, rel=1e-10)


def test_table_one_layout_and_missing_counts(demo):
    table = ps.table_one(demo, nonnormal=["weekly_km"])
    assert list(table.columns) == [
        "variable",
        "label",
        "level",
        "overall",
        "pfp_0",
        "pfp_1",
        "missing",
        "smd",
        "p_value",
        "test",
    ]
    first = table.iloc[0]
    assert (first["overall"], first["pfp_0"], first["pfp_1"]) == (
        str(len(demo)),
        str((demo["pfp"] == 0).sum()),
        str((demo["pfp"] == 1).sum()),
    )
    km = table.set_index("variable").loc["weekly_km"]
    assert km["missing"] == demo["weekly_km"].isna().sum()
    assert "[" in km["overall"]
    assert km["test"] == "Wilcoxon rank-sum"
    levels = table[table["variable"] == "subgroup"]["level"].tolist()
    assert levels == ["military", "adolescent", "recreational"]


def test_incidence_rows_and_bad_input(demo):
    table = ps.incidence(demo, by="subgroup")
    assert table["group"].tolist()[-1] == "all"
    assert table["n"].iloc[-1] == len(demo)
    assert np.all(table["exact_low"] <= table["incidence"])
    with pytest.raises(ValueError, match="not a column"):
        ps.incidence(demo, by="clinic")
    with pytest.raises(ValueError, match="must be 0/1"):
        ps.table_one(demo.assign(pfp=demo["pfp"] + 1))
    with pytest.raises(ValueError, match="not columns"):
        ps.table_one(demo, variables=["shoe_size"])


def test_table_one_does_not_modify_the_data(demo):
    before = demo.copy()
    ps.table_one(demo)
    pd.testing.assert_frame_equal(demo, before)
