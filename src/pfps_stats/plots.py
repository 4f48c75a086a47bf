"""Every figure of the toolkit: a tidy table, fit or cohort in, a matplotlib Axes out.

Each function draws on ``ax`` (default: the current Axes), returns it, and never calls
``plt.show()``. Axis labels come from the variable dictionary, with units. Call
:func:`set_theme` once for the toolkit's look: a colour-blind-safe palette (seaborn's
"colorblind", after Okabe & Ito) at a size readable in reports.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, PercentFormatter

from .variables import VARIABLES, label

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .models import LogisticFit

PALETTE = sns.color_palette("colorblind")
UNIVARIABLE, MULTIVARIABLE, PUBLISHED, BAND = PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[0]


def set_theme(font_scale: float = 1.1) -> None:
    """One look for the whole toolkit: white grid, colour-blind-safe palette, report-size text,
    figures saved tightly at 150 dpi. Changes matplotlib's global settings, as seaborn's
    ``set_theme`` does."""
    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette="colorblind",
        font_scale=font_scale,
        rc={
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
        },
    )


def _axes(ax: Axes | None) -> Axes:
    return plt.gca() if ax is None else ax


# ---------------------------------------------------------------------------------------------
# Forest plot


def _forest_rows(table) -> pd.DataFrame:
    """Normalise a fit, an odds_ratios() table or an odds_ratio_table() to long rows:
    label, model, odds_ratio, ci_low, ci_high, n_events, factor."""
    from .models import LogisticFit

    if isinstance(table, LogisticFit):
        table = table.odds_ratios(per="clinical")
    if "or_uni" in table:
        n_events = [f"{n} ({e})" for n, e in zip(table["n"], table["events"], strict=True)]
        parts = []
        for side, name in (("uni", "univariable"), ("multi", "multivariable")):
            parts.append(
                pd.DataFrame(
                    {
                        "label": table["label"].to_numpy(),
                        "model": name,
                        "odds_ratio": table[f"or_{side}"].to_numpy(),
                        "ci_low": table[f"ci_low_{side}"].to_numpy(),
                        "ci_high": table[f"ci_high_{side}"].to_numpy(),
                        "n_events": n_events,
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
            "model": "model",
            "odds_ratio": table["odds_ratio"],
            "ci_low": table["ci_low"],
            "ci_high": table["ci_high"],
            "n_events": "",
            "factor": table.get("term", table["label"]),
            "level": None,
        }
    )


def plot_forest(table, ax: Axes | None = None, *, published: pd.DataFrame | None = None) -> Axes:
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

    Returns
    -------
    Axes
    """
    ax = _axes(ax)
    rows = _forest_rows(table)
    labels = list(dict.fromkeys(rows["label"]))
    y_of = {lab: len(labels) - 1 - i for i, lab in enumerate(labels)}
    models = list(dict.fromkeys(rows["model"]))
    offsets = {
        m: (0.15 - 0.3 * i / max(len(models) - 1, 1)) if len(models) > 1 else 0.0
        for i, m in enumerate(models)
    }
    colours = {"univariable": UNIVARIABLE, "multivariable": MULTIVARIABLE, "model": MULTIVARIABLE}
    for model in models:
        part = rows[rows["model"] == model]
        y = part["label"].map(y_of).to_numpy() + offsets[model]
        ok = part["ci_low"].notna().to_numpy()
        ax.errorbar(
            part["odds_ratio"].to_numpy()[ok],
            y[ok],
            xerr=[
                part["odds_ratio"].to_numpy()[ok] - part["ci_low"].to_numpy()[ok],
                part["ci_high"].to_numpy()[ok] - part["odds_ratio"].to_numpy()[ok],
            ],
            fmt="o" if model != "univariable" else "o",
            mfc="white" if model == "univariable" else colours[model],
            color=colours[model],
            ms=6,
            capsize=2.5,
            lw=1.4,
            label=model,
        )
        reference = part["odds_ratio"].notna().to_numpy() & ~ok
        if reference.any():
            ax.plot(
                part["odds_ratio"].to_numpy()[reference],
                y[reference],
                marker="s",
                ls="none",
                color="0.5",
                ms=5,
            )
    if published is not None:
        for i, (_, pub) in enumerate(published.iterrows()):
            match = rows[(rows["factor"] == pub["factor"]) & rows["level"].isna()]
            if match.empty:
                continue
            y = y_of[match["label"].iloc[0]] - 0.35
            ax.errorbar(
                [pub["odds_ratio"]],
                [y],
                xerr=[[pub["odds_ratio"] - pub["ci_low"]], [pub["ci_high"] - pub["odds_ratio"]]],
                fmt="D",
                color=PUBLISHED,
                ms=6,
                capsize=2.5,
                lw=1.4,
                label=f"published ({pub['source']})" if i == 0 else None,
            )
    ax.axvline(1.0, color="0.3", lw=1, ls="--", zorder=0)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(range(len(labels)), labels=labels[::-1])
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel("Odds ratio of PFP (95% CI, log scale)")
    ax.grid(axis="y", visible=False)
    if rows["n_events"].astype(bool).any():
        n_text = rows.drop_duplicates("label").set_index("label")["n_events"]
        transform = ax.get_yaxis_transform()
        ax.text(
            1.02,
            len(labels) - 0.3,
            "n (events)",
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
                n_text[lab],
                transform=transform,
                ha="left",
                va="center",
                fontsize="small",
            )
    ax.legend(loc="best", fontsize="small", frameon=True)
    return ax


