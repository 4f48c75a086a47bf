"""Observed against imputed values: the checks of a multiple imputation, as R mice's
``densityplot`` and ``stripplot``.

:func:`plot_imputed` draws one imputed variable on ``ax``: for a number, the density of the
observed values (one thick line) over the density of the values imputed in each of the m
datasets (thin lines), or, when a dataset has too few distinct imputed values for a density, a
strip of every value by dataset; for a category, the proportion of each level among observed
and among imputed values. :func:`plot_imputation_diagnostics` draws one such panel per
imputed variable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import gaussian_kde

from ..cohort.imputation import ImputedCohort
from ..cohort.variables import label
from .theme import get_axes, series_colour

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

#: Fewest distinct values in a group (the observed values, or one dataset's imputed values)
#: for a density line; with fewer, the panel is a strip of the values by dataset.
MIN_DISTINCT_FOR_DENSITY = 5
#: Points of the grid each density is evaluated on.
_GRID = 256
#: The y-axis reaches this multiple of the tallest line, bar or row, so that the legend (upper
#: right) sits above the data.
_HEADROOM = 1.4
#: Panels per row of :func:`plot_imputation_diagnostics`: two, so that the figure is read at
#: its own size on an 800 px report page.
_COLUMNS = 2

OBSERVED, IMPUTED = "observed", "imputed"


def _colours() -> tuple:
    """Observed values dark blue, imputed values vermillion (mice's blue and red, from the
    colour-blind-safe palette)."""
    return series_colour(OBSERVED, 0), series_colour(IMPUTED, 3)


def _check_imputed(imputed, caller: str) -> None:
    if not isinstance(imputed, ImputedCohort):
        raise TypeError(
            f"{caller} needs the ImputedCohort that ps.impute returns, not a "
            f"{type(imputed).__name__}; e.g. imputed = ps.impute(data, m=20, seed=1)"
        )


def _check_variable(imputed: ImputedCohort, variable) -> None:
    if not isinstance(variable, str) or variable not in imputed.variables:
        raise ValueError(
            f"{variable!r} was not imputed; imputed variables: "
            f"{', '.join(imputed.variables) or 'none'} (name it in ps.impute(variables=...))"
        )


def _levels(imputed: ImputedCohort, variable: str, values: pd.Series) -> list | None:
    """The levels of a categorical variable (the imputation's coding, else the values' own
    order), or None for a number."""
    coding = imputed.settings.get("coding", {}).get(variable)
    if coding is not None:
        return list(coding)
    column = imputed.datasets[0][variable]
    if isinstance(column.dtype, pd.CategoricalDtype):
        present = set(values.dropna())
        return [c for c in column.cat.categories if c in present]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return None
    return sorted(pd.unique(values.dropna()), key=str)


def _bandwidth(x: np.ndarray) -> float:
    """R's ``bw.nrd0`` (Silverman's rule of thumb), the bandwidth of ``density()`` and so of
    mice's ``densityplot``: 0.9 min(SD, IQR/1.34) n^(-1/5)."""
    sd = float(np.std(x, ddof=1))
    q1, q3 = np.percentile(x, [25, 75])
    spread = min(sd, (q3 - q1) / 1.34)
    if not spread > 0:
        spread = sd or abs(float(x[0])) or 1.0
    return 0.9 * spread * len(x) ** -0.2


