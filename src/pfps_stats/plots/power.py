"""Power curves for study planning: power against the number of runners recruited."""

from __future__ import annotations

import math
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..models.power import power_logistic
from .theme import PALETTE, get_axes, legend_below, percent_formatter

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    from matplotlib.axes import Axes

#: Scenario keywords a plan (a Series of ps.plan_study or ps.power_logistic) already holds.
_SCENARIO = ("scale", "incidence", "alpha", "r2_other", "dropout", "exposed", "method")
_DEFAULTS = {
    "scale": "smd",
    "alpha": 0.05,
    "r2_other": 0.0,
    "dropout": 0.0,
    "exposed": None,
    "method": "lr",
}
#: The curve's legend, by method.
_METHOD_LABELS = {"lr": "likelihood-ratio test", "hsieh": "Hsieh et al. 1998"}
_EFFECT_NAMES = {"smd": "SMD", "or_per_sd": "OR per SD", "or_binary": "OR"}
#: Simulated points carry ± this many Monte Carlo standard errors (a 95% interval).
_Z95 = 1.959964


def _scenario(effect, given: dict, target: float | None) -> tuple[dict, float]:
    """The power_logistic keywords and the target power, from a plan Series or keywords."""
    if isinstance(effect, pd.Series):
        clash = sorted(k for k, v in given.items() if v is not None)
        if clash:
            raise ValueError(
                f"plot_power_curve: a plan (Series) holds its own {', '.join(clash)}; give "
                f"either the plan, or effect= with scale=, incidence=, ... (not both)"
            )
        missing = [k for k in ("effect", *_SCENARIO) if k not in effect.index]
        if missing:
            raise ValueError(
                f"plot_power_curve: the Series lacks {', '.join(missing)}; pass the result "
                "of ps.plan_study or ps.power_logistic, or effect= with its keywords"
            )
        kwargs = {k: effect[k] for k in _SCENARIO}
        kwargs["exposed"] = None if pd.isna(kwargs["exposed"]) else float(kwargs["exposed"])
        value = float(effect["effect"])
        if target is None:
            target = float(effect.get("power_target", math.nan))
            target = 0.8 if math.isnan(target) else target
    else:
        if effect is None:
            raise ValueError("plot_power_curve: give effect= (and incidence=), or a plan Series")
        if given.get("incidence") is None:
            raise ValueError("plot_power_curve: incidence= is required with effect=")
        kwargs = {k: _DEFAULTS.get(k) if given.get(k) is None else given[k] for k in _SCENARIO}
        value = effect
        target = 0.8 if target is None else target
    return {"effect": value, **kwargs}, float(target)


def _sizes(n) -> np.ndarray:
    """Whole numbers of runners recruited, at least one."""
    values = np.atleast_1d(np.asarray(n, dtype=object)).ravel()
    bad = [
        v
        for v in values
        if isinstance(v, bool | np.bool_)
        or not isinstance(v, Real)
        or not float(v).is_integer()
        or v < 2
    ]
    if bad or not len(values):
        raise ValueError(
            "plot_power_curve: n must be whole numbers of runners recruited (2 or more), e.g. "
            f"[100, 200, 400], not {n!r}"
        )
    return values.astype(int)


