"""Logistic models on multiply imputed data: one fit per completed dataset, pooled by Rubin's
rules (:mod:`pfps_stats.models.pooling`) into a :class:`PooledLogisticFit`.

``fit_logistic(imputed, formula)`` comes here when given an
:class:`~pfps_stats.ImputedCohort`. Every completed dataset is fitted with the same formula and
the same method (ML, Firth, or a clustered fit), the coefficients are pooled term by term as
``mice::pool()`` pools them, and odds ratios get Wald intervals with t quantiles on the
Barnard-Rubin degrees of freedom, as ``summary(pool(fit), conf.int = TRUE)``. Profile-likelihood
intervals do not pool (there is no pooled likelihood), so a pooled fit never shows them.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from .._checks import check_level
from .._exceptions import ModelError, ModelWarning
from .._format import FitDisplay
from .design import column_label, per_increments, used_columns
from .logistic import ODDS_RATIO_COLUMNS
from .pooling import pool_coefficients

if TYPE_CHECKING:  # pragma: no cover
    from ..cohort.imputation import ImputedCohort
    from .logistic import LogisticFit

#: What a pooled fit's intervals and p-values are, in words (tables and reports show it).
INTERVALS = "Rubin's rules: Wald intervals with t quantiles on Barnard-Rubin degrees of freedom"
#: The ``test`` column of a pooled fit's odds ratios.
TEST = "Rubin's rules (Wald, t df)"
#: What a single LogisticFit has and a pooled fit does not.
_SINGLE_FIT_ONLY = frozenset(
    {
        "design",
        "predict_proba",
        "performance",
        "fitted_",
        "y_",
        "loglik_",
        "term_tests",
        "nonlinearity_test",
        "lr_test",
        "separated",
    }
)


def fit_pooled_logistic(
    imputed: ImputedCohort,
    formula: str,
    *,
    method: Literal["ml", "firth", "auto"] = "ml",
    cluster: str | None = None,
    cluster_method: Literal["robust", "gee"] = "robust",
) -> PooledLogisticFit | LogisticFit:
    """Fit a logistic model to each completed dataset and pool the fits by Rubin's rules.

    Called by :func:`~pfps_stats.fit_logistic` when its data are an
    :class:`~pfps_stats.ImputedCohort`; the arguments are fit_logistic's.

    Parameters
    ----------
    imputed : ImputedCohort
    formula : str
    method : {"ml", "firth", "auto"}
        As fit_logistic. Every dataset is fitted with the same method: with "auto", when
        Firth's penalised likelihood is chosen in any dataset (separation, or EPV < 5), every
        dataset is fitted with it, and a note says so.
    cluster, cluster_method : optional
        As fit_logistic; the pooled estimates then use each fit's robust covariance.

    Returns
    -------
    PooledLogisticFit
        Or, when nothing was imputed (an ImputedCohort of one dataset, from :func:`impute`
        with no missing values), the single :class:`LogisticFit` of that dataset, with a
        :class:`ModelWarning` saying so.

    Raises
    ------
    ModelError
        When a dataset cannot be fitted (the error names the dataset), when the datasets give
        different model columns or row counts, or when a category level of the model occurs
        only among imputed values.

    Notes
    -----
    Complete-data degrees of freedom (``dfcom``) for the Barnard-Rubin df: ``n - p`` for an
    unclustered fit, as ``mice::pool`` uses a glm's residual df; for a clustered fit, each
    term's own small-sample df averaged over the datasets (CR2 Satterthwaite), or ``G - 1``
    (G clusters) when the fits use normal or t(G - 1) quantiles. The unclustered pooling was
    checked against mice 3.15.0 (``tests/models/reference/pooling_mice.R``) at 1e-6; the
    clustered choice of dfcom has no R reference (mice does not pool clubSandwich fits).
    """
    from .logistic import fit_logistic

    datasets = imputed.datasets
    if len(datasets) == 1:
        warnings.warn(
            "nothing was imputed (no missing values in the imputed variables): the model was "
            "fitted once, on the data as they are",
            ModelWarning,
            stacklevel=3,
        )
        return fit_logistic(
            datasets[0], formula, method=method, cluster=cluster, cluster_method=cluster_method
        )
    _check_levels(used_columns(formula, datasets[0]), imputed)
    kwargs = {"cluster": cluster, "cluster_method": cluster_method}
    fits = _fit_each(datasets, formula, method, kwargs)
    extra = []
    if len({fit.method for fit in fits}) > 1:
        n_firth = sum(fit.method == "firth" for fit in fits)
        refit = [i for i, fit in enumerate(fits) if fit.method != "firth"]
        redone = _fit_each([datasets[i] for i in refit], formula, "firth", kwargs, refit)
        for i, fit in zip(refit, redone, strict=True):
            fits[i] = fit
        extra.append(
            f"Firth's penalised likelihood was chosen in {n_firth} of {len(datasets)} datasets "
            f"(separation or events per variable < 5), so every dataset was fitted with it: one "
            f"method for all, so that the estimates pool"
        )
    _check_alike(fits)
    fit = PooledLogisticFit(fits, imputed, [*_merge([list(f.notes) for f in fits]), *extra])
    for note in fit.notes:
        warnings.warn(note, ModelWarning, stacklevel=3)
    return fit


class PooledLogisticFit(FitDisplay):
    """A logistic model fitted to each of m completed datasets and pooled by Rubin's rules
    (made by ``fit_logistic(imputed, formula)``); immutable.

    Attributes
    ----------
    fits : tuple of LogisticFit
        One fit per completed dataset.
    m : int
    formula : str
    method : {"ml", "firth"}
        The method of every fit.
    n_obs, n_events, n_dropped : int
        Rows of each completed dataset used by the model, their events, and rows dropped for
        missing values of variables that were not imputed.
    epv : float
        The smallest events-per-variable of the fits.
    notes : tuple of str
        Everything a reader should know, from the fits (a note seen in only some datasets says
        in how many) and from the imputation.
    settings : dict
        The imputation's settings (``ImputedCohort.settings``).
    cluster : mapping or None
        For clustered fits: column, method, n_clusters and the interval label of the fits.
    dfcom : Series
        Complete-data degrees of freedom of each term (see :func:`fit_pooled_logistic`).
    """

    def __init__(self, fits: Sequence[LogisticFit], imputed: ImputedCohort, notes: list[str]):
        first = fits[0]
        set_ = object.__setattr__
        set_(self, "fits", tuple(fits))
        set_(self, "m", len(fits))
        set_(self, "formula", first.formula)
        set_(self, "method", first.method)
        set_(self, "n_obs", first.n_obs)
        set_(self, "n_events", first.n_events)
        set_(self, "n_dropped", first.n_dropped)
        set_(self, "epv", min(fit.epv for fit in fits))
        set_(self, "settings", dict(imputed.settings))
        set_(self, "notes", tuple([*notes, *imputed.notes]))
        cluster = None
        if first.cluster:
            cluster = {k: first.cluster[k] for k in ("column", "method", "n_clusters", "test")}
        set_(self, "cluster", cluster)
        set_(self, "dfcom", _dfcom(fits))
        estimates = pd.DataFrame([fit.params_ for fit in fits], columns=first.columns)
        table = pool_coefficients(estimates, [fit.cov_ for fit in fits], dfcom=self.dfcom)
        table["statistic"] = table["estimate"] / table["se"]
        table["p_value"] = 2 * stats.t.sf(np.abs(table["statistic"]), table["df"])
        set_(self, "_table", table)
        q = estimates.to_numpy()
        between = np.cov(q, rowvar=False, ddof=1).reshape(q.shape[1], q.shape[1])
        within = np.mean([fit.cov_.to_numpy() for fit in fits], axis=0)
        set_(self, "_cov", within + (1 + 1 / len(fits)) * between)

    def __setattr__(self, name, value):
        raise AttributeError(f"a PooledLogisticFit is immutable: {name!r} cannot be set")

    def __getattr__(self, name):
        # Only reached when the attribute does not exist: explain what a single fit has and a
        # pooled one does not (effect plots, calibration, ROC and bootstrap read these).
        if name in _SINGLE_FIT_ONLY:
            raise AttributeError(
                f"a pooled fit has no {name!r}: it pools {self.m} fits, one per imputed "
                f"dataset, and predictions, performance, calibration, effect curves and "
                f"bootstrap validation do not pool here. Use the complete-case fit "
                f"(ps.fit_logistic(data, formula)) or one dataset's fit (fit.fits[0]) for them"
            )
        raise AttributeError(f"'PooledLogisticFit' object has no attribute {name!r}")

    def __delattr__(self, name):
        raise AttributeError(f"a PooledLogisticFit is immutable: {name!r} cannot be deleted")

    @property
    def columns(self) -> list[str]:
        """Design-matrix column names (patsy's), the same in every fit."""
        return list(self.fits[0].columns)

    @property
    def params_(self) -> pd.Series:
        """Pooled log odds ratios (the mean over the fits)."""
        return pd.Series(self._table["estimate"].to_numpy(), index=self.columns, name="estimate")

    @property
    def bse_(self) -> pd.Series:
        """Pooled standard errors, ``sqrt(ubar + (1 + 1/m) b)``."""
        return pd.Series(self._table["se"].to_numpy(), index=self.columns, name="std_error")

    @property
    def cov_(self) -> pd.DataFrame:
        """Total covariance of the pooled log odds ratios, ``Ubar + (1 + 1/m) B`` (matrices)."""
        return pd.DataFrame(self._cov.copy(), index=self.columns, columns=self.columns)

    def pooled(self) -> pd.DataFrame:
        """The pooled coefficients, one row per term, as ``mice::pool()`` and its summary.

        Returns
        -------
        DataFrame
            term, estimate (pooled log odds ratio), se, statistic (estimate / se), df
            (Barnard-Rubin), p_value (two-sided, t(df)), riv, lambda, fmi, ubar, b, t, dfcom,
            m. Checked against ``mice::pool`` (mice 3.15.0) at 1e-6 in
            ``tests/models/test_pooled.py``.
        """
        out = self._table[
            [
                "term",
                "estimate",
                "se",
                "statistic",
                "df",
                "p_value",
                "riv",
                "lambda",
                "fmi",
                "ubar",
                "b",
                "t",
                "dfcom",
            ]
        ].copy()
        out["m"] = self.m
        return out

    def odds_ratios(
        self,
        ci: Literal["wald"] = "wald",
        per=None,
        *,
        level: float = 0.95,
        intercept: bool = False,
    ) -> pd.DataFrame:
        """Pooled odds ratios with Rubin's-rules intervals and p-values.

        Parameters
        ----------
        ci : {"wald"}
            The interval is ``exp(estimate ± q·se)``, q the t quantile on the Barnard-Rubin
            df, and the p-value is the same statistic's, as ``summary(pool(fit), conf.int =
            TRUE)``. "profile" raises: profile-likelihood intervals do not pool.
        per : None, "sd", "clinical" or dict
            As :meth:`LogisticFit.odds_ratios`; "sd" is the mean over the datasets of the
            variable's SD in the model's rows.
        level : float
        intercept : bool

        Returns
        -------
        DataFrame
            term, label, increment, odds_ratio, ci_low, ci_high, p_value, test, df, fmi. The
            ``attrs`` hold ci, test, level and intervals (a sentence naming the interval).
        """
        if ci != "wald":
            raise ModelError(
                "profile-likelihood intervals do not pool across imputations (there is no "
                "pooled likelihood); a pooled fit gives Rubin's-rules Wald intervals with t "
                "quantiles on Barnard-Rubin degrees of freedom: use ci='wald'"
            )
        level = check_level(level)
        increments = _increments(self.fits, per)
        table = self._table
        rows = []
        for j, entry in enumerate(self.fits[0].design.info):
            if entry.kind == "intercept" and not intercept:
                continue
            c = increments.get(entry.variable, 1.0) if entry.kind == "numeric" else 1.0
            beta, se, df = table["estimate"].iloc[j], table["se"].iloc[j], table["df"].iloc[j]
            q = float(stats.t.ppf(0.5 + level / 2, df))
            rows.append(
                {
                    "term": entry.column,
                    "label": column_label(entry, c),
                    "increment": c,
                    "odds_ratio": np.exp(c * beta),
                    "ci_low": np.exp(c * (beta - q * se)),
                    "ci_high": np.exp(c * (beta + q * se)),
                    "p_value": table["p_value"].iloc[j],
                    "test": TEST,
                    "df": df,
                    "fmi": table["fmi"].iloc[j],
                }
            )
        out = pd.DataFrame(rows, columns=[*ODDS_RATIO_COLUMNS, "fmi"])
        out.attrs.update(ci="wald", test=TEST, level=level, intervals=INTERVALS)
        return out

    def summary_frame(self) -> pd.DataFrame:
        """Every coefficient: term, estimate (pooled log OR), std_error, odds_ratio, ci_low,
        ci_high, p_value, test, df, fmi (see :meth:`odds_ratios`)."""
        table = self.odds_ratios(intercept=True)
        table.insert(1, "estimate", self._table["estimate"].to_numpy())
        table.insert(2, "std_error", self._table["se"].to_numpy())
        return table.drop(columns=["label", "increment"])

    def _header(self) -> str:
        how = {"ml": "maximum likelihood", "firth": "Firth's penalised likelihood"}[self.method]
        text = (
            f"Logistic regression ({how}) pooled over m = {self.m} imputed datasets by "
            f"Rubin's rules: {self.formula}\n"
            f"n = {self.n_obs} per dataset, events = {self.n_events}, EPV = {self.epv:.1f}; "
            f"{INTERVALS}"
        )
        if self.cluster:
            text += (
                f"\nclustered by {self.cluster['column']} ({self.cluster['n_clusters']} "
                f"clusters): each fit's {self.cluster['test']} covariance pooled"
            )
        return text


# ---------------------------------------------------------------------------------------------
# Helpers


def _fit_each(
    datasets: Sequence[pd.DataFrame],
    formula: str,
    method: str,
    kwargs: dict,
    numbers: Sequence[int] | None = None,
) -> list[LogisticFit]:
    """One fit per dataset; their ModelWarnings are kept as the fits' notes, not shown."""
    from .logistic import fit_logistic

    numbers = list(numbers) if numbers is not None else list(range(len(datasets)))
    fits = []
    # m small fits in a row: BLAS threads only contend for the cores (see impute)
    with threadpool_limits(limits=1, user_api="blas"):
        for i, data in zip(numbers, datasets, strict=True):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    fits.append(fit_logistic(data, formula, method=method, **kwargs))
                except ModelError as exc:
                    raise ModelError(
                        f"completed dataset {i + 1} could not be fitted: {exc}"
                    ) from exc
            for w in caught:
                if not issubclass(w.category, ModelWarning):
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return fits


def _merge(seen: list[list[str]]) -> list[str]:
    """The fits' notes, each once: as it is when every fit had it, else "in k of m datasets"."""
    counts = Counter(n for fit_notes in seen for n in dict.fromkeys(fit_notes))
    return [
        note if k == len(seen) else f"in {k} of {len(seen)} datasets: {note}"
        for note, k in counts.items()
    ]


def _check_levels(variables: Sequence[str], imputed: ImputedCohort) -> None:
    """No level of a category of the model may exist only among imputed values."""
    datasets = imputed.datasets
    for name in variables:
        if name not in imputed.missing or not imputed.missing[name].any():
            continue
        column = datasets[0][name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            continue
        mask = imputed.missing[name].to_numpy()
        observed = set(column[~mask].dropna().unique())
        only = {}
        for i, data in enumerate(datasets, start=1):
            for level in set(data[name][mask].unique()) - observed:
                only.setdefault(level, []).append(i)
        if only:
            level, where = next(iter(only.items()))
            raise ModelError(
                f"level {level!r} of {name!r} occurs only among imputed values (in dataset"
                f"{'s' if len(where) > 1 else ''} {', '.join(map(str, where[:10]))}), never in "
                f"the observed data: its odds ratio would rest on imputations alone. Recode it "
                f"(e.g. merge it with another level) or re-impute {name!r} from its observed "
                f"levels only"
            )


def _check_alike(fits: Sequence[LogisticFit]) -> None:
    """The fits must have the same columns and rows (a level of a numeric code imputed in
    some datasets only, or datasets made elsewhere, can break this)."""
    first = fits[0]
    for i, fit in enumerate(fits[1:], start=2):
        if fit.columns != first.columns:
            extra = [c for c in fit.columns if c not in first.columns]
            lacking = [c for c in first.columns if c not in fit.columns]
            raise ModelError(
                f"completed dataset {i} gives other model columns than dataset 1 (extra: "
                f"{extra or 'none'}; lacking: {lacking or 'none'}): a category level present in "
                f"some datasets only cannot be pooled; merge rare levels before imputing"
            )
        if fit.n_obs != first.n_obs:
            raise ModelError(
                f"completed dataset {i} has {fit.n_obs} rows in the model and dataset 1 "
                f"{first.n_obs}: a variable of the formula still has missing values that differ "
                f"between datasets; impute it, or leave it out of the formula"
            )


def _dfcom(fits: Sequence[LogisticFit]) -> pd.Series:
    """Complete-data degrees of freedom per term (see :func:`fit_pooled_logistic`)."""
    first = fits[0]
    columns = first.columns
    if not first.cluster:
        return pd.Series(float(first.n_obs - len(columns)), index=columns, name="dfcom")
    groups = max(float(first.cluster["n_clusters"]) - 1.0, 1.0)
    per_fit = np.array([np.asarray(fit.cluster["df"], dtype=float) for fit in fits])
    finite = np.isfinite(per_fit).all(axis=0)
    mean = np.where(finite, np.nanmean(np.where(np.isfinite(per_fit), per_fit, np.nan), axis=0), 0)
    values = np.where(
        finite & (first.cluster.get("df_method") == "Satterthwaite"),
        np.maximum(mean, 1.0),
        groups,
    )
    return pd.Series(values, index=columns, name="dfcom")


def _increments(fits: Sequence[LogisticFit], per) -> dict[str, float]:
    """per_increments of the fits; for "sd", the mean over the datasets."""
    each = [per_increments(fit.design, per) for fit in fits]
    if per != "sd":
        return each[0]
    return {k: float(np.mean([e[k] for e in each])) for k in each[0]}