def _density(x: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian kernel density of ``x`` on ``grid`` with R's default bandwidth."""
    kde = gaussian_kde(x, bw_method=_bandwidth(x) / float(np.std(x, ddof=1)))
    return kde(grid)


def _legend_texts(n_observed: int, m: int, n_imputed: int) -> tuple[str, str]:
    return (
        f"observed (n={n_observed})",
        f"imputed ({m} dataset{'s' if m != 1 else ''}, n={n_imputed} each)",
    )


def _title(imputed: ImputedCohort, variable: str) -> str:
    title = label(variable, unit=False)  # the figure's title says "observed and imputed"
    if variable == "bmi" and str(imputed.settings.get("bmi", "")).startswith("derived"):
        title += "\n(imputed via height and mass)"
    return title


def _no_values_imputed(ax: Axes) -> None:
    ax.text(
        0.5,
        0.5,
        "no values imputed\n(observed in every row)",
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize="small",
        color="0.3",
    )


def plot_imputed(imputed: ImputedCohort, variable: str, ax: Axes | None = None) -> Axes:
    """Observed against imputed values of one variable, as R mice's ``densityplot`` (numbers)
    and a bar chart of proportions (categories).

    Parameters
    ----------
    imputed : ImputedCohort
        As :func:`~pfps_stats.impute` returns.
    variable : str
        One of ``imputed.variables``.
    ax : Axes, optional
        Where to draw (default the current Axes).

    Returns
    -------
    Axes
        - A number: the density of the observed values (one thick dark-blue line, drawn last)
          and of the values imputed in each of the m datasets (m thin vermillion lines), all
          with a Gaussian kernel and R's default bandwidth (``bw.nrd0``, as mice's
          ``densityplot``). y-axis "Density". When the observed values or one dataset's imputed
          values have fewer than :data:`MIN_DISTINCT_FOR_DENSITY` distinct values, a strip
          instead (as mice's ``stripplot``, turned on its side): every value by dataset,
          "observed" on the top row, imputations 1..m below.
        - A category (a two-level category coded in ``imputed.settings["coding"]``, or any
          non-numeric column): two bars per level, the proportion of that level among the
          observed values and among the imputed values of all m datasets pooled; each group's
          bars sum to 1. y-axis "Proportion".

        The x-axis is the variable's label with its unit; the legend reads "observed (n=...)"
        and "imputed (m datasets, n=... each)"; the title names the variable. A variable that
        was named but had nothing missing shows the observed values and says so.

    Raises
    ------
    TypeError
        When ``imputed`` is not an ImputedCohort.
    ValueError
        When ``variable`` was not imputed (the message lists the imputed variables).

    Notes
    -----
    Imputed values that look unlike the observed ones are not an error in themselves (values
    missing at random given other variables may differ), but a density far outside the
    observed range points to a poor imputation model (van Buuren, *Flexible Imputation of
    Missing Data*, 2nd ed., section 6.6). The figure is checked through its artists in
    tests/plots/test_imputation_plots.py: one line per dataset plus the observed one, bar
    heights equal to the proportions computed from ``ImputedCohort.values``.
    """
    _check_imputed(imputed, "plot_imputed")
    _check_variable(imputed, variable)
    ax = get_axes(ax)
    long = imputed.values(variable)
    observed = long.loc[~long["imputed"], "value"]
    guesses = long[long["imputed"]]
    n_imputed = int(imputed.missing[variable].sum())
    texts = _legend_texts(len(observed), imputed.m, n_imputed)
    levels = _levels(imputed, variable, long["value"])
    if levels is not None:
        _bars(ax, observed, guesses["value"], levels, texts, n_imputed)
    else:
        by_set = [
            guesses.loc[guesses["imputation"] == i, "value"].to_numpy(float)
            for i in range(1, imputed.m + 1)
        ]
        x = observed.to_numpy(float)
        too_few = len(np.unique(x)) < MIN_DISTINCT_FOR_DENSITY or any(
            len(np.unique(v)) < MIN_DISTINCT_FOR_DENSITY for v in by_set if len(v)
        )
        if too_few:
            _strip(ax, x, by_set, texts, n_imputed)
        else:
            _densities(ax, x, by_set, texts, n_imputed)
    ax.set_xlabel(label(variable))
    ax.set_title(_title(imputed, variable), fontsize="medium")
    return ax


def _densities(ax: Axes, x: np.ndarray, by_set: list, texts: tuple, n_imputed: int) -> None:
    dark, other = _colours()
    pooled = np.concatenate([x, *by_set])
    pad = 3 * max(_bandwidth(x), *(_bandwidth(v) for v in by_set if len(v) > 1))
    grid = np.linspace(pooled.min() - pad, pooled.max() + pad, _GRID)
    top = 0.0
    if n_imputed:
        for i, values in enumerate(by_set):
            y = _density(values, grid)
            top = max(top, float(y.max()))
            ax.plot(
                grid,
                y,
                color=other,
                lw=1,
                alpha=0.85,
                label=texts[1] if i == 0 else f"_{texts[1]} {i + 1}",
            )
    else:
        _no_values_imputed(ax)
    y = _density(x, grid)
    ax.plot(grid, y, color=dark, lw=2.5, label=texts[0], zorder=3)
    ax.set_ylim(0, _HEADROOM * max(top, float(y.max())))
    ax.set_ylabel("Density")
    ax.legend(loc="upper right", fontsize="small", frameon=True)


def _strip(ax: Axes, x: np.ndarray, by_set: list, texts: tuple, n_imputed: int) -> None:
    dark, other = _colours()
    rng = np.random.default_rng(0)  # jitter only: the same picture every time
    m = len(by_set)

    def jitter(k: int) -> np.ndarray:
        return rng.uniform(-0.15, 0.15, k)

    ax.scatter(x, m + jitter(len(x)), s=10, color=dark, alpha=0.5, label=texts[0], zorder=3)
    if n_imputed:
        for i, values in enumerate(by_set, start=1):
            ax.scatter(
                values,
                m - i + jitter(len(values)),
                s=14,
                color=other,
                alpha=0.8,
                label=texts[1] if i == 1 else f"_{texts[1]} {i}",
            )
    else:
        _no_values_imputed(ax)
    ax.set_yticks(range(m + 1), labels=[str(m - k) for k in range(m)] + [OBSERVED])
    ax.set_ylim(-0.6, -0.6 + _HEADROOM * (m + 1.2))
    ax.set_ylabel("Dataset (imputation)")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="upper right", fontsize="small", frameon=True)


