"""Logistic models of who develops PFP: fitting (ML, Firth, clustered), odds ratios with
profile-likelihood intervals and likelihood-ratio p-values, and the univariable plus
multivariable odds-ratio table people publish.

Formulas are patsy's, as in statsmodels: ``C()`` for categories, ``cr()``/``bs()`` for splines,
``a:b`` and ``a*b`` for interactions. ML fits use statsmodels' ``Logit``; Firth's penalised
likelihood, profile intervals and batched bootstrap fits use
:mod:`pfps_stats.logistic_engine`; clustered data use statsmodels' cluster-robust covariance
or GEE.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg, special, stats

from . import logistic_engine as engine
from .variables import VARIABLES

Method = Literal["ml", "firth", "auto"]
#: Events per variable below which method="auto" uses Firth's penalised likelihood.
EPV_FIRTH = 5.0
#: Events per variable below which tables warn (Peduzzi et al. 1996).
EPV_WARN = 10.0
#: Largest n x p for which separation is always checked by linear programming (~0.1 s);
#: larger designs are checked only when the ML fit shows the signs of separation.
LP_ALWAYS = 120_000
_SPLINES = ("cr(", "bs(", "cc(", "te(")


class ModelError(ValueError):
    """The data or formula cannot be fitted as asked; the message names the terms or rows."""


class ModelWarning(UserWarning):
    """The fit went ahead, with something to know (rows dropped, Firth used, low EPV)."""


# ---------------------------------------------------------------------------------------------
# Design


@dataclass
class _Design:
    X: np.ndarray
    y: np.ndarray
    columns: list[str]
    design_info: object
    rows: pd.Index
    data: pd.DataFrame
    outcome: str
    dropped: dict[str, int] = field(default_factory=dict)
    n_dropped: int = 0


def _used_columns(formula: str, data: pd.DataFrame) -> list[str]:
    names = []
    for column in data.columns:
        if isinstance(column, str) and re.search(
            rf"(?<![\w.]){re.escape(column)}(?![\w])", formula
        ):
            names.append(column)
    return names


def _check_outcome(data: pd.DataFrame, outcome: str) -> None:
    if outcome not in data:
        raise ModelError(
            f"the outcome {outcome!r} is not a column of the data; columns: "
            f"{', '.join(map(str, data.columns))}"
        )
    column = data[outcome]
    if pd.api.types.is_bool_dtype(column):
        return
    if pd.api.types.is_numeric_dtype(column):  # fast path: one vectorised pass
        v = column.to_numpy(dtype=float, na_value=np.nan)
        if (((v == 0) | (v == 1)) | np.isnan(v)).all():
            return
    values = column.dropna()
    numeric = pd.to_numeric(values, errors="coerce")
    bad = values[numeric.isna() | ~numeric.isin([0, 1])]
    if len(bad):
        shown = ", ".join(map(repr, pd.unique(bad.astype(str))[:5]))
        raise ModelError(
            f"the outcome {outcome!r} must be 0/1 (a binary outcome); it also has "
            f"{shown} in {len(bad)} rows (first rows: "
            f"{', '.join(map(str, bad.index[:5]))}). Recode it, or load the data "
            f"with ps.load_cohort, which reads yes/no outcomes."
        )


def _design(data: pd.DataFrame, formula: str, *, extra: Sequence[str] = ()) -> _Design:
    import patsy

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    if "~" not in formula:
        raise ModelError(f"formula {formula!r} needs an outcome: 'pfp ~ bmi + q_angle_deg'")
    outcome = formula.split("~", 1)[0].strip()
    _check_outcome(data, outcome)
    used = list(dict.fromkeys([*_used_columns(formula, data), *extra]))
    missing = {c: data[c].isna().to_numpy() for c in used}
    incomplete = np.zeros(len(data), bool)
    for mask in missing.values():
        incomplete |= mask
    sub = data.loc[~incomplete] if incomplete.any() else data
    # patsy reads a bool outcome as a category (two columns, first = False) and a nullable
    # integer as objects: hand it 0/1 floats. Empty category levels (a subset of a cohort)
    # would become constant columns: drop them.
    fixes = {}
    if sub[outcome].dtype != np.float64:
        fixes[outcome] = sub[outcome].astype(float)
    for c in used:
        if isinstance(sub[c].dtype, pd.CategoricalDtype):
            observed = sub[c].cat.remove_unused_categories()
            if len(observed.cat.categories) < len(sub[c].cat.categories):
                fixes[c] = observed
    if fixes:
        sub = sub.assign(**fixes)
    dropped = {c: int(m.sum()) for c, m in missing.items() if m.any()}
    if len(sub) == 0:
        raise ModelError(
            f"no row is complete for {formula!r}; missing values per column: {dropped}"
        )
    try:
        y, X = patsy.dmatrices(formula, sub, return_type="matrix", NA_action="raise")
    except patsy.PatsyError as exc:
        text = " ".join(str(exc).split())
        name = re.search(r"name '(\w+)' is not defined", text)
        if name:
            raise ModelError(
                f"the formula names {name.group(1)!r}, which is not a column of "
                f"the data; columns: {', '.join(map(str, data.columns))}"
            ) from None
        raise ModelError(f"the formula {formula!r} could not be used: {text}") from None
    if y.shape[1] != 1:  # pragma: no cover - guarded by _check_outcome and the cast above
        raise ModelError(f"the outcome {outcome!r} must be a single 0/1 column")
    design = _Design(
        np.asarray(X, dtype=float),
        np.asarray(y, dtype=float)[:, 0],
        list(X.design_info.column_names),
        X.design_info,
        sub.index,
        sub,
        outcome,
        dropped,
        int(incomplete.sum()),
    )
    _check_design(design)
    return design


def _check_design(d: _Design) -> None:
    events = int(d.y.sum())
    if events in (0, len(d.y)):
        raise ModelError(
            f"the outcome {d.outcome!r} is {int(d.y[0])} in all {len(d.y)} rows "
            f"used, so no odds ratio can be estimated"
        )
    X = d.X
    spread = np.ptp(X, axis=0)
    constant = [c for c, r in zip(d.columns, spread, strict=True) if c != "Intercept" and r == 0]
    if constant:
        raise ModelError(
            "constant column(s) in the rows used: "
            + ", ".join(f"{c!r} (every row = {X[0, d.columns.index(c)]:g})" for c in constant)
            + ". A category with no rows, or a variable that never varies, cannot be estimated;"
            " drop the term or the empty level."
        )
    # Fast screen on the scaled Gram matrix (p x p); only a suspect design pays for the QR.
    gram = X.T @ X
    norm = np.sqrt(np.diag(gram))
    eig = linalg.eigvalsh(gram / np.outer(norm, norm))
    if eig[0] > eig[-1] * 1e-12:
        return
    scale = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    _, R, perm = linalg.qr(X / scale, mode="economic", pivoting=True)
    diag = np.abs(np.diag(R))
    rank = int(np.sum(diag > diag[0] * 1e-10))
    if rank < X.shape[1]:
        independent = perm[:rank]
        parts = []
        for j in perm[rank:]:
            coef = linalg.lstsq(X[:, independent], X[:, j])[0]
            with_ = [
                d.columns[k]
                for k, c in zip(independent, coef, strict=True)
                if abs(c) > 1e-8 and d.columns[k] != "Intercept"
            ]
            parts.append(
                f"{d.columns[j]!r} is a linear combination of "
                f"{', '.join(map(repr, with_)) or 'the intercept'}"
            )
        hint = " Drop one of the terms involved."
        if any(c.startswith(("cr(", "cc(")) for c in d.columns) and "Intercept" in d.columns:
            hint += (
                " cr() and cc() splines span the intercept unless centred: write, e.g., "
                "cr(weekly_km, df=3, constraints='center')."
            )
        raise ModelError("perfect collinearity: " + "; ".join(parts) + "." + hint)


def _column_info(design_info, columns: list[str], data: pd.DataFrame) -> list[dict]:
    """What each design column is: intercept, numeric variable, category level, spline, ..."""
    info = []
    for term, sl in design_info.term_name_slices.items():
        term_obj = design_info.terms[list(design_info.term_names).index(term)]
        factors = term_obj.factors
        for column in columns[sl]:
            entry = {
                "column": column,
                "term": term,
                "kind": "other",
                "variable": None,
                "level": None,
                "reference": None,
            }
            if not factors:
                entry["kind"] = "intercept"
            elif len(factors) > 1:
                entry["kind"] = "interaction"
            else:
                factor = factors[0]
                code = factor.code
                finfo = design_info.factor_infos[factor]
                if code.startswith(_SPLINES):
                    entry.update(kind="spline", variable=_spline_variable(code))
                elif finfo.type == "categorical":
                    level = re.search(r"\[(?:T\.)?(.*)\]$", column)
                    entry.update(
                        kind="level",
                        variable=_categorical_variable(code),
                        level=level.group(1) if level else column,
                        reference=str(finfo.categories[0]),
                    )
                elif code in data.columns:
                    entry.update(kind="numeric", variable=code)
                else:
                    entry.update(kind="transform")
            info.append(entry)
    return info


def _spline_variable(code: str) -> str | None:
    m = re.match(r"\w+\(\s*([\w.]+)", code)
    return m.group(1) if m else None


def _categorical_variable(code: str) -> str:
    m = re.match(r"C\(\s*([\w.]+)", code)
    return m.group(1) if m else code


# ---------------------------------------------------------------------------------------------
# Fitting


def fit_logistic(
    data: pd.DataFrame,
    formula: str,
    *,
    method: Method = "ml",
    cluster: str | None = None,
    cluster_method: Literal["robust", "gee"] = "robust",
) -> LogisticFit:
    """Fit a logistic regression of a 0/1 outcome.

    Parameters
    ----------
    data : DataFrame
        Any DataFrame (not only cohorts); rows with a missing value in a variable of the
        formula are dropped, with a :class:`ModelWarning` giving the count per variable.
    formula : str
        patsy formula, e.g. ``"pfp ~ bmi + q_angle_deg + C(sex) + cr(weekly_km, df=4)"``.
    method : {"ml", "firth", "auto"}
        "ml": maximum likelihood; separation raises :class:`ModelError` naming the terms.
        "firth": Firth's penalised likelihood (as logistf). "auto": Firth when the data are
        separated or events per variable fall below 5, with a warning; else ML.
    cluster : str, optional
        Column identifying clusters (``"runner_id"`` when each runner contributes two knees).
    cluster_method : {"robust", "gee"}
        "robust": ML estimates with cluster-robust (CR1) covariance, as sandwich::vcovCL.
        "gee": GEE with an exchangeable working correlation, as geepack::geeglm.
        Clustered fits report Wald intervals and p-values from the robust covariance.

    Returns
    -------
    LogisticFit

    Notes
    -----
    Validated against R (``tests/reference``): glm and MASS::confint for ML; logistf's
    published outputs (sex2, endometrial data) for Firth; sandwich and geepack for clusters.
    """
    if method not in ("ml", "firth", "auto"):
        raise ValueError(f'method must be "ml", "firth" or "auto", not {method!r}')
    design = _design(data, formula, extra=[cluster] if cluster else [])
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
        fit = LogisticFit(
            design,
            chosen,
            formula,
            notes,
            epv=epv,
            separated=separated or [],
            check_separation=separated is None,
        )
    except _SeparationSuspected:
        separated = _separated_terms(design)  # the exact check, only when ML shows the signs
        chosen = _choose_method(method, separated, epv, notes)
        fit = LogisticFit(design, chosen, formula, notes, epv=epv, separated=separated)
    for note in notes:
        warnings.warn(note, ModelWarning, stacklevel=2)
    if cluster is not None:
        fit._fit_clustered(cluster, cluster_method)
    return fit


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


def _separated_terms(design: _Design) -> list[str]:
    """Terms along which the data are separated (linear programming), or []."""
    direction = engine.separation_direction(design.X, design.y)
    if direction is None:
        return []
    return [
        c for c, b in zip(design.columns, direction, strict=True) if b != 0 and c != "Intercept"
    ] or ["Intercept"]


class LogisticFit:
    """A fitted logistic model.

    Attributes
    ----------
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
    notes : list of str
        Everything a reader should know about the fit (rows dropped, Firth used, low EPV).
    """

    def __init__(
        self,
        design: _Design,
        method: str,
        formula: str,
        notes: list[str],
        *,
        epv: float,
        separated: list[str],
        check_separation: bool = False,
    ):
        self._d = design
        self.method = method
        self.formula = formula
        self.notes = notes
        self.epv = epv
        self.separated = separated
        self.cluster = None
        self._cache: dict = {}
        X, y = design.X, design.y
        if method == "firth":
            result = engine.newton(X, y, firth=True)
            if not result.converged:
                raise ModelError(
                    "Firth's penalised likelihood did not converge; the model may "
                    "have too many terms for the data"
                )
        else:
            import statsmodels.api as sm

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sm_fit = sm.Logit(y, X).fit(method="newton", disp=0, maxiter=100)
            beta = np.asarray(sm_fit.params)
            converged = sm_fit.mle_retvals.get("converged", True)
            if check_separation:
                eta = X @ beta
                if (
                    not converged
                    or np.max(np.abs(beta[1:]), initial=0) > 15
                    or np.max(np.abs(eta)) > 25
                ):
                    raise _SeparationSuspected
            if not converged:
                raise ModelError("maximum likelihood did not converge; try method='firth'")
            info = linalg.inv(np.asarray(sm_fit.normalized_cov_params))  # Fisher information
            result = engine.NewtonResult(
                beta,
                float(sm_fit.llf),
                float(sm_fit.llf),
                info,
                True,
                int(sm_fit.mle_retvals.get("iterations", 0)),
            )
        self._result = result
        self.params_ = pd.Series(result.beta, index=design.columns, name="estimate")
        self.cov_ = pd.DataFrame(result.cov, index=design.columns, columns=design.columns)
        self.bse_ = pd.Series(np.sqrt(np.diag(result.cov)), index=design.columns, name="std_error")
        self.loglik_ = result.loglik
        self.n_obs = len(y)
        self.n_events = int(y.sum())
        self.n_dropped = design.n_dropped
        self._info = _column_info(design.design_info, design.columns, design.data)

    # -- clustered data ----------------------------------------------------------------------
    def _fit_clustered(self, cluster: str, how: str) -> None:
        import statsmodels.api as sm

        if self.method == "firth":
            raise ModelError(
                "clustered fits use ML; with separation, combine categories or "
                "fit one knee per runner with method='firth'"
            )
        groups = pd.factorize(self._d.data[cluster])[0]
        X, y = self._d.X, self._d.y
        if how == "robust":
            res = sm.GLM(y, X, family=sm.families.Binomial()).fit(
                cov_type="cluster", cov_kwds={"groups": groups, "use_correction": True}
            )
        elif how == "gee":
            res = sm.GEE(
                y,
                X,
                groups=groups,
                family=sm.families.Binomial(),
                cov_struct=sm.cov_struct.Exchangeable(),
            ).fit()
        else:
            raise ValueError(f'cluster_method must be "robust" or "gee", not {how!r}')
        self.cluster = {
            "column": cluster,
            "method": how,
            "n_clusters": int(groups.max() + 1),
            "groups": groups,
        }
        if how == "gee":
            self.cluster["exchangeable_correlation"] = float(res.cov_struct.dep_params)
        self.params_ = pd.Series(np.asarray(res.params), index=self._d.columns, name="estimate")
        cov = np.asarray(res.cov_params())
        self.cov_ = pd.DataFrame(cov, index=self._d.columns, columns=self._d.columns)
        self.bse_ = pd.Series(np.sqrt(np.diag(cov)), index=self._d.columns, name="std_error")
        p = special.expit(X @ self.params_.to_numpy())
        self.loglik_ = float(np.sum(y * np.log(p) + (1 - y) * np.log1p(-p)))

    # -- estimates -------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """Design-matrix column names (patsy's)."""
        return list(self._d.columns)

    def _interval(self, j: int, level: float) -> tuple[float, float]:
        key = ("ci", j, level)
        if key not in self._cache:
            self._cache[key] = engine.profile_interval(
                self._d.X,
                self._d.y,
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
                self._d.X, self._d.y, None, self._result, j, firth=self.method == "firth"
            )
        return self._cache[key][1]

    def _increments(self, per) -> dict[str, float]:
        numeric = {e["variable"]: e for e in self._info if e["kind"] == "numeric"}
        if per is None:
            return {}
        if per == "clinical":
            return {
                v: VARIABLES[v].increment
                for v in numeric
                if v in VARIABLES and VARIABLES[v].increment
            }
        if per == "sd":
            return {v: float(self._d.data[v].std()) for v in numeric}
        if isinstance(per, Mapping):
            unknown = set(per) - set(numeric)
            if unknown:
                raise ModelError(
                    f"per names {', '.join(map(repr, sorted(unknown)))}, which "
                    f"is not a numeric main effect of this model; those are "
                    f"{', '.join(map(repr, numeric)) or 'none'}"
                )
            bad = {k: v for k, v in per.items() if not (isinstance(v, int | float) and v > 0)}
            if bad:
                raise ModelError(f"per increments must be positive numbers: {bad}")
            return {k: float(v) for k, v in per.items()}
        raise ModelError(f'per must be None, "sd", "clinical" or a dict, not {per!r}')

    def _label(self, entry: dict, increment: float) -> str:
        var = VARIABLES.get(entry["variable"]) if entry["variable"] else None
        if entry["kind"] == "numeric":
            name = var.label if var else entry["variable"]
            unit = var.unit if var else ""
            gap = "" if unit in ("°", "%") else " "
            return f"{name}, per {increment:g}{gap}{unit}".rstrip()
        if entry["kind"] == "level":
            name = var.label if var else entry["variable"]
            return f"{name}: {entry['level']} vs {entry['reference']}"
        return entry["column"]

    def odds_ratios(
        self,
        ci: Literal["profile", "wald"] = "profile",
        per=None,
        *,
        level: float = 0.95,
        intercept: bool = False,
    ) -> pd.DataFrame:
        """Odds ratios with confidence intervals and p-values.

        Parameters
        ----------
        ci : {"profile", "wald"}
            "profile": profile likelihood (ML, as MASS::confint) or profile penalised
            likelihood (Firth, as logistf). "wald": estimate ± z·SE. Clustered fits allow
            only "wald" (with the robust SE).
        per : None, "sd", "clinical" or dict
            Scale each numeric main effect's OR to an increment: a dict such as
            ``{"q_angle_deg": 5}``, one SD in the model's rows, or the variable dictionary's
            clinical increment. Category levels, splines and interactions stay per unit.
        level : float
        intercept : bool
            Include the intercept row (the odds at all covariates zero / reference).

        Returns
        -------
        DataFrame
            term, label, increment, odds_ratio, ci_low, ci_high, p_value. p-values are
            likelihood-ratio tests (Firth: penalised likelihood ratio, as logistf); clustered
            fits give robust Wald p-values.
        """
        if ci not in ("profile", "wald"):
            raise ValueError(f'ci must be "profile" or "wald", not {ci!r}')
        if self.cluster and ci == "profile":
            raise ModelError(
                "profile-likelihood intervals assume independent rows; a "
                "clustered fit gives Wald intervals from the robust covariance: "
                "use ci='wald'"
            )
        increments = self._increments(per)
        z = stats.norm.ppf(0.5 + level / 2)
        rows = []
        for j, entry in enumerate(self._info):
            if entry["kind"] == "intercept" and not intercept:
                continue
            c = increments.get(entry["variable"], 1.0) if entry["kind"] == "numeric" else 1.0
            beta, se = self.params_.iloc[j], self.bse_.iloc[j]
            if ci == "profile":
                lo, hi = self._interval(j, level)
                p_value = self._lr_p(j)
            else:
                lo, hi = beta - z * se, beta + z * se
                p_value = (
                    float(2 * stats.norm.sf(abs(beta / se))) if self.cluster else self._lr_p(j)
                )
            rows.append(
                {
                    "term": entry["column"],
                    "label": self._label(entry, c),
                    "increment": c,
                    "odds_ratio": np.exp(c * beta),
                    "ci_low": np.exp(c * lo),
                    "ci_high": np.exp(c * hi),
                    "p_value": p_value,
                }
            )
        return pd.DataFrame(
            rows,
            columns=["term", "label", "increment", "odds_ratio", "ci_low", "ci_high", "p_value"],
        )

    def summary_frame(self, ci: Literal["profile", "wald"] | None = None) -> pd.DataFrame:
        """Every coefficient: term, estimate (log OR), std_error, odds_ratio, ci_low, ci_high,
        p_value (intervals profile unless clustered)."""
        ci = ci or ("wald" if self.cluster else "profile")
        table = self.odds_ratios(ci=ci, intercept=True)
        table.insert(1, "estimate", self.params_.to_numpy())
        table.insert(2, "std_error", self.bse_.to_numpy())
        return table.drop(columns=["label", "increment"])

    # -- tests -------------------------------------------------------------------------------
    def _objective_without(self, columns: list[int]) -> float:
        fixed = np.zeros(len(self._d.columns), bool)
        fixed[columns] = True
        beta0 = self._result.beta.copy()
        beta0[fixed] = 0.0
        res = engine.newton(
            self._d.X, self._d.y, firth=self.method == "firth", beta0=beta0, fixed=fixed
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
        for term, sl in self._d.design_info.term_name_slices.items():
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
        import patsy

        desc = patsy.ModelDesc.from_formula(self.formula)
        rows = []
        for term in desc.rhs_termlist:
            codes = [f.code for f in term.factors]
            if len(codes) != 1 or not codes[0].startswith(_SPLINES):
                continue
            variable = _spline_variable(codes[0])
            linear = patsy.Term([patsy.EvalFactor(variable)])
            reduced = patsy.ModelDesc(
                desc.lhs_termlist, [linear if t == term else t for t in desc.rhs_termlist]
            )
            y, X = patsy.dmatrices(reduced, self._d.data, return_type="dataframe")
            res = engine.newton(
                X.to_numpy(float), y.iloc[:, 0].to_numpy(float), firth=self.method == "firth"
            )
            chi2 = max(0.0, 2 * (self._result.objective - res.objective))
            df = len(self._d.columns) - X.shape[1]
            rows.append(
                {
                    "term": term.name(),
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
        if not big._d.rows.equals(small._d.rows):
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
        return special.expit(self._d.X @ self.params_.to_numpy())

    @property
    def y_(self) -> np.ndarray:
        """The outcome of the rows used in the fit."""
        return self._d.y

    def predict_proba(
        self, new_data: pd.DataFrame, *, ci: bool = True, level: float = 0.95
    ) -> pd.DataFrame:
        """Predicted probability of the outcome for new rows, with a CI.

        The interval is eta ± z·SE(eta) on the logit scale (delta method), transformed.

        Returns
        -------
        DataFrame
            prob, and ci_low, ci_high when ``ci``; indexed like ``new_data``; rows with a
            missing predictor get NaN.
        """
        import patsy

        try:
            (X,) = patsy.build_design_matrices(
                [self._d.design_info], new_data, return_type="dataframe", NA_action="drop"
            )
        except patsy.PatsyError as exc:
            raise ModelError(
                f"new_data cannot be used with this model: {' '.join(str(exc).split())}"
            ) from None
        eta = X.to_numpy(float) @ self.params_.to_numpy()
        out = pd.DataFrame({"prob": special.expit(eta)}, index=X.index)
        if ci:
            se = np.sqrt(
                np.einsum("ij,jk,ik->i", X.to_numpy(float), self.cov_.to_numpy(), X.to_numpy(float))
            )
            z = stats.norm.ppf(0.5 + level / 2)
            out["ci_low"] = special.expit(eta - z * se)
            out["ci_high"] = special.expit(eta + z * se)
        return out.reindex(new_data.index)

    def performance(self) -> pd.Series:
        """Apparent performance: see :func:`pfps_stats.performance.model_performance`."""
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
                f"({self.cluster['n_clusters']} clusters, {self.cluster['method']})"
            )
        return text

    def __repr__(self) -> str:
        return self._header() + "\n" + self.summary_frame().to_string(index=False)

    def _repr_html_(self) -> str:
        import html

        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        table = self.summary_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}")
        head = html.escape(self._header()).replace("\n", "<br>")
        return f"<div><p><b>{head}</b></p>{'<ul>' + notes + '</ul>' if notes else ''}{table}</div>"


# ---------------------------------------------------------------------------------------------
# The published table


def odds_ratio_table(
    data: pd.DataFrame,
    outcome: str,
    factors: Sequence[str],
    *,
    adjust: Sequence[str] | None = None,
    per="clinical",
    method: Method = "auto",
) -> pd.DataFrame:
    """Univariable and multivariable odds ratios side by side, as finalfit's table.

    Each factor is fitted alone (univariable), then all factors together with ``adjust``
    (multivariable). Numeric factors are scaled by ``per`` (default: the variable dictionary's
    clinical increments); text or category columns enter as ``C(factor)``, one row per level
    against the first level (the reference, shown with OR 1).

    Parameters
    ----------
    data : DataFrame
    outcome : str
        0/1 outcome column.
    factors : list of str
        Columns to report.
    adjust : list of str, optional
        Further covariates of the multivariable model, not reported as rows.
    per : None, "sd", "clinical" or dict
        As :meth:`LogisticFit.odds_ratios`.
    method : {"ml", "firth", "auto"}
        Passed to each fit; "auto" uses Firth where a model is separated or EPV < 5.

    Returns
    -------
    DataFrame
        factor, label, level, n, events, or_uni, ci_low_uni, ci_high_uni, p_uni, or_multi,
        ci_low_multi, ci_high_multi, p_multi, warnings. Intervals are profile likelihood,
        p-values likelihood ratio. The frame's ``attrs`` hold the multivariable model's n,
        events and EPV.
    """
    factors = list(factors)
    adjust = list(adjust or [])
    missing = [c for c in [outcome, *factors, *adjust] if c not in data]
    if missing:
        raise ModelError(f"not columns of the data: {', '.join(map(repr, missing))}")

    def term(column: str) -> str:
        return (
            column
            if pd.api.types.is_numeric_dtype(data[column])
            and not pd.api.types.is_bool_dtype(data[column])
            else f"C({column})"
        )

    def fit(terms: list[str]) -> tuple[LogisticFit | None, list[str]]:
        formula = f"{outcome} ~ " + " + ".join(terms)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model = fit_logistic(data, formula, method=method)
            except ModelError as exc:
                return None, [str(exc)]
        return model, [str(w.message) for w in caught if issubclass(w.category, ModelWarning)]

    multi, multi_notes = fit([term(c) for c in [*factors, *adjust]])
    multi_or = _by_term(multi, per)
    rows = []
    for column in factors:
        uni, uni_notes = fit([term(column)])
        uni_or = _by_term(uni, per)
        var = VARIABLES.get(column)
        name = var.label if var else column
        used = data[[outcome, column]].dropna()
        if term(column) == column:
            key = column
            rows.append(
                _row(
                    column,
                    uni_or.get(key, {}).get("label", name),
                    None,
                    len(used),
                    int(used[outcome].sum()),
                    uni_or.get(key),
                    multi_or.get(key),
                    uni_notes,
                    multi_notes,
                )
            )
            continue
        present = set(used[column].unique())
        levels = (
            [c for c in data[column].cat.categories if c in present]  # category order
            if isinstance(data[column].dtype, pd.CategoricalDtype)
            else sorted(present)
        )
        for i, level in enumerate(levels):
            at = used[used[column] == level]
            key = f"C({column})[T.{level}]"
            ref = {"odds_ratio": 1.0, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
            rows.append(
                _row(
                    column,
                    f"{name}: {level}" + (" (reference)" if i == 0 else ""),
                    str(level),
                    len(at),
                    int(at[outcome].sum()),
                    ref if i == 0 else uni_or.get(key),
                    ref if i == 0 else multi_or.get(key),
                    uni_notes,
                    multi_notes,
                )
            )
    table = pd.DataFrame(rows)
    table.attrs["multivariable"] = {
        "n": multi.n_obs if multi else None,
        "events": multi.n_events if multi else None,
        "epv": multi.epv if multi else None,
        "method": multi.method if multi else None,
        "notes": multi_notes,
    }
    return table


def _by_term(model: LogisticFit | None, per) -> dict[str, dict]:
    if model is None:
        return {}
    table = model.odds_ratios(ci="profile", per=per)
    return {row["term"]: row for row in table.to_dict("records")}


def _row(factor, label, level, n, events, uni, multi, uni_notes, multi_notes) -> dict:
    def get(d, k):
        return np.nan if not d else d.get(k, np.nan)

    notes = [f"univariable: {n}" for n in uni_notes] + [f"multivariable: {n}" for n in multi_notes]
    return {
        "factor": factor,
        "label": label,
        "level": level,
        "n": n,
        "events": events,
        "or_uni": get(uni, "odds_ratio"),
        "ci_low_uni": get(uni, "ci_low"),
        "ci_high_uni": get(uni, "ci_high"),
        "p_uni": get(uni, "p_value"),
        "or_multi": get(multi, "odds_ratio"),
        "ci_low_multi": get(multi, "ci_low"),
        "ci_high_multi": get(multi, "ci_high"),
        "p_multi": get(multi, "p_value"),
        "warnings": "; ".join(notes),
    }


def format_odds_ratio_table(table: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """The :func:`odds_ratio_table` as text for a paper, as finalfit prints it.

    Returns
    -------
    DataFrame
        label, n_events ("n (events)"), univariable, multivariable; each OR cell reads
        ``"0.53 (0.44-0.64, p<0.001)"``, reference levels ``"1 (reference)"``, and a model
        that could not be fitted ``"-"``.
    """

    def cell(row: pd.Series, side: str) -> str:
        ratio = row[f"or_{side}"]
        if pd.isna(ratio):
            return "-"
        if pd.isna(row[f"ci_low_{side}"]):
            return "1 (reference)"
        p = row[f"p_{side}"]
        p_text = "p<0.001" if p < 0.001 else f"p={p:.3f}"
        f = f"{{:.{digits}f}}"
        return (
            f"{f.format(ratio)} ({f.format(row[f'ci_low_{side}'])}-"
            f"{f.format(row[f'ci_high_{side}'])}, {p_text})"
        )

    return pd.DataFrame(
        {
            "label": table["label"],
            "n_events": [f"{n} ({e})" for n, e in zip(table["n"], table["events"], strict=True)],
            "univariable": [cell(r, "uni") for _, r in table.iterrows()],
            "multivariable": [cell(r, "multi") for _, r in table.iterrows()],
        }
    )
