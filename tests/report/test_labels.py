"""Tables as a reader sees them (issue 15, item 4): human column names, p-values as journals
print them, intervals in one column; no field name reaches a report's table."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import pfps_stats as ps
from pfps_stats import report


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0, "<0.001"),
        (0.00049, "<0.001"),
        (0.001, "0.0010"),
        (0.0018, "0.0018"),
        (0.01234, "0.012"),
        (0.046, "0.046"),
        (0.0995, "0.10"),
        (0.1, "0.10"),
        (0.534, "0.53"),
        (0.9949, "0.99"),
        (0.995, ">0.99"),
        (1.0, ">0.99"),
        (np.nan, "-"),
    ],
)
def test_p_values_as_journals_print_them(p, text):
    assert report.format_p_value(p) == text
    prefixed = report.format_p_value(p, prefix=True)
    if text == "-":
        assert prefixed == "-"
    else:
        assert prefixed == ("p" + text if text[0] in "<>" else "p=" + text)


def test_p_values_never_read_zero_or_one():
    for p in np.concatenate([np.linspace(0, 1, 2001), np.logspace(-12, 0, 500)]):
        text = report.format_p_value(p)
        assert text not in ("0.000", "0.00", "0.0", "0", "1.0", "1.00", "1.000", "1"), p
        if text[0] not in "<>":
            digits = text.lstrip("0.").replace(".", "")
            assert len(digits) == 2, f"{p}: {text} has two significant digits"


@pytest.mark.parametrize("p", [-0.1, 1.5, np.inf, -np.inf, 1 + 1e-9, -1e-9, 95.0])
def test_a_value_outside_zero_to_one_is_refused_not_printed_as_a_p_value(p):
    with pytest.raises(ValueError, match=r"a p-value must lie in \[0, 1\], got"):
        report.format_p_value(p)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        report.format_p_value(p, prefix=True)


def test_rounding_just_outside_zero_to_one_and_missing_values_are_accepted():
    assert report.format_p_value(1 + 1e-13) == ">0.99", "2 * sf(z) may round above 1"
    assert report.format_p_value(-1e-13) == "<0.001"
    assert report.format_p_value(None) == "-"
    assert report.format_p_value(np.nan, prefix=True) == "-"
    with pytest.raises(ValueError, match="got 1.5"):
        report.readable(pd.DataFrame({"p_value": [0.2, 1.5]}))


def _headers(styler) -> list[str]:
    html = styler.to_html()
    return [
        re.sub(r"<[^>]+>", "", h).strip()
        for h in re.findall(r'<th [^>]*class="col_heading[^"]*"[^>]*>(.*?)</th>', html, re.S)
    ]


def test_show_gives_human_names_journal_p_values_and_one_column_intervals():
    performance = pd.Series(
        {
            "auc": 0.644,
            "auc_ci_low": 0.602,
            "auc_ci_high": 0.685,
            "brier": 0.077,
            "hosmer_lemeshow": 6.86,
            "hosmer_lemeshow_p": 0.0004,
        }
    )
    styler = report.show(performance.to_frame().T, precision=3)
    assert _headers(styler) == [
        "AUC",
        "AUC 95% CI",
        "Brier score",
        "Hosmer-Lemeshow χ²",
        "Hosmer-Lemeshow p",
    ]
    html = styler.to_html()
    assert "0.602 to 0.685" in html
    assert "&lt;0.001" in html
    meta = pd.DataFrame(
        {"tau2": [0.184], "tau2_ci_low": [0.039], "tau2_ci_high": [7.7], "i2": [91.5]}
        | {"q_p": [0.00001], "p_value": [0.27], "ci_low": [-1.5], "ci_high": [0.72]}
    )
    assert _headers(report.show(meta)) == ["τ²", "τ² 95% CI", "I² (%)", "Q p-value", "p", "95% CI"]


def test_p_value_columns_never_show_zero_with_any_precision():
    table = pd.DataFrame(
        {"label": ["a", "b", "c", "d"], "p_value": [1e-6, 0.004, 0.5, np.nan]}
        | {"q_p": [0.0001, 0.2, 0.9999, 0.03], "p": ["suppressed", 0.01, 0.02, 0.03]}
    )
    for precision in (0, 1, 2, 3):
        html = report.show(table, precision=precision).to_html()
        cells = re.findall(r"<td [^>]*>(.*?)</td>", html)
        assert "0.00" not in cells
        assert "0.000" not in cells
        assert "0" not in cells
        assert "&lt;0.001" in cells
        assert "0.0040" in cells
        assert "&gt;0.99" in cells
        assert "suppressed" in cells, "a hidden p-value stays hidden"


def test_variables_and_exposures_are_shown_by_their_labels():
    table = pd.DataFrame(
        {
            "factor": ["knee_ext_strength_nmkg", "session_state", "something_else"],
            "label": ["prior_week_state: >100% vs <=10%", "bmi: per 5", "Sex: M"],
            "pfp_0": [1, 2, 3],
            "pfp_1": [1, 2, 3],
        }
    )
    out = report.readable(table)
    assert list(out.columns) == ["Factor", "Variable", "No PFP", "PFP"]
    assert out["Factor"].tolist() == [
        "Knee extension strength (Nm/kg)",
        "Single run vs longest run of past 30 days",
        "something_else",  # not a name the package knows: shown as it is
    ]
    assert out["Variable"].tolist() == [
        "Last week vs the week before: >100% vs <=10%",
        "Body-mass index: per 5",
        "Sex: M",
    ]
    # A variable column with no label beside it is shown by the labels, and so called.
    alone = report.readable(pd.DataFrame({"variable": ["q_angle_deg"], "n": [3]}))
    assert alone.columns.tolist() == ["Variable", "n"]
    assert alone["Variable"].tolist() == ["Q angle (°)"]
    # Beside its label, the canonical name stays (the one place a field name may show).
    both = report.readable(pd.DataFrame({"variable": ["bmi"], "label": ["Body-mass index"]}))
    assert both.columns.tolist() == ["Name", "Variable"]


def test_names_given_by_a_table_or_a_caller_win_and_the_table_is_not_changed():
    table = pd.DataFrame({"hazard_ratio": ["1.64 (1.31, 2.05)"], "source": ["a.csv"]})
    table.attrs["names"] = {"hazard_ratio": "Hazard ratio (95% CI)"}
    before = table.copy()
    out = report.readable(table, names={"source": "Column in the file"})
    assert list(out.columns) == ["Hazard ratio (95% CI)", "Column in the file"]
    pd.testing.assert_frame_equal(table, before)
    assert report.human_name("τ² (95% CI)") == "τ² (95% CI)", "Greek letters keep their case"
    assert report.human_name("runners analysed") == "Runners analysed"


def test_hidden_bounds_of_an_interval_show_their_marker():
    table = pd.DataFrame(
        {"group": ["a", "b"], "incidence": [0.1, "suppressed"]}
        | {"exact_low": [0.05, "suppressed"], "exact_high": [0.2, "suppressed"]}
    )
    out = report.readable(table, precision=3)
    assert out["Exact 95% CI"].tolist() == ["0.050 to 0.200", "suppressed"]


def test_interval_names_give_the_level_of_the_table():
    """A 90% meta-analysis reads "90% CI" (issue: labels always said 95%); a table that
    does not say its level reads 95%; the studies' column of a meta-analysis is "Study"."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yi, vi = [0.05, -0.85, -0.35], [0.02, 0.015, 0.018]
        at90 = ps.meta_analysis(yi, vi, test="knha", labels=["a", "b", "c"], level=0.9)
        at95 = ps.meta_analysis(yi, vi, test="knha", labels=["a", "b", "c"])
    pooled = report.readable(at90.to_series().to_frame().T)
    assert {"90% CI", "90% prediction interval", "τ² 90% CI"} <= set(pooled.columns)
    assert not [c for c in pooled.columns if "95%" in c]
    assert "95% prediction interval" in report.readable(at95.to_series().to_frame().T)
    studies = report.readable(at90.summary_frame())
    assert list(studies.columns) == ["Study", "Effect", "SE", "90% CI", "Weight (%)"]
    assert studies["Study"].tolist()[:3] == ["a", "b", "c"]
    assert at90.summary_table().attrs["level"] == 0.9
    assert "Estimate (90% CI)" in at90.summary_table().columns
    unsaid = pd.DataFrame({"auc": [0.7], "auc_ci_low": [0.6], "auc_ci_high": [0.8]})
    assert list(report.readable(unsaid).columns) == ["AUC", "AUC 95% CI"]
    unsaid.attrs["level"] = 0.975
    assert list(report.readable(unsaid).columns) == ["AUC", "AUC 97.5% CI"]
    per = pd.DataFrame(
        {"ci_low_km": [1.0], "ci_high_km": [2.0], "exact_low": [1], "exact_high": [3]}
    )
    per.attrs["level"] = 0.9
    assert list(report.readable(per).columns) == ["90% CI (per 1,000 km)", "Exact 90% CI"]


