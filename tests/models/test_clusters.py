"""Clustered logistic fits with few clusters: CR2 (Bell-McCaffrey) covariance and Satterthwaite
degrees of freedom against clubSandwich, t(G - 1) for GEE, one cluster refused, and the
coverage of the intervals with 6 clusters.

Reference values: tests/models/reference/clubsandwich.R (clubSandwich 0.5.8), stored in
clubsandwich.json; R is not needed to run these tests.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import special, stats

import pfps_stats as ps

REF = Path(__file__).parent / "reference"
CS = json.loads((REF / "clubsandwich.json").read_text())
CASES = ["knees6", "knees12", "binary"]


def _data(case: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / CS[case]["file"])


def _fit(case: str, **kwargs):
    """Fit a reference case; it must warn that there are few clusters (and may warn of EPV)."""
    ref = CS[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = ps.fit_logistic(_data(case), ref["formula"], cluster=ref["cluster"], **kwargs)
    messages = [str(w.message) for w in caught if issubclass(w.category, ps.ModelWarning)]
    assert any(f"only {ref['n_clusters']} clusters" in m for m in messages), messages
    return fit


@pytest.mark.parametrize("case", CASES)
def test_cr2_and_satterthwaite_df_match_clubsandwich(case):
    ref = CS[case]
    fit = _fit(case)
    assert fit.n_obs == ref["n"]
    assert fit.cluster["n_clusters"] == ref["n_clusters"]
    assert fit.cluster["covariance"] == "CR2"
    assert fit.cluster["df_method"] == "Satterthwaite"
    assert_allclose(fit.params_.to_numpy(), ref["coef"], rtol=1e-7, atol=1e-9)
    # vcovCR(type = "CR2"): the whole matrix, to 1e-6 relative
    assert_allclose(fit.cov_.to_numpy(), ref["vcov_cr2"], rtol=1e-6, atol=1e-12)
    assert_allclose(fit.bse_.to_numpy(), ref["se_cr2"], rtol=1e-6)
    # coef_test(test = "Satterthwaite"): df per coefficient and their t-test p-values
    assert_allclose(fit.cluster["df"], ref["df_satterthwaite"], rtol=1e-5)
    table = fit.odds_ratios(ci="wald", intercept=True)
    assert_allclose(table["df"], ref["df_satterthwaite"], rtol=1e-5)
    assert_allclose(table["p_value"], ref["p_satterthwaite"], rtol=1e-5)
    assert (table["test"] == "Wald (CR2, Satterthwaite df)").all()
    # conf_int(test = "Satterthwaite"): t quantiles with those df, at two levels
    assert_allclose(np.log(table["ci_low"]), ref["ci_low"], rtol=1e-5)
    assert_allclose(np.log(table["ci_high"]), ref["ci_high"], rtol=1e-5)
    t90 = fit.odds_ratios(ci="wald", intercept=True, level=0.90)
    assert_allclose(np.log(t90["ci_low"]), ref["ci90_low"], rtol=1e-5)
    assert_allclose(np.log(t90["ci_high"]), ref["ci90_high"], rtol=1e-5)
    assert t90.attrs["level"] == 0.90


@pytest.mark.parametrize("case", CASES)
def test_prediction_intervals_use_the_satterthwaite_df_of_their_contrast(case):
    """linear_contrast(test = "Satterthwaite"): SE and df of x'beta for one new row."""
    ref = CS[case]
    fit = _fit(case)
    contrast = np.asarray(ref["contrast"], float)
    # the robust module on its own: df of any contrast
    assert_allclose(fit.cluster["satterthwaite"].df(contrast), ref["contrast_df"], rtol=1e-5)
    names = [c for c in fit.columns if c != "Intercept"]
    new = pd.DataFrame([dict(zip(names, contrast[1:], strict=True))])
    pred = fit.predict_proba(new).iloc[0]
    eta = contrast @ np.asarray(ref["coef"])
    half = stats.t.ppf(0.975, ref["contrast_df"]) * ref["contrast_se"]
    assert pred["prob"] == pytest.approx(special.expit(eta), rel=1e-7)
    assert pred["ci_low"] == pytest.approx(special.expit(eta - half), rel=1e-5)
    assert pred["ci_high"] == pytest.approx(special.expit(eta + half), rel=1e-5)


