"""Missing values in the risk-factor report: the choice of handling, complete cases beside
multiple imputation, and the imputation settings carried into the provenance."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import pfps_stats as ps
from pfps_stats import report
from pfps_stats.batch.provenance import notebook_provenance
from pfps_stats.report.missing import PROVENANCE_MIMETYPE


def _cohort(n: int, n_missing: dict[str, int]) -> pd.DataFrame:
    """n rows; the first n_missing[column] values of each column missing."""
    rng = np.random.default_rng(1)
    data = pd.DataFrame(
        {
            "pfp": np.tile([0, 1], n // 2),
            "q_angle_deg": rng.normal(15, 4, n),
            "bmi": rng.normal(23, 3, n),
            "sex": np.tile(["F", "M"], n // 2),
        }
    )
    for column, k in n_missing.items():
        data.loc[data.index[:k], column] = np.nan
    return data


FACTORS = ["q_angle_deg", "bmi", "sex"]


@pytest.mark.parametrize(
    ("k", "handling"),
    [(5, "complete"), (6, "both")],
    ids=["exactly 5% is not more than 5%", "6% is"],
)
def test_the_default_imputes_beside_complete_cases_above_five_percent(k, handling):
    data = _cohort(100, {"q_angle_deg": 2, "bmi": k})
    chosen, reason = report.missing_handling(data, "pfp", FACTORS)
    assert chosen == handling
    assert "Body-mass index has the most missing values" in reason, "names the worst variable"
    assert f"({k}.0% of runners)" in reason


def test_a_share_just_above_the_threshold_does_not_read_as_the_threshold():
    data = _cohort(2500, {"bmi": 126})  # 5.04%
    chosen, reason = report.missing_handling(data, "pfp", FACTORS)
    assert chosen == "both"
    assert "5.04%" in reason
    assert "5.0%" not in reason
    assert report.missing_handling(data, "pfp", FACTORS, threshold=0.06)[0] == "complete"


@pytest.mark.parametrize("asked", ["complete", "impute", "both"])
def test_what_is_asked_for_is_done_when_something_is_missing(asked):
    data = _cohort(100, {"q_angle_deg": 1})
    chosen, reason = report.missing_handling(data, "pfp", FACTORS, asked)
    assert chosen == asked
    assert f'missing="{asked}"' in reason
    assert "Q angle" in reason


@pytest.mark.parametrize("asked", [None, "complete", "impute", "both"])
def test_with_nothing_missing_the_model_is_fitted_once(asked):
    data = _cohort(100, {"q_angle_deg": 0})
    data.loc[0, "pfp"] = np.nan  # the outcome's own gaps are not the factors'
    chosen, reason = report.missing_handling(data, "pfp", FACTORS, asked)
    assert chosen == "complete"
    assert reason.startswith("Nothing is missing in the model variables")
    assert ("was asked for" in reason) == (asked in ("impute", "both"))


def test_a_small_missing_count_is_not_given_back_as_a_percentage():
    data = _cohort(100, {"q_angle_deg": 3})
    _, reason = report.missing_handling(data, "pfp", FACTORS, min_cell=5)
    assert "fewer than 5 runners" in reason
    assert "%" not in reason.split("not more than")[0]
    _, reason = report.missing_handling(data, "pfp", FACTORS)
    assert "3.0% of runners" in reason, "suppression off: the percentage"


def test_missing_handling_errors_say_what_is_allowed():
    data = _cohort(100, {"bmi": 10})
    with pytest.raises(ValueError, match='one of "complete", "impute", "both" or None'):
        report.missing_handling(data, "pfp", FACTORS, "mice")
    with pytest.raises(ValueError, match="between 0 and 1"):
        report.missing_handling(data, "pfp", FACTORS, threshold=5)
    with pytest.raises(ValueError, match="'weekly_km'"):
        report.missing_handling(data, "pfp", [*FACTORS, "weekly_km"])
    with pytest.raises(ValueError, match="factors is empty"):
        report.missing_handling(data, "pfp", [])


# -- complete cases beside multiple imputation --------------------------------------------------


def _or_table(odds_ratio: float, n_model: int, imputed_m: int | None = None) -> pd.DataFrame:
    """A hand-made odds_ratio_table: Q angle (200 runners, 40 events) and sex, whose level M
    has 3 runners (2 events)."""
    table = pd.DataFrame(
        {
            "factor": ["q_angle_deg", "sex", "sex"],
            "label": ["Q angle, per 5°", "Sex: F (reference)", "Sex: M"],
            "level": [None, "F", "M"],
            "n": [200, 197, 3],
            "events": [40, 38, 2],
            "or_uni": [1.2, 1.0, 2.0],
            "ci_low_uni": [1.0, np.nan, 0.5],
            "ci_high_uni": [1.5, np.nan, 8.0],
            "p_uni": [0.04, np.nan, 0.3],
            "or_multi": [odds_ratio, 1.0, 2.5],
            "ci_low_multi": [1.1, np.nan, 0.6],
            "ci_high_multi": [2.05, np.nan, 9.0],
            "p_multi": [0.0004, np.nan, 0.2],
            "warnings": "",
        }
    )
    table.attrs["multivariable"] = {"n": n_model}
    if imputed_m is not None:
        table.attrs["imputation"] = {"m": imputed_m}
        table.attrs["intervals"] = "Rubin's rules"
    return table


def test_the_comparison_puts_both_multivariable_columns_side_by_side():
    complete, imputed = _or_table(1.5, 180), _or_table(1.4, 200, imputed_m=20)
    before = complete.copy()
    out = report.format_missing_comparison(complete, imputed)
    pd.testing.assert_frame_equal(complete, before)  # the caller's table is not modified
    assert list(out.columns) == [
        "label",
        "n_events",
        "complete cases (n=180)",
        "multiple imputation (m=20, n=200)",
    ]
    assert out.attrs["columns"] == tuple(out.columns[2:])
    assert (out.attrs["n_complete"], out.attrs["n_imputed"], out.attrs["m"]) == (180, 200, 20)
    assert out["n_events"].tolist() == ["200 (40)", "197 (38)", "3 (2)"]
    assert out.iloc[0, 2:].tolist() == ["1.50 (1.10-2.05, p<0.001)", "1.40 (1.10-2.05, p<0.001)"]
    assert out.iloc[1, 2:].tolist() == ["1 (reference)", "1 (reference)"]
    assert "180 runners" in out.attrs["caption"]
    assert "Rubin's rules" in out.attrs["caption"]


def test_the_comparison_hides_small_cells_as_the_odds_ratio_table_does():
    complete, imputed = _or_table(1.5, 180), _or_table(1.4, 200, imputed_m=20)
    out = report.format_missing_comparison(complete, imputed, min_cell=5)
    alone = ps.format_odds_ratio_table(complete, min_cell=5)
    assert out["n_events"].tolist() == alone["n_events"].tolist()
    assert out["n_events"].tolist()[1:] == ["suppressed", "<5"], "M's 3 runners are hidden"
    assert out.iloc[2, 2:].tolist() == ["suppressed", "suppressed"], "in both columns"
    assert out.iloc[0, 2:].tolist() == ["1.50 (1.10-2.05, p<0.001)", "1.40 (1.10-2.05, p<0.001)"]


def test_the_comparison_refuses_tables_that_do_not_belong_together():
    complete, imputed = _or_table(1.5, 180), _or_table(1.4, 200, imputed_m=20)
    with pytest.raises(ValueError, match="not made from an ImputedCohort"):
        report.format_missing_comparison(complete, _or_table(1.4, 200))
    with pytest.raises(ValueError, match="complete-case table first"):
        report.format_missing_comparison(imputed, imputed)
    other = imputed.copy()
    other.loc[0, "events"] = 41
    with pytest.raises(ValueError, match="different events"):
        report.format_missing_comparison(complete, other)
    with pytest.raises(ValueError, match="same factor and level rows"):
        report.format_missing_comparison(complete, imputed.iloc[[0, 2, 1]])
    with pytest.raises(ValueError, match="lacks"):
        report.format_missing_comparison(ps.format_odds_ratio_table(complete), imputed)


# -- the imputation's settings and diagnostics ---------------------------------------------------


@pytest.fixture(scope="module")
def imputed():
    data = ps.simulate_cohort(200, subgroup="military", seed=1)
    data.loc[data.index[:3], "q_angle_deg"] = np.nan
    data.loc[data.index[10:30], "knee_ext_strength_nmkg"] = np.nan
    return ps.impute(data, m=2, max_iter=1, seed=7)


def test_settings_table_and_record_say_how_the_imputation_was_made(imputed):
    table = report.imputation_settings_table(imputed)
    value = dict(zip(table["setting"], table["value"], strict=True))
    assert value["imputed datasets (m)"] == "2"
    assert value["iterations per chain (max_iter)"] == "1"
    assert value["seed"] == "7"
    assert value["method"] == "predictive mean matching (pmm)"
    assert value["imputed variables (values imputed)"] == (
        "Q angle (q_angle_deg): 3; Knee extension strength (knee_ext_strength_nmkg): 20"
    ), "each variable by its label, with its name beside it"
    assert "Patellofemoral pain" in value["predictors"], "the outcome predicts (by its label)"
    assert "_" not in value["predictors"], "labels, not field names"
    assert "statsmodels" in value["engine"]
    record = report.imputation_settings(imputed)
    assert json.loads(json.dumps(record)) == record, "JSON as it is"
    assert record["imputed"] == {"q_angle_deg": 3, "knee_ext_strength_nmkg": 20}
    assert (record["m"], record["seed"], record["excluded_outcome_missing"]) == (2, 7, 0)


def test_small_imputed_counts_are_hidden_in_settings_and_diagnostics(imputed):
    record = report.imputation_settings(imputed, min_cell=5)
    assert record["imputed"] == {"q_angle_deg": "<5", "knee_ext_strength_nmkg": 20}
    table = report.imputation_settings_table(imputed, min_cell=5)
    assert "Q angle (q_angle_deg): <5" in table["value"].tolist()[6]
    diagnostics = report.imputation_diagnostics(imputed, min_cell=5).set_index("variable")
    q = diagnostics.loc["q_angle_deg"]
    assert q["n_imputed"] == "<5"
    assert q["n_observed"] == "suppressed", "197 observed of 200 would give the 3 back"
    assert q["imputed_mean"] == "suppressed"
    assert q["imputed_sd"] == "suppressed"
    assert diagnostics.loc["knee_ext_strength_nmkg", "n_imputed"] == 20
    assert diagnostics.attrs["plottable"] == ["knee_ext_strength_nmkg"]
    whole = report.imputation_diagnostics(imputed, "q_angle_deg")
    assert whole["n_imputed"].tolist() == [3]
    assert whole.attrs["plottable"] == ["q_angle_deg"]


def test_the_settings_reach_the_batch_provenance_from_the_notebook_output(imputed):
    bundle = report.imputation_provenance(imputed, min_cell=5)._repr_mimebundle_()
    assert "predictive mean matching" in bundle["text/html"], "shown in the report"
    assert bundle[PROVENANCE_MIMETYPE] == {
        "imputation": report.imputation_settings(imputed, min_cell=5)
    }
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": "x"},
            {"cell_type": "code", "outputs": [{"output_type": "stream", "text": "hi"}]},
            {"cell_type": "code", "outputs": [{"output_type": "display_data", "data": bundle}]},
        ]
    }
    assert notebook_provenance(nb) == bundle[PROVENANCE_MIMETYPE]
    assert notebook_provenance({"cells": nb["cells"][:2]}) == {}


# -- the missing-value table --------------------------------------------------------------------


def test_the_missing_table_never_gives_a_small_count_back_through_its_sums():
    data = _cohort(200, {})
    cases = data.index[data["pfp"] == 1]
    noncases = data.index[data["pfp"] == 0]
    data.loc[cases[:2].union(noncases[:30]), "q_angle_deg"] = np.nan  # 32 missing, 2 cases
    data.loc[cases[:10].union(noncases[:10]), "bmi"] = np.nan
    table = ps.missing_table(data, "pfp", variables=FACTORS)
    before = table.copy()
    out = report.suppress_missing_table(table, 5).set_index("variable")
    pd.testing.assert_frame_equal(table, before)
    q = out.loc["q_angle_deg"]
    assert (q["n_missing"], q["n_missing_cases"]) == (32, "<5")
    assert q["n_missing_noncases"] == "suppressed", "32 - 30 would give the 2 back"
    assert q["pct_missing_cases"] == "suppressed", "2 of the 100 cases, as a percentage"
    assert q["pct_missing_noncases"] == "suppressed"
    assert q["p_value"] == "suppressed", "a function of the 2x2 table"
    assert out.loc["bmi", ["n_missing_cases", "n_missing_noncases"]].tolist() == [10, 10]
    assert isinstance(out.loc["bmi", "p_value"], float)
    assert out.loc["sex", ["n_missing", "n_missing_cases"]].tolist() == [0, 0], "0 is shown"
    assert report.suppress_missing_table(table, None).equals(table)
    with pytest.raises(ValueError, match="ps.missing_table"):
        report.suppress_missing_table(table.drop(columns="n_missing_cases"), 5)


def test_the_complete_case_n_is_not_shown_when_few_rows_were_left_out():
    complete, imputed = _or_table(1.5, 197, imputed_m=5), _or_table(1.4, 200, imputed_m=5)
    del complete.attrs["imputation"], complete.attrs["intervals"]
    out = report.format_missing_comparison(complete, imputed, min_cell=5)
    assert out.columns[2] == "complete cases", "200 - 197 would give the 3 rows back"
    assert "197" not in out.attrs["caption"]
    shown = report.format_missing_comparison(complete, imputed)
    assert shown.columns[2] == "complete cases (n=197)", "suppression off"


# -- counts the missing-value table hides stay hidden elsewhere in the report -----------------
def _gappy(n: int = 120, seed: int = 3, blank: int = 3) -> pd.DataFrame:
    """SYNTHETIC: a cohort where ``blank`` runners with PFP lack hip strength."""
    data = ps.simulate_cohort(n, seed=seed)
    cases = data.index[data["pfp"] == 1][:blank]
    data.loc[cases, "hip_abd_strength_nkg"] = np.nan
    return data


def test_an_odds_ratio_row_does_not_give_back_a_small_number_missing():
    data = _gappy()
    factors = ["hip_abd_strength_nkg", "bmi"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = ps.odds_ratio_table(data, "pfp", factors)
    assert table.attrs["cohort"] == {"n": len(data), "events": int(data["pfp"].sum())}
    shown = ps.format_odds_ratio_table(table, min_cell=5).set_index("label")
    hip = [label for label in shown.index if label.startswith("Hip")][0]
    # cohort events - hip row's events = 3 cases missing hip strength: hidden
    assert shown.loc[hip, "n_events"] in ("suppressed", "<5")
    assert shown.loc[hip, "multivariable"] not in ("suppressed", "-"), "the OR says no count"
    bmi = [label for label in shown.index if label.startswith("Body")][0]
    assert shown.loc[bmi, "n_events"] == f"{len(data)} ({int(data['pfp'].sum())})"
    figure = report.suppress_odds_ratio_counts(table, 5)
    assert figure.attrs["multivariable"]["n"] is None, "the legend's n would give back 3"
    assert table.attrs["multivariable"]["n"] == len(data) - 3, "the table itself is untouched"


def test_fit_notes_hide_small_row_counts():
    text = report.notes(
        ["dropped 3 of 120 rows with missing values (hip_abd_strength_nkg: 3, bmi: 0, x: 12)"],
        min_cell=5,
    ).data
    assert "dropped &lt;5 of 120" in text
    assert "hip_abd_strength_nkg: &lt;5" in text
    assert "bmi: 0" in text
    assert "x: 12" in text


def test_the_missing_table_suppresses_when_the_cohort_has_few_cases():
    data = ps.simulate_cohort(80, seed=3)
    data.loc[data.index[::10], "hip_abd_strength_nkg"] = np.nan
    table = ps.missing_table(data, "pfp", variables=["hip_abd_strength_nkg"])
    shown = report.suppress_missing_table(table, 5)  # raised KeyError('all cases') before
    assert len(shown) == 1
