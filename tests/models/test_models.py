"""fit_logistic and friends: the API, bad input, and CI coverage on simulated cohorts."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pfps_stats as ps


@pytest.fixture(scope="module")
def cohort():
    return ps.simulate_cohort(1500, subgroup="military", seed=4)


def _quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        return ps.fit_logistic(*args, **kwargs)


def test_missing_values_are_dropped_with_a_count(cohort):
    data = cohort.copy()
    data.loc[data.index[:7], "bmi"] = np.nan
    data.loc[data.index[5:9], "q_angle_deg"] = np.nan
    with pytest.warns(ps.ModelWarning, match=r"dropped 9 of 1500 rows .*bmi: 7, q_angle_deg: 4"):
        fit = ps.fit_logistic(data, "pfp ~ bmi + q_angle_deg")
    assert fit.n_obs == 1491
    assert fit.n_dropped == 9
    assert any("dropped 9" in note for note in fit.notes)


def test_non_binary_outcome_names_values_and_rows(cohort):
    data = cohort.copy()
    data.loc[data.index[3], "pfp"] = 2
    with pytest.raises(ps.ModelError, match=r"must be 0/1 .* '2' in 1 rows \(first rows: 3\)"):
        ps.fit_logistic(data, "pfp ~ bmi")


def test_single_class_outcome(cohort):
    with pytest.raises(ps.ModelError, match="is 0 in all"):
        ps.fit_logistic(cohort.assign(pfp=0), "pfp ~ bmi")


def test_constant_column_is_named(cohort):
    with pytest.raises(
        ps.ModelError, match=r"constant column\(s\).*'weekly_km' \(every row = 10\)"
    ):
        ps.fit_logistic(cohort.assign(weekly_km=10.0), "pfp ~ bmi + weekly_km")


def test_empty_category_level_is_named(cohort):
    data = cohort.assign(sex=pd.Categorical(["F"] * len(cohort), categories=["F", "M"]))
    with pytest.raises(ps.ModelError, match="constant column"):
        ps.fit_logistic(data, "pfp ~ C(sex, levels=['F', 'M']) + bmi")


def test_perfect_collinearity_is_named(cohort):
    data = cohort.assign(bmi_twice=2 * cohort["bmi"] + 1)
    with pytest.raises(
        ps.ModelError,
        match=r"perfect collinearity: 'bmi_twice' is a linear "
        r"combination of 'bmi'|'bmi' is a linear combination "
        r"of 'bmi_twice'",
    ):
        ps.fit_logistic(data, "pfp ~ bmi + bmi_twice + q_angle_deg")


def test_separation_is_named_or_handled(cohort):
    data = cohort.copy()
    data["sprinter"] = (data["pfp"] == 1) & (data.index % 3 == 0)
    data["sprinter"] = data["sprinter"].astype(int)
    with pytest.raises(ps.ModelError, match="separation.*'sprinter'"):
        ps.fit_logistic(data, "pfp ~ bmi + sprinter")
    with pytest.warns(ps.ModelWarning, match="separation along 'sprinter'"):
        fit = ps.fit_logistic(data, "pfp ~ bmi + sprinter", method="auto")
    assert fit.method == "firth"
    row = fit.odds_ratios().set_index("term").loc["sprinter"]
    assert np.isfinite(row["odds_ratio"])
    assert row["odds_ratio"] > 10


def test_low_epv_switches_auto_to_firth(cohort):
    small = cohort.iloc[:120]
    with pytest.warns(ps.ModelWarning, match="events per variable"):
        fit = ps.fit_logistic(
            small,
            "pfp ~ bmi + q_angle_deg + weekly_km + age_years + "
            "hip_abd_strength_nkg + knee_ext_strength_nmkg",
            method="auto",
        )
    assert fit.method == "firth"


def test_formula_errors(cohort):
    with pytest.raises(ps.ModelError, match="names 'shoe_size', which is not a column"):
        ps.fit_logistic(cohort, "pfp ~ bmi + shoe_size")
    with pytest.raises(ps.ModelError, match="needs an outcome"):
        ps.fit_logistic(cohort, "bmi + q_angle_deg")
    with pytest.raises(ps.ModelError, match="outcome 'injury' is not a column"):
        ps.fit_logistic(cohort, "injury ~ bmi")
    with pytest.raises(ValueError, match="method must be"):
        ps.fit_logistic(cohort, "pfp ~ bmi", method="bayes")


def test_per_scales_ors_and_their_intervals(cohort):
    fit = _quiet_fit(cohort, "pfp ~ q_angle_deg + knee_ext_strength_nmkg + C(sex)")
    unit = fit.odds_ratios().set_index("term")
    five = fit.odds_ratios(per={"q_angle_deg": 5}).set_index("term")
    for column in ("odds_ratio", "ci_low", "ci_high"):
        assert five.loc["q_angle_deg", column] == pytest.approx(
            unit.loc["q_angle_deg", column] ** 5, rel=1e-10
        )
    assert five.loc["q_angle_deg", "label"] == "Q angle, per 5°"
    assert five.loc["C(sex)[T.M]", "label"] == "Sex: M vs F"
    clinical = fit.odds_ratios(per="clinical").set_index("term")
    assert clinical.loc["knee_ext_strength_nmkg", "increment"] == 0.5
    sd = fit.odds_ratios(per="sd").set_index("term")
    assert sd.loc["q_angle_deg", "increment"] == pytest.approx(cohort["q_angle_deg"].std())
    with pytest.raises(ps.ModelError, match="'bmi', which is not a numeric main effect"):
        fit.odds_ratios(per={"bmi": 5})
    with pytest.raises(ps.ModelError, match="positive"):
        fit.odds_ratios(per={"q_angle_deg": -1})
    wald = fit.odds_ratios(ci="wald").set_index("term")
    z = fit.params_["q_angle_deg"] / fit.bse_["q_angle_deg"]
    assert wald.loc["q_angle_deg", "p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_lr_test_between_nested_models(cohort):
    big = _quiet_fit(cohort, "pfp ~ bmi + q_angle_deg + knee_ext_strength_nmkg")
    small = _quiet_fit(cohort, "pfp ~ knee_ext_strength_nmkg")
    test = big.lr_test(small)
    assert test["df"] == 2
    assert test["chi2"] == pytest.approx(2 * (big.loglik_ - small.loglik_))
    other = _quiet_fit(cohort.iloc[:-10], "pfp ~ knee_ext_strength_nmkg")
    with pytest.raises(ps.ModelError, match="different rows"):
        big.lr_test(other)
    unrelated = _quiet_fit(cohort, "pfp ~ weekly_km")
    with pytest.raises(ps.ModelError, match="not nested"):
        big.lr_test(unrelated)


def test_term_tests_include_the_spline_non_linearity(cohort):
    with pytest.raises(ps.ModelError, match="constraints='center'"):
        ps.fit_logistic(cohort, "pfp ~ cr(knee_ext_strength_nmkg, df=3) + C(sex)")
    spline = "cr(knee_ext_strength_nmkg, df=3, constraints='center')"
    fit = _quiet_fit(cohort, f"pfp ~ {spline} + C(sex)")
    table = fit.term_tests().set_index("term")
    assert f"{spline} (non-linear)" in table.index
    assert table.loc[f"{spline} (non-linear)", "df"] == 2
    assert table.loc[spline, "df"] == 3
    assert table["p_value"].between(0, 1).all()


def test_predict_proba_with_intervals(cohort):
    fit = _quiet_fit(cohort, "pfp ~ knee_ext_strength_nmkg + C(sex)")
    new = pd.DataFrame(
        {"knee_ext_strength_nmkg": [2.0, 3.5, np.nan], "sex": ["F", "M", "F"]},
        index=["a", "b", "c"],
    )
    pred = fit.predict_proba(new)
    assert list(pred.index) == ["a", "b", "c"]
    assert pred.loc["a", "prob"] > pred.loc["b", "prob"], "weaker quadriceps, higher risk"
    assert (pred[["ci_low"]].to_numpy()[:2, 0] < pred["prob"].to_numpy()[:2]).all()
    assert (pred["prob"].to_numpy()[:2] < pred["ci_high"].to_numpy()[:2]).all()
    assert pred.loc["c"].isna().all()
    insample = fit.predict_proba(cohort, ci=False)["prob"].dropna().to_numpy()
    np.testing.assert_allclose(insample, fit.fitted_)


def test_display(cohort):
    fit = _quiet_fit(cohort, "pfp ~ bmi + knee_ext_strength_nmkg")
    html = fit._repr_html_()
    assert "maximum likelihood" in html
    assert "<table" in html
    assert "knee_ext_strength_nmkg" in html
    row = fit.summary_frame().iloc[-1]
    from html import escape

    from pfps_stats._format import estimate_ci, p_value

    assert "Odds ratio (95% CI)" in html
    assert estimate_ci(row["odds_ratio"], row["ci_low"], row["ci_high"]) in html
    assert f"<td>{escape(p_value(row['p_value']))}</td>" in html
    assert "odds_ratio" in repr(fit)
    frame = fit.summary_frame()
    assert list(frame.columns) == [
        "term",
        "estimate",
        "std_error",
        "odds_ratio",
        "ci_low",
        "ci_high",
        "p_value",
        "test",
        "df",
    ]
    assert (frame["test"] == "likelihood ratio").all()


def test_each_interval_comes_with_its_own_test(cohort):
    """Issue 10, item 5: a Wald interval beside a likelihood-ratio p-value could disagree
    (OR 7.25, 0.83-63.1, p = 0.028). Each interval now comes with its own test, named."""
    fit = _quiet_fit(cohort.iloc[:150], "pfp ~ knee_ext_strength_nmkg + bmi + C(sex)")
    wald = fit.odds_ratios(ci="wald", intercept=True)
    z = fit.params_.to_numpy() / fit.bse_.to_numpy()
    np.testing.assert_allclose(wald["p_value"], 2 * stats.norm.sf(np.abs(z)), rtol=1e-12)
    assert (wald["test"] == "Wald").all()
    assert np.isinf(wald["df"]).all()
    # a Wald interval excludes 1 exactly when its Wald p-value is below 1 - level
    excludes = (wald["ci_low"] > 1) | (wald["ci_high"] < 1)
    assert (excludes == (wald["p_value"] < 0.05)).all()
    profile = fit.odds_ratios(ci="profile")
    assert (profile["test"] == "likelihood ratio").all()
    assert profile["df"].isna().all()
    assert profile.attrs["test"] == "likelihood ratio"
    assert wald.attrs["test"] == "Wald"
    assert wald.attrs["ci"] == "wald"
    firth = _quiet_fit(cohort.iloc[:150], "pfp ~ knee_ext_strength_nmkg", method="firth")
    assert (firth.odds_ratios()["test"] == "penalised likelihood ratio").all()
    assert (firth.odds_ratios(ci="wald")["test"] == "Wald").all()


def test_level_is_checked(cohort):
    fit = _quiet_fit(cohort, "pfp ~ knee_ext_strength_nmkg")
    with pytest.raises(ValueError, match="did you mean 0.95"):
        fit.odds_ratios(level=95)
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        fit.odds_ratios(ci="wald", level=1.0)
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        fit.predict_proba(cohort.head(), level=0)
    with pytest.raises(ValueError, match="did you mean 0.9"):
        fit.predict_proba(cohort.head(), level=90)
    with pytest.raises(ValueError, match="level must be a number"):
        fit.predict_proba(cohort.head(), level="high")


def test_keyword_arguments_and_strings_are_not_variables(cohort):
    """Issue 10, item 6: columns called df or center were 'used' by bs(z, df=3) and
    constraints='center', so rows missing only them were dropped."""
    data = cohort.assign(df=np.nan, center=np.nan, M=np.nan)
    formula = (
        "pfp ~ bs(weekly_km, df=3) + cr(bmi, df=3, constraints='center') + C(sex, Treatment(\"M\"))"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ps.ModelWarning)
        fit = ps.fit_logistic(data, formula)
    assert fit.n_obs == len(cohort)
    assert fit.n_dropped == 0
    assert set(fit.design.variables) == {"pfp", "weekly_km", "bmi", "sex"}
    from pfps_stats.models.design import used_columns

    # a column that is used is still found: as a variable, a keyword's value, inside I(), Q()
    frame = pd.DataFrame(columns=["pfp", "df", "center", "z", "w", "odd name"])
    assert used_columns("pfp ~ df", frame) == ["pfp", "df"]
    assert used_columns("pfp ~ bs(z, df=3)", frame) == ["pfp", "z"]
    assert used_columns("pfp ~ bs(z, df=df)", frame) == ["pfp", "df", "z"]
    assert used_columns("pfp ~ I(z * w) + center:z", frame) == ["pfp", "center", "z", "w"]
    assert used_columns('pfp ~ Q("odd name") + np.log(z)', frame) == ["pfp", "z", "odd name"]
    assert used_columns("pfp ~ z - 1", frame) == ["pfp", "z"]
    data = cohort.assign(df=cohort["bmi"])
    data.loc[data.index[:3], "df"] = np.nan
    with pytest.warns(ps.ModelWarning, match="dropped 3 of 1500 rows"):
        assert ps.fit_logistic(data, "pfp ~ df").n_obs == 1497


def test_odds_ratio_table_univariable_and_multivariable(cohort):
    data = cohort.copy()
    data.loc[data.index[:5], "bmi"] = np.nan
    table = ps.odds_ratio_table(
        data, "pfp", ["knee_ext_strength_nmkg", "bmi", "sex"], adjust=["age_years"]
    )
    assert list(table["label"]) == [
        "Knee extension strength, per 0.5 Nm/kg",
        "Body-mass index, per 5 kg/m²",
        "Sex: F (reference)",
        "Sex: M",
    ]
    ref = table.iloc[2]
    assert ref["or_uni"] == 1.0
    assert np.isnan(ref["ci_low_uni"])
    knee = table.iloc[0]
    assert knee["or_uni"] < 1
    assert knee["ci_high_multi"] < 1
    assert knee["n"] == 1500
    assert table.iloc[1]["n"] == 1495
    assert "dropped 5" in table.iloc[1]["warnings"]
    meta = table.attrs["multivariable"]
    assert meta["n"] == 1495
    assert meta["method"] == "ml"
    uni = _quiet_fit(data, "pfp ~ knee_ext_strength_nmkg").odds_ratios(per="clinical")
    assert knee["or_uni"] == pytest.approx(uni["odds_ratio"].iloc[0])
    with pytest.raises(ps.ModelError, match="not columns of the data: 'shoe'"):
        ps.odds_ratio_table(data, "pfp", ["shoe"])


def test_roc_auc_bad_input():
    with pytest.raises(ValueError, match="single class"):
        ps.roc_auc([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="equal length"):
        ps.roc_auc([0, 1], [0.1, 0.2, 0.3])
    assert ps.roc_auc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])["auc"] == 1.0


def test_bootstrap_on_clusters_and_calibration_curve(cohort):
    knees = pd.concat([cohort.assign(knee="L"), cohort.assign(knee="R")], ignore_index=True)
    fit = _quiet_fit(knees, "pfp ~ knee_ext_strength_nmkg", cluster="runner_id")
    table = ps.validate_bootstrap(fit, n_boot=50, seed=1)
    assert (table["n_boot"] == 50).all()
    assert table.loc["auc", "optimism"] > -0.05
    plain = _quiet_fit(cohort, "pfp ~ knee_ext_strength_nmkg + bmi")
    curve = ps.calibrate_bootstrap(plain, n_boot=30, seed=2)
    assert list(curve.columns) == ["predicted", "apparent", "optimism", "corrected"]
    assert curve["corrected"].between(0, 1).all()
    with pytest.raises(ValueError, match="n_boot"):
        ps.validate_bootstrap(plain, n_boot=0)


def test_same_seed_same_bootstrap(cohort):
    fit = _quiet_fit(cohort, "pfp ~ knee_ext_strength_nmkg + bmi")
    a = ps.validate_bootstrap(fit, n_boot=40, seed=9)
    b = ps.validate_bootstrap(fit, n_boot=40, seed=9)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.slow
def test_profile_intervals_cover_the_true_odds_ratio():
    """On simulate_cohort data with known ORs, 95% profile CIs cover the truth ~95% of the
    time (200 cohorts; binomial SE 1.5 points, so 90-99% passes)."""
    truth = {"weekly_km": 1.03, "knee_ext_strength_nmkg": 0.5}
    covered = {k: 0 for k in truth}
    reps = 200
    for seed in range(reps):
        data = ps.simulate_cohort(
            600, subgroup="recreational", incidence=0.15, odds_ratios=truth, seed=1000 + seed
        )
        fit = _quiet_fit(data, "pfp ~ weekly_km + knee_ext_strength_nmkg + bmi + C(sex)")
        table = fit.odds_ratios().set_index("term")
        for k, value in truth.items():
            covered[k] += table.loc[k, "ci_low"] <= value <= table.loc[k, "ci_high"]
    for k, hits in covered.items():
        rate = hits / reps
        assert 0.90 <= rate <= 0.99, (k, rate)


@pytest.mark.slow
def test_firth_intervals_cover_with_few_events():
    """With ~30 events, Firth's profile penalised-likelihood CIs still cover ~95%."""
    hits, reps = 0, 150
    for seed in range(reps):
        data = ps.simulate_cohort(
            300,
            subgroup="recreational",
            incidence=0.1,
            odds_ratios={"knee_ext_strength_nmkg": 0.4},
            seed=5000 + seed,
        )
        fit = _quiet_fit(data, "pfp ~ knee_ext_strength_nmkg + C(sex)", method="firth")
        row = fit.odds_ratios().set_index("term").loc["knee_ext_strength_nmkg"]
        hits += row["ci_low"] <= 0.4 <= row["ci_high"]
    assert 0.89 <= hits / reps <= 0.99, hits / reps
    assert math.isfinite(hits)