def test_cr2_on_arrays_matches_clubsandwich():
    """robust.cr2_logistic is pure numpy: arrays in, covariance and df out."""
    from pfps_stats.models import robust

    ref = CS["binary"]
    data = _data("binary")
    X = np.column_stack([np.ones(len(data)), data["exposed"], data["load"]])
    beta = np.asarray(ref["coef"])
    groups = pd.factorize(data["site"])[0]
    out = robust.cr2_logistic(X, data["pfp"].to_numpy(float), special.expit(X @ beta), groups)
    assert_allclose(out.vcov, ref["vcov_cr2"], rtol=1e-6, atol=1e-12)
    assert_allclose(out.df(np.eye(3)), ref["df_satterthwaite"], rtol=1e-5)
    assert out.n_clusters == 8
    # the same rows in another order give the same answer
    order = np.random.default_rng(1).permutation(len(data))
    shuffled = robust.cr2_logistic(
        X[order], data["pfp"].to_numpy(float)[order], special.expit(X[order] @ beta), groups[order]
    )
    assert_allclose(shuffled.vcov, out.vcov, rtol=1e-10)
    assert_allclose(shuffled.df(np.eye(3)), out.df(np.eye(3)), rtol=1e-10)


def test_few_clusters_warn_naming_the_method():
    from pfps_stats.models.logistic import FEW_CLUSTERS

    ref = CS["knees6"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = ps.fit_logistic(_data("knees6"), ref["formula"], cluster="runner_id")
    text = " ".join(str(w.message) for w in caught if issubclass(w.category, ps.ModelWarning))
    assert f"only 6 clusters of runner_id (fewer than {FEW_CLUSTERS})" in text
    assert "CR2 (Bell-McCaffrey)" in text
    assert "Satterthwaite" in text
    assert any("only 6 clusters" in note for note in fit.notes)
    assert "CR2" in fit._header()
    assert "Satterthwaite" in fit._header()
    assert "df" in fit.summary_frame().columns
    assert "Satterthwaite" in repr(fit)
    with pytest.raises(TypeError):
        fit.cluster["df"] = None
    with pytest.raises(ValueError, match="read-only"):
        fit.cluster["df"][0] = 99.0


def test_gee_with_few_clusters_uses_t_with_g_minus_1_df():
    ref = CS["knees6"]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "events per variable", ps.ModelWarning)
        with pytest.warns(ps.ModelWarning, match=r"only 6 clusters.*t\(G - 1\) = t\(5\)"):
            fit = ps.fit_logistic(
                _data("knees6"), ref["formula"], cluster="runner_id", cluster_method="gee"
            )
    assert fit.cluster["df_method"] == "t(G - 1)"
    table = fit.odds_ratios(ci="wald", intercept=True)
    assert (table["df"] == 5).all()
    assert (table["test"] == "Wald (GEE robust, t(G - 1) df)").all()
    z = fit.params_.to_numpy() / fit.bse_.to_numpy()
    assert_allclose(table["p_value"], 2 * stats.t.sf(np.abs(z), 5), rtol=1e-12)
    half = stats.t.ppf(0.975, 5) * fit.bse_.to_numpy()
    assert_allclose(np.log(table["ci_high"]), fit.params_.to_numpy() + half, rtol=1e-12)


def test_many_clusters_keep_cr1_and_normal_quantiles():
    knees = pd.read_csv(REF / "data" / "knees.csv").sort_values("runner_id")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ps.ModelWarning)
        fit = ps.fit_logistic(
            knees, "pfp ~ q_angle_deg + knee_ext_strength_nmkg", cluster="runner_id"
        )
    assert fit.cluster["covariance"] == "CR1"
    assert fit.cluster["df_method"] == "normal"
    table = fit.odds_ratios(ci="wald")
    assert np.isinf(table["df"]).all()
    assert (table["test"] == "Wald (CR1, normal)").all()
    z = fit.params_.to_numpy()[1:] / fit.bse_.to_numpy()[1:]
    assert_allclose(table["p_value"], 2 * stats.norm.sf(np.abs(z)), rtol=1e-12)


