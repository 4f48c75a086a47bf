import pytest

import pfps_stats as ps
from pfps_stats.cohort import quality


def test_summarise_variables_in_canonical_units(small_cohort):
    table = quality.summarise_variables(small_cohort)
    row = table.set_index("variable").loc["q_angle_deg"]
    assert row["unit"] == "°"
    assert row["n"] + row["missing"] == len(small_cohort)
    assert row["mean"] == pytest.approx(small_cohort["q_angle_deg"].mean())


def test_outcome_counts_adds_a_total(small_cohort):
    table = quality.outcome_counts(small_cohort).set_index("subgroup")
    assert table.loc["all", "runners"] == len(small_cohort)
    assert table.loc["all", "cases"] == small_cohort["pfp"].sum()
    with pytest.raises(ValueError, match="no outcome column 'injury'"):
        quality.outcome_counts(small_cohort, outcome="injury")


def test_in_subgroup_names_what_is_there(small_cohort):
    assert len(quality.in_subgroup(small_cohort, "military")) == len(small_cohort)
    assert quality.in_subgroup(small_cohort, None) is small_cohort
    with pytest.raises(ValueError, match="the data have: military"):
        quality.in_subgroup(small_cohort, "adolescent")


def test_problem_counts_hold_no_row_values(write_text):
    check = ps.check_cohort(write_text("c.csv", "runner_id,pfp\nSECRET-1,2\nSECRET-2,3\n"))
    counts = quality.problem_counts(check.problems)
    assert counts["n_rows"].tolist() == [2]
    assert "SECRET" not in counts.to_string()


def _messy_demo(write_text):
    """The demo cohort's first rows with one of each row-level problem, as a CSV file."""
    import pandas as pd

    d = pd.read_csv(ps.DEMO_COHORT).head(12).astype(object)
    d.loc[2, "runner_id"] = d.loc[1, "runner_id"]  # a duplicated runner
    d.loc[3, "mass_kg"] = 250  # outside the plausible range
    d.loc[4, "q_angle_deg"] = "abc"  # not a number
    d.loc[5, "sex"] = "X"  # not a level
    d.loc[6, "pfp"] = 7  # not 0/1
    d.loc[7, "runner_id"] = ""  # missing ID
    d.loc[8, "bmi"] = 31.9  # disagrees with height and mass
    d.loc[9, "height_cm"] = 1.75  # looks like metres
    return d, ps.check_cohort(write_text("messy.csv", d.to_csv(index=False)))


def test_problem_counts_show_no_identifier_row_or_value(write_text):
    data, check = _messy_demo(write_text)
    counts = quality.problem_counts(check.problems)
    assert list(counts.columns) == ["column", "problem", "fix", "n_rows"]
    assert counts["n_rows"].sum() == len(check.problems)
    text = counts.to_string()
    for runner in data["runner_id"]:
        if runner:
            assert runner not in text, f"identifier {runner} shown"
    values = [v for v in check.problems["value"].dropna() if len(v.strip()) >= 3]
    assert {"250", "1.75", "abc", "31.9"} <= set(values)
    for value in values:
        assert value not in text, f"row value {value} shown"
    for row in check.problems["row"].dropna():
        assert f"({row}" not in text, "row numbers shown"
    assert "'" not in "".join(counts["problem"]), "no quoted values"
    by_column = dict(zip(counts["column"], counts["problem"], strict=False))
    assert by_column["runner_id"] in (
        "runner ID appears in more than one row",
        "runner ID missing",
    )
    assert "more than one row" in " ".join(counts["problem"])
    assert "plausible range" in " ".join(counts["problem"])


def test_problem_counts_keep_column_level_problems_as_written():
    import pandas as pd

    check = ps.check_cohort(pd.DataFrame({"runner_id": ["A1"], "Strength (lbs)": [3.0]}))
    counts = quality.problem_counts(check.file_problems)
    assert (counts["n_rows"] == 1).all()
    assert any("lbs" in p for p in counts["problem"]), "a header's unit is no row value"


def test_summary_for_reports_hides_small_missing_counts(small_cohort):
    data = small_cohort.copy()
    data.loc[data.index[:2], "bmi"] = float("nan")
    table = quality.summarise_variables(data, min_cell=5).set_index("variable")
    assert table.loc["bmi", "missing"] == "<5"
    assert {"n", "min", "max"}.isdisjoint(table.columns), "n - missing would give it back"
    assert isinstance(table.loc["bmi", "mean"], float)
    assert quality.summarise_variables(data).set_index("variable").loc["bmi", "missing"] == 2
