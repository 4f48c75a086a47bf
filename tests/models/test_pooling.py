"""Rubin's rules (pool, pool_coefficients) against R's mice 3.15.0: pool() on glm fits to five
completed datasets that R's mice imputed (pmm) from SYNTHETIC data, and pool.scalar() on given
numbers, b = 0 (no between-imputation variance), m = 2 and n = Inf included.

Reference values: tests/models/reference/pooling_mice.R (R 4.2.2), stored in pooling_mice.json
with the completed datasets in reference/data/pooling_complete_*.csv; R is not needed to run
these tests. Tolerances: 1e-6 relative for pooled glm fits made here (statsmodels' Newton ML
against glm converged to 1e-14), 1e-10 relative for pooling R's own numbers.
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from pfps_stats.models.logistic import fit_logistic
from pfps_stats.models.pooling import POOLED_COLUMNS, pool, pool_coefficients

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "pooling_mice.json").read_text())
FORMULA = "pfp ~ x1 + x2 + x3"
POOLED = ["estimate", "ubar", "b", "t", "df", "riv", "lambda", "fmi"]
FIT_TOL = {"rtol": 1e-6, "atol": 0}
EXACT_TOL = {"rtol": 1e-10, "atol": 0}


@pytest.fixture(scope="module")
def fits():
    assert R["formula"] == FORMULA
    return [
        fit_logistic(pd.read_csv(REF / "data" / name), FORMULA) for name in R["data"]["complete"]
    ]


def _r_pooled() -> pd.DataFrame:
    return pd.DataFrame(R["pooled"]["rows"])


def _r_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """R's per-imputation glm estimates and variances, (m x p) each."""
    terms = R["per_imputation"][0]["term"]
    est = pd.DataFrame([f["estimate"] for f in R["per_imputation"]], columns=terms)
    var = pd.DataFrame([np.square(f["std_error"]) for f in R["per_imputation"]], columns=terms)
    return est, var


# -- against mice::pool -----------------------------------------------------------------------
def test_completed_dataset_fits_match_r_glm(fits):
    assert R["data"]["m"] == len(fits) == 5
    for fit, ref in zip(fits, R["per_imputation"], strict=True):
        assert fit.n_obs - len(fit.columns) == ref["df_residual"]
        assert_allclose(fit.params_.to_numpy(), ref["estimate"], rtol=1e-7)
        assert_allclose(fit.bse_.to_numpy(), ref["std_error"], rtol=1e-7)


def test_pooled_fits_match_mice_pool(fits):
    estimates = pd.DataFrame([fit.params_ for fit in fits])
    dfcom = fits[0].n_obs - len(fits[0].columns)  # glm's residual df, as mice
    table = pool_coefficients(estimates, [fit.cov_ for fit in fits], dfcom=dfcom)
    ref = _r_pooled()
    assert list(table.columns) == POOLED_COLUMNS
    assert table["term"].tolist() == ["Intercept", "x1", "x2", "x3"]
    assert ref["term"].tolist() == ["(Intercept)", "x1", "x2", "x3"]
    assert (table["dfcom"] == R["pooled"]["dfcom"]).all()
    assert R["pooled"]["dfcom"] == 196
    for column in POOLED:
        assert_allclose(table[column], ref[column], **FIT_TOL, err_msg=column)
    summary = pd.DataFrame(R["summary"])
    assert_allclose(table["se"], summary["std_error"], **FIT_TOL)
    assert_allclose(table["df"], summary["df"], **FIT_TOL)
    # the imputations matter here: x1 (25% missing) loses about a third of its information
    assert 0.3 < table.set_index("term").loc["x1", "fmi"] < 0.4


def test_pooling_r_numbers_matches_mice_pool_exactly():
    est, var = _r_inputs()
    table = pool_coefficients(est, var, dfcom=R["pooled"]["dfcom"])
    ref = _r_pooled()
    assert table["term"].tolist() == ref["term"].tolist()
    for column in POOLED:
        assert_allclose(table[column], ref[column], **EXACT_TOL, err_msg=column)
    inf = pool_coefficients(est, var, dfcom=math.inf)
    assert_allclose(inf["df"], R["pooled_dfcom_inf"]["df"], **EXACT_TOL)
    assert_allclose(inf["fmi"], R["pooled_dfcom_inf"]["fmi"], **EXACT_TOL)
    assert (inf["df"] > table["df"]).all()  # a finite dfcom can only lower df


