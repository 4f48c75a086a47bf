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


def check_frame(data, name: str = "data", *, unique_columns: bool = True):
    """Return ``data`` when it is a DataFrame (with each column name once).

    Raises
    ------
    TypeError
        When it is not a DataFrame; for an ImputedCohort, saying what to pass instead.
    ValueError
        When column names repeat (``unique_columns``), naming them.
    """
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        if hasattr(data, "datasets") and hasattr(data, "missing"):
            raise TypeError(
                f"{name} is an ImputedCohort: describe the incomplete data (the DataFrame that "
                f"was imputed) here; fit_logistic and odds_ratio_table take the ImputedCohort"
            )
        raise TypeError(f"{name} must be a DataFrame, not {type(data).__name__}")
    if unique_columns and data.columns.duplicated().any():
        dup = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
        raise ValueError(f"{name} has more than one column named {dup}; rename them")
    return data
