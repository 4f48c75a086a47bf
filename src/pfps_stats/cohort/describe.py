"""Descriptive statistics: Table 1 by outcome, and incidence with exact and Wilson CIs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._format import count, count_percent
from .variables import OUTCOME, VARIABLES


def _is_categorical(s: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _smd_continuous(a: pd.Series, b: pd.Series) -> float:
    pooled = np.sqrt((a.var() + b.var()) / 2)
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else np.nan


def _smd_categorical(a: pd.Series, b: pd.Series, levels: list) -> float:
    """Multi-level SMD (Yang & Dalton 2012), as R's tableone: sqrt(d' S^-1 d)."""
    p1 = np.array([(a == lv).mean() for lv in levels])[1:]
    p0 = np.array([(b == lv).mean() for lv in levels])[1:]
    if len(p1) == 0:
        return np.nan
    d = p1 - p0
    S = (np.diag(p1) - np.outer(p1, p1) + np.diag(p0) - np.outer(p0, p0)) / 2
    try:
        return float(np.sqrt(d @ np.linalg.pinv(S) @ d))
    except np.linalg.LinAlgError:  # pragma: no cover
        return np.nan


def table_one(
    data: pd.DataFrame,
    outcome: str = OUTCOME,
    variables: Sequence[str] | None = None,
    *,
    nonnormal: Sequence[str] = (),
    digits: int = 1,
    min_cell: int | None = None,
) -> pd.DataFrame:
    """Table 1: each variable summarised overall and by outcome, with SMD and p-value.

    Continuous variables: mean (SD), or median [IQR] for those in ``nonnormal``; p-value from
    Welch's t-test, or the Wilcoxon rank-sum test for non-normal ones. Categorical variables:
    n (%) per level; p-value from the chi-square test without continuity correction, or
    Fisher's exact test when any expected count is below 5 (two levels only; else chi-square).
    SMD: difference in means over the pooled SD; for categories, Yang & Dalton's multi-level
    SMD (as R's tableone). Missing values are counted, not imputed.

    Parameters
    ----------
    data : DataFrame
    outcome : str
        0/1 column splitting the table.
    variables : list of str, optional
        Default: every dictionary variable present, except identifiers and the outcome.
    nonnormal : list of str
    digits : int
    min_cell : int, optional
        Small-cell suppression for reports: counts below it (the n row, n of each level)
        read ``"<5"``; percentages of suppressed cells are hidden with them.

    Returns
    -------
    DataFrame
        variable, label, level, overall, ``<outcome>_0``, ``<outcome>_1``, missing, smd,
        p_value, test. The first row gives n per column.
    """
    if outcome not in data:
        raise ValueError(
            f"the outcome {outcome!r} is not a column; columns: {', '.join(map(str, data.columns))}"
        )
    y = pd.to_numeric(data[outcome], errors="coerce")
    if not y.dropna().isin([0, 1]).all():
        raise ValueError(f"the outcome {outcome!r} must be 0/1")
    if variables is None:
        variables = [
            c
            for c in data.columns
            if c != outcome
            and c in VARIABLES
            and VARIABLES[c].kind in ("numeric", "category", "binary")
        ]
    unknown = [v for v in variables if v not in data]
    if unknown:
        raise ValueError(f"not columns of the data: {', '.join(map(repr, unknown))}")
    data = data.loc[y.notna()]
    y = y.loc[y.notna()]
    g0, g1 = data[y == 0], data[y == 1]
    c0, c1 = f"{outcome}_0", f"{outcome}_1"
    fmt = f"{{:.{digits}f}}"
    rows = [
        {
            "variable": "n",
            "label": "n",
            "level": None,
            "overall": count(len(data), min_cell),
            c0: count(len(g0), min_cell),
            c1: count(len(g1), min_cell),
            "missing": 0,
            "smd": np.nan,
            "p_value": np.nan,
            "test": "",
        }
    ]
    for name in variables:
        var = VARIABLES.get(name)
        label = var.axis_label if var else name
        s, s0, s1 = data[name], g0[name], g1[name]
        missing = int(s.isna().sum())
        if _is_categorical(s):
            levels = (
                list(s.cat.categories)
                if isinstance(s.dtype, pd.CategoricalDtype)
                else sorted(s.dropna().unique(), key=str)
            )
            levels = [lv for lv in levels if (s == lv).any()]
            counts = pd.crosstab(s, y).reindex(levels).fillna(0)
            p_value, test = _categorical_test(counts)
            smd = _smd_categorical(s1.dropna(), s0.dropna(), levels)
            for i, level in enumerate(levels):

                def pct(part: pd.Series, lv=level) -> str:
                    k, n = int((part == lv).sum()), int(part.notna().sum())
                    return count_percent(k, n, digits, min_cell)

                rows.append(
                    {
                        "variable": name,
                        "label": label,
                        "level": str(level),
                        "overall": pct(s),
                        c0: pct(s0),
                        c1: pct(s1),
                        "missing": missing if i == 0 else np.nan,
                        "smd": smd if i == 0 else np.nan,
                        "p_value": p_value if i == 0 else np.nan,
                        "test": test if i == 0 else "",
                    }
                )
            continue
        x, x0, x1 = s.astype(float), s0.dropna().astype(float), s1.dropna().astype(float)
        if name in nonnormal:

            def summary(v: pd.Series) -> str:
                q = v.quantile([0.25, 0.5, 0.75])
                return f"{fmt.format(q[0.5])} [{fmt.format(q[0.25])}, {fmt.format(q[0.75])}]"

            test = "Wilcoxon rank-sum"
            p_value = (
                float(
                    stats.mannwhitneyu(x1, x0, alternative="two-sided", method="asymptotic").pvalue
                )
                if len(x0) and len(x1)
                else np.nan
            )
        else:

            def summary(v: pd.Series) -> str:
                return f"{fmt.format(v.mean())} ({fmt.format(v.std())})"

            varies = len(x0) > 1 and len(x1) > 1 and (x0.var() > 0 or x1.var() > 0)
            test = "Welch t-test" if varies else ""
            p_value = float(stats.ttest_ind(x1, x0, equal_var=False).pvalue) if varies else np.nan
        rows.append(
            {
                "variable": name,
                "label": label,
                "level": None,
                "overall": summary(x.dropna()),
                c0: summary(x0),
                c1: summary(x1),
                "missing": missing,
                "smd": _smd_continuous(x1, x0),
                "p_value": p_value,
                "test": test,
            }
        )
    table = pd.DataFrame(rows)
    table["missing"] = table["missing"].astype("Int64")
    return table


def _categorical_test(counts: pd.DataFrame) -> tuple[float, str]:
    table = counts.to_numpy()
    if table.shape[0] < 2 or table.shape[1] < 2:
        return np.nan, ""
    expected = stats.contingency.expected_freq(table)
    if (expected < 5).any() and table.shape == (2, 2):
        return float(stats.fisher_exact(table).pvalue), "Fisher's exact"
    return float(stats.chi2_contingency(table, correction=False).pvalue), "chi-square"


def incidence(
    data: pd.DataFrame, by: str | None = "subgroup", outcome: str = OUTCOME, level: float = 0.95
) -> pd.DataFrame:
    """Cumulative incidence of the outcome, per group and overall, with two CIs.

    Returns
    -------
    DataFrame
        group, n, events, incidence, exact_low, exact_high (Clopper-Pearson, as R's
        ``binom.test``), wilson_low, wilson_high (Wilson score, as R's
        ``prop.test(correct = FALSE)``). The last row, ``all``, is the whole data.
    """
    from statsmodels.stats.proportion import proportion_confint

    if outcome not in data:
        raise ValueError(f"the outcome {outcome!r} is not a column")
    y = pd.to_numeric(data[outcome], errors="coerce")
    if not y.dropna().isin([0, 1]).all():
        raise ValueError(f"the outcome {outcome!r} must be 0/1")
    parts = []
    if by is not None:
        if by not in data:
            raise ValueError(f"{by!r} is not a column; columns: {', '.join(data.columns)}")
        for group, yy in y.groupby(data[by].astype(str), sort=True):
            parts.append((group, yy.dropna()))
    parts.append(("all", y.dropna()))
    rows = []
    for group, yy in parts:
        n, k = len(yy), int(yy.sum())
        lo, hi = proportion_confint(k, n, alpha=1 - level, method="beta")
        wlo, whi = proportion_confint(k, n, alpha=1 - level, method="wilson")
        rows.append(
            {
                "group": group,
                "n": n,
                "events": k,
                "incidence": k / n if n else np.nan,
                "exact_low": lo,
                "exact_high": hi,
                "wilson_low": wlo,
                "wilson_high": whi,
            }
        )
    return pd.DataFrame(rows)
