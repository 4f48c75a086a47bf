"""The toolkit's one look: a colour-blind-safe palette, a colour per kind of series, and the
Axes every plot function draws on."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import seaborn as sns

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

#: seaborn's "colorblind" palette (after Okabe & Ito); every figure takes its colours here.
PALETTE = sns.color_palette("colorblind")

#: The colour of each kind of series, the same in every figure: local estimates in blue, a
#: second local model or a pooled estimate in orange, published estimates in green.
SERIES_COLOURS = {
    "univariable": PALETTE[0],
    "multivariable": PALETTE[1],
    "model": PALETTE[1],
    "local cohort": PALETTE[0],
    "studies": PALETTE[0],
    "published": PALETTE[2],
    "updated (pooled)": PALETTE[1],
    "pooled": PALETTE[1],
}


def series_colour(name: str, index: int = 0):
    """The colour of a series: by its kind (the name up to " (" or ":"), else by position."""
    kind = name.lstrip("_").split(" (")[0].split(":")[0]
    return SERIES_COLOURS.get(name.lstrip("_"), SERIES_COLOURS.get(kind, PALETTE[index % 10]))


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


def get_axes(ax: Axes | None) -> Axes:
    """``ax``, or the current Axes when None; anything else is refused with a message."""
    if ax is None:
        return plt.gca()
    from matplotlib.axes import Axes as _Axes

    if not isinstance(ax, _Axes):
        raise ValueError(
            f"ax must be a matplotlib Axes (e.g. plt.subplots()[1]) or None, not "
            f"{type(ax).__name__}"
        )
    return ax


def legend_below(ax: Axes, *, ncol: int = 1, **kwargs):
    """The legend of ``ax`` under its x-axis label, centred and without a frame, so that it
    covers no data and runs under no neighbouring panel.

    The drop below the axes is worked out in points from the current theme (tick length and
    padding, tick-label and axis-label sizes), so it holds for any size of axes; set the x
    label before calling. A figure with constrained layout (or saved with
    ``bbox_inches="tight"``) makes room for it.

    Returns
    -------
    Legend
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.transforms import ScaledTranslation

    rc = plt.rcParams

    def points(size) -> float:
        return FontProperties(size=size).get_size_in_points()

    drop = rc["xtick.major.size"] + rc["xtick.major.pad"] + 1.3 * points(rc["xtick.labelsize"])
    xlabel = ax.get_xlabel()
    if xlabel:
        lines = xlabel.count("\n") + 1
        drop += rc["axes.labelpad"] + 1.3 * points(rc["axes.labelsize"]) * lines
    shift = ScaledTranslation(0, -(drop + 4) / 72, ax.figure.dpi_scale_trans)
    options = {"fontsize": "small", "frameon": False} | kwargs
    return ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        bbox_transform=ax.transAxes + shift,
        ncol=ncol,
        **options,
    )


def percent_formatter():
    """Tick labels for proportions as percentages with the digits they need: 0.05 reads
    "5%", 0.025 "2.5%" (never "2%" for 2.5%, as a fixed number of decimals would).

    Returns
    -------
    matplotlib.ticker.PercentFormatter
        For proportions (1 is 100%).
    """
    from matplotlib.ticker import PercentFormatter

    class _Percent(PercentFormatter):
        def format_pct(self, x, display_range):
            return f"{round(self.convert_to_pct(x), 6):g}{self.symbol}"

    return _Percent(1.0)
