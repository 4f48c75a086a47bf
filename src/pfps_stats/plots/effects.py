"""Effect curves: predicted risk of PFP over one risk factor, with its confidence band."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import seaborn as sns

from .._checks import check_level
from ..cohort.variables import label
from .theme import PALETTE, get_axes, percent_formatter

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..models.logistic import LogisticFit


def _typical_rows(
    fit: LogisticFit, variable: str, grid: np.ndarray, by: str | None, level
) -> pd.DataFrame:
    data = fit.design.data
    used = [c for c in fit.design.variables if c != fit.design.outcome]
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
    level = check_level(level)
    ax = get_axes(ax)
    data = fit.design.data
    used = list(fit.design.variables)
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
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.set_ylim(0, min(1.0, ax.get_ylim()[1]))  # a risk never exceeds 100%
    if by is not None:
        ax.legend(fontsize="small")
    return ax
