r"""Rubin's rules: pooling estimates from m multiply imputed (completed) datasets.

:func:`pool` pools one scalar, as R's ``mice::pool.scalar(Q, U, n, k)``;
:func:`pool_coefficients` pools the coefficients of m model fits, as ``mice::pool(fit)$pooled``.
Both were checked against mice 3.15.0 (R 4.2.2) in ``tests/models/test_pooling.py``
(reference script ``tests/models/reference/pooling_mice.R``).

With estimates :math:`\hat Q_l` and their within-imputation variances :math:`U_l`
(squared standard errors), :math:`l = 1, \dots, m` (Rubin 1987, ch. 3):

- pooled estimate :math:`\bar Q = \frac1m \sum_l \hat Q_l`;
- within-imputation variance :math:`\bar U = \frac1m \sum_l U_l`;
- between-imputation variance :math:`B = \frac1{m-1} \sum_l (\hat Q_l - \bar Q)^2`;
- total variance :math:`T = \bar U + (1 + 1/m) B`, standard error :math:`\sqrt T`;
- relative increase in variance :math:`r = (1 + 1/m) B / \bar U` (``riv``);
- proportion of variance due to missingness :math:`\lambda = (1 + 1/m) B / T`;
- degrees of freedom (Barnard & Rubin 1999), with the complete-data degrees of freedom
  :math:`\nu_{com}` (``dfcom``): :math:`\nu_{old} = (m - 1) / \lambda^2`,
  :math:`\nu_{obs} = \frac{\nu_{com} + 1}{\nu_{com} + 3} \nu_{com} (1 - \lambda)`,
  :math:`\nu = \nu_{old} \nu_{obs} / (\nu_{old} + \nu_{obs})`, or :math:`\nu_{old}`
  when :math:`\nu_{com}` is infinite; as mice, :math:`\lambda` is raised to at least
  :data:`LAMBDA_FLOOR` in these two formulas only, so that :math:`B = 0` gives a finite df;
- fraction of missing information, mice's formula :math:`(r + 2 / (\nu + 3)) / (r + 1)`.

References: Rubin DB (1987) *Multiple Imputation for Nonresponse in Surveys*, Wiley;
Barnard J, Rubin DB (1999) Small-sample degrees of freedom with multiple imputation,
*Biometrika* 86:948-955; van Buuren S (2018) *Flexible Imputation of Missing Data*, 2nd ed.,
section 2.3.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

import numpy as np
import pandas as pd

#: Smallest lambda used in the Barnard-Rubin degrees of freedom (mice's ``barnard.rubin``),
#: so that no between-imputation variance (B = 0) gives a large but finite df.
LAMBDA_FLOOR = 1e-4

#: Columns of :func:`pool_coefficients`, in order.
POOLED_COLUMNS = [
    "term",
    "estimate",
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


# ---------------------------------------------------------------------------------------------
# Public functions


def pool(
    estimates: Sequence[float] | np.ndarray | pd.Series,
    variances: Sequence[float] | np.ndarray | pd.Series,
    n: float,
    k: float = 1,
) -> pd.Series:
    """Pool one scalar estimate across m completed datasets by Rubin's rules.

    Parameters
    ----------
    estimates : array-like of float
        The estimate from each completed dataset (m >= 2 values).
    variances : array-like of float
        Its variance (squared standard error) in each completed dataset, same length, >= 0
        and not all 0.
    n : float
        Sample size of a completed dataset; ``math.inf`` (mice's default) for large-sample
        degrees of freedom.
    k : float, default 1
        Number of parameters of the model the estimate comes from; the complete-data degrees
        of freedom are ``dfcom = n - k``, so ``n`` must exceed ``k``.

    Returns
    -------
    Series
        m, qbar (pooled estimate), ubar (within-imputation variance), b (between-imputation
        variance), t (total variance), dfcom, df (Barnard-Rubin), riv (relative increase in
        variance; mice's ``r``), lambda, fmi (fraction of missing information) and se
        (``sqrt(t)``), all as floats. The formulas are in :mod:`pfps_stats.models.pooling`.

    Notes
    -----
    Equal to ``mice::pool.scalar(Q, U, n, k)`` (rule "rubin1987"; mice 3.15.0) to 1e-10
    relative, no between-imputation variance (b = 0) and m = 2 included; mice's
    ``pool.scalar`` does not return lambda, which is ``(1 + 1/m) b / t`` as in ``mice::pool``.
    With b = 0, riv and lambda are 0, df is large but finite and fmi is ``2 / (df + 3)``, as
    in mice. mice returns Inf or NaN when every variance is 0; this function refuses that.
    """
    q = _vector(estimates, "estimates")
    u = _vector(variances, "variances")
    if len(q) != len(u):
        raise ValueError(
            f"estimates and variances must have one value per completed dataset; got "
            f"{len(q)} estimates and {len(u)} variances"
        )
    if (
        isinstance(estimates, pd.Series)
        and isinstance(variances, pd.Series)
        and not estimates.index.equals(variances.index)
    ):
        raise ValueError(
            "estimates and variances are Series with different indexes; pass them in the "
            "same order of completed datasets (e.g. variances.reindex(estimates.index))"
        )
    _check_m(len(q), "estimates")
    _check_variances(u[:, None], ["the estimate"], "variances")
    n_value = _number(n, "n", allow_inf=True)
    k_value = _number(k, "k", allow_inf=False)
    if not n_value > k_value:
        raise ValueError(
            f"n must exceed k: the complete-data degrees of freedom are dfcom = n - k, here "
            f"{n_value:g} - {k_value:g} = {n_value - k_value:g}. Pass n = the sample size of a "
            f"completed dataset and k = the number of model parameters (or n = math.inf)"
        )
    res = _rubin(q[:, None], u[:, None], n_value - k_value)
    return pd.Series({name: float(value[0]) for name, value in res.items()}, name="pooled")


def pool_coefficients(
    estimates: pd.DataFrame,
    covariances: pd.DataFrame | np.ndarray | Sequence[np.ndarray | pd.DataFrame | pd.Series],
    dfcom: float | Sequence[float] | pd.Series,
) -> pd.DataFrame:
    """Pool the coefficients of m model fits, one per completed dataset, by Rubin's rules.

    Parameters
    ----------
    estimates : DataFrame
        One row per completed dataset (m >= 2 rows), one column per term, e.g.
        ``pd.DataFrame([fit.params_ for fit in fits])``.
    covariances : list of m (p x p) arrays or DataFrames, DataFrame or ndarray
        The covariance matrix of each fit (e.g. ``[fit.cov_ for fit in fits]``; only the
        diagonal is used, as mice pools each term separately), or the per-term variances:
        an (m x p) DataFrame or array, or a list of m length-p Series or arrays. DataFrames and
        Series are matched to ``estimates`` by term label; arrays by position.
    dfcom : float, or one per term
        Complete-data degrees of freedom (>= 1, or ``math.inf``). For a glm-type fit mice uses
        the residual degrees of freedom, ``n - p`` (observations minus coefficients, including
        the intercept). Required here because it cannot be read from the numbers alone. A
        sequence (by position) or Series (by term) gives each term its own, e.g. the
        small-sample degrees of freedom of a cluster-robust fit.

    Returns
    -------
    DataFrame
        One row per term, in the column order of ``estimates``: term, estimate, ubar, b, t,
        dfcom, df, riv, lambda, fmi, se (``sqrt(t)``). The formulas are in
        :mod:`pfps_stats.models.pooling`.

    Notes
    -----
    Equal to ``mice::pool(fit)$pooled`` (and the std.error and df of ``summary(pool(fit))``)
    for glm fits, mice 3.15.0, to 1e-10 relative given the same per-fit estimates and
    variances. mice's ``pool()`` raises a dfcom below 1 to 1; here it is an error.
    """
    if not isinstance(estimates, pd.DataFrame):
        raise ValueError(
            f"estimates must be a DataFrame with one row per completed dataset and one column "
            f"per term (e.g. pd.DataFrame([fit.params_ for fit in fits])), not "
            f"{type(estimates).__name__}"
        )
    terms = [str(c) for c in estimates.columns]
    if not terms:
        raise ValueError("estimates has no columns: there is no term to pool")
    duplicated = sorted({t for t in terms if terms.count(t) > 1})
    if duplicated:
        raise ValueError(f"estimates has duplicated term columns: {', '.join(duplicated)}")
    q = _matrix(estimates, terms, "estimates")
    _check_m(q.shape[0], "rows of estimates")
    u = _variances(covariances, list(estimates.columns), q.shape[0])
    _check_variances(u, terms, "covariances")
    dfcom_value = _dfcom(dfcom, list(estimates.columns))
    res = _rubin(q, u, dfcom_value)
    res["estimate"] = res.pop("qbar")
    del res["m"]
    table = pd.DataFrame(res)
    table.insert(0, "term", terms)
    return table[POOLED_COLUMNS]


# ---------------------------------------------------------------------------------------------
# Arithmetic


def _rubin(q: np.ndarray, u: np.ndarray, dfcom: float | np.ndarray) -> dict[str, np.ndarray]:
    """Rubin's rules column by column of (m x p) estimates ``q`` and variances ``u``."""
    m = q.shape[0]
    same = np.ptp(q, axis=0) == 0  # identical estimates: b exactly 0, qbar exactly the value
    qbar = np.where(same, q[0], q.mean(axis=0))
    b = np.where(same, 0.0, q.var(axis=0, ddof=1))
    ubar = u.mean(axis=0)
    t = ubar + (1 + 1 / m) * b
    riv = (1 + 1 / m) * b / ubar
    lam = (1 + 1 / m) * b / t
    df = _barnard_rubin(m, lam, dfcom)
    fmi = (riv + 2 / (df + 3)) / (riv + 1)
    p = q.shape[1]
    return {
        "m": np.full(p, float(m)),
        "qbar": qbar,
        "ubar": ubar,
        "b": b,
        "t": t,
        "dfcom": np.broadcast_to(np.asarray(dfcom, dtype=float), (p,)).copy(),
        "df": df,
        "riv": riv,
        "lambda": lam,
        "fmi": fmi,
        "se": np.sqrt(t),
    }


def _barnard_rubin(m: int, lam: np.ndarray, dfcom: float | np.ndarray) -> np.ndarray:
    """Barnard-Rubin (1999) degrees of freedom, as mice's ``barnard.rubin``; ``dfcom`` a
    number or one per term (infinite: Rubin's 1987 ``(m - 1) / lambda^2``)."""
    lam = np.maximum(lam, LAMBDA_FLOOR)
    dfold = (m - 1) / lam**2
    dfcom = np.broadcast_to(np.asarray(dfcom, dtype=float), lam.shape)
    finite = np.isfinite(dfcom)
    com = np.where(finite, dfcom, 1.0)
    dfobs = (com + 1) / (com + 3) * com * (1 - lam)
    return np.where(finite, dfold * dfobs / (dfold + dfobs), dfold)


# ---------------------------------------------------------------------------------------------
# Validation


def _check_m(m: int, what: str) -> None:
    if m < 2:
        raise ValueError(
            f"multiple imputation needs at least 2 completed datasets (Rubin's rules use the "
            f"variance between them); got m = {m} ({what}). Impute m >= 2 datasets (20 or more is "
            f"current practice) and pass the result of each"
        )


def _vector(values, name: str) -> np.ndarray:
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be numbers, one per completed dataset; got {_shown(values)}"
        ) from None
    if x.ndim != 1:
        raise ValueError(
            f"{name} must be one-dimensional (one number per completed dataset); got shape "
            f"{x.shape}. For several terms use pool_coefficients"
        )
    _check_finite(x[:, None], ["the estimate"], name)
    return x


def _matrix(frame: pd.DataFrame, terms: list[str], name: str) -> np.ndarray:
    bad = [t for t, c in zip(terms, frame.columns, strict=True) if not _numeric(frame[c])]
    if bad:
        raise ValueError(f"{name} must be numeric; column(s) {', '.join(bad)} are not")
    x = frame.to_numpy(dtype=float)
    _check_finite(x, terms, name)
    return x


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _check_finite(x: np.ndarray, terms: list[str], name: str) -> None:
    rows, cols = np.nonzero(~np.isfinite(x))
    if len(rows):
        where = "; ".join(
            f"{x[i, j]} for {terms[j]} in completed dataset {i + 1}"
            for i, j in zip(rows[:5], cols[:5], strict=True)
        )
        more = f" (and {len(rows) - 5} more)" if len(rows) > 5 else ""
        raise ValueError(
            f"{name} must be finite: {where}{more}. A fit that did not converge or a singular "
            f"covariance cannot be pooled; fix or drop that model, not only that dataset"
        )


def _check_variances(u: np.ndarray, terms: list[str], name: str) -> None:
    rows, cols = np.nonzero(u < 0)
    if len(rows):
        i, j = rows[0], cols[0]
        raise ValueError(
            f"{name} must be >= 0 (squared standard errors): {u[i, j]:g} for {terms[j]} in "
            f"completed dataset {i + 1}"
        )
    zero = [t for t, all_zero in zip(terms, np.all(u == 0, axis=0), strict=True) if all_zero]
    if zero:
        raise ValueError(
            f"the within-imputation variance of {', '.join(zero)} is 0 in every completed "
            f"dataset: Rubin's rules need each dataset's sampling variance (squared standard "
            f"error), and with ubar = 0 riv is infinite and fmi undefined (mice gives Inf/NaN). "
            f"Pass the variances, not the standard errors of a degenerate fit"
        )


def _dfcom(dfcom, terms: list) -> float | np.ndarray:
    """dfcom checked: one number, or one per term (a Series matched by term label)."""
    if isinstance(dfcom, pd.Series):
        dfcom = _aligned(dfcom.to_frame().T, terms, "dfcom", axis="columns").iloc[0]
    if isinstance(dfcom, pd.Series | np.ndarray | list | tuple):
        values = list(dfcom)
        if len(values) != len(terms):
            raise ValueError(
                f"dfcom has {len(values)} values for {len(terms)} terms; give one number, or "
                f"one per term in the order of the columns of estimates"
            )
        checked = np.array(
            [_dfcom(v, [t]) for v, t in zip(values, terms, strict=True)], dtype=float
        )
        return checked
    value = _number(dfcom, "dfcom", allow_inf=True)
    if not value >= 1:
        raise ValueError(
            f"dfcom must be at least 1 (the complete-data degrees of freedom, n - p for a glm), "
            f"got {value:g}"
        )
    return value


def _number(value, name: str, *, allow_inf: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, Real | np.integer | np.floating):
        raise ValueError(f"{name} must be a number, not {_shown(value)}")
    x = float(value)
    if math.isnan(x) or (math.isinf(x) and not (allow_inf and x > 0)):
        allowed = "a finite number or math.inf" if allow_inf else "a finite number"
        raise ValueError(f"{name} must be {allowed}, got {x}")
    return x


def _variances(covariances, terms: list, m: int) -> np.ndarray:
    """(m x p) per-term variances from covariance matrices or variances, matched to terms."""
    p = len(terms)
    names = [str(t) for t in terms]
    if isinstance(covariances, pd.DataFrame):
        frame = _aligned(covariances, terms, "covariances", axis="columns")
        if len(frame) != m:
            raise ValueError(
                f"covariances has {len(frame)} rows of variances but estimates has {m} rows; "
                f"give one row per completed dataset"
            )
        return _matrix(frame, names, "covariances")
    if isinstance(covariances, np.ndarray) and covariances.ndim == 2:
        return _array_variances(covariances, (m, p), names)
    if isinstance(covariances, np.ndarray) and covariances.ndim == 3:
        items: Sequence = list(covariances)
    elif isinstance(covariances, Sequence) and not isinstance(covariances, str):
        items = covariances
    else:
        raise ValueError(
            f"covariances must be a list of m covariance matrices (p x p), an (m x p) "
            f"DataFrame or array of variances, or a list of m variance vectors; got "
            f"{_shown(covariances)}"
        )
    if len(items) != m:
        raise ValueError(
            f"covariances has {len(items)} entries but estimates has {m} rows; give one "
            f"covariance matrix (or variance vector) per completed dataset"
        )
    rows = []
    for i, item in enumerate(items, start=1):
        where = f"covariances[{i - 1}] (completed dataset {i})"
        if isinstance(item, pd.DataFrame):
            item = _aligned(item, terms, where, axis="both")
            rows.append(np.diag(_matrix(item, names, where)))
        elif isinstance(item, pd.Series):
            item = _aligned(item.to_frame().T, terms, where, axis="columns")
            rows.append(_matrix(item, names, where)[0])
        else:
            try:
                x = np.asarray(item, dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"{where} must be numeric, got {_shown(item)}") from None
            if x.shape == (p, p):
                x = np.diag(x)
            elif x.shape != (p,):
                raise ValueError(
                    f"{where} has shape {x.shape}; expected a ({p} x {p}) covariance matrix "
                    f"or {p} variances, one per term of estimates"
                )
            _check_finite(x[None, :], names, where)
            rows.append(x)
    return np.vstack(rows)


def _array_variances(x: np.ndarray, shape: tuple[int, int], names: list[str]) -> np.ndarray:
    try:
        x = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("covariances must be numeric") from None
    if x.shape != shape:
        raise ValueError(
            f"covariances has shape {x.shape}; an array of variances must be (m x p) = {shape} "
            f"like estimates (or pass a list of m covariance matrices)"
        )
    _check_finite(x, names, "covariances")
    return x


def _aligned(frame: pd.DataFrame, terms: list, where: str, *, axis: str) -> pd.DataFrame:
    """``frame`` with its columns (and, for axis="both", its index) in the order of terms."""
    labels = [("columns", frame.columns)] + ([("index", frame.index)] if axis == "both" else [])
    for label, have in labels:
        if have.has_duplicates or set(have) != set(terms) or len(have) != len(terms):
            missing = [str(t) for t in terms if t not in set(have)]
            extra = [str(t) for t in have if t not in set(terms)]
            detail = "; ".join(
                part
                for part in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"not in estimates: {', '.join(extra)}" if extra else "",
                    "duplicated labels" if have.has_duplicates else "",
                )
                if part
            )
            raise ValueError(
                f"the {label} of {where} must be the terms of estimates ({detail}); pass the "
                f"covariance of the same model fitted to each completed dataset"
            )
    frame = frame.loc[:, list(terms)]
    return frame.loc[list(terms)] if axis == "both" else frame


def _shown(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"
