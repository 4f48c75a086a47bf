"""fit_cox against R's survival::coxph on counting-process rows: Efron and Breslow ties, naive
and cluster-robust covariances, a single event, a level without events, and the errors.

Reference values: tests/models/reference/cox_survival.R (survival 3.5.3, R 4.2.2), stored in
cox_survival.json with the SYNTHETIC data in reference/data/cox_*.csv; R is not needed to run
these tests. Tolerance: 1e-6 relative (atol 1e-9) for coefficients, covariances, SEs,
p-values, interval limits and log-likelihoods (measured differences are below 1e-12).
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from pfps_stats._exceptions import ModelError, ModelWarning
from pfps_stats.models.cox import CoxFit, fit_cox, log_partial_likelihood, score_residuals

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "cox_survival.json").read_text())
STATES = ["<=10%", ">10-30%", ">30-100%", ">100%"]
FORMULA = "C(session_state) + bmi"
TOL = {"rtol": 1e-6, "atol": 1e-9}
FITS = [("efron", None), ("efron", "runner_id"), ("breslow", None), ("breslow", "runner_id")]


def _data(file: str = "cox_sessions.csv") -> pd.DataFrame:
    d = pd.read_csv(REF / "data" / file)
    d["session_state"] = pd.Categorical(d["session_state"], categories=STATES, ordered=True)
    return d


def _fit(data, formula=FORMULA, **kwargs) -> CoxFit:
    """fit_cox with its expected warnings silenced (38 events / 4 coefficients: low EPV)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelWarning)
        return fit_cox(data, formula, **kwargs)


def _ref(ties, cluster):
    return R["fits"][ties + ("_cluster" if cluster else "")]


def test_reference_data_have_ties_and_entries_at_event_times():
    """The data exercise what differs between implementations: tied event times, and
    intervals that start exactly at another runner's event time (R: start < t)."""
    d = _data()
    times = d.loc[d["event"] == 1, "stop_day"]
    assert times.duplicated().any()
    assert d["start_day"].isin(times).sum() > 50
    assert R["data"]["n_clusters"] == d["runner_id"].nunique() == 50


@pytest.mark.parametrize(("ties", "cluster"), FITS)
def test_estimates_and_variances_match_coxph(ties, cluster):
    ref = _ref(ties, cluster)
    fit = _fit(_data(), cluster=cluster, ties=ties)
    assert fit.n_obs == ref["n"] == 260
    assert fit.n_events == ref["nevent"] == 38
    assert fit.n_clusters == (50 if cluster else None)
    assert_allclose(fit.params_.to_numpy(), ref["coef"], **TOL)
    # fit$var: robust (sandwich over runners) when clustered, else the inverse information
    assert_allclose(fit.cov_.to_numpy(), ref["var"], **TOL)
    assert_allclose(fit.bse_.to_numpy(), ref["se"], **TOL)
    if cluster:
        assert_allclose(fit.naive_cov_.to_numpy(), ref["naive_var"], **TOL)
        assert not np.allclose(ref["se"], ref["se_naive"], rtol=1e-2)  # robust SEs differ
    else:
        assert_allclose(fit.naive_cov_.to_numpy(), ref["var"], **TOL)
    assert_allclose([fit.loglik_null_, fit.loglik_], ref["loglik"], **TOL)


