"""missing_table: counts by hand, p-values against R's fisher.test and chisq.test(correct = FALSE)
(stored in reference/missing_table.json by reference/missing_table.R; R is not needed here),
and the edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import pfps_stats as ps
from pfps_stats.cohort.missing import missing_table

REF = json.loads((Path(__file__).parent / "reference" / "missing_table.json").read_text())
COUNTS = ["n", "n_missing", "n_missing_cases", "n_missing_noncases"]
PCTS = ["pct_missing", "pct_missing_cases", "pct_missing_noncases"]


def _from_2x2(a: int, b: int, c: int, d: int) -> pd.DataFrame:
    """x missing in a cases and b non-cases, observed in c cases and d non-cases."""
    y = [1] * a + [0] * b + [1] * c + [0] * d
    x = [np.nan] * (a + b) + [1.0] * (c + d)
    return pd.DataFrame({"x": x, "pfp": y})


def test_known_counts_by_hand():
    data = pd.DataFrame(
        {
            "runner_id": [f"R{i}" for i in range(8)],
            "q_angle_deg": [np.nan, 12.0, np.nan, 14.0, 11.0, np.nan, 13.0, 15.0],
            "sex": ["F", "M", None, "F", "M", "F", "M", "F"],
            "pfp": [1, 1, 1, 0, 0, 0, 0, 0],
        }
    )
    table = missing_table(data)
    assert list(table.columns) == [
        "variable",
        "label",
        "n",
        "n_missing",
        "pct_missing",
        "n_missing_cases",
        "pct_missing_cases",
        "n_missing_noncases",
        "pct_missing_noncases",
        "p_value",
        "test",
    ]
    assert table["variable"].tolist() == ["sex", "q_angle_deg"]  # dictionary order, no id
    q = table.set_index("variable").loc["q_angle_deg"]
    assert q["label"] == "Q angle"
    assert (q["n"], q["n_missing"], q["n_missing_cases"], q["n_missing_noncases"]) == (8, 3, 2, 1)
    assert q["pct_missing"] == pytest.approx(37.5)
    assert q["pct_missing_cases"] == pytest.approx(200 / 3)
    assert q["pct_missing_noncases"] == pytest.approx(20.0)
    # expected counts below 5 -> Fisher. Missing cases ~ hypergeometric (8 runners, 3 missing,
    # 3 cases): P(0..3) = 10, 30, 15, 1 (/56); tables no more probable than the observed 15/56
    assert q["test"] == "Fisher's exact"
    assert q["p_value"] == pytest.approx((15 + 1 + 10) / 56, rel=1e-12)
    assert table[COUNTS].dtypes.eq("int64").all()
    assert table.attrs["n_cases"] == 3
    assert table.attrs["n_noncases"] == 5
    assert table.attrs["notes"] == []


@pytest.mark.parametrize("subset", ["all", "military", "adolescent", "recreational"])
def test_demo_cohort_equals_r(subset):
    data = pd.read_csv(ps.DEMO_COHORT)
    if subset != "all":
        data = data[data["subgroup"] == subset]
    ref = pd.DataFrame(REF["demo"][subset])
    table = missing_table(data)
    assert table["variable"].tolist() == ref["variable"].tolist()
    assert table[COUNTS].to_numpy().tolist() == ref[COUNTS].to_numpy().tolist()
    assert_allclose(table[PCTS].to_numpy(), ref[PCTS].to_numpy(dtype=float), rtol=1e-12)
    assert table["test"].tolist() == ref["test"].tolist()
    assert_allclose(
        table["p_value"].to_numpy(), ref["p_value"].to_numpy(dtype=float), rtol=1e-10, atol=0
    )


def test_demo_reference_exercises_both_tests():
    tests = {r["test"] for rows in REF["demo"].values() for r in rows}
    tests |= {r["test"] for r in REF["tables"]}
    assert {"Fisher's exact", "chi-square", "none: nothing missing"} <= tests


@pytest.mark.parametrize("ref", REF["tables"], ids=lambda r: f"{r['a']}-{r['b']}-{r['c']}-{r['d']}")
def test_2x2_tables_equal_r(ref):
    row = missing_table(_from_2x2(ref["a"], ref["b"], ref["c"], ref["d"]), variables="x").iloc[0]
    assert row["test"] == ref["test"]  # Fisher below an expected count of 5, 5 itself included
    assert_allclose(row["p_value"], ref["p_value"], rtol=1e-10, atol=0)
    assert row["n_missing_cases"] == ref["a"]
    assert row["n_missing_noncases"] == ref["b"]


def test_n30_single_case_uses_fisher():
    data = _from_2x2(1, 2, 0, 27)  # n = 30, one runner with PFP, and that one missing
    row = missing_table(data, variables=["x"]).iloc[0]
    assert row["n"] == 30
    assert row["pct_missing_cases"] == 100.0
    assert row["pct_missing_noncases"] == pytest.approx(100 * 2 / 29)
    assert row["test"] == "Fisher's exact"
    assert row["p_value"] == pytest.approx(0.1, rel=1e-12)  # 3 of 30 missing: P(case) = 3/30


def test_nothing_missing_and_all_missing():
    data = pd.DataFrame(
        {"bmi": [22.0, 23.0, 24.0, 25.0], "q_angle_deg": [np.nan] * 4, "pfp": [1, 0, 1, 0]}
    )
    table = missing_table(data).set_index("variable")
    assert table.loc["bmi", "test"] == "none: nothing missing"
    assert np.isnan(table.loc["bmi", "p_value"])
    assert table.loc["bmi", "n_missing"] == 0
    assert table.loc["q_angle_deg", "test"] == "none: all missing"
    assert np.isnan(table.loc["q_angle_deg", "p_value"])
    assert table.loc["q_angle_deg", "pct_missing"] == 100.0


def test_missing_outcome_rows_are_counted_not_dropped():
    data = _from_2x2(3, 4, 5, 20)
    unknown = pd.DataFrame({"x": [np.nan, np.nan, 2.0], "pfp": [np.nan, np.nan, np.nan]})
    table = missing_table(pd.concat([data, unknown], ignore_index=True), variables=["x"])
    row = table.iloc[0]
    assert row["n"] == 35
    assert row["n_missing"] == 9
    assert (row["n_missing_cases"], row["n_missing_noncases"]) == (3, 4)  # known outcome only
    assert row["pct_missing_cases"] == pytest.approx(100 * 3 / 8)
    assert row["pct_missing_noncases"] == pytest.approx(100 * 4 / 24)
    alone = missing_table(data, variables=["x"]).iloc[0]
    assert row["p_value"] == alone["p_value"]
    assert row["test"] == alone["test"]
    assert table.attrs["n_outcome_missing"] == 3
    assert "3 rows with a missing outcome" in table.attrs["notes"][0]


def test_missing_only_where_the_outcome_is_missing():
    data = pd.DataFrame({"x": [1.0, 2.0, 3.0, np.nan], "pfp": [1, 0, 0, None]})
    row = missing_table(data, variables=["x"]).iloc[0]
    assert row["n_missing"] == 1
    assert np.isnan(row["p_value"])
    assert row["test"] == "none: nothing missing among runners with a known outcome"
    data = pd.DataFrame({"x": [np.nan, np.nan, np.nan, 4.0], "pfp": [1, 0, 0, None]})
    assert missing_table(data, variables=["x"])["test"].iloc[0] == (
        "none: all missing among runners with a known outcome"
    )


def test_single_outcome_level_gives_no_test():
    data = pd.DataFrame({"x": [np.nan, 1.0, 2.0], "pfp": [0, 0, 0]})
    table = missing_table(data, variables=["x"])
    assert table["test"].iloc[0] == "none: the outcome has one level"
    assert np.isnan(table["pct_missing_cases"].iloc[0])
    assert "every runner with a known outcome has pfp = 0" in table.attrs["notes"][0]


def test_outcome_coding_accepted_and_refused():
    base = _from_2x2(2, 3, 4, 6)
    expected = missing_table(base, variables=["x"])["p_value"].iloc[0]
    for y in (base["pfp"].astype(bool), base["pfp"].astype(str), base["pfp"].astype(float)):
        got = missing_table(base.assign(pfp=y), variables=["x"])["p_value"].iloc[0]
        assert got == expected
    with pytest.raises(ValueError, match=r"must be coded 0/1.*'yes', '2' in 2 rows"):
        missing_table(base.assign(pfp=["yes", 2, *base["pfp"][2:]]), variables=["x"])
    with pytest.raises(ValueError, match="outcome 'injury' is not a column.*columns: x, pfp"):
        missing_table(base, outcome="injury")
    with pytest.raises(ValueError, match="every row's outcome 'pfp' is missing"):
        missing_table(base.assign(pfp=np.nan), variables=["x"])


def test_variable_checks():
    data = pd.DataFrame({"bmi": [20.0, np.nan], "site_note": [None, "a"], "pfp": [1, 0]})
    with pytest.raises(ValueError, match=r"not columns of the data: 'q_angle_deg'.*columns: bmi"):
        missing_table(data, variables=["bmi", "q_angle_deg"])
    with pytest.raises(ValueError, match="'pfp' is the outcome"):
        missing_table(data, variables=["bmi", "pfp"])
    with pytest.raises(ValueError, match="named more than once: 'bmi'"):
        missing_table(data, variables=["bmi", "bmi"])
    assert missing_table(data)["variable"].tolist() == ["bmi"]  # only dictionary columns
    chosen = missing_table(data, variables=["site_note", "bmi"])
    assert chosen["variable"].tolist() == ["site_note", "bmi"]
    assert chosen["label"].tolist() == ["site_note", "Body-mass index"]
    with pytest.raises(TypeError, match="must be a DataFrame"):
        missing_table(data.to_dict())


def test_min_cell_is_recorded_counts_stay_numbers_and_suppress():
    from pfps_stats.report.suppression import suppress_small_counts

    data = _from_2x2(2, 30, 40, 128)
    table = missing_table(data, variables=["x"], min_cell=5)
    assert table.attrs["min_cell"] == 5
    assert table["n_missing_cases"].iloc[0] == 2  # not hidden here
    shown = suppress_small_counts(table, 5, columns=table.attrs["count_columns"])
    assert shown["n_missing_cases"].iloc[0] == "<5"
    assert shown["p_value"].iloc[0] == "suppressed"
    with pytest.raises(ValueError, match="min_cell must be a positive whole number"):
        missing_table(data, min_cell=0)


def test_caller_data_not_modified():
    data = _from_2x2(3, 4, 5, 20).assign(pfp=lambda d: d["pfp"].astype(object))
    before = data.copy()
    missing_table(data, variables=["x"])
    pd.testing.assert_frame_equal(data, before)


def test_report_suppression_hides_small_missing_counts():
    from pfps_stats.report import SUPPRESSED, suppress_small_counts

    data = pd.DataFrame(
        {"pfp": [1] * 10 + [0] * 30, "bmi": [None, None] + [22.0] * 38, "q_angle_deg": 15.0}
    )
    table = suppress_small_counts(missing_table(data, variables=["bmi", "q_angle_deg"]), 5)
    bmi = table.set_index("variable").loc["bmi"]
    assert bmi["n_missing"] == "<5"
    assert bmi["p_value"] == SUPPRESSED
