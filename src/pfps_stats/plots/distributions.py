"""The data before the model: a risk factor by outcome, missing values, correlations."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import pandas as pd
import seaborn as sns

from .._checks import check_frame
from ..cohort.variables import OUTCOME, VARIABLES, label
from .theme import PALETTE, get_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes


def plot_distributions(
    data: pd.DataFrame, x: str, outcome: str = OUTCOME, ax: Axes | None = None, *, kind: str = "box"
) -> Axes:
    """A risk factor by outcome: a box (or violin) per outcome group with the points over it,
    in the variable's unit.

    Returns
    -------
    Axes
    """
    ax = get_axes(ax)
    for column in (x, outcome):
        if column not in data:
            raise ValueError(f"{column!r} is not a column of the data")
    frame = data[[x, outcome]].dropna()
    names = (
        {0: "No PFP", 1: "PFP"}
        if outcome == OUTCOME
        else {0: f"{outcome} = 0", 1: f"{outcome} = 1"}
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
    check_frame(data, unique_columns=False)
    ax = get_axes(ax)
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
    ax = get_axes(ax)
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