def test_format_odds_ratio_table(cohort):
    table = ps.odds_ratio_table(cohort, "pfp", ["knee_ext_strength_nmkg", "sex"])
    text = ps.format_odds_ratio_table(table)
    assert list(text.columns) == ["label", "n_events", "univariable", "multivariable"]
    assert text.loc[1, "univariable"] == "1 (reference)"
    assert text.loc[0, "univariable"].startswith(f"{table.loc[0, 'or_uni']:.2f} (")
    assert "p<0.001" in text.loc[0, "univariable"]


def test_separation_in_large_data_is_found_from_the_signs_of_the_ml_fit():
    """Above LP_ALWAYS cells the exact check runs only when ML shows separation's signs."""
    from pfps_stats.models.logistic import LP_ALWAYS

    data = ps.simulate_cohort(60_000, subgroup="military", seed=8)
    data["sprinter"] = ((data["pfp"] == 1) & (data.index % 4 == 0)).astype(int)
    assert 60_000 * 3 > LP_ALWAYS
    with pytest.raises(ps.ModelError, match="separation.*'sprinter'"):
        ps.fit_logistic(data, "pfp ~ bmi + sprinter")
    with pytest.warns(ps.ModelWarning, match="separation along 'sprinter'"):
        fit = ps.fit_logistic(data, "pfp ~ bmi + sprinter", method="auto")
    assert fit.method == "firth"
    plain = _quiet_fit(data, "pfp ~ bmi + knee_ext_strength_nmkg")
    assert plain.method == "ml"


