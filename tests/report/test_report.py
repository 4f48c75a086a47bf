"""What notebooks call: set-up, display, formatting and small-cell suppression on numbers."""

import numpy as np
import pandas as pd
import pytest

import pfps_stats as ps
from pfps_stats import report


def test_numbers_are_written_by_one_set_of_rules():
    assert report.format_number(-0.001, 2) == "0.00", "no negative zero"
    assert report.format_number(np.nan) == "-"
    assert report.format_estimate_ci(0.5312, 0.44, 0.641) == "0.53 (0.44, 0.64)"
    assert report.format_estimate_ci(0.5312, 0.44, 0.641, sep="-") == "0.53 (0.44-0.64)"
    assert report.format_estimate_ci(np.nan, 0.1, 0.2) == "-"
    assert report.format_p_value(0.0004) == "<0.001"
    assert report.format_p_value(0.0004, prefix=True) == "p<0.001"
    assert report.format_p_value(0.01234, prefix=True) == "p=0.012"
    assert report.format_p_value(1.0) == ">0.99"
    assert report.format_n_events(120, 14) == "120 (14)"


@pytest.mark.parametrize(
    ("n", "events", "expected"),
    [(120, 14, "120 (14)"), (120, 4, "<5"), (4, 4, "<5"), (120, 0, "<5"), (5, 5, "5 (5)")],
)
def test_n_events_is_suppressed_on_the_numbers(n, events, expected):
    assert report.format_n_events(n, events, min_cell=5) == expected
    assert report.format_n_events(n, events) == f"{n} ({events})", "no suppression by default"


def test_suppress_small_counts_works_on_count_columns_and_copies():
    table = pd.DataFrame(
        {
            "group": ["a", "b", "c"],
            "n": [100, 3, 0],
            "events": [10, 2, 0],
            "incidence": [0.1, 0.6, 0],
        }
    )
    before = table.copy()
    out = report.suppress_small_counts(table, 5)
    pd.testing.assert_frame_equal(table, before)  # the caller's table is not modified
    assert out["n"].tolist() == [100, "<5", "<5"]
    assert out["events"].tolist() == [10, "<5", "<5"]
    assert out["incidence"].tolist() == [0.1, "suppressed", "suppressed"], (
        "a rate beside a hidden count would give it back"
    )
    assert out["group"].tolist() == ["a", "b", "c"]
    text = pd.DataFrame({"n_events": ["3 (1)"]})
    assert report.suppress_small_counts(text, 5).equals(text), "text is never parsed back"
    with pytest.raises(ValueError, match="positive whole number"):
        report.suppress_small_counts(table, 0)


def test_odds_ratio_table_text_suppresses_small_cells(small_cohort):
    table = ps.odds_ratio_table(small_cohort, factors=["q_angle_deg", "sex"], method="firth")
    text = ps.format_odds_ratio_table(table, min_cell=5)
    for (_, row), cell in zip(table.iterrows(), text["n_events"], strict=True):
        small = row["n"] < 5 or row["events"] < 5
        assert (cell == "<5") == small
    assert ps.format_odds_ratio_table(table)["n_events"].iloc[0] == (
        f"{table['n'].iloc[0]} ({table['events'].iloc[0]})"
    )


def test_table_one_suppresses_small_counts_when_asked(small_cohort):
    plain = ps.table_one(small_cohort, variables=["sex"])
    masked = ps.table_one(small_cohort, variables=["sex"], min_cell=5)
    n_cases = int(small_cohort["pfp"].sum())
    assert plain.loc[0, "pfp_1"] == str(n_cases)
    assert masked.loc[0, "pfp_1"] == ("<5" if n_cases < 5 else str(n_cases))
    for column in ("overall", "pfp_0", "pfp_1"):
        for p_cell, m_cell in zip(plain[column][1:], masked[column][1:], strict=True):
            k = int(p_cell.split(" ")[0])
            if k < 5:
                assert m_cell == "<5"
            else:  # shown, shown without its percentage, or hidden to protect a small one
                assert m_cell in (p_cell, str(k), "suppressed")