# ---------------------------------------------------------------------------------------------
# Effect curves


def _typical_rows(
    fit: LogisticFit, variable: str, grid: np.ndarray, by: str | None, level
) -> pd.DataFrame:
    from .models import _used_columns

    data = fit._d.data
    used = [c for c in _used_columns(fit.formula, data) if c != fit._d.outcome]
    row = {}
    for column in used:
        s = data[column]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            row[column] = float(s.mean())
        else:  # the reference level: first category, or first in sorted order
            levels = (
                list(s.cat.categories)
                if isinstance(s.dtype, pd.CategoricalDtype)
                else sorted(s.dropna().unique(), key=str)
            )
            row[column] = levels[0]
    frame = pd.DataFrame([row] * len(grid))
    frame[variable] = grid
    if by is not None:
        frame[by] = level
        if isinstance(data[by].dtype, pd.CategoricalDtype):
            frame[by] = pd.Categorical(frame[by], categories=data[by].cat.categories)
    return frame


def plot_effect(
    fit: LogisticFit,
    variable: str,
    ax: Axes | None = None,
    *,
    by: str | None = None,
    n_points: int = 100,
    level: float = 0.95,
) -> Axes:
    """Predicted probability of PFP over the observed range of one variable, with a CI band.

    Other numeric covariates are held at their mean, categorical ones at their reference
    level; splines and interactions are drawn as fitted. A rug shows the data.

    Parameters
    ----------
    fit : LogisticFit
    variable : str
        A numeric column of the model.
    by : str, optional
        A categorical column of the model: one curve per level (shows interactions).
    level : float
        Confidence level of the band (delta method on the logit scale).

    Returns
    -------
    Axes
    """
    from .models import _used_columns

    ax = _axes(ax)
    data = fit._d.data
    used = _used_columns(fit.formula, data)
    if variable not in used or not pd.api.types.is_numeric_dtype(data[variable]):
        raise ValueError(f"{variable!r} is not a numeric variable of the model {fit.formula!r}")
    if by is not None and by not in used:
        raise ValueError(f"by={by!r} is not a variable of the model {fit.formula!r}")
    x = data[variable].to_numpy(float)
    grid = np.linspace(np.nanmin(x), np.nanmax(x), n_points)
    levels = (
        [None]
        if by is None
        else (
            list(data[by].cat.categories)
            if isinstance(data[by].dtype, pd.CategoricalDtype)
            else sorted(data[by].dropna().unique(), key=str)
        )
    )
    levels = [lv for lv in levels if lv is None or (data[by] == lv).any()]
    for i, lv in enumerate(levels):
        pred = fit.predict_proba(_typical_rows(fit, variable, grid, by, lv), level=level)
        colour = PALETTE[i % len(PALETTE)]
        name = "predicted" if by is None else f"{label(by, unit=False)}: {lv}"
        ax.fill_between(grid, pred["ci_low"], pred["ci_high"], color=colour, alpha=0.2, lw=0)
        ax.plot(grid, pred["prob"], color=colour, lw=2, label=name)
        if by is not None:
            sns.rugplot(
                x=x[(data[by] == lv).to_numpy()], ax=ax, color=colour, height=0.03, alpha=0.4
            )
    if by is None:
        sns.rugplot(x=x, ax=ax, color="0.3", height=0.03, alpha=0.3)
    ax.set_xlabel(label(variable))
    ax.set_ylabel(f"Predicted risk of PFP ({level:.0%} CI)")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(0, min(1.0, ax.get_ylim()[1]))  # a risk never exceeds 100%
    if by is not None:
        ax.legend(fontsize="small")
    return ax


