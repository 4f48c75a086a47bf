"""Funnel plot: small-study effects in a meta-analysis at a glance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from .theme import PALETTE, get_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes


def draw_funnel(
    yi: Sequence[float],
    vi: Sequence[float],
    estimate: float,
    ax: Axes | None = None,
    *,
    xlabel: str | None = None,
) -> Axes:
    """Each study's effect against its standard error (inverted axis), with the pooled
    estimate and its pseudo 95% limits (estimate ± 1.96·se).

    Returns
    -------
    Axes
    """
    ax = get_axes(ax)
    se = np.sqrt(np.asarray(vi, dtype=float))
    top = float(se.max()) * 1.05
    grid = np.linspace(0, top, 50)
    z = stats.norm.ppf(0.975)
    ax.fill_betweenx(
        grid, estimate - z * grid, estimate + z * grid, color="0.92", label="pseudo 95% limits"
    )
    ax.axvline(estimate, color=PALETTE[1], lw=1.5, label="pooled estimate")
    ax.scatter(yi, se, color=PALETTE[0], zorder=3, label="studies")
    ax.set_ylim(top, 0)
    ax.set_ylabel("Standard error")
    ax.set_xlabel(xlabel or "Effect size")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax
