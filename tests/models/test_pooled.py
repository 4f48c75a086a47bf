"""Pooled logistic fits on multiply imputed data (fit_logistic(imputed, ...), PooledLogisticFit,
odds_ratio_table(imputed, ...)).

Reference values: R's mice 3.15.0 (tests/models/reference/pooling_mice.R), which imputed five
completed datasets from SYNTHETIC data, fitted glm to each and pooled them; the datasets are in
reference/data/pooling_*.csv, so the whole path (fits, pooling, intervals) is compared with
``mice::pool`` and ``summary(pool(fit), conf.int = TRUE)`` at 1e-6 relative.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import pfps_stats as ps
from pfps_stats.models.pooled import INTERVALS, TEST

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "pooling_mice.json").read_text())
FORMULA = "pfp ~ x1 + x2 + x3"
TOL = {"rtol": 1e-6, "atol": 0}


@pytest.fixture(scope="module")
def imputed() -> ps.ImputedCohort:
    frames = [pd.read_csv(REF / "data" / name) for name in R["data"]["complete"]]
    original = pd.read_csv(REF / "data" / R["data"]["incomplete"])
    return ps.ImputedCohort.from_datasets(frames, original=original)


@pytest.fixture(scope="module")
def pooled_fit(imputed) -> ps.PooledLogisticFit:
    return ps.fit_logistic(imputed, FORMULA)


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        return func(*args, **kwargs)


# -- against R's mice ---------------------------------------------------------------------------
def test_pooled_fit_matches_mice_pool(pooled_fit):
    got = pooled_fit.pooled()
    ref = pd.DataFrame(R["pooled"]["rows"])
    assert got["term"].tolist() == ["Intercept", "x1", "x2", "x3"]
    assert ref["term"].tolist() == ["(Intercept)", "x1", "x2", "x3"]
    for column in ["estimate", "ubar", "b", "t", "df", "riv", "lambda", "fmi", "dfcom"]:
        assert_allclose(got[column], ref[column], **TOL, err_msg=column)
    assert (got["m"] == 5).all()


def test_pooled_intervals_and_p_values_match_mice_summary(pooled_fit):
    ref = pd.DataFrame(R["summary"])
    table = pooled_fit.odds_ratios(intercept=True)
    assert_allclose(np.log(table["odds_ratio"]), ref["estimate"], **TOL)
    assert_allclose(np.log(table["ci_low"]), ref["conf_low"], **TOL)
    assert_allclose(np.log(table["ci_high"]), ref["conf_high"], **TOL)
    assert_allclose(table["p_value"], ref["p_value"], **TOL)
    assert_allclose(table["df"], ref["df"], **TOL)
    assert_allclose(pooled_fit.pooled()["se"], ref["std_error"], **TOL)
    assert_allclose(pooled_fit.pooled()["statistic"], ref["statistic"], **TOL)
    assert (table["test"] == TEST).all()
    assert table.attrs["intervals"] == INTERVALS


def test_level_and_per_scale_the_pooled_interval(pooled_fit):
    wide = pooled_fit.odds_ratios(level=0.99).set_index("term")
    narrow = pooled_fit.odds_ratios().set_index("term")
    assert (wide["ci_low"] < narrow["ci_low"]).all()
    assert (wide["ci_high"] > narrow["ci_high"]).all()
    per2 = pooled_fit.odds_ratios(per={"x1": 2}).set_index("term")
    assert_allclose(per2.loc["x1", "odds_ratio"], narrow.loc["x1", "odds_ratio"] ** 2)
    assert_allclose(per2.loc["x1", "ci_high"], narrow.loc["x1", "ci_high"] ** 2)
    assert per2.loc["x1", "label"] != narrow.loc["x1", "label"]
    sd = pooled_fit.odds_ratios(per="sd").set_index("term")
    mean_sd = np.mean([fit.design.data["x1"].std() for fit in pooled_fit.fits])
    assert_allclose(sd.loc["x1", "increment"], mean_sd)


def test_what_does_not_pool_says_so(pooled_fit):
    for name in ("design", "predict_proba", "performance"):
        with pytest.raises(AttributeError, match="does not pool|do not pool"):
            getattr(pooled_fit, name)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        pooled_fit.nonsense  # noqa: B018


def test_profile_intervals_are_refused(pooled_fit):
    with pytest.raises(ps.ModelError, match="do not pool"):
        pooled_fit.odds_ratios(ci="profile")


def test_pooled_covariance_is_within_plus_between(pooled_fit):
    cov = pooled_fit.cov_.to_numpy()
    assert_allclose(np.sqrt(np.diag(cov)), pooled_fit.bse_.to_numpy(), rtol=1e-12)
    params = np.array([fit.params_.to_numpy() for fit in pooled_fit.fits])
    assert_allclose(pooled_fit.params_.to_numpy(), params.mean(axis=0), rtol=1e-12)
    assert cov.shape == (4, 4)
    assert np.allclose(cov, cov.T)


def test_a_pooled_fit_is_immutable_and_prints(pooled_fit):
    with pytest.raises(AttributeError, match="immutable"):
        pooled_fit.m = 3
    text = repr(pooled_fit)
    assert "pooled over m = 5 imputed datasets" in text
    assert "Barnard-Rubin" in text
    page = pooled_fit._repr_html_()
    assert "<table" in page
    assert "Odds ratio (95% CI)" in page
    assert "Fraction of missing information" in page


# -- methods ------------------------------------------------------------------------------------
def test_firth_fits_pool_like_any_other(imputed):
    fit = _quiet(ps.fit_logistic, imputed, FORMULA, method="firth")
    assert fit.method == "firth"
    assert all(f.method == "firth" for f in fit.fits)
    expected = ps.pool_coefficients(
        pd.DataFrame([f.params_ for f in fit.fits]), [f.cov_ for f in fit.fits], dfcom=196
    )
    assert_allclose(fit.pooled()["estimate"], expected["estimate"], rtol=1e-12)
    assert_allclose(fit.pooled()["df"], expected["df"], rtol=1e-12)
    ml = ps.fit_logistic(imputed, FORMULA)
    # Firth shrinks toward zero
    assert (fit.params_.abs().iloc[1:] < ml.params_.abs().iloc[1:]).all()


def _separated_in_one() -> ps.ImputedCohort:
    """SYNTHETIC: x separates pfp in dataset 1 (the imputed value is on the cases' side of
    the controls) and not in dataset 2."""
    x = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, np.nan, 2.0]
    y = [0] * 8 + [0, 1]
    x += [1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.1]
    y += [1] * 10
    original = pd.DataFrame({"pfp": y, "x": x})
    one = original.fillna({"x": 0.9})  # x < 1 exactly when pfp = 0, but for row 9
    two = original.fillna({"x": 2.2})
    return ps.ImputedCohort.from_datasets([one, two], original=original)


def test_auto_uses_firth_in_every_dataset_when_any_needs_it():
    imputed = _separated_in_one()
    with pytest.warns(ps.ModelWarning) as caught:
        fit = ps.fit_logistic(imputed, "pfp ~ x", method="auto")
    assert {f.method for f in fit.fits} == {"firth"}
    assert any("so every dataset was fitted with it" in str(w.message) for w in caught)
    with pytest.raises(ps.ModelError, match="completed dataset 1 could not be fitted"):
        _quiet(ps.fit_logistic, _separated_in_one_ml(), "pfp ~ x")


def _separated_in_one_ml() -> ps.ImputedCohort:
    """Dataset 1 perfectly separated (every case above every control)."""
    original = pd.DataFrame(
        {"pfp": [0, 0, 0, 0, 1, 1, 1, 1], "x": [0.1, 0.2, np.nan, 0.4, 1.1, 1.2, 1.25, 1.4]}
    )
    return ps.ImputedCohort.from_datasets(
        [original.fillna({"x": 0.5}), original.fillna({"x": 1.3})], original=original
    )


def test_notes_seen_in_some_datasets_say_how_many():
    imputed = _separated_in_one()
    fit = _quiet(ps.fit_logistic, imputed, "pfp ~ x", method="firth")
    assert any(note.startswith("events per variable") for note in fit.notes)
    assert fit.n_obs == 20
    assert fit.n_events == 11


def test_clustered_fits_pool_with_their_small_sample_df():
    rng = np.random.default_rng(3)
    n_runners = 30
    runner = np.repeat(np.arange(n_runners), 2)
    x = rng.normal(size=2 * n_runners) + np.repeat(rng.normal(size=n_runners), 2)
    y = rng.binomial(1, 1 / (1 + np.exp(-(0.3 + 0.8 * x))))
    original = pd.DataFrame(
        {"pfp": y, "x": np.where(rng.random(len(x)) < 0.2, np.nan, x), "id": runner}
    )
    frames = [original.fillna({"x": float(v)}) for v in (-0.5, 0.0, 0.5)]
    imputed = ps.ImputedCohort.from_datasets(frames, original=original)
    fit = _quiet(ps.fit_logistic, imputed, "pfp ~ x", cluster="id")
    assert fit.cluster["n_clusters"] == 30
    assert fit.cluster["column"] == "id"
    expected_dfcom = np.mean([f.cluster["df"] for f in fit.fits], axis=0)
    assert_allclose(fit.dfcom.to_numpy(), expected_dfcom, rtol=1e-12)
    assert (fit.pooled()["df"] <= fit.dfcom.to_numpy() + 1e-9).all()
    direct = ps.pool_coefficients(
        pd.DataFrame([f.params_ for f in fit.fits]), [f.cov_ for f in fit.fits], fit.dfcom
    )
    assert_allclose(fit.pooled()["se"], direct["se"], rtol=1e-12)
    gee = _quiet(ps.fit_logistic, imputed, "pfp ~ x", cluster="id", cluster_method="gee")
    assert (gee.dfcom == 29).all()


# -- bad input ----------------------------------------------------------------------------------
def test_a_level_seen_only_in_imputed_rows_is_refused():
    original = pd.DataFrame(
        {"pfp": [0, 1, 0, 1, 0, 1, 1, 0], "sex": ["F", "M", "F", "M", None, "F", "M", "F"]}
    )
    frames = [original.fillna({"sex": "X"}), original.fillna({"sex": "X"})]
    imputed = ps.ImputedCohort.from_datasets(
        frames, original=original, settings={"variables": ["sex"]}
    )
    with pytest.raises(ps.ModelError, match="'X' of 'sex' occurs only among imputed values"):
        _quiet(ps.fit_logistic, imputed, "pfp ~ C(sex)")


def test_datasets_with_other_model_columns_are_refused():
    """A numeric code entered as a category (C(grade)), imputed elsewhere with a code that was
    never observed, in one dataset only."""
    original = pd.DataFrame(
        {"pfp": [0, 1, 0, 1, 0, 1, 1, 0, 1, 0], "grade": [1, 2, 1, 2, None, 1, 2, 1, None, 2]}
    )
    frames = [original.fillna({"grade": 3}), original.fillna({"grade": 1})]
    imputed = ps.ImputedCohort.from_datasets(frames, original=original)
    with pytest.raises(
        ps.ModelError,
        match=r"other model columns than dataset 1 \(extra: none; lacking: \['C\(grade\)\[T.3.0\]'\]",
    ):
        _quiet(ps.fit_logistic, imputed, "pfp ~ C(grade)")


def test_nothing_imputed_is_fitted_once():
    complete = ps.simulate_cohort(120, seed=4)
    with pytest.warns(ps.ModelWarning, match="nothing to impute"):
        once = ps.impute(complete, seed=1)
    with pytest.warns(ps.ModelWarning) as caught:
        fit = ps.fit_logistic(once, "pfp ~ bmi")
    assert any("fitted once" in str(w.message) for w in caught)
    assert isinstance(fit, ps.LogisticFit)
    assert_allclose(fit.params_, _quiet(ps.fit_logistic, complete, "pfp ~ bmi").params_)
    table = _quiet(ps.odds_ratio_table, once, "pfp", ["bmi"])
    assert table.attrs["intervals"] == "profile likelihood"
    assert table.attrs["imputation"]["m"] == 1


# -- the odds-ratio table -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_imputed():
    cohort = ps.simulate_cohort(400, seed=11)
    rng = np.random.default_rng(12)
    holes = cohort.copy()
    older = holes["age_years"] > holes["age_years"].median()
    drop = rng.random(len(holes)) < np.where(older, 0.3, 0.1)
    holes.loc[drop, "hip_abd_strength_nkg"] = np.nan
    holes.loc[rng.random(len(holes)) < 0.05, "sex"] = None
    return holes, _quiet(ps.impute, holes, m=5, max_iter=3, seed=5)


def test_odds_ratio_table_pools_each_model(demo_imputed):
    holes, imputed = demo_imputed
    factors = ["hip_abd_strength_nkg", "bmi", "sex"]
    table = _quiet(ps.odds_ratio_table, imputed, "pfp", factors)
    complete = _quiet(ps.odds_ratio_table, holes, "pfp", factors)
    assert table.columns.tolist() == complete.columns.tolist()
    # counts are of observed values: the same as the complete-case table's
    assert table["n"].tolist() == complete["n"].tolist()
    assert table["events"].tolist() == complete["events"].tolist()
    assert table.attrs["intervals"] == INTERVALS
    assert table.attrs["imputation"]["m"] == 5
    assert table.attrs["multivariable"]["n"] == len(holes)
    assert complete.attrs["multivariable"]["n"] < len(holes)
    multi = _quiet(ps.fit_logistic, imputed, "pfp ~ hip_abd_strength_nkg + bmi + C(sex)")
    expected = multi.odds_ratios(per="clinical").set_index("term")
    row = table.set_index("factor").loc["hip_abd_strength_nkg"]
    assert_allclose(row["or_multi"], expected.loc["hip_abd_strength_nkg", "odds_ratio"])
    assert_allclose(row["ci_low_multi"], expected.loc["hip_abd_strength_nkg", "ci_low"])
    uni = _quiet(ps.fit_logistic, imputed, "pfp ~ hip_abd_strength_nkg")
    assert_allclose(row["p_uni"], uni.odds_ratios().loc[0, "p_value"])
    # a reference level stays at 1 with no interval
    reference = table[(table["factor"] == "sex") & table["label"].str.contains("reference")]
    assert len(reference) == 1
    assert reference["ci_low_multi"].isna().all()