# ---------------------------------------------------------------------------------------------
# Calibration and ROC


def plot_calibration(
    fit: LogisticFit, ax: Axes | None = None, *, groups: int = 10, curve: pd.DataFrame | None = None
) -> Axes:
    """Observed against predicted risk: grouped by deciles of predicted risk (with Wilson 95%
    CIs), a lowess curve, the ideal line, and the bias-corrected curve of
    :func:`~pfps_stats.calibrate_bootstrap` when one is given or was last run on ``fit``.

    Returns
    -------
    Axes
    """
    from statsmodels.nonparametric.smoothers_lowess import lowess
    from statsmodels.stats.proportion import proportion_confint

    from .performance import calibration

    ax = _axes(ax)
    y, p = fit.y_, fit.fitted_
    bins = pd.qcut(p, groups, labels=False, duplicates="drop")
    frame = pd.DataFrame({"p": p, "y": y, "bin": bins}).groupby("bin")
    grouped = frame.agg(predicted=("p", "mean"), events=("y", "sum"), n=("y", "size"))
    low, high = proportion_confint(grouped["events"], grouped["n"], method="wilson")
    observed = grouped["events"] / grouped["n"]
    top = float(max(p.max(), high.max())) * 1.05
    ax.plot([0, top], [0, top], ls="--", color="0.4", lw=1, label="ideal")
    ax.errorbar(
        grouped["predicted"],
        observed,
        yerr=[observed - low, high - observed],
        fmt="o",
        color=PALETTE[0],
        ms=5,
        capsize=2.5,
        label=f"{len(grouped)} groups of predicted risk",
    )
    smooth = lowess(y, p, frac=2 / 3, it=0)
    ax.plot(smooth[:, 0], smooth[:, 1], color=PALETTE[1], lw=2, label="lowess (apparent)")
    curve = curve if curve is not None else getattr(fit, "calibration_curve_", None)
    if curve is not None:
        ax.plot(
            curve["predicted"],
            curve["corrected"],
            color=PALETTE[2],
            lw=2,
            label="bias-corrected (bootstrap)",
        )
    cal = calibration(y, p)
    slope, intercept = (
        round(cal[k], 2) + 0.0 for k in ("calibration_slope", "calibration_intercept")
    )
    ax.text(
        0.03,
        0.97,
        f"slope {slope:.2f}, intercept {intercept:.2f} (apparent)",
        transform=ax.transAxes,
        va="top",
        fontsize="small",
    )
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_aspect("equal")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("Predicted risk of PFP")
    ax.set_ylabel("Observed proportion with PFP")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small", frameon=False)
    return ax