@pytest.mark.parametrize("dtype", [bool, "Int64", float, "int8"])
def test_outcome_dtype_does_not_change_the_fit(cohort, dtype):
    """A bool outcome is a category to patsy (first column = False): it must not flip signs."""
    reference = _quiet_fit(cohort, "pfp ~ knee_ext_strength_nmkg").params_
    fit = _quiet_fit(cohort.assign(pfp=cohort["pfp"].astype(dtype)), "pfp ~ knee_ext_strength_nmkg")
    pd.testing.assert_series_equal(fit.params_, reference, rtol=1e-10)


def test_unused_category_levels_are_dropped(cohort):
    """A level in the dtype but in no row (e.g. after subsetting) is not a constant column."""
    data = cohort.assign(sex=pd.Categorical(cohort["sex"], categories=["F", "M", "X"]))
    fit = _quiet_fit(data, "pfp ~ knee_ext_strength_nmkg + C(sex)")
    assert fit.columns == ["Intercept", "C(sex)[T.M]", "knee_ext_strength_nmkg"]
    table = ps.odds_ratio_table(data, "pfp", ["sex"])
    assert list(table["level"]) == ["F", "M"]


def test_a_fit_is_immutable_and_its_design_read_only(cohort):
    fit = _quiet_fit(cohort, "pfp ~ knee_ext_strength_nmkg + C(sex)")
    before = fit.params_.copy()
    with pytest.raises(AttributeError, match="immutable"):
        fit.method = "firth"
    with pytest.raises(AttributeError, match="immutable"):
        fit.calibration_curve_ = None
    with pytest.raises(ValueError, match="read-only"):
        fit.design.X[0, 0] = 99.0
    with pytest.raises(ValueError, match="read-only"):
        fit.design.y[0] = 1.0
    params = fit.params_
    params.iloc[0] = 99.0  # a copy: the fit does not change
    pd.testing.assert_series_equal(fit.params_, before)
    ps.calibrate_bootstrap(fit, n_boot=5, seed=1)
    ps.validate_bootstrap(fit, n_boot=5, seed=1)
    pd.testing.assert_series_equal(fit.params_, before)
    assert not hasattr(fit, "calibration_curve_")
    design = fit.design
    assert isinstance(design, ps.Design)
    assert design.columns == ("Intercept", "C(sex)[T.M]", "knee_ext_strength_nmkg")
    assert [c.kind for c in design.info] == ["intercept", "level", "numeric"]
    assert set(design.variables) == {"sex", "knee_ext_strength_nmkg", "pfp"}
    assert design.n_obs == fit.n_obs
    assert design.n_events == fit.n_events


