"""Random-effects meta-analysis with metafor's definitions.

tau² by restricted maximum likelihood (REML, the root of the restricted score), DerSimonian-
Laird (DL) or Paule-Mandel (PM); inference by z or Knapp-Hartung (t with k - 1 df, no
truncation, as metafor's ``test = "knha"``); prediction interval mu ± crit · √(tau² + se²);
Q-profile confidence interval for tau²; I² = tau² / (tau² + s²) with s² the typical
within-study variance (k - 1) Σw / ((Σw)² - Σw²), w = 1/vi; H² = (tau² + s²) / s².

Edge cases follow metafor 3.8.1's ``rma`` (tests/evidence/reference/metafor_edge_cases.R):
studies with a missing (NaN) yi or vi are omitted with a warning; with one study the result is
that study (its estimate and z interval) and ``test="knha"`` falls back to z; with identical
effects Knapp-Hartung's se is 0 and the CI collapses to the estimate. Unlike metafor, a single
study gets no tau², I² or prediction interval (NaN): none can be estimated from one study.

Small k. With few studies the intervals are approximate. Knapp-Hartung keeps the CI of the
pooled estimate near its nominal level (tests/evidence/test_meta_coverage.py: k = 5, REML,
coverage within 3 Monte Carlo standard errors of 95%), but the prediction interval
under-covers: in this project's simulation with k = 5 studies and Knapp-Hartung, the 95%
prediction interval covered a new study's true effect 86% of the time (the coverage test
checks it stays below nominal). Read a prediction interval from fewer than about 10 studies
as too narrow.

statsmodels' ``combine_effects`` has no REML; this module does not use it. Checked against
metafor 3.8.1 (tests/evidence/reference/metafor.R and metafor_edge_cases.R).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._checks import check_level
from .._exceptions import MetaWarning
from .._format import estimate_ci, fit_html, level_percent, number, p_value
from ..plots.forest import draw_forest
from ..plots.funnel import draw_funnel
from .effect_sizes import _positions

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

Method = Literal["REML", "DL", "PM"]
Test = Literal["z", "knha"]


def _pooled(yi: np.ndarray, vi: np.ndarray, tau2: float) -> tuple[float, np.ndarray]:
    w = 1.0 / (vi + tau2)
    return float(np.sum(w * yi) / np.sum(w)), w


def _q_generalised(yi, vi, tau2: float) -> float:
    mu, w = _pooled(yi, vi, tau2)
    return float(np.sum(w * (yi - mu) ** 2))


def _upper_bracket(func, start: float) -> float:
    """A tau² large enough that ``func`` (decreasing) is negative there."""
    upper = max(start, 1e-4)
    for _ in range(200):
        if func(upper) < 0:
            return upper
        upper *= 2
    raise RuntimeError("could not bracket tau²")  # pragma: no cover


def tau2_dl(yi: np.ndarray, vi: np.ndarray) -> float:
    """DerSimonian-Laird moment estimator, truncated at 0."""
    w = 1.0 / vi
    q = _q_generalised(yi, vi, 0.0)
    c = w.sum() - np.sum(w**2) / w.sum()
    return max(0.0, (q - (len(yi) - 1)) / c)


def tau2_pm(yi: np.ndarray, vi: np.ndarray) -> float:
    """Paule-Mandel: the tau² at which the generalised Q equals k - 1 (0 if below)."""
    k = len(yi)

    def f(t):
        return _q_generalised(yi, vi, t) - (k - 1)

    if f(0.0) <= 0:
        return 0.0
    return optimize.brentq(f, 0.0, _upper_bracket(f, np.var(yi)), xtol=1e-14, rtol=1e-13)


def tau2_reml(yi: np.ndarray, vi: np.ndarray) -> float:
    """REML: the root of the restricted-likelihood score, or 0 when the score is negative
    there (the maximum on the boundary)."""

    def score(t):
        mu, w = _pooled(yi, vi, t)
        return float(np.sum(w**2 * (yi - mu) ** 2) - np.sum(w) + np.sum(w**2) / np.sum(w))

    if score(0.0) <= 0:
        return 0.0
    return optimize.brentq(score, 0.0, _upper_bracket(score, np.var(yi)), xtol=1e-14, rtol=1e-13)


_ESTIMATORS = {"REML": tau2_reml, "DL": tau2_dl, "PM": tau2_pm}


# Meta-regression (Egger's test, subgroup differences): metafor's rma with moderators.


@dataclass
class _MetaRegression:
    beta: np.ndarray
    cov: np.ndarray
    tau2: float
    df: int


def _projection(vi: np.ndarray, X: np.ndarray, tau2: float):
    w = 1.0 / (vi + tau2)
    XtW = X.T * w
    inv = np.linalg.inv(XtW @ X)
    P = np.diag(w) - XtW.T @ inv @ XtW
    return w, inv, P


def _tau2_mods(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, method: str) -> float:
    """tau² of a mixed-effects model yi = X b + u + e, by metafor's definitions."""
    k, p = X.shape
    if method == "DL":
        _, _, P0 = _projection(vi, X, 0.0)
        w = 1.0 / vi
        inv = np.linalg.inv((X.T * w) @ X)
        trace = w.sum() - np.trace(inv @ ((X.T * w**2) @ X))
        return max(0.0, float((yi @ P0 @ yi - (k - p)) / trace))
    if method == "PM":

        def f(t):
            return float(yi @ _projection(vi, X, t)[2] @ yi) - (k - p)
    else:  # REML score: y'PPy - tr(P)

        def f(t):
            P = _projection(vi, X, t)[2]
            Py = P @ yi
            return float(Py @ Py - np.trace(P))

    if f(0.0) <= 0:
        return 0.0
    return optimize.brentq(f, 0.0, _upper_bracket(f, np.var(yi)), xtol=1e-14, rtol=1e-13)