def _simulated(simulated: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(simulated, pd.DataFrame):
        raise ValueError(
            f"plot_power_curve: simulated= must be the DataFrame of ps.simulate_power, not "
            f"{type(simulated).__name__}"
        )
    missing = [c for c in ("n", "power", "mc_se") if c not in simulated]
    if missing:
        raise ValueError(
            f"plot_power_curve: simulated= lacks column(s) {', '.join(missing)}; pass the "
            "DataFrame of ps.simulate_power"
        )
    if "test" in simulated and simulated["test"].nunique() > 1:
        raise ValueError(
            "plot_power_curve: simulated= holds the powers of several tests "
            f"({', '.join(map(str, simulated['test'].unique()))}); pass one, e.g. "
            "simulated[simulated['test'] == 'lr']"
        )
    return simulated


def plot_power_curve(
    effect: float | pd.Series | None = None,
    *,
    scale: str | None = None,
    incidence: float | None = None,
    n: Sequence[int] | None = None,
    alpha: float | None = None,
    r2_other: float | None = None,
    dropout: float | None = None,
    exposed: float | None = None,
    method: str | None = None,
    target: float | None = None,
    ax: Axes | None = None,
    simulated: pd.DataFrame | None = None,
) -> Axes:
    """Power against the number of runners recruited, from :func:`~pfps_stats.power_logistic`.

    Draws the analytic power curve of :func:`~pfps_stats.power_logistic`, a horizontal line
    at the target power, a vertical line at the smallest cohort that reaches it (with the
    expected number of cases) and, optionally, simulated powers with their 95% Monte Carlo
    intervals::

        plan = ps.plan_study("knee_ext_strength_nmkg", "military", dropout=0.1)
        ps.plot_power_curve(plan)
        ps.plot_power_curve(0.5, scale="smd", incidence=0.1, target=0.9)

    Parameters
    ----------
    effect : float or Series
        The effect on ``scale``; or a Series from :func:`~pfps_stats.plan_study` or
        :func:`~pfps_stats.power_logistic`, whose effect, scale, incidence, alpha,
        r2_other, dropout, exposed, method and target power are used (then give none of
        those).
    scale, incidence, alpha, r2_other, dropout, exposed, method
        As :func:`~pfps_stats.power_logistic` (defaults "smd", 0.05, 0, 0, None, "lr");
        ``incidence`` is required with a numeric ``effect``.
    n : sequence of int, optional
        Runners recruited at which to draw the curve (default 80 values from a quarter to
        two and a half times the required number).
    target : float, optional
        The target power (default the plan's ``power_target``, else 0.8).
    ax : Axes, optional
        Drawn on this Axes (default the current one).
    simulated : DataFrame, optional
        :func:`~pfps_stats.simulate_power`'s result (columns ``n``, ``power``, ``mc_se``);
        its ``n`` are runners analysed, drawn at ``n / (1 - dropout)`` runners recruited,
        with error bars of ± 1.96 Monte Carlo SE.

    Returns
    -------
    Axes
        x: runners recruited; y: power (as %).

    Raises
    ------
    ValueError
        A plan Series together with scenario keywords, a missing ``incidence``, a
        ``simulated`` table without its columns, or an argument power_logistic refuses.
    """
    given = {
        "scale": scale,
        "incidence": incidence,
        "alpha": alpha,
        "r2_other": r2_other,
        "dropout": dropout,
        "exposed": exposed,
        "method": method,
    }
    kwargs, target = _scenario(effect, given, target)
    required = power_logistic(**kwargs, power=target)
    n_required = int(required["n"])
    if simulated is not None:
        simulated = _simulated(simulated)
    if n is None:
        low, high = max(10, n_required // 4), math.ceil(2.5 * n_required)
        if simulated is not None and len(simulated):
            sim_n = simulated["n"].to_numpy(float) / (1 - kwargs["dropout"])
            low, high = min(low, int(sim_n.min())), max(high, math.ceil(sim_n.max()))
        n = np.unique(np.linspace(low, high, 80).round().astype(int))
    n = _sizes(n)
    power = [float(power_logistic(**kwargs, n=int(k))["power"]) for k in n]

    ax = get_axes(ax)
    effect_name = _EFFECT_NAMES.get(kwargs["scale"], kwargs["scale"])
    scenario = f"{effect_name} {kwargs['effect']:.2f}, incidence {kwargs['incidence']:.0%}"
    curve = _METHOD_LABELS.get(kwargs["method"], kwargs["method"])
    ax.plot(n, power, color=PALETTE[0], lw=2, label=f"{curve} ({scenario})")
    ax.axhline(target, ls="--", color="0.4", lw=1, label=f"target power {target:.0%}")
    ax.axvline(
        n_required,
        ls=":",
        color=PALETTE[1],
        lw=1.5,
        label=f"required: {n_required} runners (about {required['events']:.0f} cases)",
    )
    if simulated is not None and len(simulated):
        x = simulated["n"].to_numpy(float) / (1 - kwargs["dropout"])
        replicates = (
            f"{int(simulated['n_sim'].iloc[0])} simulated cohorts each, "
            if "n_sim" in simulated
            else ""
        )
        ax.errorbar(
            x,
            simulated["power"],
            yerr=_Z95 * simulated["mc_se"].to_numpy(float),
            fmt="o",
            color=PALETTE[2],
            ms=5,
            capsize=2.5,
            label=f"simulation ({replicates}95% MC interval)",
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, max(float(np.max(n)), n_required) * 1.02)
    ax.yaxis.set_major_formatter(percent_formatter())
    xlabel = "Runners recruited (n)"
    if kwargs["dropout"] > 0:
        xlabel += f", before {kwargs['dropout']:.0%} drop-out"
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Power")
    ax.set_title(f"Two-sided alpha {kwargs['alpha']:g}", fontsize="medium", loc="left")
    legend_below(ax)
    return ax