def _bars(
    ax: Axes, observed: pd.Series, guesses: pd.Series, levels: list, texts: tuple, n_imputed: int
) -> None:
    dark, other = _colours()
    pos = np.arange(len(levels))
    width = 0.38
    groups = [(observed, dark, texts[0], -width / 2 if n_imputed else 0.0)]
    if n_imputed:
        groups.append((guesses, other, texts[1], width / 2))
    else:
        _no_values_imputed(ax)
    for values, colour, text, shift in groups:
        share = values.value_counts(normalize=True).reindex(levels, fill_value=0.0)
        bars = ax.bar(pos + shift, share.to_numpy(float), width, color=colour, label=text)
        ax.bar_label(bars, labels=[f"{v:.0%}" for v in share], fontsize="small", padding=2)
    ax.set_xticks(pos, labels=[str(v) for v in levels])
    ax.set_ylim(0, _HEADROOM)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("Proportion")
    ax.grid(axis="x", visible=False)
    ax.legend(loc="upper right", fontsize="small", frameon=True)


def plot_imputation_diagnostics(
    imputed: ImputedCohort,
    variables: str | Sequence[str] | None = None,
    axes=None,
) -> np.ndarray:
    """One :func:`plot_imputed` panel per imputed variable, on a grid of up to two panels a
    row.

    Parameters
    ----------
    imputed : ImputedCohort
        As :func:`~pfps_stats.impute` returns.
    variables : str or list of str, optional
        The variables to draw; default every imputed variable with at least one value imputed,
        in the order of ``imputed.variables``.
    axes : Axes or array of Axes, optional
        Where to draw, one Axes per variable (at least as many as variables, used in order;
        extra Axes are left untouched). Default: a new figure (constrained layout) with the
        unused cells of its grid removed, titled with m and the method.

    Returns
    -------
    ndarray of Axes
        One Axes per variable, in order (1-D); ``axes[0].figure`` is the figure.

    Raises
    ------
    TypeError
        When ``imputed`` is not an ImputedCohort.
    ValueError
        When a variable was not imputed, when no value was imputed at all, or when ``axes``
        holds fewer Axes than there are variables.
    """
    _check_imputed(imputed, "plot_imputation_diagnostics")
    if variables is None:
        names = [v for v in imputed.variables if imputed.missing[v].any()]
        if not names:
            raise ValueError(
                f"no value was imputed in any of {', '.join(imputed.variables) or 'the variables'}"
                f"; there is nothing to compare"
            )
    else:
        names = [variables] if isinstance(variables, str) else list(variables)
        if not names:
            raise ValueError("variables is empty; name at least one imputed variable")
        for name in names:
            _check_variable(imputed, name)
    if axes is None:
        ncols = min(_COLUMNS, len(names))
        nrows = -(-len(names) // ncols)
        fig, grid = plt.subplots(
            nrows,
            ncols,
            figsize=(4.6 * ncols, 3.7 * nrows),
            squeeze=False,
            layout="constrained",
        )
        cells = grid.ravel()
        for extra in cells[len(names) :]:
            fig.delaxes(extra)
        method = imputed.settings.get("method", "")
        how = f"m={imputed.m}, {method}" if method else f"m={imputed.m}"
        fig.suptitle(f"Observed and imputed values ({how})", fontweight="bold")
    else:
        cells = np.ravel(np.asarray(axes, dtype=object))
        if len(cells) < len(names):
            raise ValueError(
                f"axes holds {len(cells)} Axes for {len(names)} variables "
                f"({', '.join(names)}); pass one Axes per variable, or axes=None"
            )
    used = np.empty(len(names), dtype=object)
    for i, name in enumerate(names):
        used[i] = plot_imputed(imputed, name, ax=cells[i])
    return used
