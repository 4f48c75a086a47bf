"""The comparison with the evidence in JupyterLab: rich HTML with readable names, and still a
DataFrame for code."""

import pickle
import warnings

import pandas as pd
import pytest
from html_check import strict_parse
from IPython.core.formatters import DisplayFormatter

import pfps_stats as ps
from pfps_stats._format import estimate_ci, p_value
from pfps_stats.evidence.compare import EvidenceComparison


@pytest.fixture(scope="module")
def military():
    cohort = ps.load_demo_cohort()
    return cohort[cohort["subgroup"] == "military"]


@pytest.fixture(scope="module")
def comparison(military):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ps.compare_with_evidence(military)


def test_comparison_renders_with_readable_names_and_key_numbers(comparison):
    page = comparison._repr_html_()
    parsed = strict_parse(page)
    assert "table" in parsed.tags
    text = " ".join(parsed.text)
    for name in (
        "This cohort beside the published evidence (military)",
        "SYNTHETIC data",
        "Factor",
        "n (cases)",
        "This cohort: SMD (95% CI)",
        "Published SMD (95% CI)",
        "Published study",
        "Difference (95% CI)",
        "Verdict",
        "Updated SMD (95% CI)",
        "Knee extension strength (Nm/kg)",
    ):
        assert name in text, name
    knee = comparison.set_index("factor").loc["knee_ext_strength_nmkg"]
    bmi = comparison.set_index("factor").loc["bmi"]
    assert estimate_ci(knee["smd"], knee["smd_low"], knee["smd_high"]) in text
    assert estimate_ci(knee["difference"], knee["difference_low"], knee["difference_high"]) in text
    assert p_value(knee["difference_p"]) in text
    assert f"{int(knee['n'])} ({int(knee['events'])})" in text
    assert "neal2019 (military)" in text
    assert "consistent (another population)" in text, "BMI's estimate is for adults"
    assert p_value(bmi["difference_p"]) in text
    assert "no published estimate" in text, "hip strength has none for recruits"
    assert "difference_p" not in page, "no raw field names"
    assert "smd_low" not in page
    assert "nan" not in text.lower()


def test_comparison_is_still_a_dataframe(comparison):
    """Code that treats the result as a DataFrame is unchanged: derived frames are plain
    DataFrames (pandas' _constructor), it pickles, and IPython shows our HTML."""
    assert isinstance(comparison, pd.DataFrame)
    assert type(comparison.set_index("factor")) is pd.DataFrame
    assert type(comparison[comparison["verdict"] == "consistent"]) is pd.DataFrame
    assert type(comparison.copy()) is pd.DataFrame
    assert type(comparison["smd"]) is pd.Series
    pd.testing.assert_frame_equal(pd.DataFrame(comparison), comparison.copy())
    again = pickle.loads(pickle.dumps(comparison))
    assert type(again) is EvidenceComparison
    assert again.attrs["synthetic"] is True
    shown, _ = DisplayFormatter().format(comparison)
    assert shown["text/html"] == comparison._repr_html_()
    assert "factor" in shown["text/plain"], "the text form is pandas' own"


def test_comparison_escapes_text_and_handles_rows_without_estimates():
    evil = EvidenceComparison(
        pd.DataFrame(
            [
                {
                    "factor": "x",
                    "label": "<script>alert(1)</script>",
                    "subgroup": "a&b",
                    "n": 40,
                    "events": 2,
                    "note": "not estimable in these data: too few cases",
                },
                {
                    "factor": "y",
                    "label": "Y",
                    "subgroup": "a&b",
                    "n": 100,
                    "events": 20,
                    "smd": 0.1,
                    "smd_low": -0.2,
                    "smd_high": 0.4,
                    "published_study": "<b>bold</b>",
                    "published_subgroup": "adult",
                    "published_smd": 0.3,
                    "published_low": 0.1,
                    "published_high": 0.5,
                    "difference": -0.2,
                    "difference_low": -0.5,
                    "difference_high": 0.1,
                    "difference_p": 0.0001,
                    "verdict": "differs",
                    "same_population": False,
                    "note": "",
                },
            ]
        )
    )
    page = evil._repr_html_()
    parsed = strict_parse(page)
    assert "script" not in parsed.tags
    assert parsed.tags.count("b") == 1, "only the header's <b>"
    assert "&lt;script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    text = " ".join(parsed.text)
    assert "not estimable in these data" in text
    assert "differs (another population)" in text
    assert "<0.001" in text
    assert "SYNTHETIC" not in text, "not said when the cohort is not simulated"
    empty = strict_parse(EvidenceComparison(pd.DataFrame())._repr_html_())
    assert "No factor to compare." in " ".join(empty.text)