def test_setup_report_defaults_to_the_shipped_demo_cohort():
    rs = report.setup_report(subgroup="military")
    assert set(rs.cohort["subgroup"].astype(str)) == {"military"}
    assert rs.check.n_input == len(rs.check.data) + len(rs.check.quarantined)
    assert rs.min_cell == 5
    assert "SYNTHETIC" in rs.header()
    assert "military" in rs.header()
    small = rs.small(pd.DataFrame({"n": [3]}))
    assert small["n"].tolist() == ["<5"]
    off = report.setup_report(min_cell=None)
    assert off.small(pd.DataFrame({"n": [3]}))["n"].tolist() == [3]
    with pytest.raises(ValueError, match="has no rows; the data have"):
        report.setup_report(subgroup="astronauts")
    with pytest.raises(ValueError, match="min_cell"):
        report.setup_report(min_cell=0)


def test_banner_only_for_synthetic_data(small_cohort):
    assert "SYNTHETIC" in ps.synthetic_banner(small_cohort)
    assert ps.synthetic_banner(small_cohort.drop(columns="data_source")) == ""


def test_show_hides_the_index_escapes_text_and_says_when_empty():
    html = report.show(pd.DataFrame({"a": [1.234], "b": ["<script>"]})).to_html()
    assert "1.23" in html
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert report.show(pd.DataFrame({"a": []}), empty="Nothing.").data == "Nothing."


def test_links_go_through_doi_org_and_are_escaped():
    assert report.link("10.1136/bjsports-2017-098890").startswith(
        '<a href="https://doi.org/10.1136/bjsports-2017-098890">'
    )
    assert report.link("") == ""
    assert "&quot;" in report.link('https://x.org/"onmouseover')


def test_warnings_in_a_report_show_no_file_path(capsys):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        report.setup_report(subgroup="military")  # what every report notebook calls first
        np.log(np.array([-1.0]))  # numpy's RuntimeWarning, filed under this file's path
        warnings.warn_explicit(
            "could not read /srv/clinic/data/raw/clinic.csv", UserWarning, "/srv/app/x.py", 7
        )
    err = capsys.readouterr().err
    assert "RuntimeWarning: invalid value encountered in log" in err
    assert "UserWarning: could not read clinic.csv" in err
    assert __file__ not in err
    assert "/srv" not in err
    assert "tests/report" not in err


def test_warnings_keep_units_and_codes_that_look_like_paths(capsys):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        report.quiet_warnings()
        warnings.warn("BMI in kg/m², outcome 0/1, strength in N/kg", UserWarning, stacklevel=2)
    assert "kg/m², outcome 0/1, strength in N/kg" in capsys.readouterr().err


def test_show_aligns_text_left_and_numbers_right():
    table = pd.DataFrame(
        {"problem": ["not a number"], "n_rows": [2], "overall": ["12 (5.0%)"], "n": ["<5"]}
    )
    styler = report.show(table)
    import re

    left = re.findall(r"_row0_(col\d) \{\s*text-align: left;", styler.to_html())
    assert left == ["col0"], "only the column of words"


def test_models_are_withheld_when_cases_are_fewer_than_min_cell():
    rs = report.setup_report(subgroup="military")
    assert rs.too_few_cases() == ""
    cohort = rs.cohort
    small = pd.concat([cohort[cohort["pfp"] == 1].iloc[:3], cohort[cohort["pfp"] == 0].iloc[:37]])
    few = report.ReportSetup(rs.check, small, "military", 5)
    assert "fewer than 5 runners with PFP" in few.too_few_cases()
    enough = pd.concat([small, cohort[cohort["pfp"] == 1].iloc[3:5]])
    assert report.ReportSetup(rs.check, enough, "military", 5).too_few_cases() == ""
    open_ = report.ReportSetup(rs.check, small, "military", None)
    assert open_.too_few_cases() == "", "without suppression nothing is withheld"


def test_comparison_estimates_from_few_cases_are_suppressed():
    table = pd.DataFrame(
        {
            "label": ["BMI", "Q angle"],
            "n": [40, 400],
            "events": [3, 40],
            "smd": [-1.2, 0.1],
            "smd_low": [-2.0, -0.1],
            "smd_high": [-0.4, 0.3],
        }
    )
    summary = report.comparison_summary(table, min_cell=5).set_index("factor")
    assert summary.loc["BMI", "n_events"] == "<5"
    assert summary.loc["BMI", "local_smd"] == report.SUPPRESSED
    assert summary.loc["Q angle", "local_smd"] == "0.10 (-0.10, 0.30)"
    assert report.comparison_summary(table).set_index("factor").loc["BMI", "local_smd"] == (
        "-1.20 (-2.00, -0.40)"
    )
