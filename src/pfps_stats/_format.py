"""Numbers into text, written once: estimates with CIs, p-values, "n (events)" with small-cell
suppression applied to the numbers before any text is made.

Public through :mod:`pfps_stats.report.formatting`; it lives here, outside the layers,
because figures (a forest plot's "n (events)" column) and report tables use the same rules.
This module imports nothing from the package.
"""

from __future__ import annotations

import math

#: Count columns that small-cell suppression looks at by default.
COUNT_COLUMNS = ("n", "events", "runners", "cases", "k")


def small_marker(min_cell: int) -> str:
    """The text shown instead of a count below ``min_cell``: ``"<5"``."""
    return f"<{min_cell}"


def is_small(count: float, min_cell: int | None) -> bool:
    """Whether a count is suppressed: ``min_cell`` given and the count below it (0 included)."""
    return min_cell is not None and count is not None and not _missing(count) and count < min_cell


def _missing(value) -> bool:
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def number(value: float, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals; "-0.00" is written "0.00"; missing is "-"."""
    if _missing(value):
        return "-"
    text = f"{float(value):.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def estimate_ci(value: float, low: float, high: float, digits: int = 2, sep: str = ", ") -> str:
    """``"0.53 (0.44, 0.64)"``; "-" when the estimate is missing."""
    if _missing(value):
        return "-"
    return f"{number(value, digits)} ({number(low, digits)}{sep}{number(high, digits)})"


def p_value(p: float, *, prefix: bool = False) -> str:
    """``"<0.001"`` or three decimals (``"0.012"``); with ``prefix``, ``"p<0.001"`` or
    ``"p=0.012"``. Never ``"0.000"``."""
    if _missing(p):
        return "-"
    if p < 0.001:
        return "p<0.001" if prefix else "<0.001"
    return f"p={p:.3f}" if prefix else f"{p:.3f}"


def count(k: float, min_cell: int | None = None) -> str:
    """A count as text, or ``"<5"`` when suppressed."""
    if _missing(k):
        return "-"
    return small_marker(min_cell) if is_small(k, min_cell) else str(int(k))


def n_events(n: float, events: float, min_cell: int | None = None) -> str:
    """``"120 (14)"``: rows and events; ``"<5"`` when either is below ``min_cell``."""
    if _missing(n) or _missing(events):
        return "-"
    if is_small(n, min_cell) or is_small(events, min_cell):
        return small_marker(min_cell)
    return f"{int(n)} ({int(events)})"


def count_percent(k: int, n: int, digits: int = 1, min_cell: int | None = None) -> str:
    """``"12 (5.0%)"``; ``"<5"`` when ``k`` is below ``min_cell``."""
    if is_small(k, min_cell):
        return small_marker(min_cell)
    return f"{k} ({number(100 * k / n, digits) if n else '-'}%)"
