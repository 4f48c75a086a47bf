"""How well a model predicts: calibration and ROC curves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..models.performance import calibration, roc_auc, roc_curve
from .theme import PALETTE, get_axes, legend_below, percent_formatter

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..models.logistic import LogisticFit


def plot_calibration(
    fit: LogisticFit, ax: Axes | None = None, *, groups: int = 10, curve: pd.DataFrame | None = None
) -> Axes:
    """Observed against predicted risk: grouped by deciles of predicted risk (with Wilson 95%
    CIs), a lowess curve, the ideal line, and, when ``curve`` is given, the bias-corrected
    curve of :func:`~pfps_stats.calibrate_bootstrap`; the legend is under the axes (it covers
    no point and no neighbouring panel)::

        curve = ps.calibrate_bootstrap(fit, n_boot=200, seed=1)
        ps.plot_calibration(fit, curve=curve)

    Returns
    -------
    Axes
    """
    from statsmodels.nonparametric.smoothers_lowess import lowess
    from statsmodels.stats.proportion import proportion_confint

    ax = get_axes(ax)
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
    ax.xaxis.set_major_formatter(percent_formatter())
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.set_xlabel("Predicted risk of PFP")
    ax.set_ylabel("Observed proportion with PFP")
    legend_below(ax, ncol=2)
    return ax


def plot_roc(fit: LogisticFit, ax: Axes | None = None) -> Axes:
    """The ROC curve of the fitted risks, with AUC and its DeLong 95% CI in the legend (under
    the axes: it covers no part of the curve).

    Returns
    -------
    Axes
    """
    ax = get_axes(ax)
    points = roc_curve(fit.y_, fit.fitted_)
    auc = roc_auc(fit.y_, fit.fitted_)
    ax.plot([0, 1], [0, 1], ls="--", color="0.4", lw=1, label="chance")
    ax.plot(
        points["fpr"],
        points["tpr"],
        color=PALETTE[0],
        lw=2,
        label=(
            f"AUC {auc['auc']:.2f} (95% CI {auc['ci_low']:.2f}-{auc['ci_high']:.2f}, DeLong)"
            if pd.notna(auc["ci_low"])
            else f"AUC {auc['auc']:.2f} (no CI: one case or one control)"
        ),
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("1 - specificity (false-positive rate)")
    ax.set_ylabel("Sensitivity (true-positive rate)")
    legend_below(ax)
    return ax