@pytest.mark.parametrize(("ties", "cluster"), FITS)
def test_hazard_ratio_table_matches_summary_and_confint(ties, cluster):
    ref = _ref(ties, cluster)
    fit = _fit(_data(), cluster=cluster, ties=ties)
    table = fit.hazard_ratios()
    assert list(table["term"]) == [
        "C(session_state)[T.>10-30%]",
        "C(session_state)[T.>30-100%]",
        "C(session_state)[T.>100%]",
        "bmi",
    ]
    assert_allclose(np.log(table["hazard_ratio"]), ref["coef"], **TOL)
    assert_allclose(table["p_value"], ref["p_value"], **TOL)
    assert_allclose(np.log(table["ci_low"]), ref["ci_low"], **TOL)
    assert_allclose(np.log(table["ci_high"]), ref["ci_high"], **TOL)
    assert (table["test"] == ("robust Wald" if cluster else "Wald")).all()
    t90 = fit.hazard_ratios(level=0.90)
    assert_allclose(np.log(t90["ci_low"]), ref["ci90_low"], **TOL)
    assert_allclose(np.log(t90["ci_high"]), ref["ci90_high"], **TOL)
    assert t90.attrs["level"] == 0.90
    assert t90.attrs["ties"] == ties


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_score_residuals_match_r(ties):
    """residuals(fit, type = "score"), row by row: the robust covariance is built from them."""
    ref = _ref(ties, "runner_id")
    d = _data()
    X = np.column_stack(
        [(d["session_state"] == s).to_numpy(float) for s in STATES[1:]] + [d["bmi"]]
    )
    resid = score_residuals(
        d["start_day"], d["stop_day"], d["event"], X, np.asarray(ref["coef"]), ties
    )
    assert_allclose(resid, ref["score_residuals"], rtol=1e-6, atol=1e-9)
    assert_allclose(resid.sum(axis=0), 0, atol=1e-8)  # the score at the estimates


def test_single_event():
    ref = R["single_event"]
    d = _data(ref["file"])
    assert d["event"].sum() == 1
    fit = _fit(d, ref["formula"], cluster="runner_id")
    assert fit.n_events == 1
    assert_allclose(fit.params_.to_numpy(), ref["coef"], **TOL)
    assert_allclose(fit.bse_.to_numpy(), ref["se"], **TOL)
    assert_allclose(fit.naive_cov_.to_numpy(), ref["naive_var"], **TOL)
    assert_allclose(fit.loglik_, ref["loglik"][1], **TOL)
    # Efron and Breslow coincide without ties
    breslow = _fit(d, ref["formula"], cluster="runner_id", ties="breslow")
    assert_allclose(breslow.params_.to_numpy(), ref["coef"], **TOL)


def test_level_without_events_warns_and_gives_hazard_ratio_zero():
    ref = R["zero_level"]
    with pytest.warns(ModelWarning, match=r"no event \(event = 1\) in '>100%' \(41 rows"):
        fit = fit_cox(_data(ref["file"]), FORMULA, cluster="runner_id")
    table = fit.hazard_ratios().set_index("level")
    row = table.loc[">100%"]
    assert row["hazard_ratio"] == 0
    assert np.isnan(row["ci_low"])
    assert np.isnan(row["ci_high"])
    assert np.isnan(row["p_value"])
    assert row["test"] == "none: no events"
    assert row["events"] == 0
    # the other estimates are the limit of coxph's fit: the model without that level's rows
    others = [0, 1, 3]
    limit = ref["without_level"]
    assert_allclose(fit.params_.iloc[others], limit["coef"], **TOL)
    assert_allclose(fit.bse_.iloc[others], limit["se"], **TOL)
    assert_allclose(fit.params_.iloc[others], np.asarray(ref["coxph_full_coef"])[others], **TOL)
    assert ref["coxph_full_coef"][2] < -20  # R's estimate runs off towards -inf
    assert fit.params_.iloc[2] == -np.inf
    assert any("Merge such a level" in n for n in fit.notes)


@pytest.mark.filterwarnings("ignore:events per coefficient")
def test_reference_level_without_events_gives_infinite_ratios():
    d = _data()
    d.loc[d["session_state"] == "<=10%", "event"] = 0
    with pytest.warns(ModelWarning, match=r"Treatment\('>10-30%'\)"):
        fit = fit_cox(d, FORMULA, cluster="runner_id")
    table = fit.hazard_ratios()
    assert np.isinf(table["hazard_ratio"].iloc[:3]).all()
    assert (table["test"].iloc[:3] == "none: no events in the reference").all()
    assert np.isfinite(table["hazard_ratio"].iloc[3])
    # bmi is estimated as in the model without the reference rows, re-referenced
    sub = d[d["session_state"] != "<=10%"].copy()
    sub["session_state"] = sub["session_state"].cat.remove_unused_categories()
    limit = _fit(sub, FORMULA, cluster="runner_id")
    assert_allclose(fit.params_["bmi"], limit.params_["bmi"], rtol=1e-9)
    assert_allclose(fit.bse_["bmi"], limit.bse_["bmi"], rtol=1e-9)


