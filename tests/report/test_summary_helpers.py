"""The summary each report notebook ends with (issue 15, item 1): its headline numbers, small
cells suppressed, the SYNTHETIC flag from the data, the subgroup from the parameter, and a
headline that says so when an analysis was withheld."""

import json
import math
import re
import warnings

import pandas as pd
import pytest

import pfps_stats as ps
from pfps_stats import report
from pfps_stats.report.summary import NO_CLEAR_FACTOR, NO_DIFFERENCE_LABEL

FACTORS = ["knee_ext_strength_nmkg", "hip_abd_strength_nkg", "q_angle_deg", "bmi", "sex"]


def _record(summary) -> dict:
    bundle = summary._repr_mimebundle_()
    record = bundle[report.SUMMARY_MIMETYPE]
    assert json.loads(json.dumps(record)) == record, "JSON as it is"
    assert 2 <= len(record["headlines"]) <= 3
    assert "In brief:" in bundle["text/html"]
    return record


def _texts(record) -> dict:
    return {h["label"]: h["text"] for h in record["headlines"]}


@pytest.fixture(scope="module")
def military():
    return report.setup_report(subgroup="military")


def _few_cases(rs, cases: int):
    """The military setup with ``cases`` runners with PFP (and 60 without)."""
    cohort = rs.cohort
    few = pd.concat([cohort[cohort["pfp"] == 1].iloc[:cases], cohort[cohort["pfp"] == 0].iloc[:60]])
    return report.ReportSetup(rs.check, few, "military", 5)


def test_data_quality_summary_counts_the_file_and_the_subgroup(military):
    record = _record(report.data_quality_summary(military))
    assert record["analysis"] == "data-quality"
    assert record["subgroup"] == "military"
    assert record["synthetic"] is True, "the demo cohort is SYNTHETIC"
    texts = _texts(record)
    assert texts["Rows read"] == f"{military.check.n_input:,}"
    assert texts["Accepted"] == f"{len(military.check.data):,} ({len(military.cohort):,} military)"
    assert texts["Set aside"] == str(len(military.check.quarantined))
    everyone = _record(report.data_quality_summary(report.setup_report()))
    assert everyone["subgroup"] is None
    assert "(" not in _texts(everyone)["Accepted"]
    tiny = report.ReportSetup(military.check, military.cohort.iloc[:3], "military", 5)
    assert _texts(_record(report.data_quality_summary(tiny)))["Accepted"].endswith("(<5 military)")


def test_real_data_are_not_flagged_synthetic(military):
    real = military.cohort.drop(columns="data_source")
    rs = report.ReportSetup(military.check, real, "military", 5)
    assert _record(report.risk_factors_summary(rs))["synthetic"] is False


def test_risk_factors_summary_gives_cases_and_the_strongest_odds_ratio(military):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = ps.odds_ratio_table(military.cohort, "pfp", FACTORS)
    record = _record(report.risk_factors_summary(military, table))
    assert record["analysis"] == "risk-factors"
    cases = int(military.cohort["pfp"].sum())
    texts = _texts(record)
    assert texts["Runners"] == f"{len(military.cohort):,}"
    assert texts["Cases"] == f"{cases} ({100 * cases / len(military.cohort):.1f}%)"
    best = report.strongest_odds_ratio(table, 5)
    shown = table[table["ci_low_multi"].notna()]
    clear = shown[(shown["ci_low_multi"] > 1) | (shown["ci_high_multi"] < 1)]
    assert best["label"] in set(clear["label"]), "an interval that excludes 1 first"
    furthest = clear["or_multi"].map(lambda v: abs(math.log(v))).max()
    assert abs(math.log(best["odds_ratio"])) == pytest.approx(furthest), "the furthest from 1"
    odds = texts["Strongest odds ratio"]
    assert odds.startswith("OR ")
    assert best["label"] in odds
    value = next(h["value"] for h in record["headlines"] if h["label"].startswith("Strongest"))
    assert value == pytest.approx(best["odds_ratio"])