def test_every_form_of_variances_gives_the_same_table(fits):
    estimates = pd.DataFrame([fit.params_ for fit in fits])
    covs = [fit.cov_ for fit in fits]
    expected = pool_coefficients(estimates, covs, dfcom=196)
    variances = pd.DataFrame([fit.bse_**2 for fit in fits])
    rows, cols = ["x3", "x1", "Intercept", "x2"], ["x2", "x3", "x1", "Intercept"]
    shuffled = [c.loc[rows, cols] for c in covs]
    forms = {
        "arrays": [c.to_numpy() for c in covs],
        "3-d array": np.stack([c.to_numpy() for c in covs]),
        "variance frame": variances,
        "variance frame, other column order": variances[["x3", "x2", "x1", "Intercept"]],
        "variance array": variances.to_numpy(),
        "variance series": [fit.bse_**2 for fit in fits],
        "variance vectors": [(fit.bse_**2).to_numpy() for fit in fits],
        "covariances with labels in another order": shuffled,
    }
    for name, form in forms.items():
        got = pool_coefficients(estimates, form, dfcom=196)
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-14, obj=name)


def test_pool_coefficients_does_not_modify_its_inputs(fits):
    estimates = pd.DataFrame([fit.params_ for fit in fits])
    covs = [fit.cov_ for fit in fits]
    before = (estimates.copy(), [c.copy() for c in covs])
    pool_coefficients(estimates, covs, dfcom=196)
    pd.testing.assert_frame_equal(estimates, before[0])
    for c, b in zip(covs, before[1], strict=True):
        pd.testing.assert_frame_equal(c, b)


# -- against mice::pool.scalar ----------------------------------------------------------------
SCALAR = {"qbar": "qbar", "ubar": "ubar", "b": "b", "t": "t", "df": "df", "riv": "r"}


@pytest.mark.parametrize("case", R["scalar"], ids=lambda c: c["name"])
def test_pool_matches_mice_pool_scalar(case):
    n = float(case["n"])  # "Inf" is pool.scalar's default n
    got = pool(case["Q"], case["U"], n, case["k"])
    assert got.index.tolist() == [
        "m",
        "qbar",
        "ubar",
        "b",
        "t",
        "dfcom",
        "df",
        "riv",
        "lambda",
        "fmi",
        "se",
    ]
    assert got["m"] == case["m"] == len(case["Q"])
    assert got["dfcom"] == n - case["k"]
    for ours, theirs in [*SCALAR.items(), ("lambda", "lambda"), ("fmi", "fmi")]:
        assert_allclose(got[ours], case[theirs], **EXACT_TOL, err_msg=ours)
    assert got["se"] == pytest.approx(math.sqrt(case["t"]), rel=1e-10)
    if case["b"] == 0:  # no between-imputation variance: as mice, lambda floored at 1e-4 in df
        assert got["b"] == got["riv"] == got["lambda"] == 0
        dfold = (got["m"] - 1) / 1e-4**2
        if math.isinf(n):
            assert got["df"] == dfold
        else:
            c = got["dfcom"]
            dfobs = (c + 1) / (c + 3) * c * (1 - 1e-4)
            assert got["df"] == pytest.approx(dfold * dfobs / (dfold + dfobs), rel=1e-14)
        assert got["fmi"] == pytest.approx(2 / (got["df"] + 3), rel=1e-12)


def test_pool_and_pool_coefficients_agree():
    est, var = _r_inputs()
    table = pool_coefficients(est, var, dfcom=196).set_index("term")
    for term in est.columns:
        one = pool(est[term], var[term], n=200, k=4)
        for column in POOLED:
            source = "qbar" if column == "estimate" else column
            assert one[source] == pytest.approx(table.loc[term, column], rel=1e-14)