def test_all_events_in_the_reference_level():
    """Every other level without events: nothing is left to estimate, and the log partial
    likelihood is that of the reference level's rows alone."""
    d = _data()
    d.loc[d["session_state"] != "<=10%", "event"] = 0
    with pytest.warns(ModelWarning, match="no event"):
        fit = fit_cox(d, "C(session_state)")
    assert (fit.hazard_ratios()["hazard_ratio"] == 0).all()
    ref = d[d["session_state"] == "<=10%"]
    expected = log_partial_likelihood(
        ref["start_day"], ref["stop_day"], ref["event"], np.zeros(len(ref))
    )
    assert_allclose(fit.loglik_, expected, rtol=1e-12)
    assert fit.loglik_ > fit.loglik_null_


def test_one_cluster_is_refused():
    assert R["one_cluster"]["coxph_error"] != "no error"  # coxph itself fails
    d = _data().assign(runner_id="R00")
    with pytest.raises(ModelError, match="at least 2 clusters"):
        fit_cox(d, FORMULA, cluster="runner_id")


def test_per_scales_numeric_terms_only():
    fit = _fit(_data(), cluster="runner_id")
    b = fit.params_["bmi"]
    clinical = fit.hazard_ratios(per="clinical").set_index("term")
    assert clinical.loc["bmi", "increment"] == 5  # the dictionary's BMI increment
    assert_allclose(clinical.loc["bmi", "hazard_ratio"], np.exp(5 * b), rtol=1e-12)
    assert clinical.loc["bmi", "label"] == "Body-mass index, per 5 kg/m²"
    assert (
        clinical.loc["bmi", "p_value"]
        == fit.hazard_ratios().set_index("term").loc["bmi", "p_value"]
    )
    two = fit.hazard_ratios(per={"bmi": 2}).set_index("term")
    se = fit.bse_["bmi"]
    assert_allclose(two.loc["bmi", "ci_low"], np.exp(2 * (b - stats.norm.ppf(0.975) * se)))
    sd = fit.hazard_ratios(per="sd").set_index("term")
    assert_allclose(sd.loc["bmi", "increment"], _data()["bmi"].std())
    level = clinical.loc["C(session_state)[T.>30-100%]"]
    assert level["increment"] == 1
    assert level["label"] == "session_state: >30-100% vs <=10%"
    with pytest.raises(ModelError, match="not a numeric main effect"):
        fit.hazard_ratios(per={"session_state": 2})


def test_counts_give_events_and_time_per_level():
    fit = _fit(_data(), cluster="runner_id")
    counts = fit.counts().set_index("level")
    ref = R["data"]
    assert list(counts.index) == STATES
    assert list(counts["reference"]) == [True, False, False, False]
    assert counts["events"].to_dict() == ref["events_per_level"]
    assert_allclose(counts["person_days"], [ref["person_days_per_level"][s] for s in STATES])
    assert_allclose(counts["km"], [ref["km_per_level"][s] for s in STATES])
    d = _data()
    hours = d.groupby("session_state", observed=False)["duration_min"].sum() / 60
    assert_allclose(counts["hours"], hours.to_numpy())
    assert counts["rows"].sum() == fit.n_obs
    assert_allclose(counts["person_days"].sum(), fit.person_days)
    table = fit.hazard_ratios().set_index("term")
    assert table.loc["C(session_state)[T.>100%]", "events"] == counts.loc[">100%", "events"]
    assert np.isnan(table.loc["bmi", "events"])
    assert np.isnan(table.loc["bmi", "person_days"])


@pytest.mark.filterwarnings("ignore:events per coefficient")
def test_missing_values_are_left_out_and_reported():
    d = _data()
    d.loc[[0, 1], "bmi"] = np.nan
    d.loc[2, "stop_day"] = np.nan
    left = d.loc[[0, 1]]
    with pytest.warns(ModelWarning, match="left out 3 of 260 rows") as caught:
        fit = fit_cox(d, FORMULA, cluster="runner_id")
    message = next(str(w.message) for w in caught if "left out" in str(w.message))
    days = (left["stop_day"] - left["start_day"]).sum()
    assert f"{days:.1f} person-days" in message
    assert "1 row without a start or stop" in message
    assert fit.n_obs == 257
    assert fit.n_dropped == 3