@pytest.mark.parametrize("how", ["robust", "gee"])
def test_one_cluster_is_a_clear_error(how):
    data = _data("knees12").assign(team="A")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        with pytest.raises(ps.ModelError, match="clustered inference needs at least 2 clusters"):
            ps.fit_logistic(data, "pfp ~ q_angle_deg", cluster="team", cluster_method=how)


def _bridge_frailty(rng, phi: float, size: int) -> np.ndarray:
    """Random intercepts from Wang & Louis's (2003) bridge distribution: with them, the
    marginal model is exactly logistic, with coefficients phi times the conditional ones."""
    u = rng.random(size)
    return np.log(np.sin(phi * np.pi * u) / np.sin(phi * np.pi * (1 - u))) / phi


@pytest.mark.slow
def test_cr2_satterthwaite_intervals_cover_with_six_clusters():
    """6 clusters of 30 rows with a shared cluster frailty (bridge distribution, phi = 0.8,
    SD 1.36) and a covariate that is half cluster-level: 400 data sets (10-20 s).

    Measured: the 95% CR2 / Satterthwaite interval covers the true (marginal) log odds ratio
    in 94.5% of them (median df 4.4), CR1 with normal quantiles (as before) in 84.75% (the
    issue reported 85.5%). With 2000 data sets (another seed): 94.9% and 84.1%. The Monte
    Carlo SE of a coverage near 0.95 over 400 data sets is sqrt(0.95 * 0.05 / 400) = 1.1
    points, so the 0.90 bound is 4.6 SE below nominal (3.9 SE below the 94.5% measured: a
    method that good fails it with probability < 1e-4), while CR1's ~85% lies 2.8 of its own
    SE (1.8 points) below it. The seed is fixed, so the test is deterministic."""
    rng = np.random.default_rng(20240611)
    phi, beta0, beta1 = 0.8, -0.5, 0.8
    truth = phi * beta1
    reps, n_clusters, size = 400, 6, 30
    hits = {"cr2": 0, "cr1": 0}
    groups = np.repeat(np.arange(n_clusters), size)
    for _ in range(reps):
        x = np.repeat(rng.normal(0, 1, n_clusters), size) + rng.normal(0, 1, n_clusters * size)
        b = np.repeat(_bridge_frailty(rng, phi, n_clusters), size)
        y = (rng.random(n_clusters * size) < special.expit(beta0 + beta1 * x + b)).astype(int)
        data = pd.DataFrame({"y": y, "x": x, "cluster": groups})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ps.ModelWarning)
            fit = ps.fit_logistic(data, "y ~ x", cluster="cluster")
        row = fit.odds_ratios(ci="wald").iloc[0]
        hits["cr2"] += row["ci_low"] <= np.exp(truth) <= row["ci_high"]
        # CR1 (sandwich::vcovCL HC1) with normal quantiles, what was used before
        X = fit.design.X
        mu = fit.fitted_
        scores = X * (y - mu)[:, None]
        totals = np.array([scores[groups == g].sum(0) for g in range(n_clusters)])
        meat = totals.T @ totals
        bread = np.linalg.inv(X.T @ (X * (mu * (1 - mu))[:, None]))
        n, p = X.shape
        cr1 = bread @ meat @ bread * n_clusters / (n_clusters - 1) * (n - 1) / (n - p)
        se1 = np.sqrt(cr1[1, 1])
        hits["cr1"] += abs(fit.params_.iloc[1] - truth) <= 1.959964 * se1
    coverage = {k: v / reps for k, v in hits.items()}
    assert coverage["cr2"] >= 0.90, coverage
    assert coverage["cr1"] < coverage["cr2"], coverage