def roc_curve(y, score) -> pd.DataFrame:
    """ROC curve points: fpr (1 - specificity), tpr (sensitivity), threshold; ties of the
    score form one step."""
    y = np.asarray(y, float)
    score = np.asarray(score, float)
    order = np.argsort(-score, kind="mergesort")
    score, y = score[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    tp, fp = np.cumsum(y)[last], np.cumsum(1 - y)[last]
    return pd.DataFrame(
        {
            "fpr": np.r_[0, fp / fp[-1]],
            "tpr": np.r_[0, tp / tp[-1]],
            "threshold": np.r_[np.inf, score[last]],
        }
    )


def plot_roc(fit: LogisticFit, ax: Axes | None = None) -> Axes:
    """The ROC curve of the fitted risks, with AUC and its DeLong 95% CI in the legend.

    Returns
    -------
    Axes
    """
    from .performance import roc_auc

    ax = _axes(ax)
    points = roc_curve(fit.y_, fit.fitted_)
    auc = roc_auc(fit.y_, fit.fitted_)
    ax.plot([0, 1], [0, 1], ls="--", color="0.4", lw=1, label="chance")
    ax.plot(
        points["fpr"],
        points["tpr"],
        color=PALETTE[0],
        lw=2,
        label=f"AUC {auc['auc']:.2f} (95% CI {auc['ci_low']:.2f}-{auc['ci_high']:.2f}, DeLong)",
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("1 - specificity (false-positive rate)")
    ax.set_ylabel("Sensitivity (true-positive rate)")
    ax.legend(loc="lower right", fontsize="small")
    return ax


# ---------------------------------------------------------------------------------------------
# Data views


def plot_distributions(
    data: pd.DataFrame, x: str, outcome: str = "pfp", ax: Axes | None = None, *, kind: str = "box"
) -> Axes:
    """A risk factor by outcome: a box (or violin) per outcome group with the points over it,
    in the variable's unit.

    Returns
    -------
    Axes
    """
    ax = _axes(ax)
    for column in (x, outcome):
        if column not in data:
            raise ValueError(f"{column!r} is not a column of the data")
    frame = data[[x, outcome]].dropna()
    names = (
        {0: "No PFP", 1: "PFP"} if outcome == "pfp" else {0: f"{outcome} = 0", 1: f"{outcome} = 1"}
    )
    counts = frame[outcome].value_counts()
    frame = frame.assign(
        group=frame[outcome].map(lambda v: f"{names.get(int(v), v)}\n(n={counts[v]})")
    )
    order = [f"{names[v]}\n(n={counts[v]})" for v in (0, 1) if v in counts]
    draw = {"box": sns.boxplot, "violin": sns.violinplot}.get(kind)
    if draw is None:
        raise ValueError(f'kind must be "box" or "violin", not {kind!r}')
    common = {"data": frame, "x": "group", "y": x, "order": order, "ax": ax}
    with warnings.catch_warnings():  # seaborn 0.13 passes boxplot(vert=), deprecated in mpl 3.11
        warnings.filterwarnings("ignore", message=".*vert: bool was deprecated")
        if kind == "box":
            draw(
                **common,
                hue="group",
                palette=PALETTE[:2],
                width=0.5,
                showfliers=False,
                legend=False,
            )
        else:
            draw(**common, hue="group", palette=PALETTE[:2], inner=None, cut=0, legend=False)
    sns.stripplot(**common, color="0.25", size=2, alpha=0.35, jitter=0.2)
    ax.set_xlabel("")
    ax.set_ylabel(label(x))
    return ax


def plot_missing(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Percentage of missing values per column, largest first (dictionary labels).

    Returns
    -------
    Axes
    """
    ax = _axes(ax)
    share = data.isna().mean().sort_values(ascending=True)
    names = [label(c, unit=False) for c in share.index]
    ax.barh(names, 100 * share.to_numpy(), color=PALETTE[0])
    for i, v in enumerate(share.to_numpy()):
        ax.text(100 * v, i, f" {100 * v:.1f}%", va="center", fontsize="small")
    ax.set_xlabel("Missing values (% of rows)")
    ax.set_xlim(0, max(5.0, 100 * share.max() * 1.25))
    ax.grid(axis="y", visible=False)
    return ax


def plot_correlations(
    data: pd.DataFrame, ax: Axes | None = None, *, method: str = "spearman"
) -> Axes:
    """Correlation heatmap of the numeric risk factors (Spearman by default), annotated.

    Returns
    -------
    Axes
    """
    ax = _axes(ax)
    numeric = [
        c
        for c in data.columns
        if pd.api.types.is_numeric_dtype(data[c])
        and not pd.api.types.is_bool_dtype(data[c])
        and data[c].nunique() > 1
        and not (c in VARIABLES and VARIABLES[c].kind == "binary")
    ]
    if len(numeric) < 2:
        raise ValueError("plot_correlations needs at least two numeric columns that vary")
    corr = data[numeric].corr(method=method)
    names = [label(c, unit=False) for c in numeric]
    sns.heatmap(
        corr,
        ax=ax,
        vmin=-1,
        vmax=1,
        cmap="vlag",
        annot=True,
        fmt=".2f",
        annot_kws={"size": 8},
        square=True,
        xticklabels=names,
        yticklabels=names,
        cbar_kws={"label": f"{method.capitalize()} correlation", "shrink": 0.8},
    )
    ax.tick_params(axis="x", rotation=45)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")
    return ax
