"""Logistic models of who develops PFP: :func:`fit_logistic` (ML, Firth, clustered) and the
immutable :class:`LogisticFit` with odds ratios, profile-likelihood intervals,
likelihood-ratio tests and predictions.

Formulas: see :mod:`pfps_stats.models.design` (the one place they are read and documented).
ML fits use statsmodels' ``Logit``; Firth's penalised likelihood, profile intervals and
batched bootstrap fits use :mod:`pfps_stats.models.engine`; clustered data use statsmodels'
cluster-robust covariance or GEE, or, with fewer than :data:`FEW_CLUSTERS` clusters, the CR2
covariance and Satterthwaite degrees of freedom of :mod:`pfps_stats.models.robust`, all
computed before the fit object is built.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import linalg, special, stats

from .._checks import check_level
from .._exceptions import ModelError, ModelWarning
from .._format import FitDisplay
from ..cohort.imputation import ImputedCohort
from . import engine, robust
from .design import Design, build_design, column_label, per_increments

if TYPE_CHECKING:  # pragma: no cover
    import dask.dataframe as dd

    from .dask_logistic import DaskLogisticFit
    from .pooled import PooledLogisticFit

Method = Literal["ml", "firth", "auto"]
#: Events per variable below which method="auto" uses Firth's penalised likelihood.
EPV_FIRTH = 5.0
#: Events per variable below which tables warn (Peduzzi et al. 1996).
EPV_WARN = 10.0
#: Largest n x p for which separation is always checked by linear programming (~0.1 s);
#: larger designs are checked only when the ML fit shows the signs of separation.
LP_ALWAYS = 120_000
#: Clustered fits with fewer clusters than this use small-sample inference: CR2 covariance with
#: Satterthwaite degrees of freedom (cluster_method="robust") or t(G - 1) quantiles ("gee").
#: Cameron & Miller (2015, "A practitioner's guide to cluster-robust inference") put "few"
#: anywhere from under 20 to under 50 clusters, depending on balance; clubSandwich's panel-data
#: vignette shows Satterthwaite df about half the number of clusters (and far fewer for an
#: unbalanced covariate) even with 51 clusters. CR2 tends to CR1 as clusters grow, so the
#: threshold errs on the side of small-sample inference; from 50 clusters up, CR1 with normal
#: quantiles (as sandwich::vcovCL) is kept.
FEW_CLUSTERS = 50
#: Satterthwaite df below this leave even CR2 t-tests unreliable (Tipton 2015): say so.
SATTERTHWAITE_LOW = 4.0


#: Columns of :meth:`LogisticFit.odds_ratios` (a pooled fit adds ``fmi``).
ODDS_RATIO_COLUMNS = [
    "term",
    "label",
    "increment",
    "odds_ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "test",
    "df",
]


# ---------------------------------------------------------------------------------------------
# Fitting


def fit_logistic(
    data: pd.DataFrame | ImputedCohort | dd.DataFrame,
    formula: str,
    *,
    method: Method = "ml",
    cluster: str | None = None,
    cluster_method: Literal["robust", "gee"] = "robust",
) -> LogisticFit | PooledLogisticFit | DaskLogisticFit:
    """Fit a logistic regression of a 0/1 outcome.

    Parameters
    ----------
    data : DataFrame or ImputedCohort
        Any DataFrame (not only cohorts); rows with a missing value in a variable of the
        formula are dropped, with a :class:`ModelWarning` giving the count per variable.
        An :class:`~pfps_stats.ImputedCohort` (from :func:`~pfps_stats.impute`): each
        completed dataset is fitted and the fits are pooled by Rubin's rules into a
        :class:`~pfps_stats.PooledLogisticFit` (:mod:`pfps_stats.models.pooled`).
        A Dask DataFrame (data larger than memory): distributed Newton-Raphson with Wald
        intervals, model-based or cluster-robust (CR1, each cluster in one partition); ML
        only, no splines (:mod:`pfps_stats.models.dask_logistic`).
    formula : str
        A formula (:mod:`pfps_stats.models.design`), e.g. ``"pfp ~ bmi + q_angle_deg + C(sex) + cr(weekly_km, df=4)"``.
    method : {"ml", "firth", "auto"}
        "ml": maximum likelihood; separation raises :class:`ModelError` naming the terms.
        "firth": Firth's penalised likelihood (as logistf). "auto": Firth when the data are
        separated or events per variable fall below 5, with a warning; else ML.
    cluster : str, optional
        Column identifying clusters (``"runner_id"`` when each runner contributes two knees).
    cluster_method : {"robust", "gee"}
        "robust": ML estimates with cluster-robust (CR1) covariance, as sandwich::vcovCL.
        "gee": GEE with an exchangeable working correlation, as geepack::geeglm.
        Clustered fits report Wald intervals and p-values from the robust covariance. With
        fewer than ``FEW_CLUSTERS`` (50) clusters, and a :class:`ModelWarning` saying so,
        "robust" uses the CR2 (Bell-McCaffrey) covariance with Satterthwaite degrees of
        freedom per coefficient and t quantiles, as ``clubSandwich::coef_test(vcov = "CR2",
        test = "Satterthwaite")``; "gee" keeps its robust covariance with t(G - 1) quantiles.
        At least 2 clusters are needed.

    Returns
    -------
    LogisticFit, PooledLogisticFit for an ImputedCohort, DaskLogisticFit for a Dask DataFrame

    Notes
    -----
    Validated against R (``tests/models/reference``): glm and MASS::confint for ML; logistf's
    published outputs (sex2, endometrial data) for Firth; sandwich and geepack for clusters;
    clubSandwich for CR2 and Satterthwaite degrees of freedom.
    """
    if method not in ("ml", "firth", "auto"):
        raise ValueError(f'method must be "ml", "firth" or "auto", not {method!r}')
    if type(data).__module__.partition(".")[0] == "dask":  # without importing dask
        from .dask_logistic import fit_dask_logistic

        return fit_dask_logistic(
            data, formula, method=method, cluster=cluster, cluster_method=cluster_method
        )
    if isinstance(data, ImputedCohort):
        from .pooled import fit_pooled_logistic

        return fit_pooled_logistic(
            data, formula, method=method, cluster=cluster, cluster_method=cluster_method
        )
    design = build_design(data, formula, extra=[cluster] if cluster else [])
    notes: list[str] = []
    if design.n_dropped:
        detail = ", ".join(f"{k}: {v}" for k, v in design.dropped.items())
        notes.append(
            f"dropped {design.n_dropped} of {len(data)} rows with missing values ({detail})"
        )
    n_params = design.X.shape[1] - ("Intercept" in design.columns)
    events = int(design.y.sum())
    epv = min(events, len(design.y) - events) / max(n_params, 1)
    separated = _separated_terms(design) if design.X.size <= LP_ALWAYS else None
    chosen = _choose_method(method, separated or [], epv, notes)
    if epv < EPV_WARN:
        notes.append(
            f"events per variable {epv:.1f} < {EPV_WARN:g}: estimates may be "
            f"unstable and optimistic"
        )
    try:
        result = _estimate(design, chosen, check_separation=separated is None)
    except _SeparationSuspected:
        separated = _separated_terms(design)  # the exact check, only when ML shows the signs
        chosen = _choose_method(method, separated, epv, notes)
        result = _estimate(design, chosen, check_separation=False)
    clustered = None
    if cluster is not None:
        if chosen == "firth":
            for note in notes:
                warnings.warn(note, ModelWarning, stacklevel=2)
            raise ModelError(
                "clustered fits use ML; with separation, combine categories or "
                "fit one knee per runner with method='firth'"
            )
        clustered = _estimate_clustered(design, cluster, cluster_method, result)
        notes.extend(clustered[3].pop("notes"))
    for note in notes:
        warnings.warn(note, ModelWarning, stacklevel=2)
    return LogisticFit(
        design,
        chosen,
        notes,
        result=result,
        epv=epv,
        separated=separated or [],
        clustered=clustered,
    )


class _SeparationSuspected(Exception):
    """ML showed the signs of separation; the exact check decides."""


def _choose_method(method: str, separated: list[str], epv: float, notes: list[str]) -> str:
    if separated and method == "ml":
        raise ModelError(
            f"the outcome is perfectly predicted (complete or quasi-complete separation) along "
            f"{', '.join(map(repr, separated))}; maximum-likelihood odds ratios do not exist "
            f"(they are infinite). Use method='firth' (or 'auto'), or combine sparse categories."
        )
    if method != "auto":
        return method
    if separated:
        notes.append(
            f"separation along {', '.join(map(repr, separated))}: fitted by "
            f"Firth's penalised likelihood"
        )
        return "firth"
    if epv < EPV_FIRTH:
        notes.append(
            f"events per variable {epv:.1f} < {EPV_FIRTH:g}: fitted by Firth's penalised likelihood"
        )
        return "firth"
    return "ml"


def _separated_terms(design: Design) -> list[str]:
    """Terms along which the data are separated (linear programming), or []."""
    direction = engine.separation_direction(design.X, design.y)
    if direction is None:
        return []
    return [
        c for c, b in zip(design.columns, direction, strict=True) if b != 0 and c != "Intercept"
    ] or ["Intercept"]


def _estimate(design: Design, method: str, *, check_separation: bool) -> engine.NewtonResult:
    """ML (statsmodels Logit, Newton) or Firth (the engine) estimates of one design."""
    X, y = design.X, design.y
    if method == "firth":
        result = engine.newton(X, y, firth=True)
        if not result.converged:
            raise ModelError(
                "Firth's penalised likelihood did not converge; the model may "
                "have too many terms for the data"
            )
        return result
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm_fit = sm.Logit(y, X).fit(method="newton", disp=0, maxiter=100)
    beta = np.asarray(sm_fit.params)
    converged = sm_fit.mle_retvals.get("converged", True)
    if check_separation:
        eta = X @ beta
        if not converged or np.max(np.abs(beta[1:]), initial=0) > 15 or np.max(np.abs(eta)) > 25:
            raise _SeparationSuspected
    if not converged:
        raise ModelError("maximum likelihood did not converge; try method='firth'")
    info = linalg.inv(np.asarray(sm_fit.normalized_cov_params))  # Fisher information
    return engine.NewtonResult(
        beta,
        float(sm_fit.llf),
        float(sm_fit.llf),
        info,
        True,
        int(sm_fit.mle_retvals.get("iterations", 0)),
    )


def _estimate_clustered(
    design: Design, cluster: str, how: str, ml: engine.NewtonResult
) -> tuple[np.ndarray, np.ndarray, float, dict]:
    """Estimates, robust covariance and log-likelihood of a clustered fit, and its cluster
    record: column, method, n_clusters, groups, covariance ("CR1", "CR2" or "GEE robust"),
    df_method ("normal", "Satterthwaite" or "t(G - 1)"), df (per coefficient; inf = normal),
    test (the label of its intervals and p-values), satterthwaite (the
    :class:`~pfps_stats.models.robust.CR2`, for the df of any contrast; CR2 only),
    exchangeable_correlation (GEE only), and notes (popped by the caller)."""
    import statsmodels.api as sm

    if how not in ("robust", "gee"):
        raise ValueError(f'cluster_method must be "robust" or "gee", not {how!r}')
    labels = design.data[cluster]
    groups = pd.factorize(labels)[0]
    n_clusters = int(groups.max() + 1)
    if n_clusters < 2:
        raise ModelError(
            f"clustered inference needs at least 2 clusters; {cluster!r} takes the single "
            f"value {labels.iloc[0]!r} in all {len(labels)} rows used, so the variation "
            f"between clusters cannot be estimated. Fit without cluster=, or cluster by a "
            f"column with several values"
        )
    X, y = design.X, design.y
    p = X.shape[1]
    few = n_clusters < FEW_CLUSTERS
    notes: list[str] = []
    record: dict = {"column": cluster, "method": how, "n_clusters": n_clusters}
    if how == "robust" and few:
        beta = np.asarray(ml.beta, dtype=float)
        cr2 = robust.cr2_logistic(X, y, special.expit(X @ beta), groups)
        cov = cr2.vcov
        df = np.asarray(cr2.df(np.eye(p)), dtype=float)
        record.update(
            covariance="CR2",
            df_method="Satterthwaite",
            test="Wald (CR2, Satterthwaite df)",
            satterthwaite=cr2,
        )
        note = (
            f"only {n_clusters} clusters of {cluster} (fewer than {FEW_CLUSTERS}): robust "
            f"standard errors from few clusters are too small and normal quantiles too narrow, "
            f"so intervals and p-values use the CR2 (Bell-McCaffrey) covariance with "
            f"Satterthwaite degrees of freedom and t quantiles, as clubSandwich::coef_test("
            f'vcov = "CR2", test = "Satterthwaite")'
        )
        low = [
            c
            for c, d in zip(design.columns, df, strict=True)
            if c != "Intercept" and not d >= SATTERTHWAITE_LOW
        ]
        if low:
            note += (
                f"; Satterthwaite df below {SATTERTHWAITE_LOW:g} for "
                f"{', '.join(map(repr, low))}: their intervals are wide and their p-values may "
                f"still be too small (Tipton 2015)"
            )
        notes.append(note)
    elif how == "robust":
        res = sm.GLM(y, X, family=sm.families.Binomial()).fit(
            cov_type="cluster", cov_kwds={"groups": groups, "use_correction": True}
        )
        beta, cov = np.asarray(res.params, dtype=float), np.asarray(res.cov_params(), float)
        df = np.full(p, np.inf)
        record.update(covariance="CR1", df_method="normal", test="Wald (CR1, normal)")
    else:
        res = sm.GEE(
            y,
            X,
            groups=groups,
            family=sm.families.Binomial(),
            cov_struct=sm.cov_struct.Exchangeable(),
        ).fit()
        beta, cov = np.asarray(res.params, dtype=float), np.asarray(res.cov_params(), float)
        df = np.full(p, float(n_clusters - 1) if few else np.inf)
        record.update(
            covariance="GEE robust",
            df_method="t(G - 1)" if few else "normal",
            test=f"Wald (GEE robust, {'t(G - 1) df' if few else 'normal'})",
        )
        record["exchangeable_correlation"] = float(res.cov_struct.dep_params)
        if few:
            notes.append(
                f"only {n_clusters} clusters of {cluster} (fewer than {FEW_CLUSTERS}): GEE "
                f"robust standard errors from few clusters are too small; Satterthwaite degrees "
                f"of freedom are not available for GEE here, so intervals and p-values use "
                f"t(G - 1) = t({n_clusters - 1}) quantiles. cluster_method='robust' gives the "
                f"CR2 covariance with Satterthwaite df"
            )
    for array in (groups, df):
        array.flags.writeable = False
    record.update(groups=groups, df=df, notes=notes)
    p_hat = special.expit(X @ beta)
    loglik = float(np.sum(y * np.log(p_hat) + (1 - y) * np.log1p(-p_hat)))
    return beta, cov, loglik, record


class LogisticFit(FitDisplay):
    """A fitted logistic model; immutable once built (made by :func:`fit_logistic`).

    Attributes
    ----------
    design : Design
        The rows and columns used (read-only): ``design.X``, ``design.y``, ``design.data``.
    formula : str
    method : {"ml", "firth"}
        How it was fitted ("auto" resolves to one of these).
    params_, bse_ : Series
        Log odds ratios and their standard errors (robust when clustered).
    cov_ : DataFrame
    loglik_ : float
        Log-likelihood at the estimates (unpenalised, also for Firth).
    n_obs, n_events, n_dropped : int
    epv : float
        Events (the rarer outcome class) per estimated coefficient.
    notes : tuple of str
        Everything a reader should know about the fit (rows dropped, Firth used, low EPV).
    separated : tuple of str
        Terms along which the data were separated (fitted by Firth), or empty.
    cluster : mapping or None
        For clustered fits: column, method, n_clusters, groups (cluster index of each row),
        covariance ("CR1", "CR2" or "GEE robust"), df_method ("normal", "Satterthwaite" or
        "t(G - 1)"), df (degrees of freedom of each coefficient's t reference; inf = normal),
        test (the label of its intervals and p-values), satterthwaite (CR2 only: a
        :class:`~pfps_stats.models.robust.CR2` whose ``df(c)`` gives the Satterthwaite df of
        any contrast), exchangeable_correlation (GEE only). Read-only.
    """

    def __init__(
        self,
        design: Design,
        method: str,
        notes: Sequence[str],
        *,
        result: engine.NewtonResult,
        epv: float,
        separated: Sequence[str] = (),
        clustered: tuple[np.ndarray, np.ndarray, float, dict] | None = None,
    ):
        set_ = object.__setattr__
        set_(self, "design", design)
        set_(self, "method", method)
        set_(self, "formula", design.formula)
        set_(self, "notes", tuple(notes))
        set_(self, "epv", epv)
        set_(self, "separated", tuple(separated))
        set_(self, "_result", result)
        set_(self, "_cache", {})
        p = len(design.columns)
        if clustered is None:
            beta, cov, loglik, cluster = result.beta, result.cov, result.loglik, None
            df, wald = np.full(p, np.inf), "Wald"
        else:
            beta, cov, loglik, record = clustered
            cluster = MappingProxyType(dict(record))
            df, wald = np.array(record["df"], dtype=float), record["test"]
        df.flags.writeable = False
        set_(self, "_df", df)  # t reference of each coefficient's Wald test (inf: normal)
        set_(self, "_wald_test", wald)
        beta, cov = np.array(beta, dtype=float), np.array(cov, dtype=float)
        beta.flags.writeable = False
        cov.flags.writeable = False
        set_(self, "_beta", beta)
        set_(self, "_cov", cov)
        set_(self, "loglik_", float(loglik))
        set_(self, "cluster", cluster)
        set_(self, "n_obs", design.n_obs)
        set_(self, "n_events", design.n_events)
        set_(self, "n_dropped", design.n_dropped)

    def __setattr__(self, name, value):
        raise AttributeError(
            f"a LogisticFit is immutable: {name!r} cannot be set. Results such as "
            f"calibrate_bootstrap's curve are returned, not stored on the fit."
        )

    def __delattr__(self, name):
        raise AttributeError(f"a LogisticFit is immutable: {name!r} cannot be deleted")

    @property
    def params_(self) -> pd.Series:
        """Log odds ratios (a copy)."""
        return pd.Series(self._beta, index=self.design.columns, name="estimate")

    @property
    def bse_(self) -> pd.Series:
        """Standard errors of the log odds ratios (robust when clustered)."""
        return pd.Series(np.sqrt(np.diag(self._cov)), index=self.design.columns, name="std_error")

    @property
    def cov_(self) -> pd.DataFrame:
        """Covariance of the log odds ratios (a copy)."""
        return pd.DataFrame(self._cov, index=self.design.columns, columns=self.design.columns)

    # -- estimates -------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """Design-matrix column names (patsy's)."""
        return list(self.design.columns)

    def _interval(self, j: int, level: float) -> tuple[float, float]:
        key = ("ci", j, level)
        if key not in self._cache:
            self._cache[key] = engine.profile_interval(
                self.design.X,
                self.design.y,
                None,
                self._result,
                j,
                firth=self.method == "firth",
                level=level,
            )
        return self._cache[key]

    def _lr_p(self, j: int) -> float:
        key = ("lr", j)
        if key not in self._cache:
            self._cache[key] = engine.lr_statistic(
                self.design.X, self.design.y, None, self._result, j, firth=self.method == "firth"
            )
        return self._cache[key][1]

    def _lr_test_name(self) -> str:
        return "penalised likelihood ratio" if self.method == "firth" else "likelihood ratio"

    def odds_ratios(
        self,
        ci: Literal["profile", "wald"] = "profile",
        per=None,
        *,
        level: float = 0.95,
        intercept: bool = False,
    ) -> pd.DataFrame:
        """Odds ratios with confidence intervals and p-values, each interval with its own test.

        Parameters
        ----------
        ci : {"profile", "wald"}
            "profile": profile likelihood interval (ML, as MASS::confint) with the
            likelihood-ratio p-value, or profile penalised likelihood interval with the
            penalised likelihood-ratio p-value (Firth, as logistf). "wald": estimate ± q·SE
            with the Wald p-value of the same statistic (as summary.glm), so an interval
            excludes OR 1 exactly when p < 1 - level. Clustered fits allow only "wald", with
            the robust SE: normal quantiles, or with fewer than 50 clusters t quantiles
            (CR2 with Satterthwaite df; GEE: t(G - 1)).
        per : None, "sd", "clinical" or dict
            Scale each numeric main effect's OR to an increment: a dict such as
            ``{"q_angle_deg": 5}``, one SD in the model's rows, or the variable dictionary's
            clinical increment. Category levels, splines and interactions stay per unit.
        level : float
            Confidence level, between 0 and 1 (default 0.95).
        intercept : bool
            Include the intercept row (the odds at all covariates zero / reference).

        Returns
        -------
        DataFrame
            term, label, increment, odds_ratio, ci_low, ci_high, p_value, test, df. ``test``
            names the test behind both the interval and the p-value: "likelihood ratio",
            "penalised likelihood ratio", "Wald", or for clustered fits "Wald (CR1, normal)",
            "Wald (CR2, Satterthwaite df)", "Wald (GEE robust, t(G - 1) df)". ``df`` is the
            degrees of freedom of a Wald row's t reference (inf: normal quantiles), NaN for
            likelihood-ratio rows. ``attrs`` hold ci, test and level.
        """
        if ci not in ("profile", "wald"):
            raise ValueError(f'ci must be "profile" or "wald", not {ci!r}')
        level = check_level(level)
        if self.cluster and ci == "profile":
            raise ModelError(
                "profile-likelihood intervals assume independent rows; a "
                "clustered fit gives Wald intervals from the robust covariance: "
                "use ci='wald'"
            )
        increments = per_increments(self.design, per)
        test = self._lr_test_name() if ci == "profile" else self._wald_test
        rows = []
        for j, entry in enumerate(self.design.info):
            if entry.kind == "intercept" and not intercept:
                continue
            c = increments.get(entry.variable, 1.0) if entry.kind == "numeric" else 1.0
            beta, se = self.params_.iloc[j], self.bse_.iloc[j]
            if ci == "profile":
                lo, hi = self._interval(j, level)
                p_value, df = self._lr_p(j), np.nan
            else:
                df = float(self._df[j])
                q = _quantile(level, df)
                lo, hi = beta - q * se, beta + q * se
                p_value = _two_sided_p(beta / se, df)
            rows.append(
                {
                    "term": entry.column,
                    "label": column_label(entry, c),
                    "increment": c,
                    "odds_ratio": np.exp(c * beta),
                    "ci_low": np.exp(c * lo),
                    "ci_high": np.exp(c * hi),
                    "p_value": p_value,
                    "test": test,
                    "df": df,
                }
            )
        table = pd.DataFrame(rows, columns=ODDS_RATIO_COLUMNS)
        table.attrs.update(ci=ci, test=test, level=level)
        return table

    def summary_frame(self, ci: Literal["profile", "wald"] | None = None) -> pd.DataFrame:
        """Every coefficient: term, estimate (log OR), std_error, odds_ratio, ci_low, ci_high,
        p_value, test, df (intervals profile unless clustered; see :meth:`odds_ratios`)."""
        ci = ci or ("wald" if self.cluster else "profile")
        table = self.odds_ratios(ci=ci, intercept=True)
        table.insert(1, "estimate", self.params_.to_numpy())
        table.insert(2, "std_error", self.bse_.to_numpy())
        return table.drop(columns=["label", "increment"])

    # -- tests -------------------------------------------------------------------------------
    def _objective_without(self, columns: list[int]) -> float:
        fixed = np.zeros(len(self.design.columns), bool)
        fixed[columns] = True
        beta0 = self._result.beta.copy()
        beta0[fixed] = 0.0
        res = engine.newton(
            self.design.X, self.design.y, firth=self.method == "firth", beta0=beta0, fixed=fixed
        )
        return res.objective

    def term_tests(self) -> pd.DataFrame:
        """Likelihood-ratio test of each term as a whole (all its columns zero).

        Returns
        -------
        DataFrame
            term, df, chi2, p_value; spline terms add a row ``"<term> (non-linear)"`` from
            :meth:`nonlinearity_test`.
        """
        if self.cluster:
            raise ModelError(
                "likelihood-ratio tests assume independent rows; not available for clustered fits"
            )
        rows = []
        for term, sl in self.design.term_slices().items():
            if term == "Intercept":
                continue
            idx = list(range(sl.start, sl.stop))
            chi2 = max(0.0, 2 * (self._result.objective - self._objective_without(idx)))
            rows.append(
                {
                    "term": term,
                    "df": len(idx),
                    "chi2": chi2,
                    "p_value": float(stats.chi2.sf(chi2, len(idx))),
                }
            )
        table = pd.DataFrame(rows, columns=["term", "df", "chi2", "p_value"])
        nonlinear = self.nonlinearity_test()
        if len(nonlinear):
            nonlinear = nonlinear.assign(term=nonlinear["term"] + " (non-linear)")
            table = pd.concat([table, nonlinear[table.columns]], ignore_index=True)
        return table

    def nonlinearity_test(self) -> pd.DataFrame:
        """For each spline term, the LR test of the spline against a straight line in the same
        variable (the model refitted with the spline replaced by the variable itself).

        Returns
        -------
        DataFrame
            term, variable, df, chi2, p_value (empty when the model has no spline).
        """
        rows = []
        for term, variable, X in self.design.linearised():
            res = engine.newton(X, self.design.y, firth=self.method == "firth")
            chi2 = max(0.0, 2 * (self._result.objective - res.objective))
            df = len(self.design.columns) - X.shape[1]
            rows.append(
                {
                    "term": term,
                    "variable": variable,
                    "df": df,
                    "chi2": chi2,
                    "p_value": float(stats.chi2.sf(chi2, df)),
                }
            )
        return pd.DataFrame(rows, columns=["term", "variable", "df", "chi2", "p_value"])

    def lr_test(self, other: LogisticFit) -> pd.Series:
        """Likelihood-ratio test between this model and a nested one fitted to the same rows.

        Returns
        -------
        Series
            chi2, df, p_value.
        """
        big, small = (self, other) if len(self.columns) >= len(other.columns) else (other, self)
        if not set(small.columns) <= set(big.columns):
            raise ModelError(
                "the models are not nested: "
                f"{sorted(set(small.columns) - set(big.columns))} are only in the "
                f"smaller one"
            )
        if not big.design.rows.equals(small.design.rows):
            raise ModelError(
                f"the models were fitted to different rows (n = {big.n_obs} and "
                f"{small.n_obs}); fit both to the same complete cases"
            )
        if big.method != small.method or big.cluster or small.cluster:
            raise ModelError("compare models fitted by the same method, without clustering")
        chi2 = max(0.0, 2 * (big._result.objective - small._result.objective))
        df = len(big.columns) - len(small.columns)
        return pd.Series({"chi2": chi2, "df": df, "p_value": float(stats.chi2.sf(chi2, df))})

    # -- prediction -------------------------------------------------------------------------
    @property
    def fitted_(self) -> np.ndarray:
        """Predicted probabilities for the rows used in the fit."""
        return special.expit(self.design.X @ self.params_.to_numpy())

    @property
    def y_(self) -> np.ndarray:
        """The outcome of the rows used in the fit."""
        return self.design.y

    def predict_proba(
        self, new_data: pd.DataFrame, *, ci: bool = True, level: float = 0.95
    ) -> pd.DataFrame:
        """Predicted probability of the outcome for new rows, with a CI.

        The interval is eta ± q·SE(eta) on the logit scale (delta method), transformed; q is
        the normal quantile, or for clustered fits with fewer than 50 clusters the t quantile
        with the Satterthwaite df of each row's linear predictor (CR2; as
        clubSandwich::linear_contrast) or with G - 1 df (GEE).

        Returns
        -------
        DataFrame
            prob, and ci_low, ci_high when ``ci``; indexed like ``new_data``; rows with a
            missing predictor get NaN.
        """
        level = check_level(level)
        X = self.design.matrix_for(new_data)
        x = X.to_numpy(float)
        eta = x @ self.params_.to_numpy()
        out = pd.DataFrame({"prob": special.expit(eta)}, index=X.index)
        if ci:
            se = np.sqrt(np.einsum("ij,jk,ik->i", x, self._cov, x))
            if self.cluster and "satterthwaite" in self.cluster:
                df = self.cluster["satterthwaite"].df(x) if len(x) else np.zeros(0)
            else:  # one df for every row: inf (normal) or G - 1 (GEE, few clusters)
                df = np.full(len(x), self._df[0] if len(self._df) else np.inf)
            q = np.array([_quantile(level, d) for d in df])
            out["ci_low"] = special.expit(eta - q * se)
            out["ci_high"] = special.expit(eta + q * se)
        return out.reindex(new_data.index)

    def performance(self) -> pd.Series:
        """Apparent performance: see :func:`pfps_stats.models.performance.model_performance`."""
        from .performance import model_performance

        return model_performance(self.y_, self.fitted_)

    # -- display ----------------------------------------------------------------------------
    def _header(self) -> str:
        how = {"ml": "maximum likelihood", "firth": "Firth's penalised likelihood"}[self.method]
        text = (
            f"Logistic regression ({how}): {self.formula}\n"
            f"n = {self.n_obs}, events = {self.n_events}, dropped (missing) = "
            f"{self.n_dropped}, EPV = {self.epv:.1f}, log-likelihood = {self.loglik_:.3f}"
        )
        if self.cluster:
            text += (
                f"\nclustered by {self.cluster['column']} "
                f"({self.cluster['n_clusters']} clusters, {self.cluster['method']}): intervals "
                f"and p-values {self.cluster['test']}"
            )
        return text


def _quantile(level: float, df: float) -> float:
    """The two-sided ``level`` quantile of t(df); the normal's when df is infinite."""
    if np.isinf(df):
        return float(stats.norm.ppf(0.5 + level / 2))
    return float(stats.t.ppf(0.5 + level / 2, df))


def _two_sided_p(statistic: float, df: float) -> float:
    """Two-sided p-value of a Wald statistic against t(df), or the normal when df is inf."""
    if np.isinf(df):
        return float(2 * stats.norm.sf(abs(statistic)))
    return float(2 * stats.t.sf(abs(statistic), df))