def test_pool_accepts_numpy_and_integer_inputs():
    got = pool(np.array([1, 2, 4]), np.array([1, 1, 1]), n=np.int64(10), k=np.int64(2))
    assert got["qbar"] == pytest.approx(7 / 3)
    assert got["dfcom"] == 8


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"estimates": [0.5], "variances": [0.1]}, "at least 2 completed datasets"),
        ({"estimates": [], "variances": []}, "at least 2 completed datasets"),
        ({"estimates": [0.5, 0.6], "variances": [0.1, 0.1, 0.1]}, "2 estimates and 3 var"),
        ({"estimates": [0.5, np.nan], "variances": [0.1, 0.1]}, "finite: nan .* dataset 2"),
        ({"estimates": [0.5, 0.6], "variances": [0.1, np.inf]}, "variances must be finite"),
        ({"estimates": [0.5, 0.6], "variances": [0.1, -0.1]}, ">= 0 .* dataset 2"),
        ({"estimates": [1, 2, 3], "variances": [0, 0, 0]}, "0 in every completed dataset"),
        ({"estimates": [1, 1, 1], "variances": [0, 0, 0]}, "0 in every completed dataset"),
        ({"estimates": ["a", "b"], "variances": [0.1, 0.1]}, "estimates must be numbers"),
        ({"estimates": [[1, 2], [3, 4]], "variances": [1, 1]}, "one-dimensional"),
        ({"estimates": [0.5, 0.6], "variances": [0.1, 0.1], "n": 4, "k": 4}, "n must exceed k"),
        ({"estimates": [0.5, 0.6], "variances": [0.1, 0.1], "n": 3, "k": 4}, "n must exceed k"),
        ({"estimates": [0.5, 0.6], "variances": [0.1, 0.1], "n": np.nan}, "n must be a finite"),
        ({"estimates": [0.5, 0.6], "variances": [0.1, 0.1], "n": -math.inf}, "n must be a fin"),
        ({"estimates": [0.5, 0.6], "variances": [0.1, 0.1], "n": "200"}, "n must be a number"),
        ({"estimates": [0.5, 0.6], "variances": [0.1, 0.1], "n": True}, "n must be a number"),
        ({"estimates": [0.5, 0.6], "variances": [0.1, 0.1], "k": math.inf}, "k must be a fin"),
        (
            {
                "estimates": pd.Series([0.5, 0.6], index=[1, 2]),
                "variances": pd.Series([0.1, 0.1], index=[2, 3]),
            },
            "different indexes",
        ),
    ],
)
def test_pool_bad_input_raises_clear_error(kwargs, message):
    kwargs = {"n": 100, **kwargs}
    with pytest.raises(ValueError, match=message):
        pool(**kwargs)


def _frames(m: int = 3) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    terms = ["Intercept", "x1"]
    est = pd.DataFrame([[0.1 * i, 0.5 + 0.05 * i] for i in range(m)], columns=terms)
    covs = [pd.DataFrame([[0.04, 0.001], [0.001, 0.02]], index=terms, columns=terms)] * m
    return est, covs


def _bad_pool_coefficients():
    est, covs = _frames()
    nan_est = est.copy()
    nan_est.iloc[1, 1] = np.nan
    neg = [c.copy() for c in covs]
    neg[2].iloc[1, 1] = -0.02
    zero = [c * 0 for c in covs]
    other_terms = [c.rename(columns={"x1": "x2"}, index={"x1": "x2"}) for c in covs]
    text = est.astype(object)
    text["x1"] = ["a", "b", "c"]
    return [
        ((est.to_numpy(), covs, 10), "estimates must be a DataFrame"),
        ((est.iloc[:1], covs[:1], 10), "at least 2 completed datasets"),
        ((est.iloc[:, :0], covs, 10), "no columns"),
        ((est.set_axis(["a", "a"], axis=1), covs, 10), "duplicated term"),
        ((text, covs, 10), "numeric; column.* x1"),
        ((nan_est, covs, 10), "finite: nan for x1 in completed dataset 2"),
        ((est, covs[:2], 10), "2 entries but estimates has 3 rows"),
        ((est, [np.eye(3)] * 3, 10), r"shape \(3, 3\); expected a \(2 x 2\)"),
        ((est, [[["a", "b"], ["c", "d"]]] * 3, 10), "must be numeric"),
        ((est, neg, 10), ">= 0 .* x1 in completed dataset 3"),
        ((est, zero, 10), "variance of Intercept, x1 is 0 in every"),
        ((est, other_terms, 10), "must be the terms of estimates .*missing x1"),
        ((est, np.ones((2, 2)), 10), r"shape \(2, 2\); an array of variances must be"),
        ((est, pd.DataFrame(np.ones((2, 2)), columns=est.columns), 10), "2 rows of variances"),
        ((est, "cov", 10), "covariances must be a list"),
        ((est, [np.full((2, 2), np.inf)] * 3, 10), "must be finite"),
        ((est, covs, 0.5), "dfcom must be at least 1"),
        ((est, covs, np.nan), "dfcom must be a finite number or math.inf"),
        ((est, covs, None), "dfcom must be a number"),
    ]


@pytest.mark.parametrize(("args", "message"), _bad_pool_coefficients())
def test_pool_coefficients_bad_input_raises_clear_error(args, message):
    with pytest.raises(ValueError, match=message):
        pool_coefficients(*args)
