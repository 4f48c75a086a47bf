"""Effect sizes and their sampling variances, as metafor's ``escalc`` computes them.

- ``"SMD"``: Hedges' g, the standardised mean difference with the exact small-sample
  correction c(m) = Γ(m/2) / (√(m/2) Γ((m-1)/2)), m = n1 + n2 - 2, and metafor's default
  large-sample variance 1/n1 + 1/n2 + g² / (2 (n1 + n2)).
- ``"MD"``: raw mean difference, variance sd1²/n1 + sd2²/n2.
- ``"OR"``, ``"RR"``: log odds ratio and log risk ratio from 2x2 counts; when a study has a
  zero cell, 1/2 is added to each of its cells (metafor's ``add = 1/2, to = "only0"``). A
  table with no participants (all four cells 0) has no effect size: yi and vi are NaN, with a
  :class:`~pfps_stats.MetaWarning` (metafor's default would give log OR 0 with variance 8; its
  ``drop00 = TRUE`` gives NA, as here). A table with participants but no events in either
  group is kept, as metafor's default.
- ``"CI"``: a reported ratio (or difference, with ``log=False``) and its 95% CI, as
  yi = log(estimate) and vi = ((log(upper) - log(lower)) / (2 · 1.959964))².

Negative standard deviations are refused, naming the studies (metafor's escalc stops too).
Checked against metafor 3.8.1 (tests/evidence/reference/metafor.R and metafor_edge_cases.R)
to 1e-10.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from .._exceptions import MetaWarning
from ..cohort.variables import OUTCOME

Measure = Literal["SMD", "MD", "OR", "RR", "CI"]
_REQUIRED = {
    "SMD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "MD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "OR": ("ai", "bi", "ci", "di"),
    "RR": ("ai", "bi", "ci", "di"),
    "CI": ("estimate", "ci_low", "ci_high"),
}
#: Chinn (2000): ln(OR) = SMD · π / √3 under a logistic latent variable.
CHINN = np.pi / np.sqrt(3.0)


def _arrays(measure: str, columns: dict) -> dict[str, np.ndarray]:
    if measure not in _REQUIRED:
        raise ValueError(f"measure must be one of {', '.join(_REQUIRED)}, not {measure!r}")
    missing = [c for c in _REQUIRED[measure] if c not in columns]
    if missing:
        raise ValueError(
            f'measure "{measure}" needs {", ".join(_REQUIRED[measure])}; '
            f"missing: {', '.join(missing)}"
        )
    out = {k: np.atleast_1d(np.asarray(columns[k], dtype=float)) for k in _REQUIRED[measure]}
    lengths = {len(v) for v in out.values()}
    if len(lengths) != 1:
        raise ValueError(f"all columns must have the same length, not {sorted(lengths)}")
    return out


def _positions(index: Sequence[int] | np.ndarray, limit: int = 8) -> str:
    """1-based positions, "2, 5, 9" (at most ``limit``, then "...")."""
    shown = ", ".join(str(int(i) + 1) for i in list(index)[:limit])
    return shown + (" ..." if len(index) > limit else "")


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def hedges_correction(m: np.ndarray) -> np.ndarray:
    """The exact small-sample correction of Hedges (1981), computed on the log scale."""
    m = np.asarray(m, float)
    return np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))


def effect_size(measure: Measure, *, log: bool = True, **columns) -> pd.DataFrame:
    """Effect sizes ``yi`` and sampling variances ``vi``, as metafor's ``escalc``.

    Parameters
    ----------
    measure : {"SMD", "MD", "OR", "RR", "CI"}
    log : bool
        For ``"CI"``: the estimate is a ratio (OR, RR) analysed on the log scale (default),
        or a difference (MD, SMD) analysed as it is.
    **columns
        SMD/MD: m1i, sd1i, n1i, m2i, sd2i, n2i (group 1 minus group 2). OR/RR: ai, bi
        (group 1 events, non-events), ci, di (group 2). CI: estimate, ci_low, ci_high.

    Returns
    -------
    DataFrame
        yi, vi (one row per study), as metafor 3.8.1's ``escalc`` (defaults); a 2x2 table with
        no participants gives NaN (as ``escalc(..., drop00 = TRUE)``), which
        :func:`meta_analysis` omits with a warning.

    Raises
    ------
    ValueError
        Missing or unequal columns; for SMD/MD a group with n < 2 or a negative standard
        deviation; negative 2x2 counts; naming the studies' positions (1 = first).

    Warns
    -----
    MetaWarning
        2x2 tables with no participants, by position: left out (yi, vi NaN).
    """
    a = _arrays(measure, columns)
    if measure in ("SMD", "MD"):
        n1, n2 = a["n1i"], a["n2i"]
        if np.any(n1 < 2) or np.any(n2 < 2):
            raise ValueError("each group needs n >= 2")
        neg1, neg2 = np.flatnonzero(a["sd1i"] < 0), np.flatnonzero(a["sd2i"] < 0)
        negative = np.union1d(neg1, neg2)
        if len(negative):
            where = "; ".join(
                f"{name} at {_positions(idx)}"
                for name, idx in (("sd1i", neg1), ("sd2i", neg2))
                if len(idx)
            )
            raise ValueError(
                f"negative standard deviation for {len(negative)} "
                f"{_plural(len(negative), 'study', 'studies')} at "
                f"{_plural(len(negative), 'position', 'positions')} {_positions(negative)} "
                f"(1 = first study; {where}). A standard deviation cannot be negative (metafor's "
                f"escalc stops too): check the sign, or whether a mean difference or a change "
                f"score was entered in an SD column"
            )
        diff = a["m1i"] - a["m2i"]
        if measure == "MD":
            yi = diff
            vi = a["sd1i"] ** 2 / n1 + a["sd2i"] ** 2 / n2
        else:
            m = n1 + n2 - 2
            sdp = np.sqrt(((n1 - 1) * a["sd1i"] ** 2 + (n2 - 1) * a["sd2i"] ** 2) / m)
            yi = hedges_correction(m) * diff / sdp
            vi = 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
    elif measure in ("OR", "RR"):
        cells = np.column_stack([a["ai"], a["bi"], a["ci"], a["di"]])
        if np.any(cells < 0):
            raise ValueError("2x2 counts cannot be negative")
        empty = np.all(cells == 0, axis=1)
        if empty.any():
            where = np.flatnonzero(empty)
            warnings.warn(
                f"{len(where)} 2x2 {_plural(len(where), 'table has', 'tables have')} no "
                f"participants (all four cells 0) at {_plural(len(where), 'position', 'positions')} "
                f"{_positions(where)} (1 = first study): left out (yi and vi are NaN, as "
                f"metafor's escalc with drop00=TRUE); meta_analysis omits "
                f"{_plural(len(where), 'it', 'them')}",
                MetaWarning,
                stacklevel=2,
            )
            cells = np.where(empty[:, None], np.nan, cells)
        cells = cells + 0.5 * np.any(cells == 0, axis=1, keepdims=True)
        ai, bi, ci, di = cells.T
        if measure == "OR":
            yi = np.log(ai * di / (bi * ci))
            vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
        else:
            yi = np.log((ai / (ai + bi)) / (ci / (ci + di)))
            vi = 1 / ai - 1 / (ai + bi) + 1 / ci - 1 / (ci + di)
    else:
        est, lo, hi = a["estimate"], a["ci_low"], a["ci_high"]
        if np.any(lo > est) or np.any(est > hi):
            raise ValueError("each estimate must lie within its CI (ci_low <= estimate <= ci_high)")
        if log:
            if np.any(lo <= 0):
                raise ValueError(
                    "ratio estimates and CIs must be positive; pass log=False for differences"
                )
            est, lo, hi = np.log(est), np.log(lo), np.log(hi)
        yi = est
        vi = ((hi - lo) / (2 * stats.norm.ppf(0.975))) ** 2
    return pd.DataFrame({"yi": yi, "vi": vi})


def convert_effect(yi, vi, *, to: Literal["logOR", "SMD"]) -> pd.DataFrame:
    """Convert between SMD and log odds ratio (Chinn 2000): ln OR = SMD · π/√3, and the
    variance by (π/√3)².

    Returns
    -------
    DataFrame
        yi, vi on the new scale.
    """
    yi, vi = np.atleast_1d(np.asarray(yi, float)), np.atleast_1d(np.asarray(vi, float))
    if to == "logOR":
        return pd.DataFrame({"yi": yi * CHINN, "vi": vi * CHINN**2})
    if to == "SMD":
        return pd.DataFrame({"yi": yi / CHINN, "vi": vi / CHINN**2})
    raise ValueError(f'to must be "logOR" or "SMD", not {to!r}')


def smd_by_outcome(data: pd.DataFrame, factor: str, outcome: str = OUTCOME) -> tuple[float, float]:
    """Hedges' g of ``factor`` between rows with outcome 1 and 0 (complete rows), and its
    variance: a cohort on the scale of the published meta-analyses.

    Returns
    -------
    (yi, vi)
    """
    x = data[[factor, outcome]].dropna()
    a, b = x.loc[x[outcome] == 1, factor], x.loc[x[outcome] == 0, factor]
    es = effect_size(
        "SMD", m1i=a.mean(), sd1i=a.std(), n1i=len(a), m2i=b.mean(), sd2i=b.std(), n2i=len(b)
    )
    return float(es["yi"].iloc[0]), float(es["vi"].iloc[0])


def smd_by_group(
    data: pd.DataFrame, factor: str, by: str, outcome: str = OUTCOME
) -> tuple[list[float], list[float]]:
    """Hedges' g (PFP minus no PFP) of ``factor`` and its variance in each group of ``by``,
    groups in sorted order: the (yi, vi) of a meta-analysis across groups."""
    pairs = [
        smd_by_outcome(part, factor, outcome)
        for _, part in sorted(data.groupby(data[by].astype(str)), key=lambda kv: kv[0])
    ]
    return [p[0] for p in pairs], [p[1] for p in pairs]