@pytest.fixture(scope="module")
def report_tables():
    """Every kind of table the report notebooks show, made from the demo data."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cohort = ps.load_demo_cohort()
        military = cohort[cohort["subgroup"] == "military"]
        factors = ["knee_ext_strength_nmkg", "hip_abd_strength_nkg", "q_angle_deg", "bmi", "sex"]
        odds = ps.odds_ratio_table(military, "pfp", factors)
        fit = ps.fit_logistic(military, ps.additive_formula(military, "pfp", factors))
        meta = ps.meta_analysis([0.05, -0.85, -0.35], [0.02, 0.015, 0.018], test="knha")
        tr = report.setup_training_report()
        cox = ps.fit_cox(tr.sessions, "C(session_state)", cluster="runner_id")
        registry = ps.load_evidence(verified_only=True)
        comparison = ps.compare_with_evidence(military, subgroup="military")
        check = ps.check_cohort(ps.DEMO_COHORT)
    return {
        "incidence": (ps.incidence(cohort, by="subgroup", min_cell=5), 3),
        "table one": (ps.table_one(cohort, min_cell=5), 2),
        "missing": (ps.missing_table(cohort, "pfp", variables=factors), 3),
        "odds ratios": (ps.format_odds_ratio_table(odds, min_cell=5), 2),
        "performance": (fit.performance().to_frame().T, 3),
        "validation": (ps.validate_bootstrap(fit, n_boot=3, seed=1).reset_index(), 3),
        "registry": (
            registry[["study", "factor", "subgroup", "measure", "estimate", "ci_low", "ci_high"]],
            2,
        ),
        "comparison": (ps.comparison_summary(comparison, min_cell=5), 2),
        "meta": (meta.summary_table(), 2),
        "rates": (tr.small(ps.injury_rates(tr.sessions, by="session_state")), 2),
        "hazard ratios": (report.format_hazard_ratio_table(cox), 2),
        "training summary": (tr.summary(), 2),
        "weekly odds": (cox.hazard_ratios()[["label", "hazard_ratio", "ci_low", "ci_high"]], 2),
        "rows read": (check.summary().rename("rows"), 2),
        "variables": (ps.summarise_variables(cohort, min_cell=5), 2),
        "dictionary": (ps.variable_table().drop(columns=["aliases"]), 2),
    }


def test_no_field_name_reaches_a_report_table(report_tables):
    """Headers are words (no snake_case), p-values never read 0.00, and the values of
    label-like columns are labels; a canonical name shows only beside its label."""
    for what, (table, precision) in report_tables.items():
        styler = report.show(table, precision=precision)
        headers = _headers(styler)
        snake = [h for h in headers if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", h)]
        assert not snake, f"{what}: field names {snake} in the header"
        if "Name" in headers:
            assert "Variable" in headers, f"{what}: a canonical name without its label"
        html = styler.to_html()
        frame = report.readable(table.to_frame() if isinstance(table, pd.Series) else table)
        for column in [c for c in frame.columns if c in ("p", "Q p-value")]:
            shown = [v for v in frame[column] if isinstance(v, str)]
            assert not {"0.00", "0.000", "1.00", "1.000"} & set(shown), f"{what}: {shown}"
        for column in ("Factor", "Variable", "Measure", "Exposure", ""):
            if column in frame and not (column == "Variable" and "Name" in frame):
                raw = [v for v in frame[column] if isinstance(v, str) and v in ps.VARIABLES]
                assert not raw, f"{what}: {raw} shown by name in {column!r}"
        assert "auc_ci_low" not in html
        assert "tau2" not in html
        assert "q_p" not in html
