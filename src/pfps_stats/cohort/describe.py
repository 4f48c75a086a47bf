"""Descriptive statistics: Table 1 by outcome, and incidence with exact and Wilson CIs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import check_frame, check_level
from .._format import (
    SPEC_KEY,
    SUPPRESSED,
    count,
    count_percent,
    protect,
    rate_table_spec,
    small_marker,
    suppress_rate_table,
)
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
        Small-cell suppression for reports (the rule: :mod:`pfps_stats.report.suppression`):
        counts below it (the n row, each level, the missing column; a missing count of 0 is
        shown) read ``"<5"``, and a summary of fewer than ``min_cell`` runners too. Cells that
        would give a hidden count back read ``"suppressed"`` (complementary suppression),
        percentages go when their denominator is hidden (a count without its percentage is
        shown), and so do the SMD and p-value of a variable with any hidden cell.

    Returns
    -------
    DataFrame
        variable, label, level, overall, ``<outcome>_0``, ``<outcome>_1``, missing, smd,
        p_value, test. The first row gives n per column.
    """
    check_frame(data)
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
    groups = {"overall": data, c0: g0, c1: g1}
    fmt = f"{{:.{digits}f}}"
    n_row = {
        "variable": "n",
        "label": "n",
        "level": None,
        **{c: len(part) for c, part in groups.items()},
        "missing": 0,
        "smd": np.nan,
        "p_value": np.nan,
        "test": "",
    }
    blocks = []  # (name, kind, rows, levels): numbers first, text after suppression
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
            rows = [
                {
                    "variable": name,
                    "label": label,
                    "level": str(level),
                    **{c: int((part[name] == level).sum()) for c, part in groups.items()},
                    "missing": missing if i == 0 else np.nan,
                    "smd": smd if i == 0 else np.nan,
                    "p_value": p_value if i == 0 else np.nan,
                    "test": test if i == 0 else "",
                }
                for i, level in enumerate(levels)
            ]
            blocks.append((name, "categorical", rows, levels))
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
        values = {"overall": x.dropna(), c0: x0, c1: x1}
        row = {
            "variable": name,
            "label": label,
            "level": None,
            **{c: summary(v) for c, v in values.items()},
            "missing": missing,
            "smd": _smd_continuous(x1, x0),
            "p_value": p_value,
            "test": test,
        }
        blocks.append((name, "continuous", [row], {c: len(v) for c, v in values.items()}))
    hide = _protect_table_one(n_row, blocks, groups, min_cell)
    rows = [_table_one_text(n_row, "n", hide, digits, min_cell)]
    for name, kind, block_rows, _ in blocks:
        for row in block_rows:
            rows.append(_table_one_text(row, name, hide, digits, min_cell, kind, block_rows))
    table = pd.DataFrame(rows)
    missing = table["missing"]
    if any(isinstance(v, str) for v in missing):  # "<5": the column holds text and numbers
        table["missing"] = [v if isinstance(v, str) or pd.isna(v) else int(v) for v in missing]
    else:
        table["missing"] = missing.astype("Int64")
    return table


def _protect_table_one(n_row: dict, blocks: list, groups: dict, min_cell: int | None) -> dict:
    """Which Table-1 cells to hide: counts of the n row ("n", None, column), of each level
    ("level", variable, level, column) and of the missing column ("missing", variable,
    "overall"); a column's percentages go with their denominator ("denominator", variable,
    column), and a summary of fewer than ``min_cell`` runners ("summary", variable, column) is
    hidden, with the overall one beside it."""
    columns = list(groups)
    hide: dict = {"small": set(), "hidden": set()}
    if min_cell is None:
        return hide
    values, relations, shown, zero_ok = {}, [], set(), set()
    overall, *parts = columns
    for c in columns:
        values[("n", None, c)] = n_row[c]
        shown.add(("n", None, c))
    relations.append((("n", None, overall), [("n", None, p) for p in parts]))
    for name, kind, rows, _ in blocks:
        if not rows:
            continue
        for c in columns:
            missing = int(groups[c][name].isna().sum())
            values[("missing", name, c)] = missing
            values[("denominator", name, c)] = len(groups[c]) - missing
            relations.append((("n", None, c), [("denominator", name, c), ("missing", name, c)]))
        shown.add(("missing", name, overall))
        zero_ok.add(("missing", name, overall))
        for key in ("missing", "denominator"):
            relations.append(((key, name, overall), [(key, name, p) for p in parts]))
        if kind == "categorical":
            for row in rows:
                level = row["level"]
                for c in columns:
                    values[("level", name, level, c)] = row[c]
                    shown.add(("level", name, level, c))
                relations.append(
                    (("level", name, level, overall), [("level", name, level, p) for p in parts])
                )
            for c in columns:
                shown.add(("denominator", name, c))  # a shown percentage gives its denominator
                relations.append(
                    (("denominator", name, c), [("level", name, r["level"], c) for r in rows])
                )
    # The n row is public: the report's header gives n, and the incidence and odds-ratio
    # tables give the events and non-events totals, unless one of them is small.
    public = [("n", None, overall)]
    if min(n_row[c] for c in parts) >= min_cell:
        public += [("n", None, c) for c in parts]
    # A numeric variable's summary is shown for min_cell or more runners, "<5" for fewer.
    ranges = {
        ("denominator", name, c): (0, min_cell - 1)
        if n_values[c] < min_cell
        else (min_cell, np.inf)
        for name, kind, _, n_values in blocks
        if kind == "continuous"
        for c in columns
    }
    small, hidden = protect(
        values,
        relations,
        min_cell,
        shown=shown,
        public=public,
        zero_ok=zero_ok,
        ranges=ranges,
    )
    hide["small"], hide["hidden"] = small, hidden
    for name, kind, _, n_values in blocks:
        if kind != "continuous":
            continue
        thin = [c for c in columns if n_values[c] < min_cell]
        if thin:
            # A group's summary from fewer than min_cell runners is theirs; the overall one,
            # beside the other group's, would give it back.
            hide["hidden"] |= {("summary", name, c) for c in {*thin, overall}}
            hide["small"] |= {("summary", name, c) for c in thin}
    return hide