def _meta_regression(yi, vi, X, method: str, test: str) -> _MetaRegression:
    k, p = X.shape
    tau2 = _tau2_mods(yi, vi, X, method)
    w, inv, P = _projection(vi, X, tau2)
    beta = inv @ (X.T * w) @ yi
    cov = inv
    if test == "knha":
        cov = inv * float(yi @ P @ yi) / (k - p)
    return _MetaRegression(beta, cov, tau2, k - p)


@dataclass
class MetaResult:
    """A random-effects meta-analysis.

    Attributes
    ----------
    estimate, se, ci_low, ci_high, p_value : float
        Pooled effect (on the scale of ``yi``), its standard error, CI and p-value.
    pi_low, pi_high : float
        Prediction interval for the effect in a new study (NaN when k = 1). It under-covers
        with few studies (see the module's notes).
    tau2, tau2_ci_low, tau2_ci_high : float
        Between-study variance and its Q-profile CI (NaN when k = 1).
    i2, h2 : float
        I² (percent) and H², metafor's definitions (NaN when k = 1).
    q, q_p : float
        Cochran's Q and its p-value (k - 1 df); with k = 1, Q = 0 and its p-value is NaN.
    k : int
        Studies pooled (after omitting those with missing values).
    method, test : str
        ``test`` is "z" when k = 1, whatever was asked (as metafor).
    level : float
        Confidence level, strictly between 0 and 1 (``level=95`` is refused).
    omitted : list of str
        Labels of the studies :func:`meta_analysis` left out because yi or vi was missing.
    """

    yi: np.ndarray
    vi: np.ndarray
    labels: list[str]
    method: str
    test: str
    level: float
    omitted: list[str] = field(default_factory=list)
    estimate: float = field(init=False)
    se: float = field(init=False)
    ci_low: float = field(init=False)
    ci_high: float = field(init=False)
    p_value: float = field(init=False)
    pi_low: float = field(init=False)
    pi_high: float = field(init=False)
    tau2: float = field(init=False)
    tau2_ci_low: float = field(init=False)
    tau2_ci_high: float = field(init=False)
    i2: float = field(init=False)
    h2: float = field(init=False)
    q: float = field(init=False)
    q_p: float = field(init=False)
    k: int = field(init=False)

    def __post_init__(self) -> None:
        self.level = check_level(self.level)
        yi, vi, k = self.yi, self.vi, len(self.yi)
        self.k = k
        alpha = 1 - self.level
        if k == 1:
            self.test = "z"  # as metafor: 'Setting argument test="z" since k=1'
        self.tau2 = _ESTIMATORS[self.method](yi, vi) if k > 1 else np.nan
        mu, w = _pooled(yi, vi, self.tau2 if k > 1 else 0.0)
        self.estimate = mu
        se = float(np.sqrt(1.0 / np.sum(w)))
        if self.test == "knha":
            # identical effects: the weighted residual sum of squares, hence se, is 0 and the
            # CI collapses to the estimate (t = ±Inf, p = 0; 0/0 gives NaN), as metafor
            se *= float(np.sqrt(np.sum(w * (yi - mu) ** 2) / (k - 1)))
            crit = stats.t.ppf(1 - alpha / 2, k - 1)
            self.p_value = float(2 * stats.t.sf(abs(_ratio(mu, se)), k - 1))
        else:
            crit = stats.norm.ppf(1 - alpha / 2)
            self.p_value = float(2 * stats.norm.sf(abs(_ratio(mu, se))))
        self.se = se
        self.ci_low, self.ci_high = mu - crit * se, mu + crit * se
        if k > 1:
            half = crit * np.sqrt(self.tau2 + se**2)
            self.pi_low, self.pi_high = mu - half, mu + half
        else:
            self.pi_low = self.pi_high = np.nan
        self.q = _q_generalised(yi, vi, 0.0)
        self.q_p = float(stats.chi2.sf(self.q, k - 1)) if k > 1 else np.nan
        w0 = 1.0 / vi
        s2 = (k - 1) * w0.sum() / (w0.sum() ** 2 - np.sum(w0**2)) if k > 1 else np.nan
        self.i2 = 100 * self.tau2 / (self.tau2 + s2) if k > 1 else np.nan
        self.h2 = (self.tau2 + s2) / s2 if k > 1 else np.nan
        self.tau2_ci_low, self.tau2_ci_high = self._tau2_interval()

    def _tau2_interval(self) -> tuple[float, float]:
        """Q-profile interval (Viechtbauer 2007): generalised Q at its chi-square quantiles."""
        k = self.k
        if k < 2:
            return np.nan, np.nan
        alpha = 1 - self.level
        limits = []
        for quantile in (1 - alpha / 2, alpha / 2):
            target = stats.chi2.ppf(quantile, k - 1)

            def f(t, target=target):
                return _q_generalised(self.yi, self.vi, t) - target

            if f(0.0) <= 0:
                limits.append(0.0)
                continue
            limits.append(
                optimize.brentq(f, 0.0, _upper_bracket(f, np.var(self.yi)), xtol=1e-14, rtol=1e-13)
            )
        return limits[0], limits[1]

    # -- tables ------------------------------------------------------------------------------
    def weights(self) -> np.ndarray:
        """Random-effects weights in percent (100 for a single study)."""
        w = 1.0 / (self.vi + (self.tau2 if self.k > 1 else 0.0))
        return 100 * w / w.sum()

    def summary_frame(self) -> pd.DataFrame:
        """One row per study and one for the pooled estimate.

        Returns
        -------
        DataFrame
            label, yi, se, ci_low, ci_high, weight (percent; pooled row: NaN);
            ``attrs["level"]`` the CI's level and ``attrs["names"]`` ``{"label": "Study"}``
            (the names :func:`~pfps_stats.report.readable` shows).
        """
        z = stats.norm.ppf(0.5 + self.level / 2)
        se = np.sqrt(self.vi)
        studies = pd.DataFrame(
            {
                "label": self.labels,
                "yi": self.yi,
                "se": se,
                "ci_low": self.yi - z * se,
                "ci_high": self.yi + z * se,
                "weight": self.weights(),
            }
        )
        pooled = pd.DataFrame(
            [
                {
                    "label": f"Pooled ({self.method}, {self.test})",
                    "yi": self.estimate,
                    "se": self.se,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "weight": np.nan,
                }
            ]
        )
        table = pd.concat([studies, pooled], ignore_index=True)
        table.attrs.update(level=self.level, names={"label": "Study"})
        return table

    def to_series(self) -> pd.Series:
        """The pooled result: estimate, se, ci_low, ci_high, p_value, pi_low, pi_high, tau2,
        tau2_ci_low, tau2_ci_high, i2, h2, q, q_p, k; ``attrs["level"]`` the level of the CIs
        and prediction interval."""
        keys = [
            "estimate",
            "se",
            "ci_low",
            "ci_high",
            "p_value",
            "pi_low",
            "pi_high",
            "tau2",
            "tau2_ci_low",
            "tau2_ci_high",
            "i2",
            "h2",
            "q",
            "q_p",
            "k",
        ]
        series = pd.Series({key: getattr(self, key) for key in keys})
        series.attrs["level"] = self.level
        return series

    def summary_table(self) -> pd.DataFrame:
        """The pooled result as one row for a report, with readable names and text cells:
        studies pooled (k), estimate and CI, prediction interval, p, τ² with its CI, I², Q
        (with its df) and its p-value; p-values as journals print them ("<0.001", "0.012"),
        "-" where k = 1 gives none.

        Returns
        -------
        DataFrame
            One row; columns "k", "Estimate (95% CI)", "95% prediction interval", "p",
            "τ² (95% CI)", "I² (%)", "Q (k - 1 df)", "Q p-value" (the level as the result's,
            also in ``attrs["level"]``).
        """
        pct = level_percent(self.level)
        table = pd.DataFrame(
            [
                {
                    "k": str(self.k),
                    f"Estimate ({pct} CI)": estimate_ci(self.estimate, self.ci_low, self.ci_high),
                    f"{pct} prediction interval": (
                        f"{number(self.pi_low)} to {number(self.pi_high)}" if self.k > 1 else "-"
                    ),
                    "p": p_value(self.p_value),
                    f"τ² ({pct} CI)": estimate_ci(
                        self.tau2, self.tau2_ci_low, self.tau2_ci_high, digits=3
                    ),
                    "I² (%)": number(self.i2, 1),
                    f"Q ({self.k - 1} df)": number(self.q),
                    "Q p-value": p_value(self.q_p),
                }
            ]
        )
        table.attrs["level"] = self.level
        return table

    def _repr_html_(self) -> str:
        """The result as HTML for Jupyter: a header, the one-row :meth:`summary_table` and
        the studies' table."""
        pct = level_percent(self.level)
        summary = self.summary_table()
        studies = self.summary_frame().rename(
            columns={
                "label": "Study",
                "yi": "Effect",
                "se": "SE",
                "ci_low": f"{pct} CI lower",
                "ci_high": f"{pct} CI upper",
                "weight": "Weight (%)",
            }
        )
        header = (
            f"Random-effects meta-analysis ({self.method}, {self.test} test): "
            f"{self.k} stud{'y' if self.k == 1 else 'ies'}"
        )
        notes = [f"left out (missing yi or vi): {', '.join(self.omitted)}"] if self.omitted else []
        tables = summary.to_html(index=False) + studies.to_html(
            index=False, float_format=lambda v: f"{v:.3g}", na_rep="-"
        )
        return fit_html(header, notes, tables)

    def leave_one_out(self) -> pd.DataFrame:
        """The analysis repeated without each study in turn (as metafor's ``leave1out``).

        Returns
        -------
        DataFrame
            left_out, estimate, ci_low, ci_high, p_value, tau2, i2, q.
        """
        if self.k < 3:
            raise ValueError("leave-one-out needs at least 3 studies")
        rows = []
        for i, name in enumerate(self.labels):
            keep = np.arange(self.k) != i
            r = MetaResult(
                self.yi[keep],
                self.vi[keep],
                [n for j, n in enumerate(self.labels) if j != i],
                self.method,
                self.test,
                self.level,
            )
            rows.append(
                {
                    "left_out": name,
                    "estimate": r.estimate,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "p_value": r.p_value,
                    "tau2": r.tau2,
                    "i2": r.i2,
                    "q": r.q,
                }
            )
        return pd.DataFrame(rows)

    def egger(self) -> pd.Series:
        """Egger's regression test for funnel-plot asymmetry, as metafor's ``regtest`` with its
        defaults: a mixed-effects meta-regression of yi on the standard error, tau² by this
        analysis's method, z or Knapp-Hartung test of the slope. A :class:`MetaWarning` says
        when k < 10, where the test has little power.

        Returns
        -------
        Series
            statistic (z or t), p_value, df (t only), limit_estimate (the effect as the standard
            error goes to 0), limit_ci_low, limit_ci_high.
        """
        if self.k < 3:
            raise ValueError("Egger's test needs at least 3 studies")
        if self.k < 10:
            warnings.warn(
                f"Egger's test with k = {self.k} < 10 studies has little power to detect "
                f"asymmetry; interpret with caution",
                MetaWarning,
                stacklevel=2,
            )
        X = np.column_stack([np.ones(self.k), np.sqrt(self.vi)])
        fit = _meta_regression(self.yi, self.vi, X, self.method, self.test)
        se = np.sqrt(np.diag(fit.cov))
        stat = fit.beta[1] / se[1]
        alpha = 1 - self.level
        if self.test == "knha":
            p = 2 * stats.t.sf(abs(stat), fit.df)
            crit = stats.t.ppf(1 - alpha / 2, fit.df)
        else:
            p = 2 * stats.norm.sf(abs(stat))
            crit = stats.norm.ppf(1 - alpha / 2)
        return pd.Series(
            {
                "statistic": stat,
                "p_value": p,
                "df": fit.df if self.test == "knha" else np.nan,
                "limit_estimate": fit.beta[0],
                "limit_ci_low": fit.beta[0] - crit * se[0],
                "limit_ci_high": fit.beta[0] + crit * se[0],
            }
        )

    def subgroups(self, groups: Sequence) -> pd.DataFrame:
        """Pooled estimate per subgroup, and the test for subgroup differences.

        Each subgroup is pooled on its own (this analysis's method and test). The difference
        test is metafor's omnibus moderator test QM of a mixed-effects model with the subgroup as
        a factor (one tau² shared by the subgroups); with Knapp-Hartung it is an F test.

        Parameters
        ----------
        groups : sequence
            One subgroup label per study, in the order of the studies; no missing labels
            (None, NaN): a ``ValueError`` names the studies without one.

        Returns
        -------
        DataFrame
            group, k, estimate, ci_low, ci_high, tau2, i2; ``attrs["difference"]`` holds
            statistic (QM or F), df, p_value. Validated against metafor 3.8.1 (per-subgroup
            ``rma`` and ``rma(mods = ~ factor(group))``).
        """
        groups = pd.Series(list(groups), dtype=object)
        if len(groups) != self.k:
            raise ValueError(
                f"groups must have one entry per study: {len(groups)} given for k = {self.k}"
            )
        missing = np.flatnonzero(groups.isna().to_numpy())
        if len(missing):
            raise ValueError(
                f"no subgroup for {len(missing)} stud{'y' if len(missing) == 1 else 'ies'} at "
                f"position{'s' if len(missing) != 1 else ''} {_positions(missing)} "
                f"({', '.join(repr(self.labels[i]) for i in missing[:8])}"
                f"{' ...' if len(missing) > 8 else ''}); give every study a subgroup label "
                f'(e.g. "unknown") or leave those studies out of the meta-analysis'
            )
        levels = list(dict.fromkeys(groups))
        if len(levels) < 2:
            raise ValueError("subgroup analysis needs at least two subgroups")
        if len(levels) >= self.k:
            raise ValueError(
                f"{self.k} studies in {len(levels)} subgroups leave no residual degrees of "
                "freedom: the test for subgroup differences cannot be computed (metafor's rma "
                "refuses too). Pool studies into fewer subgroups, or report each study alone."
            )
        rows = []
        for level in levels:
            keep = (groups == level).to_numpy()
            if keep.sum() == 1:
                se = float(np.sqrt(self.vi[keep][0]))
                z = stats.norm.ppf(0.5 + self.level / 2)
                est = float(self.yi[keep][0])
                rows.append(
                    {
                        "group": level,
                        "k": 1,
                        "estimate": est,
                        "ci_low": est - z * se,
                        "ci_high": est + z * se,
                        "tau2": np.nan,
                        "i2": np.nan,
                    }
                )
                continue
            r = MetaResult(self.yi[keep], self.vi[keep], [], self.method, self.test, self.level)
            rows.append(
                {
                    "group": level,
                    "k": int(keep.sum()),
                    "estimate": r.estimate,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "tau2": r.tau2,
                    "i2": r.i2,
                }
            )
        X = np.column_stack(
            [np.ones(self.k)] + [(groups == lv).to_numpy(float) for lv in levels[1:]]
        )
        fit = _meta_regression(self.yi, self.vi, X, self.method, self.test)
        b, V = fit.beta[1:], fit.cov[1:, 1:]
        qm = float(b @ np.linalg.solve(V, b))
        m = len(levels) - 1
        if self.test == "knha":
            stat, p = qm / m, float(stats.f.sf(qm / m, m, fit.df))
        else:
            stat, p = qm, float(stats.chi2.sf(qm, m))
        table = pd.DataFrame(rows)
        table.attrs["difference"] = {
            "statistic": stat,
            "df": m,
            "p_value": p,
            "test": "F" if self.test == "knha" else "QM (chi-square)",
        }
        return table

    def plot_funnel(self, ax: Axes | None = None, *, xlabel: str | None = None) -> Axes:
        """Funnel plot: each study's effect against its standard error (inverted axis), with the
        pooled estimate and its pseudo 95% limits (estimate ± 1.96·se).

        Returns
        -------
        Axes
        """
        return draw_funnel(self.yi, self.vi, self.estimate, ax, xlabel=xlabel)

    def plot_forest(
        self, ax: Axes | None = None, *, exponentiate: bool = False, xlabel: str | None = None
    ) -> Axes:
        """Forest plot: each study's estimate and CI (square sized by weight), the pooled
        diamond and the prediction interval (drawn by :func:`~pfps_stats.plots.draw_forest`).

        Returns
        -------
        Axes
        """
        frame = self.summary_frame()
        tf = np.exp if exponentiate else (lambda v: v)
        studies = frame.iloc[: self.k]
        rows = pd.DataFrame(
            {
                "label": _unique(studies["label"].astype(str)),
                "estimate": tf(studies["yi"].to_numpy(float)),
                "ci_low": tf(studies["ci_low"].to_numpy(float)),
                "ci_high": tf(studies["ci_high"].to_numpy(float)),
                "series": "_studies",
                "kind": "point",
                "size": 20 + 4 * studies["weight"].to_numpy(float),
            }
        )
        pooled = {
            "label": "Pooled",
            "estimate": tf(self.estimate),
            "ci_low": tf(self.ci_low),
            "ci_high": tf(self.ci_high),
            "series": (
                f"pooled ({self.method}): τ² = {self.tau2:.3g}, I² = {self.i2:.0f}%"
                if self.k > 1
                else "one study: no pooling"
            ),
            "kind": "diamond",
            "pi_low": tf(self.pi_low),
            "pi_high": tf(self.pi_high),
        }
        rows = pd.concat([rows, pd.DataFrame([pooled])], ignore_index=True)
        return draw_forest(
            rows,
            ax,
            log_scale=exponentiate,
            null=tf(0.0),
            xlabel=xlabel or ("Ratio (95% CI)" if exponentiate else "Effect size (95% CI)"),
        )