def test_risk_factors_summary_with_fewer_than_five_cases_hides_them(military):
    few = _few_cases(military, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = ps.odds_ratio_table(few.cohort, "pfp", ["bmi"], method="firth")
    record = _record(report.risk_factors_summary(few, table))
    texts = _texts(record)
    assert texts["Cases"] == "<5"
    assert texts["Strongest odds ratio"] == report.NOT_ESTIMATED, "withheld: models reveal it"
    values = {h["label"]: h["value"] for h in record["headlines"]}
    assert values["Cases"] is None
    assert values["Strongest odds ratio"] is None
    assert "3" not in json.dumps(record["headlines"]).replace(f"{len(few.cohort)}", "")


def test_a_null_result_is_not_promoted_to_the_strongest_odds_ratio(military):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = ps.odds_ratio_table(military.cohort, "pfp", FACTORS)
    shown = table[table["ci_low_multi"].notna()]
    clear = (shown["ci_low_multi"] > 1) | (shown["ci_high_multi"] < 1)
    assert clear.any(), "the demo data have a factor whose CI excludes 1"
    assert not clear.all(), "and factors whose CI does not"
    assert report.strongest_odds_ratio(table, 5)["ci_excludes_1"] is True
    null = table[~table["label"].isin(shown.loc[clear, "label"])]
    best = report.strongest_odds_ratio(null, 5)
    assert best is not None
    assert best["ci_excludes_1"] is False
    record = _record(report.risk_factors_summary(military, null))
    strongest = next(h for h in record["headlines"] if h["label"].startswith("Strongest"))
    assert strongest["text"] == "no factor with a 95% CI excluding 1" == NO_CLEAR_FACTOR
    assert strongest["value"] is None


def test_risk_factors_summary_when_the_model_was_not_estimated(military):
    record = _record(report.risk_factors_summary(military, None))
    assert _texts(record)["Strongest odds ratio"] == "not estimated"


def test_evidence_summary_counts_consistent_factors_and_heterogeneity(military):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comparison = ps.compare_with_evidence(military.cohort, subgroup="military")
        meta = ps.meta_analysis([0.05, -0.85, -0.35], [0.02, 0.015, 0.018], test="knha")
    record = _record(report.evidence_summary(military, comparison, meta))
    assert record["analysis"] == "evidence"
    texts = _texts(record)
    cases = int(military.cohort["pfp"].sum())
    assert texts["Runners"] == f"{len(military.cohort):,} ({cases} with PFP)"
    shown = comparison[comparison["verdict"].notna()]
    agree = int(shown["verdict"].astype(str).str.startswith("consistent").sum())
    other = int((shown["same_population"] == False).sum())  # noqa: E712 (nullable bool)
    assert 0 < other < len(shown), "the demo data compare some factors with another population"
    assert texts[NO_DIFFERENCE_LABEL] == (
        f"{agree} of {len(shown)} factors; {other} of the {len(shown)} vs another population"
    )
    assert "Agree" not in json.dumps(record), "no evidence of a difference is not agreement"
    assert texts["Heterogeneity across subgroups"] == f"I² {meta.i2:.0f}%"
    alone = _record(report.evidence_summary(military, comparison, None))
    assert len(alone["headlines"]) == 2, "one subgroup: no meta-analysis to report"


def test_evidence_summary_when_withheld(military):
    few = _few_cases(military, 4)
    record = _record(report.evidence_summary(few, None, None))
    texts = _texts(record)
    assert texts["Runners"] == f"{len(few.cohort)} (<5 with PFP)"
    assert texts[NO_DIFFERENCE_LABEL] == "not estimated"


def test_evidence_summary_says_when_every_comparison_is_with_another_population():
    everyone = report.setup_report()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comparison = ps.compare_with_evidence(everyone.cohort)
    shown = comparison[comparison["verdict"].notna()]
    assert not shown["same_population"].any(), "no published estimate is for all subgroups"
    text = _texts(_record(report.evidence_summary(everyone, comparison)))[NO_DIFFERENCE_LABEL]
    assert text.endswith("factors; all vs another population")
    same = comparison.assign(same_population=True)
    text = _texts(_record(report.evidence_summary(everyone, same)))[NO_DIFFERENCE_LABEL]
    assert "population" not in text


def test_no_card_shows_fewer_runners_than_min_cell(military):
    """A subgroup of 3 runners reads "<5" on every card, as in the data-quality card and in
    the report's tables (a total below min_cell is hidden there too)."""
    tiny = report.ReportSetup(military.check, military.cohort.iloc[:3], "military", 5)
    for summary in (
        report.risk_factors_summary(tiny, None),
        report.evidence_summary(tiny, None),
        report.data_quality_summary(tiny),
    ):
        record = _record(summary)
        texts = _texts(record)
        shown = texts.get("Runners", texts.get("Accepted"))
        assert "<5" in shown, (record["analysis"], shown)
        assert not re.search(r"\b3\b", json.dumps(record["headlines"])), record
    off = report.ReportSetup(military.check, military.cohort.iloc[:3], "military", None)
    assert _texts(_record(report.risk_factors_summary(off, None)))["Runners"] == "3"


@pytest.fixture(scope="module")
def training():
    return report.setup_training_report()


def test_training_load_summary_gives_onsets_and_the_spike_hazard_ratio(training):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ps.fit_cox(training.sessions, "C(session_state)", cluster="runner_id")
    record = _record(report.training_load_summary(training, {"session_state": fit}))
    assert record["analysis"] == "training-load"
    assert record["synthetic"] is True
    texts = _texts(record)
    assert texts["Runners"] == f"{training.n_runners:,}"
    assert texts["PFP onsets"] == f"{int(training.sessions['event'].sum()):,}"
    spike = fit.hazard_ratios().set_index("level").loc[">100%"]
    label = next(t for t in texts if t.startswith("Hazard ratio"))
    assert texts[label] == report.format_estimate_ci(
        spike["hazard_ratio"], spike["ci_low"], spike["ci_high"]
    )
    withheld = _texts(_record(report.training_load_summary(training, {})))
    assert withheld[label] == "not estimated"


def test_training_load_summary_hides_few_onsets(training):
    runners = training.sessions.groupby("runner_id")["event"].max()
    keep = set(runners[runners == 1].index[:2]) | set(runners[runners == 0].index[:30])
    rs = report.setup_training_report(min_cell=5)
    small = type(rs)(
        rs.log_check,
        rs.injuries_check,
        rs.cohort,
        "military",
        5,
        rs.log[rs.log["runner_id"].isin(keep)],
        rs.injuries[rs.injuries["runner_id"].isin(keep)],
        rs.sessions[rs.sessions["runner_id"].isin(keep)],
        rs.weeks[rs.weeks["runner_id"].isin(keep)],
    )
    record = _record(report.training_load_summary(small, None))
    texts = _texts(record)
    assert texts["PFP onsets"] == "<5"
    assert record["subgroup"] == "military"
    assert next(v for k, v in texts.items() if k.startswith("Hazard ratio")) == "not estimated"


def _training_subset(rs, with_onset: int, without: int):
    runners = rs.sessions.groupby("runner_id")["event"].max()
    keep = set(runners[runners == 1].index[:with_onset]) | set(
        runners[runners == 0].index[:without]
    )
    return type(rs)(
        rs.log_check,
        rs.injuries_check,
        rs.cohort,
        "military",
        rs.min_cell,
        rs.log[rs.log["runner_id"].isin(keep)],
        rs.injuries[rs.injuries["runner_id"].isin(keep)],
        rs.sessions[rs.sessions["runner_id"].isin(keep)],
        rs.weeks[rs.weeks["runner_id"].isin(keep)],
    )


def test_training_load_summary_hides_onsets_that_give_back_few_runners_without(training):
    """8 runners and 6 onsets would give back 2 runners without PFP (one onset a runner)."""
    small = _training_subset(training, 6, 2)
    assert (small.n_runners, int(small.sessions["event"].sum())) == (8, 6)
    record = _record(report.training_load_summary(small, None))
    headlines = {h["label"]: h for h in record["headlines"]}
    assert headlines["Runners"]["text"] == "8"
    assert headlines["PFP onsets"]["text"] == "suppressed"
    assert headlines["PFP onsets"]["value"] is None
    tiny = _record(report.training_load_summary(_training_subset(training, 1, 2), None))
    assert {h["label"]: h["text"] for h in tiny["headlines"]}["Runners"] == "<5"
    assert not re.search(r"\b[1-4]\b", json.dumps(tiny["headlines"])), tiny


def test_study_planning_summary():
    plan = ps.plan_study("knee_ext_strength_nmkg", "military")
    record = _record(report.study_planning_summary(plan))
    assert record["analysis"] == "study-planning"
    assert record["subgroup"] == "military"
    assert record["synthetic"] is False, "published estimates, not simulated runners"
    texts = _texts(record)
    assert texts["Runners to recruit"] == f"{int(plan['n']):,}"
    assert texts["Expected cases"] == f"about {plan['events']:.0f}"
    assert texts["Power"] == f"{plan['power']:.0%}"


def test_the_batch_reads_the_summary_back_from_the_last_output(military):
    summary = report.data_quality_summary(military)
    bundle = summary._repr_mimebundle_()
    nb = {
        "cells": [
            {"cell_type": "code", "outputs": [{"data": {"text/plain": "x"}}]},
            {"cell_type": "code", "outputs": [{"data": bundle}]},
        ]
    }
    assert report.notebook_summary(nb) == bundle[report.SUMMARY_MIMETYPE]