def test_a_clustered_fit_is_built_whole():
    """The robust covariance is computed before the fit exists: nothing is patched on after."""
    data = ps.simulate_cohort(200, subgroup="military", seed=3)
    data = pd.concat([data.assign(knee="L"), data.assign(knee="R")], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        fit = ps.fit_logistic(data, "pfp ~ knee_ext_strength_nmkg", cluster="runner_id")
    assert fit.cluster["n_clusters"] == 200
    with pytest.raises(TypeError):
        fit.cluster["n_clusters"] = 1
    assert fit.bse_.iloc[1] > 0


def test_profile_limits_on_near_separated_small_data_do_not_crash():
    """40 recruits, few events, five factors (an outside review's case): the profile search
    brackets each limit; a cold-start refit at a bracket end must not abort the table."""
    data = ps.simulate_cohort(40, subgroup="military", seed=6)
    factors = ["knee_ext_strength_nmkg", "hip_abd_strength_nkg", "q_angle_deg", "bmi", "sex"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        table = ps.odds_ratio_table(data, factors=factors)
    fitted = table[table["ci_low_multi"].notna()]
    assert len(fitted) == 5
    assert (fitted["ci_low_multi"] <= fitted["or_multi"]).all()
    assert (fitted["or_multi"] <= fitted["ci_high_multi"]).all()


def test_a_fit_does_not_change_when_the_callers_frame_does(cohort):
    data = cohort[["pfp", "bmi", "q_angle_deg"]].dropna().copy()
    data["pfp"] = data["pfp"].astype(float)  # no row dropped, no cast: the case that shared
    fit = _quiet_fit(data, "pfp ~ bmi + q_angle_deg")
    before = fit.odds_ratios(per="sd")
    data["bmi"] /= 2.2
    pd.testing.assert_frame_equal(fit.odds_ratios(per="sd"), before)
    assert list(fit.design.data.columns) == ["pfp", "bmi", "q_angle_deg"]
