"""Predictive performance in small samples and at the edges (issue 10), against rms and pROC.

The reference values were made by tests/models/reference/rms_validate_small.R (rms::validate on
three small SYNTHETIC cohorts, data/perf_*.csv) and tests/models/reference/perf_small_cases.R
(lrm.fit on separated data, Hosmer-Lemeshow with tied risks, pROC with one case); running R is
not needed for these tests.
"""

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import pfps_stats as ps
from pfps_stats.models import engine, performance

REF = Path(__file__).parent / "reference"
SMALL = json.loads((REF / "rms_validate_small.json").read_text())
CASES = json.loads((REF / "perf_small_cases.json").read_text())
METRICS = ["dxy", "calibration_intercept", "calibration_slope", "brier"]  # rms: Dxy ... B
N_BOOT = 2000


def _small_fit(name: str) -> ps.LogisticFit:
    ref = SMALL["datasets"][name]
    data = pd.read_csv(REF / "data" / f"{name}.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)  # low events per variable
        fit = ps.fit_logistic(data, "pfp ~ " + " + ".join(ref["predictors"]), method="ml")
    assert_allclose(fit.params_.to_numpy(), ref["coef"], rtol=1e-6)
    return fit


# -- 1. bootstrap validation in small samples -------------------------------------------------


@pytest.mark.parametrize("name", list(SMALL["datasets"]))
def test_validate_bootstrap_in_small_samples_agrees_with_rms_validate(name):
    """n = 60 with 4 predictors, n = 100 with 5, and n = 80 with a rare binary exposure: the
    corrected calibration intercept and slope were NaN (the calibration refits diverged); they
    now agree with rms::validate (B = 4000) within 4 Monte Carlo standard errors of the gap
    between the two estimates, the SE from the SD of rms's replicate optimism. The share of
    replicates used matches rms's (which also drops the few separated samples its lrm.fit has
    not stopped within 11 iterations: they are kept here) within 4 binomial SEs."""
    ref = SMALL["datasets"][name]
    fit = _small_fit(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)  # separated resamples, told elsewhere
        table = ps.validate_bootstrap(fit, n_boot=N_BOOT, seed=20240610)
    ours = table.loc[METRICS]
    assert np.isfinite(ours.drop(columns="n_boot").to_numpy()).all()
    used, used_rms = ours["n_boot"].to_numpy() / N_BOOT, ref["kept"] / SMALL["B"]
    binomial_se = np.sqrt(used_rms * (1 - used_rms) * (1 / N_BOOT + 1 / SMALL["B"]))
    assert np.all(abs(used - used_rms) < 4 * binomial_se + 0.005)
    for metric, orig, corrected, sd in zip(
        METRICS, ref["index.orig"], ref["index.corrected"], ref["optimism_sd"], strict=True
    ):
        assert ours.loc[metric, "apparent"] == pytest.approx(orig, abs=1e-7), metric
        n_ours = ours.loc[metric, "n_boot"]
        tolerance = 4 * sd * np.sqrt(1 / SMALL["B"] + 1 / n_ours)
        assert abs(ours.loc[metric, "corrected"] - corrected) < tolerance, (metric, tolerance)
    # rms fixes the training calibration of an ML model at its definition, intercept 0, slope 1
    assert table.loc["calibration_intercept", "training"] == 0.0
    assert table.loc["calibration_slope", "training"] == 1.0


@pytest.mark.parametrize("case", ["stopped_by_eps", "stopped_by_maxit"])
def test_a_separated_bootstrap_sample_gets_lrm_fits_finite_coefficients(case):
    """When a bootstrap sample is separated the ML estimates are infinite; rms's lrm.fit
    stops Newton-Raphson (from the intercept-only start, with step halving) once -2 log L
    changes by <= 0.025 or after 11 iterations. The bootstrap fit now does the same and says
    so, instead of dropping the replicate."""
    ref = CASES["bootstrap_separated"][case]
    fit = _small_fit("perf_n60_p4")
    counts = np.bincount(np.asarray(ref["rows"]) - 1, minlength=fit.n_obs).astype(float)
    result = engine.batch_fit(fit.design.X, fit.design.y, counts[:, None])
    assert result.status.tolist() == ["separated"]
    assert_allclose(result.beta[0], ref["coef"], rtol=1e-9)


def test_a_separated_calibration_refit_gets_lrm_fits_finite_coefficients():
    ref = CASES["calibration_separated"]
    y = np.asarray(ref["y"], float)
    lp = np.asarray(ref["x"], float)[:, None]
    intercept, slope, status = performance._weighted_calibration(y, lp, np.ones_like(lp))
    assert status.tolist() == ["separated"]
    assert_allclose([intercept[0], slope[0]], ref["coef"], rtol=1e-6)


def test_a_calibration_refit_on_a_steep_linear_predictor_converges():
    """The plain Newton from (0, 1) overshot and diverged to NaN when the bootstrap model's
    linear predictor was steep on the original rows; the refit now matches glm."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=80)
    y = (rng.random(80) < 1 / (1 + np.exp(-(0.3 + 1.2 * x)))).astype(float)
    lp = 25.0 * x + 4.0
    intercept, slope, status = performance._weighted_calibration(y, lp[:, None], np.ones((80, 1)))
    exact = engine.newton(np.column_stack([np.ones(80), lp]), y)
    assert status.tolist() == ["converged"]
    assert_allclose([intercept[0], slope[0]], exact.beta, rtol=1e-7)


@pytest.fixture(scope="module")
def rare_level_fit():
    """80 runners with a binary exposure in 2 of them (one with PFP): about 1 bootstrap sample
    in 8 leaves both out, so the model cannot be fitted (singular information, as rms's
    lrm.fit reports)."""
    data = ps.simulate_cohort(80, subgroup="military", incidence=0.25, seed=11)
    data["orthotics"] = 0
    exposed = [data.index[data["pfp"] == 1][0], data.index[data["pfp"] == 0][0]]
    data.loc[exposed, "orthotics"] = 1
    return _quiet_fit(data, "pfp ~ knee_ext_strength_nmkg + orthotics")


def _quiet_fit(data, formula):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        return ps.fit_logistic(data, formula)


def test_failed_bootstrap_replicates_are_counted_and_warned(rare_level_fit):
    with pytest.warns(ps.ModelWarning, match=r"validate_bootstrap: \d+ of 200 bootstrap") as rec:
        table = ps.validate_bootstrap(rare_level_fit, n_boot=200, seed=5)
    failed = table.attrs["failed"]
    assert 5 <= failed <= 40
    assert (table["n_boot"] == 200 - failed).all()
    message = str(rec[0].message)
    assert f"{failed} of 200 bootstrap replicates were left out" in message
    assert "singular" in message
    assert "underestimate" in message


def test_calibrate_bootstrap_counts_and_warns_failed_replicates(rare_level_fit):
    with pytest.warns(ps.ModelWarning, match=r"calibrate_bootstrap: \d+ of 100 bootstrap"):
        curve = ps.calibrate_bootstrap(rare_level_fit, n_boot=100, seed=5)
    assert curve.attrs["n_boot"] == 100 - curve.attrs["failed"]
    assert curve.attrs["failed"] > 0
    with pytest.raises(ValueError, match="n_boot"):
        ps.calibrate_bootstrap(rare_level_fit, n_boot=0)


def test_no_warning_when_every_replicate_is_used():
    data = ps.simulate_cohort(400, subgroup="military", incidence=0.3, seed=2)
    fit = _quiet_fit(data, "pfp ~ knee_ext_strength_nmkg + bmi")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ps.ModelWarning)
        table = ps.validate_bootstrap(fit, n_boot=50, seed=1)
    assert (table["n_boot"] == 50).all()
    assert table.attrs["failed"] == 0
    assert table.attrs["separated"] == 0


def test_separated_bootstrap_samples_are_kept_and_told():
    fit = _small_fit("perf_n60_sparse")
    with pytest.warns(ps.ModelWarning) as record:
        table = ps.validate_bootstrap(fit, n_boot=300, seed=4)
    messages = [str(w.message) for w in record]
    assert any(re.search(r"\d+ of 300 bootstrap samples were separated", m) for m in messages)
    # and one resample without events, left out and counted
    assert any("1 of 300 bootstrap replicates were left out" in m for m in messages)
    assert table.attrs["failed_reasons"] == {"one class": 1}
    assert (table["n_boot"] == 299).all()
    assert table.attrs["separated"] > 0
    assert np.isfinite(table["corrected"]).all()


# -- 2. Hosmer-Lemeshow with tied risks ---------------------------------------------------------


def test_hosmer_lemeshow_refers_to_the_groups_formed():
    """A 4-level predictor modelled as linear: its 4 risks form 3 groups, so df = 1 (p = 0.028),
    not 8 (p = 0.78, a misfit that 'passes'); R's hoslem.test formula gives NaN here because it
    keeps the empty interval."""
    ref = CASES["hoslem_tied"]
    data = pd.DataFrame({"level": ref["level"], "pfp": ref["pfp"]})
    fit = ps.fit_logistic(data, "pfp ~ level")
    assert_allclose(fit.params_.to_numpy(), ref["coef"], rtol=1e-7)
    out = ps.hosmer_lemeshow(fit.y_, fit.fitted_)
    assert out["groups"] == ref["groups"] == 3
    assert out["df"] == ref["df"] == 1
    assert out["hosmer_lemeshow"] == pytest.approx(ref["statistic"], rel=1e-7)
    assert out["hosmer_lemeshow_p"] == pytest.approx(ref["p"], rel=1e-6)
    assert out["hosmer_lemeshow_p"] < 0.05 < ref["p_df8"]


def test_hosmer_lemeshow_warns_when_fewer_than_three_groups_form():
    y = np.array([0, 1, 0, 0, 1, 0, 1, 0, 0, 1])
    prob = np.where(np.arange(10) < 5, 0.3, 0.5)
    with pytest.warns(ps.ModelWarning, match="only 2 groups formed"):
        out = ps.hosmer_lemeshow(y, prob)
    assert out["groups"] == 2
    assert np.isnan(out[["hosmer_lemeshow", "df", "hosmer_lemeshow_p"]]).all()


# -- 3. AUC with one case, and missing scores ---------------------------------------------------


@pytest.mark.parametrize("case", ["proc_one_case", "proc_one_control"])
def test_roc_auc_with_a_single_case_or_control_has_no_delong_ci(case):
    ref = CASES[case]
    assert [ref["var"], ref["ci_low"], ref["ci_high"]] == [None, None, None]  # pROC: NA
    with pytest.warns(ps.ModelWarning, match="only 1 "):
        out = ps.roc_auc(ref["y"], ref["score"])
    assert out["auc"] == pytest.approx(ref["auc"], abs=1e-12)
    assert np.isnan(out[["se", "ci_low", "ci_high"]]).all()


def test_roc_auc_counts_the_rows_it_drops():
    y = [0, 1, 0, 1, 1, 0, 0, 1]
    score = [0.1, 0.8, np.nan, 0.7, np.nan, 0.3, 0.6, 0.4]
    with pytest.warns(ps.ModelWarning, match="dropped 2 of 8 rows"):
        out = ps.roc_auc(y, score)
    keep = ~np.isnan(score)
    expected = ps.roc_auc(np.asarray(y)[keep], np.asarray(score)[keep])
    pd.testing.assert_series_equal(out, expected)


# -- 4. level -----------------------------------------------------------------------------------


def test_roc_auc_checks_its_level():
    with pytest.raises(ValueError, match="did you mean 0.95"):
        ps.roc_auc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8], level=95)
