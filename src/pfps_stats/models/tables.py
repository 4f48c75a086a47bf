"""The odds-ratio table people publish: univariable and multivariable odds ratios side by
side, as finalfit's ``finalfit()`` table, as numbers (formatting is :mod:`pfps_stats.report`'s)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._exceptions import ModelError, ModelWarning
from ..cohort.imputation import ImputedCohort
from ..cohort.variables import OUTCOME, VARIABLES
from .logistic import LogisticFit, Method, fit_logistic
from .pooled import INTERVALS, PooledLogisticFit


def model_term(data: pd.DataFrame, column: str) -> str:
    """How a column enters a model: as itself when numeric (per unit), else ``C(column)``."""
    numeric = pd.api.types.is_numeric_dtype(data[column]) and not pd.api.types.is_bool_dtype(
        data[column]
    )
    return column if numeric else f"C({column})"


def additive_formula(data: pd.DataFrame, outcome: str, factors: Sequence[str]) -> str:
    """``"pfp ~ bmi + C(sex) + ..."``: the multivariable model of :func:`odds_ratio_table`,
    numeric factors per unit and the others as categories.

    Raises
    ------
    ModelError
        When a factor is not a column of ``data``.
    """
    missing = [c for c in factors if c not in data]
    if missing:
        raise ModelError(f"not columns of the data: {', '.join(map(repr, missing))}")
    return f"{outcome} ~ " + " + ".join(model_term(data, c) for c in factors)


def odds_ratio_table(
    data: pd.DataFrame | ImputedCohort,
    outcome: str = OUTCOME,
    factors: Sequence[str] | None = None,
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

    With an :class:`~pfps_stats.ImputedCohort` every model is fitted to each completed
    dataset and pooled by Rubin's rules (:mod:`pfps_stats.models.pooled`): the intervals are
    then Wald intervals with t quantiles on Barnard-Rubin degrees of freedom (profile
    intervals do not pool), and n and events count the rows where the factor was observed,
    as in the complete-case table.

    Parameters
    ----------
    data : DataFrame or ImputedCohort
    outcome : str
        0/1 outcome column; default the dictionary's outcome, ``"pfp"``.
    factors : list of str
        Columns to report (required).
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
        p-values likelihood ratio (pooled: Rubin's rules, see above). The frame's ``attrs``
        hold the multivariable model's n, events and EPV (``"multivariable"``), the rows
        with a known outcome and their events (``"cohort"``: n, events), a sentence
        naming the intervals (``"intervals"``) and, for imputed data, the imputation's
        settings (``"imputation"``).
    """
    if factors is None:
        raise ModelError(
            "name the factors to report, e.g. factors=['bmi', 'q_angle_deg', 'weekly_km', "
            "'hip_abd_strength_nkg']"
        )
    factors = [factors] if isinstance(factors, str) else list(factors)
    adjust = list(adjust or [])
    imputed = data if isinstance(data, ImputedCohort) else None
    pooled = imputed is not None and imputed.m > 1
    if imputed is not None:  # counts and levels from the observed values
        frame = imputed.datasets[0]
        observed = frame.mask(imputed.missing.reindex(columns=frame.columns, fill_value=False))
        if not pooled:
            data = frame
    else:
        frame = observed = data
    missing = [c for c in [outcome, *factors, *adjust] if c not in frame]
    if missing:
        raise ModelError(f"not columns of the data: {', '.join(map(repr, missing))}")

    def term(column: str) -> str:
        return model_term(frame, column)

    def fit(terms: list[str]) -> tuple[LogisticFit | PooledLogisticFit | None, list[str]]:
        formula = f"{outcome} ~ " + " + ".join(terms)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model = fit_logistic(data, formula, method=method)
            except ModelError as exc:
                return None, [str(exc)]
        return model, [str(w.message) for w in caught if issubclass(w.category, ModelWarning)]

    ci = "wald" if pooled else "profile"
    multi, multi_notes = fit([term(c) for c in [*factors, *adjust]])
    multi_or = _by_term(multi, per, ci)
    rows = []
    for column in factors:
        uni, uni_notes = fit([term(column)])
        uni_or = _by_term(uni, per, ci)
        var = VARIABLES.get(column)
        name = var.label if var else column
        used = observed[[outcome, column]].dropna()
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
            [c for c in frame[column].cat.categories if c in present]  # category order
            if isinstance(frame[column].dtype, pd.CategoricalDtype)
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
    known = pd.to_numeric(frame[outcome], errors="coerce").dropna()
    table.attrs["cohort"] = {"n": int(len(known)), "events": int((known == 1).sum())}
    table.attrs["intervals"] = INTERVALS if pooled else "profile likelihood"
    if imputed is not None:
        table.attrs["imputation"] = dict(imputed.settings)
    return table


def _by_term(model: LogisticFit | PooledLogisticFit | None, per, ci: str) -> dict[str, dict]:
    if model is None:
        return {}
    table = model.odds_ratios(ci=ci, per=per)
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
