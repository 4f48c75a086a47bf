"""Argument checks shared by every layer, with the messages users see. Imports nothing from
the package."""

from __future__ import annotations

import math


def check_level(level: float, name: str = "level") -> float:
    """Return ``level`` as a float when it is a confidence level strictly between 0 and 1.

    Raises
    ------
    ValueError
        Otherwise, suggesting the likely meaning (``level=95`` -> "did you mean 0.95?").
    """
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a number between 0 and 1 (e.g. 0.95), not {level!r}"
        ) from None
    if math.isnan(value) or not 0 < value < 1:
        hint = f"; did you mean {value / 100:g}?" if 1 < value < 100 else ""
        raise ValueError(f"{name} must be between 0 and 1 (e.g. 0.95), not {level!r}{hint}")
    return value
