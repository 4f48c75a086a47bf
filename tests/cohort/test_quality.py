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
