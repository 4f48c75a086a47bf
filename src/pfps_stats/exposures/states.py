"""Spike states: a ratio against the runner's own past, binned as in Frandsen 2025.

A ratio ``r`` is an increase of ``r`` × 100 %. :func:`spike_state` bins it into the ordered
categories of :data:`SPIKE_STATES`, reference first, shared by the session, week-to-week and
acute:chronic exposures.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

#: The spike states, reference first (Frandsen 2025): an increase up to 10 % (or a
#: regression), more than 10 % up to 30 %, more than 30 % up to 100 %, more than 100 %.
SPIKE_STATES: tuple[str, ...] = ("<=10%", ">10-30%", ">30-100%", ">100%")

#: Upper edges (inclusive) of the first three states, as ratios.
SPIKE_EDGES = np.array([0.10, 0.30, 1.00])

#: Ratios are rounded to this many decimals before binning, so that 11 km after 10 km
#: (ratio 0.10000000000000009 in floating point) is exactly 10 %.
RATIO_DECIMALS = 9


def spike_state(ratio: npt.ArrayLike) -> pd.Categorical:
    """Return the spike state of each ratio as an ordered categorical.

    - ``"<=10%"``: ``r <= 0.10`` (a regression, no change, or an increase up to 10 %);
    - ``">10-30%"``: ``0.10 < r <= 0.30``;
    - ``">30-100%"``: ``0.30 < r <= 1.00``;
    - ``">100%"``: ``r > 1.00``, including ``inf`` (running after a week of none).

    ``r`` is rounded to 9 decimals first, so 11 km after 10 km is exactly 10 % (``"<=10%"``).

    Parameters
    ----------
    ratio : array-like of float
        Ratios ``new / old - 1``. NaN (undefined: no history) gives a missing state.

    Returns
    -------
    pandas.Categorical
        Ordered, with categories :data:`SPIKE_STATES` (reference first), one value per ratio.
        Checked on hand-made ratios at and around each edge (tests/exposures/test_states.py).
    """
    values = np.asarray(ratio, dtype=float)
    if values.ndim != 1:
        values = values.reshape(-1)
    rounded = np.round(values, RATIO_DECIMALS)  # inf and NaN stay as they are
    codes = np.searchsorted(SPIKE_EDGES, rounded, side="left")  # edges[i-1] < r <= edges[i]
    codes[np.isnan(rounded)] = -1
    return pd.Categorical.from_codes(codes, categories=list(SPIKE_STATES), ordered=True)
