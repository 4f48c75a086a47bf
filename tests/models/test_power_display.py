"""Power results, study plans and the other model results in JupyterLab: each renders as
valid HTML with a header, readable names and its key numbers, escapes text, and stays a
pandas object (or a fit) for code. Also the Cox fit and the Dask exposures."""

import warnings

import dask.dataframe as dd
import pandas as pd
import pytest
from html_check import StrictHTML, strict_parse
from IPython.core.formatters import DisplayFormatter

import pfps_stats as ps
from pfps_stats._format import estimate_ci, p_value
from pfps_stats.evidence.planning import StudyPlan
from pfps_stats.exposures.dask_exposures import DaskExposures
from pfps_stats.models.power import PowerCurve, PowerResult
from pfps_stats.models.power_simulation import SimulatedPower


def parse(page: str) -> tuple[StrictHTML, str]:
    """Parse ``page`` strictly; the parser and the page's text."""
    parser = strict_parse(page)
    return parser, " ".join(parser.text)


def shown_html(obj) -> str:
    """What IPython puts under text/html for ``obj``."""
    data, _ = DisplayFormatter().format(obj)
    return data["text/html"]


def test_power_logistic_renders_the_design_and_the_answer():
    plan = ps.power_logistic(-0.69, scale="smd", incidence=0.11, power=0.8, dropout=0.1)
    assert type(plan) is PowerResult
    assert isinstance(plan, pd.Series)
    _, text = parse(shown_html(plan))
    for name in (
        "Sample size of a logistic model for one risk factor",
        "Effect",
        "SMD -0.69",
        "PFP incidence over follow-up",
        "Runners to recruit",
        "Runners analysed",
        "Expected cases",
        "Power",
        "Method",
        "likelihood-ratio test",
    ):
        assert name in text, name
    assert f"{int(plan['n'])} runners to recruit for 80% power" in text
    assert f"{int(plan['n_analysed'])} (after 10% drop-out)" in text
    assert f"{plan['events']:.1f}" in text
    assert plan.attrs["notes"][0] in text
    at_n = ps.power_logistic(2.0, scale="or_binary", incidence=0.05, n=300, exposed=0.2)
    _, text = parse(at_n._repr_html_())
    assert f"{at_n['power']:.2f} with 300 runners recruited" in text
    assert "odds ratio 2 (exposed vs unexposed, 20% exposed)" in text
    assert "nan" not in text.lower()
    # Derived objects are plain pandas; the numbers are untouched.
    assert type(plan[["n", "power"]]) is pd.Series
    assert int(plan["n"]) == 193


def test_power_curve_and_simulation_render_with_readable_names():
    curve = ps.power_curve(-0.69, n=[100, 200], incidence=0.11)
    assert type(curve) is PowerCurve
    _, text = parse(shown_html(curve))
    for name in ("Power curve", "Runners recruited", "Runners analysed", "Expected cases"):
        assert name in text, name
    assert "SMD -0.69" in text
    assert "incidence 11%" in text
    assert f"{curve['power'].iloc[1]:.3f}" in text
    assert type(curve[curve["n"] > 100]) is pd.DataFrame

    scenario = ps.power_scenario(-0.69, scale="smd", incidence=0.11)
    _, text = parse(shown_html(scenario))
    assert "SYNTHETIC studies" in text
    assert "SMD -0.69" in text
    assert "Adjusted for" in text
    simulated = ps.simulate_power(scenario, [60, 120], n_sim=50, seed=1, test=["lr", "wald"])
    assert type(simulated) is SimulatedPower
    _, text = parse(shown_html(simulated))
    for name in (
        "Power by simulation",
        "SYNTHETIC studies",
        "Runners per study",
        "likelihood ratio",
        "Wald",
        "Monte Carlo SE",
        "Studies simulated",
        "Cases (mean)",
    ):
        assert name in text, name
    assert f"{simulated['power'].iloc[0]:.3f}" in text
    assert "share_separated" not in text
    assert "mc_se" not in text
    assert type(simulated.set_index("n")) is pd.DataFrame

    cohort = ps.power_scenario(
        cohort=[{"subgroup": "military", "share": 0.6}, {"subgroup": "adolescent", "share": 0.4}],
        factor="knee_ext_strength_nmkg",
        adjust=["subgroup"],
    )
    _, text = parse(cohort._repr_html_())
    assert "Knee extension strength" in text
    assert "military" in text
    assert "60%" in text


def test_study_plan_renders_the_plan_source_and_sentence():
    plan = ps.plan_study("knee_ext_strength_nmkg", "military", dropout=0.1)
    assert type(plan) is StudyPlan
    parser, text = parse(shown_html(plan))
    for name in (
        "Study plan: Knee extension strength in military recruits",
        "Runners to recruit",
        "Published estimate (95% CI)",
        "SMD -0.69 (-1.02 to -0.35), Neal et al. 2019",
        "Runners by Hsieh et al. 1998",
    ):
        assert name in text, name
    assert f"{plan['n']} runners to recruit for 80% power" in text
    assert plan["sentence"] in text
    assert parser.links == ["https://doi.org/10.1136/bjsports-2017-098890"]
    assert type(plan[["n", "events"]]) is pd.Series


def test_study_plan_escapes_registry_text():
    registry = ps.load_evidence()
    row = (registry["subgroup"] == "military") & (registry["factor"] == "knee_ext_strength_nmkg")
    registry.loc[row, "study"] = "evil<script>2019"
    registry.loc[row, "doi"] = 'javascript:alert(1)" onclick="x'
    registry.loc[row, "source_url"] = "javascript:alert(1)"
    plan = ps.plan_study("knee_ext_strength_nmkg", "military", registry=registry)
    parser, text = parse(plan._repr_html_())
    assert "script" not in parser.tags
    assert "Evil<script> et al. 2019" in text, "shown as text"
    assert parser.links == [], "no link that is not a web address"


@pytest.fixture(scope="module")
def cox_fit():
    log, injuries = ps.load_demo_training()
    log = log[log["runner_id"].str.startswith("SYN-REC")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sessions = ps.session_exposures(log, injuries)
        return ps.fit_cox(sessions, "C(session_state)", cluster="runner_id")


def test_cox_fit_renders_readable_names_and_journal_p_values(cox_fit):
    assert cox_fit.synthetic is True
    _, text = parse(shown_html(cox_fit))
    for name in (
        "Cox proportional hazards (Efron ties)",
        "SYNTHETIC data",
        "Term",
        "Hazard ratio (95% CI)",
        "Person-days",
        "Events and time at risk per level",
        "Reference",
    ):
        assert name in text, name
    hr = cox_fit.hazard_ratios().iloc[-1]
    assert estimate_ci(hr["hazard_ratio"], hr["ci_low"], hr["ci_high"]) in text
    assert p_value(hr["p_value"]) in text
    assert "hazard_ratio" not in text
    assert "person_days" not in text


def test_dask_exposures_render_notes_and_counts():
    frame = dd.from_pandas(pd.DataFrame({"runner_id": ["a", "b"], "event": [0, 1]}), 2)
    result = DaskExposures(
        frame=frame,
        notes=("runner <b>x</b> noted",),
        counts={"runs": 43160, "person_days": 83028.44, "runners_absent_from_log": 0},
        n_partitions=2,
    )
    parser, text = parse(shown_html(result))
    assert "Exposures of a Dask training log: 2 partitions" in text
    assert "runner <b>x</b> noted" in text
    assert parser.tags.count("b") == 1
    assert "Runs" in text
    assert "43,160" in text
    assert "Person-days" in text
    assert "83,028.4" in text
    assert "Runners absent from log" in text
