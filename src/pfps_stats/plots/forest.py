"""Forest plots: one renderer for odds ratios, meta-analyses and local-vs-published comparisons.

:func:`draw_forest` draws any tidy table of estimates with CIs, one line per ``label`` and one
colour per ``series`` (the same colour for the same kind of series in every figure).
:func:`plot_forest` turns odds-ratio tables and fits into that table; the meta-analysis and
comparison figures (:meth:`~pfps_stats.MetaResult.plot_forest`,
:func:`~pfps_stats.plot_comparison`) do the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .._format import n_events
from ..models.logistic import LogisticFit
from ..models.pooled import PooledLogisticFit
from .theme import get_axes, legend_below, series_colour

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

#: Columns :func:`draw_forest` needs; optional: kind, size, annotation, pi_low, pi_high.
FOREST_COLUMNS = ("label", "estimate", "ci_low", "ci_high", "series")
_MARKERS = {"published": "D", "updated (pooled)": "s", "multiple imputation": "^"}
#: Series names of :func:`plot_forest` with ``imputed=`` (formatted with the models' n and m).
COMPLETE_CASES = "complete cases"
MULTIPLE_IMPUTATION = "multiple imputation"


def draw_forest(
    rows: pd.DataFrame,
    ax: Axes | None = None,
    *,
    log_scale: bool = False,
    null: float = 0.0,
    xlabel: str = "Estimate (95% CI)",
    annotation_title: str | None = None,
    legend_outside: bool = False,
) -> Axes:
    """Draw a forest plot from a tidy table.

    Parameters
    ----------
    rows : DataFrame
        label, estimate, ci_low, ci_high, series: one row per estimate. Rows sharing a label
        share a line (series side by side, top to bottom in order of first appearance).
        Optional columns: ``kind`` ("point", default; "reference": a grey square without CI,
        e.g. a reference level; "diamond": a pooled estimate, with ``pi_low``/``pi_high``
        drawn as a dotted prediction interval), ``size`` (marker area, e.g. study weight),
        ``annotation`` (text at the right of each line). A series whose name starts with
        "_" is left out of the legend.
    ax : Axes, optional
    log_scale : bool
        Ratios: a log axis with ticks at 1, 2, 5 x 10^k.
    null : float
        Where the dashed no-effect line goes (1 for ratios, 0 for differences).
    xlabel : str
    annotation_title : str, optional
        Heading of the annotation column.
    legend_outside : bool
        Legend to the right of the Axes (else under it, below the x label).

    Returns
    -------
    Axes
    """
    missing = [c for c in FOREST_COLUMNS if c not in rows]
    if missing:
        raise ValueError(f"a forest table needs {', '.join(FOREST_COLUMNS)}; missing: {missing}")
    ax = get_axes(ax)
    rows = rows.reset_index(drop=True)
    kind = rows["kind"] if "kind" in rows else pd.Series("point", index=rows.index)
    labels = list(dict.fromkeys(rows["label"]))
    y_of = {lab: len(labels) - 1 - i for i, lab in enumerate(labels)}
    points = rows[kind == "point"]
    series = list(dict.fromkeys(points["series"]))
    offsets = {
        s: (0.2 - 0.4 * i / (len(series) - 1)) if len(series) > 1 else 0.0
        for i, s in enumerate(series)
    }
    for i, name in enumerate(series):
        part = points[points["series"] == name]
        part = part[part["estimate"].notna()]
        if part.empty:
            continue
        colour = series_colour(name, i)
        y = part["label"].map(y_of).to_numpy(float) + offsets[name]
        est = part["estimate"].to_numpy(float)
        xerr = [est - part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float) - est]
        marker = _MARKERS.get(name, _MARKERS.get(name.split(" (")[0], "o"))
        if "size" in part and part["size"].notna().any():
            ax.errorbar(est, y, xerr=xerr, fmt="none", color="0.3", lw=1.2)
            ax.scatter(est, y, s=part["size"], marker="s", color=colour, zorder=3, label=name)
        else:
            ax.errorbar(
                est,
                y,
                xerr=xerr,
                fmt=marker,
                mfc="white" if name == "univariable" else colour,
                color=colour,
                ms=6,
                capsize=2.5,
                lw=1.4,
                label=name,
            )
    reference = rows[kind == "reference"]
    if len(reference):
        ax.plot(
            reference["estimate"],
            reference["label"].map(y_of).to_numpy(float),
            marker="s",
            ls="none",
            color="0.5",
            ms=5,
        )
    for _, row in rows[kind == "diamond"].iterrows():
        y = y_of[row["label"]]
        colour = series_colour(row["series"])
        ax.fill(
            [row["ci_low"], row["estimate"], row["ci_high"], row["estimate"]],
            [y, y + 0.3, y, y - 0.3],
            color=colour,
            zorder=3,
            label=row["series"],
        )
        if pd.notna(row.get("pi_low")) and pd.notna(row.get("pi_high")):
            ax.plot(
                [row["pi_low"], row["pi_high"]],
                [y, y],
                color=colour,
                lw=1,
                ls=":",
                label="prediction interval",
            )
    ax.axvline(null, color="0.3", lw=1, ls="--", zorder=0)
    if log_scale:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks([y_of[lab] for lab in labels], labels=labels)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    has_notes = "annotation" in rows and rows["annotation"].fillna("").astype(str).ne("").any()
    if has_notes:
        text = rows.drop_duplicates("label").set_index("label")["annotation"].fillna("")
        transform = ax.get_yaxis_transform()
        if annotation_title:
            ax.text(
                1.02,
                len(labels) - 0.3,
                annotation_title,
                transform=transform,
                ha="left",
                va="bottom",
                fontsize="small",
                fontweight="bold",
            )
        for lab in labels:
            ax.text(
                1.02,
                y_of[lab],
                str(text[lab]),
                transform=transform,
                ha="left",
                va="center",
                fontsize="small",
            )
    if ax.get_legend_handles_labels()[0]:
        if legend_outside and not has_notes:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
        else:  # under the axes: it covers no estimate
            names = ax.get_legend_handles_labels()[1]
            legend_below(ax, ncol=2 if len(names) > 1 and sum(map(len, names)) <= 45 else 1)
    return ax


def odds_ratio_rows(table) -> pd.DataFrame:
    """A fit, an ``odds_ratios()`` table or an :func:`~pfps_stats.odds_ratio_table` as forest
    rows: label, estimate, ci_low, ci_high, series, kind, annotation ("n (events)"), factor,
    level."""
    if isinstance(table, LogisticFit | PooledLogisticFit):
        table = table.odds_ratios(per="clinical")
    if "or_uni" in table:
        parts = []
        for side, name in (("uni", "univariable"), ("multi", "multivariable")):
            reference = table[f"or_{side}"].notna() & table[f"ci_low_{side}"].isna()
            parts.append(
                pd.DataFrame(
                    {
                        "label": table["label"].to_numpy(),
                        "estimate": table[f"or_{side}"].to_numpy(),
                        "ci_low": table[f"ci_low_{side}"].to_numpy(),
                        "ci_high": table[f"ci_high_{side}"].to_numpy(),
                        "series": name,
                        "kind": np.where(reference, "reference", "point"),
                        "annotation": [
                            n_events(n, e) for n, e in zip(table["n"], table["events"], strict=True)
                        ],
                        "factor": table["factor"].to_numpy(),
                        "level": table["level"].to_numpy(),
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)
    missing = {"label", "odds_ratio", "ci_low", "ci_high"} - set(table.columns)
    if missing:
        raise ValueError(
            f"plot_forest needs an odds_ratio_table, a fit or a table with "
            f"label, odds_ratio, ci_low, ci_high; missing: {sorted(missing)}"
        )
    return pd.DataFrame(
        {
            "label": table["label"],
            "estimate": table["odds_ratio"],
            "ci_low": table["ci_low"],
            "ci_high": table["ci_high"],
            "series": "model",
            "kind": "point",
            "annotation": "",
            "factor": table.get("term", table["label"]),
            "level": None,
        }
    )


def _row_keys(table: pd.DataFrame) -> list[tuple[str, str | None]]:
    """(factor, level) of each row, a missing level as None."""
    return [
        (str(f), None if pd.isna(lv) else str(lv))
        for f, lv in zip(table["factor"], table["level"], strict=True)
    ]


def _multivariable_n(table: pd.DataFrame) -> str:
    n = (table.attrs.get("multivariable") or {}).get("n")
    return "" if n is None or pd.isna(n) else f"n={int(n)}"


def imputed_rows(table: pd.DataFrame, imputed: pd.DataFrame) -> pd.DataFrame:
    """The multivariable odds ratios of a complete-case :func:`~pfps_stats.odds_ratio_table`
    and of the same table made from imputed data, as forest rows (label, estimate, ci_low,
    ci_high, series, kind, annotation, factor, level): per table row, the complete-case
    estimate then the pooled one; reference levels once; "n (events)" from ``table``."""
    needed = {"factor", "level", "label", "n", "events"} | {
        f"{c}_multi" for c in ("or", "ci_low", "ci_high")
    }
    for name, frame in (("table", table), ("imputed", imputed)):
        if not isinstance(frame, pd.DataFrame) or needed - set(frame.columns):
            what = (
                f"a table lacking {sorted(needed - set(frame.columns))}"
                if isinstance(frame, pd.DataFrame)
                else f"a {type(frame).__name__}"
            )
            raise ValueError(
                f"with imputed=, {name} must be an odds_ratio_table (columns factor, level, "
                f"or_multi, ci_low_multi, ...), not {what}; make it with "
                f"ps.odds_ratio_table({'imputed' if name == 'imputed' else 'data'}, outcome, "
                f"factors)"
            )
    if "imputation" in table.attrs:
        raise ValueError(
            "table was made from imputed data; pass the complete-case table first and the "
            "imputed one as imputed=: plot_forest(complete, imputed=pooled)"
        )
    settings = imputed.attrs.get("imputation")
    if not isinstance(settings, dict) or "m" not in settings:
        raise ValueError(
            "imputed is not an odds_ratio_table made from an ImputedCohort (its "
            "attrs['imputation'] with the number of datasets m is missing); make it with "
            "ps.odds_ratio_table(ps.impute(data, ...), outcome, factors)"
        )
    keys, other = _row_keys(table), _row_keys(imputed)
    if len(set(keys)) != len(keys) or sorted(keys, key=str) != sorted(other, key=str):
        only_table = [k for k in keys if k not in other]
        only_imputed = [k for k in other if k not in keys]
        raise ValueError(
            "table and imputed must have the same factor/level rows; "
            f"only in table: {only_table or 'none'}; only in imputed: {only_imputed or 'none'}"
            " (make both with the same factors, levels and adjust=)"
        )
    position = {k: i for i, k in enumerate(other)}
    imputed = imputed.iloc[[position[k] for k in keys]]
    differ = [
        (a, b)
        for a, b in zip(table["label"], imputed["label"], strict=True)
        if str(a).replace(" (reference)", "") != str(b).replace(" (reference)", "")
    ]
    if differ:
        raise ValueError(
            f"table and imputed label the same rows differently ({differ[0][0]!r} against "
            f"{differ[0][1]!r}): their odds ratios are per different increments; make both "
            f"with the same per="
        )
    names = {}
    for side, frame, head in (
        ("cc", table, COMPLETE_CASES),
        ("mi", imputed, f"{MULTIPLE_IMPUTATION} (m={int(settings['m'])}"),
    ):
        n = _multivariable_n(frame)
        if side == "cc":
            names[side] = f"{head} ({n})" if n else head
        else:
            names[side] = f"{head}, {n})" if n else f"{head})"
    rows = []
    for i in range(len(table)):
        base = table.iloc[i]
        annotation = n_events(base["n"], base["events"])
        reference = pd.notna(base["or_multi"]) and pd.isna(base["ci_low_multi"])
        common = {
            "label": base["label"],
            "annotation": annotation,
            "factor": base["factor"],
            "level": base["level"],
        }
        if reference:
            rows.append(
                {
                    **common,
                    "estimate": base["or_multi"],
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "series": names["cc"],
                    "kind": "reference",
                }
            )
            continue
        for side, frame in (("cc", table), ("mi", imputed)):
            row = frame.iloc[i]
            rows.append(
                {
                    **common,
                    "estimate": row["or_multi"],
                    "ci_low": row["ci_low_multi"],
                    "ci_high": row["ci_high_multi"],
                    "series": names[side],
                    "kind": "point",
                }
            )
    return pd.DataFrame(rows)


def plot_forest(
    table,
    ax: Axes | None = None,
    *,
    published: pd.DataFrame | None = None,
    imputed: pd.DataFrame | None = None,
) -> Axes:
    """Forest plot of odds ratios on a log scale, with a line at 1.

    Parameters
    ----------
    table : DataFrame or LogisticFit
        An :func:`~pfps_stats.odds_ratio_table` (univariable and multivariable side by side,
        with n (events) at the right), a fit (its ORs per clinical increment), or any table
        with label, odds_ratio, ci_low, ci_high.
    ax : Axes, optional
    published : DataFrame, optional
        Published estimates to draw beside the local ones: columns factor, odds_ratio,
        ci_low, ci_high and source (shown in the legend), matched on ``factor``.
    imputed : DataFrame, optional
        An :func:`~pfps_stats.odds_ratio_table` of the same factors made from an
        :class:`~pfps_stats.ImputedCohort` (pooled by Rubin's rules; its
        ``attrs["imputation"]`` holds the imputation settings). Then each line shows the
        multivariable odds ratios of ``table`` (complete cases) and of ``imputed`` side by
        side, as the series "complete cases (n=...)" and "multiple imputation (m=..., n=...)"
        (n: rows of each multivariable model); the univariable estimates are left out, and
        "n (events)" at the right is that of ``table``.

    Returns
    -------
    Axes

    Raises
    ------
    ValueError
        When ``table`` is not a table this function can draw, or, with ``imputed``, when
        ``table`` is not a complete-case odds_ratio_table, ``imputed`` is not one made from
        imputed data, or the two do not have the same factor and level rows.
    """
    rows = odds_ratio_rows(table) if imputed is None else imputed_rows(table, imputed)
    if published is not None:
        extra = []
        for _, pub in published.iterrows():
            match = rows[(rows["factor"] == pub["factor"]) & rows["level"].isna()]
            if match.empty:
                continue
            extra.append(
                {
                    "label": match["label"].iloc[0],
                    "estimate": pub["odds_ratio"],
                    "ci_low": pub["ci_low"],
                    "ci_high": pub["ci_high"],
                    "series": f"published ({pub['source']})",
                    "kind": "point",
                }
            )
        rows = pd.concat([rows, pd.DataFrame(extra)], ignore_index=True) if extra else rows
    return draw_forest(
        rows,
        ax,
        log_scale=True,
        null=1.0,
        xlabel="Odds ratio of PFP (95% CI, log scale)",
        annotation_title="n (events)",
    )