_NOT_COUNTS = ("variable", "label", "level", "missing", "smd", "p_value", "test")


def _table_one_text(
    row: dict,
    name: str,
    hide: dict,
    digits: int,
    min_cell: int | None,
    kind: str = "n",
    block: list | None = None,
) -> dict:
    columns = [c for c in row if c not in _NOT_COUNTS]
    hidden, small = hide["hidden"], hide["small"]
    out = dict(row)

    def marker(key) -> str:
        return small_marker(min_cell) if key in small else SUPPRESSED

    if kind == "n":
        for c in columns:
            key = ("n", None, c)
            out[c] = marker(key) if key in hidden else count(row[c])
        return out
    if kind == "categorical":
        for c in columns:
            key, denominator = ("level", name, row["level"], c), ("denominator", name, c)
            if key in hidden:
                out[c] = marker(key)
            elif denominator in hidden:
                out[c] = count(row[c])
            else:
                total = sum(r[c] for r in block)
                out[c] = count_percent(row[c], total, digits)
        cells = {("level", name, r["level"], c) for r in block for c in columns}
        cells |= {("denominator", name, c) for c in columns}
        if cells & hidden:
            # The SMD and the test are functions of the hidden counts.
            out["smd"] = np.nan if pd.isna(row["smd"]) else SUPPRESSED
            out["p_value"] = np.nan if pd.isna(row["p_value"]) else SUPPRESSED
    else:
        summaries = {("summary", name, c) for c in columns}
        for c in columns:
            if ("summary", name, c) in hidden:
                out[c] = marker(("summary", name, c))
        if summaries & hidden:
            out["smd"] = np.nan if pd.isna(row["smd"]) else SUPPRESSED
            out["p_value"] = np.nan if pd.isna(row["p_value"]) else SUPPRESSED
    if not pd.isna(row["missing"]) and ("missing", name, "overall") in hidden:
        out["missing"] = marker(("missing", name, "overall"))
    return out


def _categorical_test(counts: pd.DataFrame) -> tuple[float, str]:
    table = counts.to_numpy()
    if table.shape[0] < 2 or table.shape[1] < 2:
        return np.nan, ""
    expected = stats.contingency.expected_freq(table)
    if (expected < 5).any() and table.shape == (2, 2):
        return float(stats.fisher_exact(table).pvalue), "Fisher's exact"
    return float(stats.chi2_contingency(table, correction=False).pvalue), "chi-square"


def incidence(
    data: pd.DataFrame,
    by: str | None = "subgroup",
    outcome: str = OUTCOME,
    level: float = 0.95,
    *,
    min_cell: int | None = None,
) -> pd.DataFrame:
    """Cumulative incidence of the outcome, per group and overall, with two CIs.

    Parameters
    ----------
    min_cell : int, optional
        Small-cell suppression for reports (:mod:`pfps_stats.report.suppression`): counts
        below it read ``"<5"``, cells that would give one back read ``"suppressed"``, and so
        do the incidence and intervals of a row with a hidden count.

    Returns
    -------
    DataFrame
        group, n, events, incidence, exact_low, exact_high (Clopper-Pearson, as R's
        ``binom.test``), wilson_low, wilson_high (Wilson score, as R's
        ``prop.test(correct = FALSE)``). The last row, ``all``, is the whole data.
    """
    level = check_level(level)
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
    table = pd.DataFrame(rows)
    table.attrs[SPEC_KEY] = rate_table_spec(
        "group", "n", "events", list(table.columns[3:]), total="all"
    )
    return table if min_cell is None else suppress_rate_table(table, min_cell)
