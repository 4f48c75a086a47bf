"""Figures laid out for a report page: panels that never overlap, at 1280 and at 800 px.

A report's images scale down to the page's width, so a wide figure of many panels becomes
unreadable on a narrow page. Here each figure is small enough to be read at its own size:
the effect curves are a grid of at most two panels a row, and figures shown together
(calibration and ROC, a table beside its forest plot) sit in a block that puts them side by
side on a wide page and one under the other on a narrow one (:func:`side_by_side`).
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence

import pandas as pd

#: Pixels per inch of a figure on the page (Jupyter's inline figures: figure.dpi 100).
_PAGE_DPI = 100
#: Resolution of the PNG written into the page (sharp on high-density screens and in PDF).
_PNG_DPI = 150


def figure_html(fig, *, alt: str | None = None, close: bool = True) -> str:
    """A matplotlib figure as an ``<img>`` with the PNG inline (base64), at the size Jupyter
    shows it (figure inches x 100 px), shrinking with a narrower page.

    Parameters
    ----------
    fig : Figure or Axes
    alt : str, optional
        The image's text for screen readers; default the axes' titles and labels.
    close : bool
        Close the figure, so that Jupyter does not show it a second time.

    Returns
    -------
    str
        HTML.
    """
    import matplotlib.pyplot as plt
    from PIL import Image

    fig = getattr(fig, "figure", fig) if not hasattr(fig, "savefig") else fig
    if alt is None:
        alt = "; ".join(
            text
            for ax in fig.axes
            for text in (ax.get_title(), ax.get_ylabel(), ax.get_xlabel())
            if text
        )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_PNG_DPI, bbox_inches="tight")
    if close:
        plt.close(fig)
    width = Image.open(io.BytesIO(buffer.getvalue())).width * _PAGE_DPI / _PNG_DPI
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{data}" width="{math.ceil(width)}" '
        f'style="max-width:100%;height:auto" alt="{html.escape(alt or "figure")}">'
    )


def side_by_side(*items, gap: str = "1.5em"):
    """Tables and figures in one block: side by side when the page is wide enough for them,
    one under the other when it is not (a wrapping flex row). A figure keeps its width (no
    wider than the page); a table takes the rest of the row, its headers wrapping, down to
    22em, below which the row wraps (under about 900 px for a 5.5 inch figure beside a
    one-row summary).

    Parameters
    ----------
    *items : DataFrame, Styler, Figure, Axes, displayable or str
        A DataFrame is shown as :func:`~pfps_stats.report.show` shows it; a Figure or Axes
        as a PNG (:func:`figure_html`, which closes the figure so Jupyter does not show it
        again); an object with ``_repr_html_`` by its HTML; a str as HTML. None is skipped
        (an analysis that was not estimated).

    Returns
    -------
    IPython.display.HTML
    """
    from IPython.display import HTML

    cells = "".join(
        # A figure keeps its width; a table takes the rest of the row (its headers may wrap)
        # down to 22em, below which the row wraps.
        f'<div style="flex:{"0 1 auto" if figure else "1 1 22em"};min-width:0;max-width:100%;'
        f'overflow-x:auto">{block}</div>'
        for block, figure in (_item_html(item) for item in items if item is not None)
    )
    return HTML(
        f'<div class="pfps-side-by-side" style="display:flex;flex-wrap:wrap;gap:{gap};'
        f'align-items:flex-start">{cells}</div>'
    )


def _item_html(item) -> tuple[str, bool]:
    """The HTML of an item, and whether it is a figure."""
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    if isinstance(item, Figure | Axes):
        return figure_html(item), True
    return _table_html(item), False


def _table_html(item) -> str:
    from .display import show

    if isinstance(item, pd.DataFrame | pd.Series):
        item = show(item)
    if hasattr(item, "to_html") and hasattr(item, "hide"):  # a pandas Styler
        return item.to_html()
    if hasattr(item, "_repr_html_"):
        return item._repr_html_() or ""
    if hasattr(item, "data") and isinstance(item.data, str):  # IPython's HTML or Markdown
        return html.escape(item.data) if type(item).__name__ == "Markdown" else item.data
    if isinstance(item, str):
        return item
    raise TypeError(
        f"side_by_side shows tables, figures and HTML, not {type(item).__name__}; pass a "
        "DataFrame, a Styler, a matplotlib Figure or Axes, or an HTML string"
    )


def performance_figures(fit, curve: pd.DataFrame | None = None, *, size: float = 5.2) -> tuple:
    """The calibration plot and the ROC curve of a fit, as two figures of ``size`` inches
    square (legends under their axes, constrained layout), for :func:`side_by_side`.

    Parameters
    ----------
    fit : LogisticFit
    curve : DataFrame, optional
        :func:`~pfps_stats.calibrate_bootstrap`'s bias-corrected curve.
    size : float
        Width of each figure in inches (5.2: two fit side by side on a 1280 px page, and one
        is shown at its own size on an 800 px page).

    Returns
    -------
    (Figure, Figure)
    """
    import matplotlib.pyplot as plt

    from ..plots.performance import plot_calibration, plot_roc

    calibration = plt.figure(figsize=(size, size * 1.12), layout="constrained")
    plot_calibration(fit, ax=calibration.add_subplot(), curve=curve)
    roc = plt.figure(figsize=(size, size * 1.12), layout="constrained")
    plot_roc(fit, ax=roc.add_subplot())
    return calibration, roc


def effects_figure(
    fit,
    variables: Sequence[str] | None = None,
    *,
    ncols: int = 2,
    panel: tuple[float, float] = (4.3, 3.4),
):
    """Effect curves (:func:`~pfps_stats.plot_effect`) of a fit's numeric variables in a grid
    of at most ``ncols`` panels a row, constrained layout: readable at its own size on an
    800 px page.

    Parameters
    ----------
    fit : LogisticFit
    variables : list of str, optional
        Variables to draw, in this order: those that are numeric variables of the model
        (a categorical factor such as sex has no curve, and is not drawn). Default every
        numeric variable of the model.
    ncols : int
    panel : (width, height)
        Inches per panel.

    Returns
    -------
    Figure

    Raises
    ------
    ValueError
        When none of ``variables`` is a numeric variable of the model.
    """
    import matplotlib.pyplot as plt

    from ..plots.effects import plot_effect

    data, used = fit.design.data, list(fit.design.variables)
    outcome = fit.design.outcome
    candidates = [v for v in used if v != outcome] if variables is None else list(variables)
    numeric = [
        v
        for v in candidates
        if v in used
        and v != outcome
        and pd.api.types.is_numeric_dtype(data[v])
        and not pd.api.types.is_bool_dtype(data[v])
    ]
    if not numeric:
        raise ValueError(
            f"no numeric variable of the model {fit.formula!r} among {candidates}: effect "
            "curves are drawn for numeric variables"
        )
    if ncols < 1:
        raise ValueError(f"ncols must be 1 or more, not {ncols!r}")
    ncols = min(ncols, len(numeric))
    nrows = math.ceil(len(numeric) / ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(panel[0] * ncols, panel[1] * nrows),
        squeeze=False,
        layout="constrained",
    )
    for variable, ax in zip(numeric, axes.flat, strict=False):
        plot_effect(fit, variable, ax=ax)
    for ax in list(axes.flat)[len(numeric) :]:
        ax.remove()
    return fig
