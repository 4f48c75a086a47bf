"""Power by simulation (issue 13): ps.power_scenario and ps.simulate_power.

- The batched fits' p-values equal a loop of statsmodels Logit fits on the same SYNTHETIC
  studies (likelihood ratio and Wald, and the cluster-robust Wald of two-knee studies), and
  the batched Firth tests equal the engine's one-at-a-time Firth fits (checked against logistf
  in test_models_reference.py).
- simulate_power agrees with the R reference simulation (glm, 10,000 studies per scenario,
  tests/models/reference/power_simulation.R -> power_simulation.json) within Monte Carlo error.
- The type-I error at no effect is near alpha.
- The two tiers of fits (vectorised Newton-Raphson; engine.batch_fit for the rest) agree, and
  the cohort runners drawn as arrays equal simulate_cohort's columns.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import pfps_stats as ps
from pfps_stats.cohort.synthetic import EFFECT_FACTORS
from pfps_stats.models import engine
from pfps_stats.models import power_simulation as psim

REF = json.loads((Path(__file__).parent / "reference" / "power_simulation.json").read_text())
#: Agreement within this many combined Monte Carlo SEs: Bonferroni for 48 comparisons (24
#: scenarios, LR and Wald) at a family-wise 1%, two-sided.
Z = float(stats.norm.isf(0.01 / 96))
#: Rows simulated per R scenario (n_sim = ROWS / n, between 100 and 2,000): keeps the 24
#: scenarios to a few seconds.
ROWS = 200_000


def _statsmodels_p(X: np.ndarray, y: np.ndarray, converge: bool = True) -> tuple[float, float]:
    """LR and Wald p-values of column 1 from statsmodels Logit fits (full and without it);
    ``converge``: both fits must converge (a separated study's cannot)."""
    full = sm.Logit(y, X).fit(disp=0, method="newton", maxiter=100)
    null = sm.Logit(y, np.delete(X, 1, axis=1)).fit(disp=0, method="newton", maxiter=100)
    if converge:
        assert full.mle_retvals["converged"]
        assert null.mle_retvals["converged"]
    return float(stats.chi2.sf(2 * (full.llf - null.llf), 1)), float(full.pvalues[1])


SCENARIOS = {
    "smd": dict(effect=0.5, scale="smd", incidence=0.15),
    "or_per_sd, adjusted": dict(effect=1.8, scale="or_per_sd", incidence=0.2, r2_other=0.4),
    "or_binary": dict(effect=2.5, scale="or_binary", incidence=0.2, exposed=0.3),
    "cohort, missing": dict(
        cohort={"subgroup": "military", "missing": 0.1},
        factor="knee_ext_strength_nmkg",
        adjust=["sex", "bmi"],
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_batched_p_values_equal_a_loop_of_statsmodels_fits(name):
    """Same studies, p-values to 1e-6; with missing covariates each study has its own n."""
    scenario = ps.power_scenario(**SCENARIOS[name])
    chunk = next(psim._chunks(scenario, 150, 12, seed=3))
    result = psim._fit_and_test(chunk, ["lr", "wald"], "ml")
    fitted = np.flatnonzero(~result["separated"])  # separated ones: the next test
    assert len(fitted) >= 10
    for b in fitted:
        keep = chunk.keep[b]
        lr, wald = _statsmodels_p(chunk.X[b][keep], chunk.y[b][keep])
        assert result["n_analysed"][b] == keep.sum()
        assert abs(result["p_lr"][b] - lr) < 1e-6
        assert abs(result["p_wald"][b] - wald) < 1e-6
    if "missing" in name:
        assert len(set(result["n_analysed"])) > 1


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_newton_raphson_tier_equals_the_engine_tier(name):
    """The two tiers of fits agree study by study on 300 studies: the vectorised
    Newton-Raphson (most studies) and engine.batch_fit on the packed design (the rest, and
    every study before it)."""
    scenario = ps.power_scenario(**SCENARIOS[name])
    chunk = next(psim._chunks(scenario, 120, 300, seed=5))
    fast = psim._fit_and_test(chunk, ["lr", "wald"], "ml")
    slow = psim._fit_and_test_packed(chunk, ["lr", "wald"], "ml")
    for key in ("separated", "n_analysed", "events"):
        np.testing.assert_array_equal(fast[key], slow[key])
    for test in ("lr", "wald"):
        np.testing.assert_allclose(fast[f"p_{test}"], slow[f"p_{test}"], rtol=0, atol=1e-6)


def test_both_tiers_give_the_same_cluster_robust_p_values_with_two_knees():
    """The CR1 Wald test of two-knee studies: the vectorised tier and the packed engine tier
    (one shared sandwich) agree study by study where the fit exists."""
    scenario = ps.power_scenario(
        cohort={"subgroup": "military"}, factor="knee_ext_strength_nmkg", knees=True
    )
    chunk = next(psim._chunks(scenario, 120, 100, seed=7))
    fast = psim._fit_and_test(chunk, ["wald"], "ml")
    slow = psim._fit_and_test_packed(chunk, ["wald"], "ml")
    fitted = ~fast["separated"]
    assert fitted.sum() >= 90
    np.testing.assert_allclose(fast["p_wald"][fitted], slow["p_wald"][fitted], rtol=0, atol=1e-6)


def test_separated_studies_are_tested_as_glm_tests_them():
    """Studies where only sex separates (no female case): the factor's LR and Wald p-values
    equal statsmodels' (which, as glm, stops once the likelihood no longer rises)."""
    scenario = ps.power_scenario(
        cohort={"subgroup": "military", "missing": 0.1},
        factor="knee_ext_strength_nmkg",
        adjust=["sex"],
    )
    chunk = next(psim._chunks(scenario, 80, 300, seed=1))
    result = psim._fit_and_test(chunk, ["lr", "wald"], "ml")
    checked = 0
    for b in np.flatnonzero(result["separated"]):
        keep = chunk.keep[b]
        X, y = chunk.X[b][keep], chunk.y[b][keep]
        if y[X[:, 2] > 0].sum() > 0:  # sex is centred: females have X[:, 2] > 0
            continue  # separated otherwise; statsmodels may stop short of the supremum
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsmodels' perfect-separation warnings
            lr, wald = _statsmodels_p(X, y, converge=False)
        assert abs(result["p_lr"][b] - lr) < 1e-6
        assert abs(result["p_wald"][b] - wald) < 1e-6
        checked += 1
    assert checked >= 3


def test_cluster_robust_wald_equals_statsmodels_cluster_covariance():
    """Two knees per runner: CR1 (statsmodels cov_type='cluster', fit_logistic's choice from
    50 clusters) on the same studies, to 1e-6."""
    scenario = ps.power_scenario(
        cohort={"subgroup": "military", "missing": 0.05},
        factor="knee_ext_strength_nmkg",
        adjust=["sex"],
        knees=True,
    )
    chunk = next(psim._chunks(scenario, 120, 6, seed=2))
    result = psim._fit_and_test(chunk, ["wald"], "ml")
    for b in range(6):
        keep = chunk.keep[b]
        fit = sm.Logit(chunk.y[b][keep], chunk.X[b][keep]).fit(
            disp=0, method="newton", cov_type="cluster", cov_kwds={"groups": chunk.cluster[b][keep]}
        )
        assert abs(result["p_wald"][b] - fit.pvalues[1]) < 1e-6
        assert result["n_analysed"][b] == len(np.unique(chunk.cluster[b][keep]))


def test_batched_firth_tests_equal_the_engines_single_fits():
    """Firth: penalised LR (penalty of the full design, as logistf) and Wald, batched, equal
    engine.newton + engine.lr_statistic one study at a time (validated against logistf)."""
    scenario = ps.power_scenario(2.0, scale="or_per_sd", incidence=0.1, r2_other=0.3)
    chunk = next(psim._chunks(scenario, 60, 5, seed=4))
    result = psim._fit_and_test(chunk, ["lr", "wald"], "firth")
    assert result["firth"].all()
    for b in range(5):
        X, y = chunk.X[b], chunk.y[b]
        fit = engine.newton(X, y, firth=True)
        _, p_lr = engine.lr_statistic(X, y, None, fit, 1, firth=True)
        p_wald = stats.chi2.sf(fit.beta[1] ** 2 / fit.cov[1, 1], 1)
        assert abs(result["p_lr"][b] - p_lr) < 1e-6
        assert abs(result["p_wald"][b] - p_wald) < 1e-6


@pytest.fixture(scope="module")
def agreement() -> pd.DataFrame:
    """simulate_power on each R scenario, both tests, and the standardised gap to R:
    z = (ours - R) / SE, SE = sqrt(p (1 - p) / n_sim + se_R^2) with R's power p, n_sim =
    200,000 / n within [100, 2,000] (combined SE at most 0.05 at n = 2,000, 0.023 at n = 400
    and 0.012 for n <= 100)."""
    rows = []
    for ref in REF["scenarios"]:
        scenario = ps.power_scenario(
            ref["effect"],
            scale=ref["scale"],
            incidence=ref["incidence"],
            r2_other=ref["r2_other"],
            exposed=ref["exposed"],
        )
        n_sim = int(min(2000, max(100, ROWS // ref["n"])))
        table = ps.simulate_power(scenario, ref["n"], n_sim=n_sim, test=["lr", "wald"], seed=13)
        for row in table.itertuples():
            p_r, se_r = ref[f"power_{row.test}"], ref[f"mc_se_{row.test}"]
            se = math.sqrt(p_r * (1 - p_r) / n_sim + se_r**2)
            rows.append(
                {
                    "id": ref["id"],
                    "test": row.test,
                    "ours": row.power,
                    "r": p_r,
                    "se": se,
                    "z": (row.power - p_r) / se,
                    "share_failed": row.share_failed,
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("ref", REF["scenarios"], ids=[s["id"] for s in REF["scenarios"]])
def test_simulate_power_agrees_with_the_r_reference(agreement, ref):
    """Both tests within Z combined Monte Carlo SEs of R's glm simulation (10,000 studies per
    scenario); Z = 3.71 keeps the chance that any of the 48 comparisons fails by chance to 1%
    (Bonferroni)."""
    mine = agreement[agreement["id"] == ref["id"]]
    assert len(mine) == 2
    assert (mine["z"].abs() < Z).all(), mine.to_dict("records")
    assert mine["share_failed"].max() <= 0.02  # studies without cases, as in R (no test)


def test_simulate_power_has_no_systematic_gap_to_the_r_reference(agreement):
    """Across the 24 scenarios the standardised gaps behave as noise: their mean per test is
    within 3.5 SE of 0 (SE 1/sqrt(24)), and their sum of squares below the 99.9% point of
    chi-square(48) (LR and Wald of one scenario are correlated, which only makes this
    conservative check looser)."""
    for _, z in agreement.groupby("test")["z"]:
        assert abs(z.mean()) < 3.5 / math.sqrt(len(z))
    assert (agreement["z"] ** 2).sum() < stats.chi2.ppf(0.999, len(agreement))


@pytest.mark.parametrize("test", ["lr", "wald"])
def test_type_one_error_is_near_alpha(test):
    """No effect (SMD 0), n = 150, 10% incidence: rejection rate within 3.5 binomial SEs of
    alpha = 0.05 over 3,000 studies (SE 0.004)."""
    scenario = ps.power_scenario(0.0, scale="smd", incidence=0.1, r2_other=0.2)
    row = ps.simulate_power(scenario, 150, n_sim=3000, test=test, seed=5).iloc[0]
    assert abs(row["power"] - 0.05) < 3.5 * math.sqrt(0.05 * 0.95 / 3000)


def test_type_one_error_of_the_cluster_robust_test_with_two_knees():
    scenario = ps.power_scenario(
        cohort={"subgroup": "military", "odds_ratios": {"knee_ext_strength_nmkg": 1.0}},
        factor="knee_ext_strength_nmkg",
        knees=True,
    )
    row = ps.simulate_power(scenario, 150, n_sim=1500, test="wald", seed=6).iloc[0]
    assert abs(row["power"] - 0.05) < 3.5 * math.sqrt(0.05 * 0.95 / 1500)


def test_a_vector_of_n_gives_a_power_curve_with_its_monte_carlo_se():
    # exposed as power_logistic reports it for a continuous factor (NaN) is no exposure
    scenario = ps.power_scenario(-0.69, scale="smd", incidence=0.11, exposed=float("nan"))
    assert scenario.exposed is None
    curve = ps.simulate_power(scenario, [60, 120, 240], n_sim=400, seed=7)
    assert list(curve.columns[:8]) == [
        "n",
        "power",
        "mc_se",
        "n_sim",
        "share_separated",
        "share_firth",
        "test",
        "method",
    ]
    assert curve["n"].tolist() == [60, 120, 240]
    assert curve["power"].is_monotonic_increasing
    assert curve["power"].iloc[-1] > 0.8
    assert np.allclose(curve["mc_se"], np.sqrt(curve["power"] * (1 - curve["power"]) / 400))
    assert np.allclose(curve["events"], 0.11 * curve["n"], rtol=0.1)
    # each n has its own stream: the 120 row does not depend on the other sizes asked for
    alone = ps.simulate_power(scenario, 120, n_sim=400, seed=7)
    pd.testing.assert_series_equal(alone.iloc[0], curve.iloc[1], check_names=False)


def test_auto_falls_back_to_firth_for_separated_studies_and_reports_the_shares():
    """A rare binary exposure with few cases: many studies have no exposed case."""
    scenario = ps.power_scenario(3.0, scale="or_binary", incidence=0.05, exposed=0.1)
    ml, auto, firth = (
        ps.simulate_power(scenario, 100, n_sim=200, method=m, seed=8).iloc[0]
        for m in ("ml", "auto", "firth")
    )
    assert 0.2 < ml["share_separated"] < 0.8
    assert auto["share_firth"] == auto["share_separated"] == ml["share_separated"]
    assert ml["share_firth"] == 0
    assert firth["share_firth"] == 1
    # study by study: auto tests the separated ones as Firth does, the others as ML does
    chunk = next(psim._chunks(scenario, 100, 60, seed=8))
    tests = ["lr", "wald"]
    by = {m: psim._fit_and_test(chunk, tests, m) for m in ("ml", "auto", "firth")}
    separated = by["ml"]["separated"]
    assert separated.any()
    assert not separated.all()
    for test in tests:
        p = {m: by[m][f"p_{test}"] for m in by}
        # the same Firth fits, batched with other studies: equal up to rounding
        np.testing.assert_allclose(p["auto"][separated], p["firth"][separated], rtol=1e-10)
        np.testing.assert_array_equal(p["auto"][~separated], p["ml"][~separated])


def test_cohort_scenarios_follow_simulate_cohort():
    """The true odds ratio comes from simulate_cohort's defaults (Neal et al.'s SMD -0.69 in
    military recruits), the realised incidence is the subgroup's, missing covariates shrink
    the analysed n, and the data are labelled SYNTHETIC."""
    scenario = ps.power_scenario(
        cohort={"subgroup": "military", "missing": 0.2},
        factor="knee_ext_strength_nmkg",
        adjust=["sex"],
    )
    assert scenario.log_or["military"] == pytest.approx(-0.69 / 0.6)
    data = scenario.simulate(200, n_sim=3, seed=9)
    assert (data["data_source"] == "SYNTHETIC").all()
    assert data.groupby("study").size().tolist() == [200] * 3
    assert 0.7 < data["analysed"].mean() < 0.9  # 20% missing of the factor, none of sex
    assert data[ps.OUTCOME].mean() == pytest.approx(0.11, abs=0.03)
    mixed = ps.power_scenario(
        cohort=[
            {"subgroup": "military", "share": 0.6},
            {"subgroup": "adolescent", "share": 0.4, "incidence": 0.2},
        ],
        factor="hip_abd_strength_nkg",
        adjust=["subgroup"],
    )
    assert mixed.columns == ("hip_abd_strength_nkg", "subgroup_adolescent")
    assert mixed.simulate(50, seed=10)["subgroup_adolescent"].sum() == 20
    row = ps.simulate_power(mixed, 300, n_sim=200, seed=10).iloc[0]
    assert row["events"] == pytest.approx(180 * 0.11 + 120 * 0.2, rel=0.1)
    assert "adolescent (40%" in mixed.describe()


COHORTS = [
    {"subgroup": "military", "missing": 0.1},
    {"subgroup": "adolescent"},
    {
        "subgroup": "recreational",
        "incidence": 0.2,
        "odds_ratios": {"sex": 2.0, "bmi": 1.1, "weekly_km": 1.02},
        "missing": 0.3,
    },
]


@pytest.mark.parametrize("settings", COHORTS, ids=[c["subgroup"] for c in COHORTS])
def test_cohort_draws_copy_simulate_cohort_exactly(settings):
    """simulate_power draws cohort runners as arrays (simulate_cohort's DataFrame costs
    several times the draws); drawing every covariate, the arrays equal simulate_cohort's
    columns, outcome and missing values for the same generator."""
    part = ps.power_scenario(cohort=settings, factor="bmi").parts[0]
    frame = ps.simulate_cohort(3000, seed=np.random.default_rng(5), **settings)
    columns, y = psim._runners(part, 3000, np.random.default_rng(5), [], every=True)
    for name in [*EFFECT_FACTORS, "height_cm", "mass_kg"]:
        expected = frame[name] == "F" if name == "sex" else frame[name]
        np.testing.assert_array_equal(columns[name], expected.to_numpy(float), err_msg=name)
    np.testing.assert_array_equal(y, frame[ps.OUTCOME].to_numpy(float))


def test_cohort_draws_of_what_is_analysed_keep_the_distribution():
    """Drawing only the analysed covariates (one normal per runner with its sex's mean and
    SD, not one per sex) gives the same distribution: means by sex within 4 SEs, SDs within
    5 (relative SE about 1 / sqrt(n)) of the copy of simulate_cohort that draws everything,
    200,000 runners each."""
    part = ps.power_scenario(
        cohort={"subgroup": "adolescent"}, factor="knee_ext_strength_nmkg"
    ).parts[0]
    names = ["knee_ext_strength_nmkg", "bmi", "q_angle_deg"]
    n = 200_000
    fast, _ = psim._runners(part, n, np.random.default_rng(1), names)
    full, _ = psim._runners(part, n, np.random.default_rng(2), names, every=True)
    assert fast["sex"].mean() == pytest.approx(full["sex"].mean(), abs=4 * 0.5 / math.sqrt(n))
    for name in names:
        for sex in (0.0, 1.0):
            a, b = fast[name][fast["sex"] == sex], full[name][full["sex"] == sex]
            se = math.sqrt(a.var() / len(a) + b.var() / len(b))
            assert abs(a.mean() - b.mean()) < 4 * se, (name, sex)
            assert a.std() == pytest.approx(b.std(), rel=5 / math.sqrt(min(len(a), len(b))))


def test_complete_cases_are_binomial_with_the_missing_share():
    """Each measured covariate missing at random with probability 0.2: a runner analysed
    with bmi (height and mass) and the factor is complete with probability 0.8^3, so a
    study's complete cases are Binomial(200, 0.8^3); the runners being exchangeable, they
    are its first runners."""
    scenario = ps.power_scenario(
        cohort={"subgroup": "military", "missing": 0.2},
        factor="knee_ext_strength_nmkg",
        adjust=["sex", "bmi"],
    )
    chunk = next(psim._chunks(scenario, 200, 400, seed=2))
    assert (np.diff(chunk.keep.astype(int), axis=1) <= 0).all()  # complete cases come first
    kept = chunk.keep.sum(axis=1)
    assert kept.mean() == pytest.approx(200 * 0.8**3, abs=4 * math.sqrt(200 * 0.51 * 0.49 / 400))
    assert kept.var() == pytest.approx(200 * 0.8**3 * (1 - 0.8**3), rel=0.25)


def test_regular_information_agrees_with_the_engines_singularity_check():
    rng = np.random.default_rng(0)
    for p in (2, 3, 5):
        a = rng.standard_normal((300, p, p))
        info = a @ a.transpose(0, 2, 1)
        info[:100, -1] = info[:100, 0]  # singular
        info[:100, :, -1] = info[:100, :, 0]
        info[100:110] = 0.0
        info[110:115, 0, 0] = np.nan
        np.testing.assert_array_equal(psim._regular(info), ~engine._singular(info))


BAD = [
    (dict(), "either effect="),
    (dict(effect=0.5, incidence=0.1, cohort={"subgroup": "military"}), "not both"),
    (dict(effect=0.5, scale="cohen_d", incidence=0.1), "scale must be one of"),
    (dict(effect=0.5), "incidence is required"),
    (dict(effect=0.5, incidence=1.0), r"incidence must be in \(0, 1\)"),
    (dict(effect=0.0, scale="or_per_sd", incidence=0.1), "effect .an odds ratio. must be in"),
    (dict(effect=2.0, scale="or_binary", incidence=0.1), "exposed is required"),
    (dict(effect=0.5, incidence=0.1, exposed=0.3), "exposed applies only"),
    (dict(effect=0.5, incidence=0.1, r2_other=1.0), r"r2_other must be in \[0, 1\)"),
    (dict(effect=0.5, incidence=0.1, knees=True), "knees belong to cohort scenarios"),
    (dict(cohort={"subgroup": "navy"}, factor="bmi"), "cohort: subgroup must be one of"),
    (dict(cohort={"subgroup": "military", "n": 5}, factor="bmi"), "unknown keys"),
    (dict(cohort={"subgroup": "military"}, factor="height"), "factor must be one of"),
    (dict(cohort={"subgroup": "military"}, factor="bmi", adjust=["bmi"]), "must not repeat"),
    (dict(cohort={"subgroup": "military"}, factor="bmi", adjust=["subgroup"]), "one subgroup"),
    (
        dict(cohort=[{"subgroup": "military", "share": 0.5}, {"subgroup": "adolescent"}]),
        r"cohort\[1\] needs a 'share'",
    ),
    (dict(cohort={"subgroup": "military"}, factor="bmi", incidence=0.1), "belong to planning"),
    (dict(effect=1e-30, scale="or_per_sd", incidence=0.1), "effect .an odds ratio. must be in"),
    (
        dict(cohort={"subgroup": "military", "odds_ratios": {"bmi": "x"}}, factor="bmi"),
        r"cohort\['odds_ratios'\] must map factors to odds ratios > 0",
    ),
    (
        dict(cohort={"subgroup": "military", "odds_ratios": [1.2]}, factor="bmi"),
        r"cohort\['odds_ratios'\] must map factors",
    ),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD)
def test_bad_scenarios_are_refused_naming_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ps.power_scenario(**kwargs)


def test_bad_simulation_arguments_are_refused_naming_the_argument():
    s = ps.power_scenario(0.5, incidence=0.1)
    knees = ps.power_scenario(cohort={"subgroup": "military"}, factor="bmi", knees=True)
    cases = [
        (dict(scenario={"effect": 0.5}, n=100), "scenario must be a PowerScenario"),
        (dict(scenario=s, n=5), "n must be at least 10"),
        (dict(scenario=s, n=[100, 50.5]), "n must be whole numbers"),
        (dict(scenario=s, n=[]), "n is empty"),
        (dict(scenario=s, n=[100, 100, 50]), r"n lists \[100\] more than once"),
        (dict(scenario=s, n=100, n_sim=0), "n_sim must be a positive whole number"),
        (dict(scenario=s, n=100, test="score"), "test must be one of"),
        (dict(scenario=s, n=100, method="bayes"), "method must be one of"),
        (dict(scenario=s, n=100, alpha=5), r"alpha must be in \(0, 1\)"),
        (dict(scenario=s, n=100, seed=-1), "seed must be a whole number"),
        (dict(scenario=knees, n=100), "pass test='wald'"),
        (dict(scenario=knees, n=100, test="wald", method="firth"), "pass method='ml'"),
        (dict(scenario=knees, n=30, test="wald"), "at least 50 runners"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            ps.simulate_power(**kwargs)


def test_studies_without_a_complete_case_count_as_failed_not_as_an_error():
    """With nearly every value missing, most studies have no complete case: they cannot be
    tested and are counted in share_failed (no crash, no warning)."""
    import warnings

    s = ps.power_scenario(
        cohort={"subgroup": "military", "missing": 0.99}, factor="knee_ext_strength_nmkg"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ps.simulate_power(s, 50, n_sim=100, seed=1).iloc[0]
    assert out["share_failed"] > 0.9
    assert out["power"] <= 1 - out["share_failed"]
