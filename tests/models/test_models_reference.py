"""Every statistic of the modelling layer against R's established implementations.

The R scripts that made each value sit beside them in tests/models/reference/ (models.R,
rms_validate.R, firth_brglm2.R); logistf's published outputs are in logistf_published.json
with their source. Running R is not needed for these tests.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import pfps_stats as ps
from pfps_stats.models import performance

REF = Path(__file__).parent / "reference"
ROOT = REF.parents[2]
R = json.loads((REF / "models.json").read_text())
LOGISTF = json.loads((REF / "logistf_published.json").read_text())
BRGLM2 = json.loads((REF / "firth_brglm2.json").read_text())
RMS = json.loads((REF / "rms_validate.json").read_text())
CLUBSANDWICH = json.loads((REF / "clubsandwich.json").read_text())
FORMULA = (
    "pfp ~ bmi + q_angle_deg + weekly_km + hip_abd_strength_nkg + knee_ext_strength_nmkg + C(sex)"
)
# R orders the sex dummy last; patsy puts categorical terms first.
R_ORDER = [
    "Intercept",
    "bmi",
    "q_angle_deg",
    "weekly_km",
    "hip_abd_strength_nkg",
    "knee_ext_strength_nmkg",
    "C(sex)[T.M]",
]


@pytest.fixture(scope="module")
def demo():
    return pd.read_csv(ps.DEMO_COHORT)


@pytest.fixture(scope="module")
def military_fit(demo):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        return ps.fit_logistic(demo[demo["subgroup"] == "military"], FORMULA)


def test_ml_coefficients_and_se_match_glm(military_fit):
    assert military_fit.n_obs == R["glm"]["n"]
    assert_allclose(military_fit.params_[R_ORDER], R["glm"]["coef"], rtol=1e-7, atol=1e-9)
    assert_allclose(military_fit.bse_[R_ORDER], R["glm"]["se"], rtol=1e-6)
    assert military_fit.loglik_ == pytest.approx(R["glm"]["loglik"], abs=1e-8)


def test_profile_intervals_match_exact_profile_roots_and_mass(military_fit):
    table = military_fit.odds_ratios(ci="profile", intercept=True).set_index("term")
    low, high = np.log(table.loc[R_ORDER, "ci_low"]), np.log(table.loc[R_ORDER, "ci_high"])
    assert_allclose(low, R["glm"]["exact_low"], atol=2e-7)
    assert_allclose(high, R["glm"]["exact_high"], atol=2e-7)
    # MASS::confint interpolates the profile on a grid; it agrees to its own accuracy.
    assert_allclose(low, R["glm"]["mass_low"], atol=1e-4)
    assert_allclose(high, R["glm"]["mass_high"], atol=1e-4)


def test_lr_p_values_match_drop1(military_fit):
    table = military_fit.odds_ratios().set_index("term")
    assert_allclose(
        table.loc[R_ORDER[1:], "p_value"],
        [
            R["glm"]["lrt_p"][R["glm"]["lrt_terms"].index(t)]
            for t in [
                "bmi",
                "q_angle_deg",
                "weekly_km",
                "hip_abd_strength_nkg",
                "knee_ext_strength_nmkg",
                "sex",
            ]
        ],
        rtol=1e-6,
    )


def test_wald_p_values_and_intervals_match_glm_summary(military_fit):
    """ci="wald" pairs the Wald interval with the Wald z-test of summary.glm (issue 10)."""
    ref = CLUBSANDWICH["wald_military"]
    table = military_fit.odds_ratios(ci="wald", intercept=True).set_index("term").loc[R_ORDER]
    assert_allclose(table["p_value"], ref["p"], rtol=1e-6)
    assert_allclose(np.log(table["ci_low"]), ref["ci_low"], rtol=1e-7)
    assert_allclose(np.log(table["ci_high"]), ref["ci_high"], rtol=1e-7)
    assert (table["test"] == "Wald").all()


@pytest.mark.parametrize("name", ["sex2", "endometrial"])
def test_firth_matches_logistf_published_outputs(name):
    ref = LOGISTF[name]
    data = pd.read_csv(REF / "data" / f"{name}.csv")
    fit = ps.fit_logistic(data, ref["formula"], method="firth")
    assert fit.method == "firth"
    assert_allclose(fit.params_.to_numpy(), ref["coef"], atol=5e-7)
    assert_allclose(fit.params_.to_numpy(), BRGLM2[name]["coef"], atol=5e-7)
    assert_allclose(fit.bse_.to_numpy(), BRGLM2[name]["se"], rtol=1e-5)
    table = fit.odds_ratios(ci="profile", intercept=True)
    assert_allclose(np.log(table["ci_low"]), ref["ci_low"], atol=5e-7)
    assert_allclose(np.log(table["ci_high"]), ref["ci_high"], atol=5e-7)
    if "chisq_2dp" in ref:
        chi2 = [fit._cache[("lr", j)][0] for j in range(len(ref["terms"]))]
        assert_allclose(chi2, ref["chisq_2dp"], atol=0.005 + 1e-9)


def test_auto_uses_firth_under_separation_and_ml_refuses():
    data = pd.read_csv(REF / "data" / "endometrial.csv")
    with pytest.warns(ps.ModelWarning, match="separation along 'NV'"):
        fit = ps.fit_logistic(data, "HG ~ NV + PI + EH", method="auto")
    assert fit.method == "firth"
    with pytest.raises(ps.ModelError, match="perfectly predicted .* along 'NV'"):
        ps.fit_logistic(data, "HG ~ NV + PI + EH", method="ml")


def test_spline_and_interaction_match_glm_and_the_nonlinearity_test(demo):
    ado = demo[demo["subgroup"] == "adolescent"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        fit = ps.fit_logistic(ado, "pfp ~ bs(weekly_km, df=4) + C(sex) * hip_abd_strength_nkg")
    assert fit.n_obs == R["spline"]["n"]
    assert fit.loglik_ == pytest.approx(R["spline"]["loglik"], abs=1e-7)
    # R: intercept, bs 1-4, sexM, hip, sexM:hip; patsy: intercept, sex, bs 1-4, hip, sex:hip
    order = [0, 2, 3, 4, 5, 1, 6, 7]
    assert_allclose(fit.params_.to_numpy()[order], R["spline"]["coef"], rtol=1e-6, atol=1e-7)
    (row,) = fit.nonlinearity_test().to_dict("records")
    assert row["variable"] == "weekly_km"
    assert row["df"] == R["spline"]["nonlinear_df"]
    assert row["chi2"] == pytest.approx(R["spline"]["nonlinear_chi2"], abs=1e-6)
    assert row["p_value"] == pytest.approx(R["spline"]["nonlinear_p"], abs=1e-7)


def test_delong_auc_matches_proc():
    out = ps.roc_auc(R["glm"]["y"], R["glm"]["prob"])
    assert out["auc"] == pytest.approx(R["proc"]["auc"], abs=1e-12)
    assert out["se"] ** 2 == pytest.approx(R["proc"]["var"], rel=1e-9)
    assert out["ci_low"] == pytest.approx(R["proc"]["ci_low"], abs=1e-10)
    assert out["ci_high"] == pytest.approx(R["proc"]["ci_high"], abs=1e-10)


def test_hosmer_lemeshow_matches_resourceselection_formula():
    out = ps.hosmer_lemeshow(R["glm"]["y"], R["glm"]["prob"])
    assert out["hosmer_lemeshow"] == pytest.approx(R["hoslem"]["statistic"], rel=1e-9)
    assert out["hosmer_lemeshow_p"] == pytest.approx(R["hoslem"]["p"], rel=1e-8)
    assert out["df"] == 8


def test_calibration_intercept_and_slope_match_glm_on_the_logit():
    out = performance.calibration(R["glm"]["y"], R["calibration"]["prob"])
    assert out["calibration_intercept"] == pytest.approx(R["calibration"]["intercept"], abs=1e-8)
    assert out["calibration_slope"] == pytest.approx(R["calibration"]["slope"], abs=1e-8)


def test_performance_series(military_fit):
    perf = military_fit.performance()
    assert list(perf.index) == [
        "auc",
        "auc_ci_low",
        "auc_ci_high",
        "brier",
        "calibration_intercept",
        "calibration_slope",
        "hosmer_lemeshow",
        "hosmer_lemeshow_p",
    ]
    assert perf["auc"] == pytest.approx(R["proc"]["auc"], abs=1e-8)
    assert perf["calibration_slope"] == pytest.approx(1.0, abs=1e-6), "apparent ML slope is 1"


def test_incidence_matches_binom_test_and_prop_test(demo):
    table = ps.incidence(demo).set_index("group")
    for group, (n, k, lo, hi, wlo, whi) in R["incidence"].items():
        row = table.loc[group]
        assert (row["n"], row["events"]) == (n, k)
        assert_allclose([row["exact_low"], row["exact_high"]], [lo, hi], rtol=1e-8)
        assert_allclose([row["wilson_low"], row["wilson_high"]], [wlo, whi], rtol=1e-8)


def test_table_one_tests_match_r(demo):
    table = ps.table_one(demo, nonnormal=["weekly_km"]).set_index("variable")
    ref = R["table_one"]
    assert table.loc["bmi", "p_value"] == pytest.approx(ref["welch_bmi"], rel=1e-8)
    assert table.loc["weekly_km", "p_value"] == pytest.approx(ref["wilcoxon_weekly_km"], rel=1e-6)
    assert table.loc["subgroup", "p_value"].iloc[0] == pytest.approx(
        ref["chisq_subgroup"], rel=1e-8
    )
    assert table.loc["sex", "p_value"].iloc[0] == pytest.approx(ref["chisq_sex"], rel=1e-8)
    small = demo[demo["subgroup"] == "recreational"].iloc[:60]
    sex = ps.table_one(small, variables=["sex"]).set_index("variable").loc["sex"]
    assert sex["test"].iloc[0] == "Fisher's exact"
    assert sex["p_value"].iloc[0] == pytest.approx(ref["fisher_sex_small"], rel=1e-8)


def test_cluster_robust_and_gee_match_sandwich_and_geepack():
    knees = pd.read_csv(REF / "data" / "knees.csv").sort_values("runner_id")
    ref = R["cluster"]
    robust = ps.fit_logistic(
        knees, "pfp ~ q_angle_deg + knee_ext_strength_nmkg", cluster="runner_id"
    )
    assert_allclose(robust.params_.to_numpy(), ref["coef"], rtol=1e-7)
    assert_allclose(robust.bse_.to_numpy(), ref["robust_se"], rtol=1e-6)
    gee = ps.fit_logistic(
        knees,
        "pfp ~ q_angle_deg + knee_ext_strength_nmkg",
        cluster="runner_id",
        cluster_method="gee",
    )
    # statsmodels and geepack estimate the exchangeable correlation by moments with different
    # degrees-of-freedom corrections (0.0791 vs 0.0787 here), which moves estimates by ~1e-4.
    assert gee.cluster["exchangeable_correlation"] == pytest.approx(ref["gee_alpha"], abs=1e-3)
    assert_allclose(gee.params_.to_numpy(), ref["gee_coef"], atol=1e-4)
    assert_allclose(gee.bse_.to_numpy(), ref["gee_se"], rtol=1e-4)
    with pytest.raises(ps.ModelError, match="use ci='wald'"):
        robust.odds_ratios()
    assert robust.odds_ratios(ci="wald")["p_value"].between(0, 1).all()


@pytest.mark.slow
def test_bootstrap_validation_agrees_with_rms_validate(military_fit):
    table = ps.validate_bootstrap(military_fit, n_boot=RMS["B"], seed=20190301)
    ours = table.loc[["dxy", "calibration_intercept", "calibration_slope", "brier"]]
    for metric, ref_orig, ref_corr, sd in zip(
        ours.index, RMS["index.orig"], RMS["index.corrected"], RMS["optimism_sd"], strict=True
    ):
        assert ours.loc[metric, "apparent"] == pytest.approx(ref_orig, abs=1e-7), metric
        # two independent Monte Carlo estimates of the same optimism: within 4 SE of their gap
        tolerance = 4 * np.sqrt(2) * sd / np.sqrt(RMS["B"])
        assert abs(ours.loc[metric, "corrected"] - ref_corr) < tolerance, metric