def _ratio(num: float, den: float) -> float:
    """num / den with IEEE semantics (x/0 = ±Inf, 0/0 = NaN), as R divides."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(num) / np.float64(den))


def _unique(labels: pd.Series) -> list[str]:
    """Labels made unique for drawing ("Smith 2010", "Smith 2010 [2]"): one line per study."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} [{seen[label]}]")
    return out


def meta_analysis(
    yi: Sequence[float],
    vi: Sequence[float],
    *,
    method: Method = "REML",
    test: Test = "z",
    labels: Sequence[str] | None = None,
    level: float = 0.95,
) -> MetaResult:
    """Random-effects meta-analysis of effects ``yi`` with sampling variances ``vi``.

    Parameters
    ----------
    yi, vi : sequences of float
        Effect sizes and their variances (e.g. from :func:`effect_size`).
    method : {"REML", "DL", "PM"}
        tau² estimator.
    test : {"z", "knha"}
        Normal-theory inference, or Knapp-Hartung's t with k - 1 df (better with few studies).
    labels : sequence of str, optional
        One per study (default "study 1", "study 2", ...).
    level : float
        Confidence level of the CI and prediction interval, strictly between 0 and 1
        (0.95, not 95).

    Returns
    -------
    MetaResult
        The pooled estimate, its CI and prediction interval, tau² and heterogeneity.

    Raises
    ------
    ValueError
        Bad arguments, an infinite or non-positive ``vi``, an infinite ``yi``, or no study
        left to pool; the message names the studies' positions (1 = first).

    Warns
    -----
    MetaWarning
        Studies with a missing (NaN) yi or vi are omitted, named by position and label (as
        metafor's "Studies with NAs omitted from model fitting"; ``result.omitted`` lists
        them). With k = 1 the result is that single study's estimate and z interval (with
        ``test="knha"`` too: Knapp-Hartung needs 2 studies), with no tau², I² or prediction
        interval. With 2 to 4 studies and ``test="z"``, the intervals are too narrow.

    Notes
    -----
    Validated against metafor 3.8.1's ``rma`` and ``confint``/``predict`` (REML at its
    threshold 1e-10): see tests/evidence/test_meta_reference.py, and for identical effects
    with Knapp-Hartung, one study and missing values tests/evidence/test_meta_edge_cases.py.
    Prediction intervals under-cover with few studies (see the module's notes).
    """
    level = check_level(level)
    if method not in _ESTIMATORS:
        raise ValueError(f"method must be one of {', '.join(_ESTIMATORS)}, not {method!r}")
    if test not in ("z", "knha"):
        raise ValueError(f'test must be "z" or "knha", not {test!r}')
    y = np.asarray(yi, float)
    v = np.asarray(vi, float)
    if y.ndim != 1 or y.shape != v.shape:
        raise ValueError(f"yi and vi must be 1-D of equal length, not {y.shape}, {v.shape}")
    if len(y) == 0:
        raise ValueError("no studies to pool")
    names = list(labels) if labels is not None else [f"study {i + 1}" for i in range(len(y))]
    if len(names) != len(y):
        raise ValueError(f"labels must have one entry per study: {len(names)} for {len(y)}")
    infinite = np.flatnonzero(np.isinf(y) | np.isinf(v))
    if len(infinite):
        raise ValueError(
            f"yi and vi must be finite; infinite at position{'s' if len(infinite) > 1 else ''} "
            f"{_positions(infinite)}: fix those studies' effect sizes or leave them out"
        )
    missing = np.isnan(y) | np.isnan(v)
    if missing.all():
        raise ValueError(
            "no studies to pool: yi or vi is missing (NaN) for every study; check the effect "
            "sizes (effect_size gives NaN for a 2x2 table with no participants)"
        )
    omitted = [names[i] for i in np.flatnonzero(missing)]
    if omitted:
        where = np.flatnonzero(missing)
        warnings.warn(
            f"{len(omitted)} of {len(y)} studies omitted because yi or vi is missing (NaN), as "
            f"metafor's rma does: position{'s' if len(omitted) > 1 else ''} "
            f"{_positions(where)} ({', '.join(map(repr, omitted[:8]))}"
            f"{' ...' if len(omitted) > 8 else ''}); {int((~missing).sum())} pooled",
            MetaWarning,
            stacklevel=2,
        )
        y, v = y[~missing], v[~missing]
        names = [n for n, m in zip(names, missing, strict=True) if not m]
    nonpositive = np.flatnonzero(v <= 0)
    if len(nonpositive):
        raise ValueError(
            "every sampling variance vi must be positive; not at "
            f"{'positions' if len(nonpositive) > 1 else 'position'} {_positions(nonpositive)}"
            + (" (counted after the omitted studies)" if omitted else "")
        )
    k = len(y)
    if k == 1:
        warnings.warn(
            "k = 1: the result is the single study's own estimate and z interval; no tau², "
            "I², heterogeneity test or prediction interval can be estimated"
            + (
                " (Knapp-Hartung needs 2 studies: test='z' used, as metafor)"
                if test == "knha"
                else ""
            ),
            MetaWarning,
            stacklevel=2,
        )
    elif test == "z" and k < 5:
        warnings.warn(
            f"with k = {k} studies, z-based intervals are too narrow; consider "
            f"test='knha' (Knapp-Hartung)",
            MetaWarning,
            stacklevel=2,
        )
    return MetaResult(y, v, names, method, test, level, omitted)