def test_invariant_to_row_order_index_and_time_origin():
    base = _fit(_data(), cluster="runner_id")
    d = _data().sample(frac=1, random_state=3)
    d.index = np.repeat(np.arange(130), 2)  # a non-unique index
    d[["start_day", "stop_day"]] -= 100.5  # negative times: only differences matter
    moved = _fit(d, "~ " + FORMULA, cluster="runner_id")
    assert_allclose(moved.params_, base.params_, rtol=1e-10)
    assert_allclose(moved.cov_, base.cov_, rtol=1e-8)
    assert_allclose(moved.loglik_, base.loglik_, rtol=1e-12)


def test_fit_is_immutable_and_independent_of_the_callers_frame():
    d = _data()
    fit = _fit(d, cluster="runner_id")
    before = fit.counts()
    d["event"] = 0
    d["distance_km"] = 0.0
    pd.testing.assert_frame_equal(fit.counts(), before)
    with pytest.raises(AttributeError, match="immutable"):
        fit.ties = "breslow"
    with pytest.raises(ValueError, match="read-only"):
        fit._beta[0] = 1.0


def test_repr_html_shows_model_notes_and_counts():
    fit = _fit(_data(), cluster="runner_id")
    page = fit._repr_html_()
    assert "Cox proportional hazards (Efron ties)" in page
    assert "clustered by runner_id (50 clusters)" in page
    assert "events per coefficient" in page  # the notes
    assert "Hazard ratio (95% CI)" in page
    assert "Person-days" in page
    assert "Cox proportional hazards" in repr(fit)


@pytest.mark.parametrize(
    ("change", "kwargs", "error", "match"),
    [
        (lambda d: d.assign(event=0), {}, ModelError, r"no event \(event = 1\) in the 260 rows"),
        (lambda d: d.assign(event=d["event"] * 2), {}, ModelError, "must be 0/1"),
        (
            lambda d: d.assign(stop_day=np.where(d.index == 4, d["start_day"], d["stop_day"])),
            {},
            ModelError,
            r"1 row has stop_day <= start_day, .*\(row 4: \(8, 8\]\)",
        ),
        (lambda d: d, {"cluster": "runner"}, ModelError, "cluster='runner' is not a column"),
        (lambda d: d, {"start": "t0"}, ModelError, "start='t0' is not a column"),
        (lambda d: d.drop(columns="bmi"), {}, ModelError, "'bmi', which is not a column"),
        (lambda d: d, {"ties": "exact"}, ValueError, "ties must be"),
        (
            lambda d: d.assign(start_day=pd.to_datetime("2025-01-01")),
            {},
            ModelError,
            "must be numeric",
        ),
    ],
)
def test_errors_say_what_is_wrong(change, kwargs, error, match):
    with pytest.raises(error, match=match):
        _fit(change(_data()), **kwargs)


def test_formula_forms():
    with pytest.raises(ModelError, match="right-hand side"):
        fit_cox(_data(), "event ~ bmi")
    with pytest.raises(ModelError, match="no intercept"):
        _fit(_data(), "C(session_state) - 1")
    with pytest.raises(ModelError, match="no term"):
        fit_cox(_data(), "~ ")
    a = _fit(_data(), "bmi")
    b = _fit(_data(), "~ bmi")
    assert_allclose(a.params_, b.params_)
    assert a.formula == b.formula == "bmi"


def test_monotone_likelihood_is_an_error():
    """A numeric term that orders every event within its risk set: the HR is infinite."""
    d = _data()
    d["dose"] = d["event"] * (100 - d["stop_day"])  # the highest dose in every risk set
    with pytest.raises(ModelError, match="no finite maximum along 'dose'"):
        _fit(d, "dose")


def test_every_row_an_event():
    """No censoring at all is a valid Cox data set (the design's two-class check is off)."""
    d = _data()
    events = d[d["event"] == 1]
    fit = _fit(events, "bmi")
    assert fit.n_events == fit.n_obs == 38
    assert np.isfinite(fit.params_["bmi"])
