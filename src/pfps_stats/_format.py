"""Numbers into text, written once: estimates with CIs, p-values, "n (events)" with small-cell
suppression applied to the numbers before any text is made.

Public through :mod:`pfps_stats.report.formatting`; it lives here, outside the layers,
because figures (a forest plot's "n (events)" column) and report tables use the same rules.
This module imports nothing from the package. It also holds the small-cell suppression rule
(:func:`protect`), which cohort tables and report tables share; the rule is written out in
:mod:`pfps_stats.report.suppression`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

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


#: How far outside [0, 1] a p-value may lie from floating-point rounding (``2 * sf(z)``).
P_TOLERANCE = 1e-12


def _checked_p(p) -> float:
    """``p`` as a float in [0, 1] (within :data:`P_TOLERANCE`, clipped), else ValueError."""
    value = float(p)
    if not -P_TOLERANCE <= value <= 1 + P_TOLERANCE:  # NaN is caught before; inf fails here
        raise ValueError(
            f"a p-value must lie in [0, 1], got {value!r}: format the p-value itself, not "
            "a statistic or an estimate"
        )
    return min(max(value, 0.0), 1.0)


def p_value(p: float, *, prefix: bool = False) -> str:
    """A p-value as journals print it: ``"<0.001"``; otherwise two significant digits
    (``"0.012"``, ``"0.046"``, ``"0.53"``, ``"0.10"``); ``">0.99"`` for values that would
    round to 1. With ``prefix``, ``"p<0.001"``, ``"p=0.012"``, ``"p>0.99"``. Never ``"0.000"``
    or ``"1.0"``; missing (None, NaN) is ``"-"``.

    Raises
    ------
    ValueError
        When ``p`` lies outside [0, 1] (beyond a rounding tolerance of
        :data:`P_TOLERANCE`), infinities included: such a value is not a p-value, and
        printing it as ``"<0.001"`` or ``">0.99"`` would hide the mistake."""
    if _missing(p):
        return "-"
    p = _checked_p(p)
    if p < 0.001:
        text, sign = "0.001", "<"
    elif p >= 0.995:
        text, sign = "0.99", ">"
    else:
        text, sign = _two_significant(p), "="
    if prefix:
        return f"p{sign}{text}"
    return text if sign == "=" else sign + text


def _two_significant(p: float) -> str:
    """``p`` (0.001 <= p < 0.995) with two significant digits, trailing zeros kept: 0.0995
    is "0.10", not "0.1" or "0.100"."""
    decimals = 1 - math.floor(math.log10(p))
    rounded = round(p, decimals)
    if rounded >= 10 ** (math.floor(math.log10(p)) + 1):  # 0.0995 -> 0.100: one digit less
        decimals -= 1
    return f"{p:.{decimals}f}"


def level_percent(level) -> str:
    """A confidence level as the name of an interval shows it: 0.95 -> ``"95%"``, 0.9 ->
    ``"90%"``, 0.975 -> ``"97.5%"``; ``"95%"`` when ``level`` is not a number strictly
    between 0 and 1 (a table that does not say its level has 95% intervals)."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        return "95%"
    if isinstance(level, bool) or not 0 < value < 1:
        return "95%"
    return f"{100 * value:.10g}%"


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


# ---------------------------------------------------------------------------------------------
# Small-cell suppression on numbers (the rule is written out in pfps_stats.report.suppression)

#: The text of a cell hidden so that a small one cannot be worked out (complementary
#: suppression), and of a percentage, rate, interval or summary hidden with its counts.
SUPPRESSED = "suppressed"

#: The ``DataFrame.attrs`` key under which a table says how its counts add up, so that
#: :func:`pfps_stats.report.suppress_small_counts` can protect it (see :func:`rate_table_spec`).
SPEC_KEY = "pfps_counts"
#: The ``DataFrame.attrs`` key of a table already suppressed, with its ``min_cell``.
DONE_KEY = "pfps_min_cell"


def hidden_marker(min_cell: int, small: bool) -> str:
    """``"<5"`` for a small count, ``"suppressed"`` for one hidden to protect another."""
    return small_marker(min_cell) if small else SUPPRESSED


def protect(
    values,
    relations,
    min_cell: int,
    *,
    shown,
    public=(),
    zero_ok=(),
    together=(),
    ranges=None,
) -> tuple[set, set]:
    """Which cells of a table to hide so that no hidden count can be worked out.

    Parameters
    ----------
    values : mapping
        Every count the table is made of, by key: the cells a reader sees, and those never
        shown (non-events, missing per column) that still take part in the sums.
    relations : list of (total, parts)
        ``values[total] == sum(values[p] for p in parts)`` holds for each.
    min_cell : int
    shown : collection
        Keys a reader sees (and which may be hidden).
    public : collection
        Keys a reader knows from elsewhere (the cohort's n in the report's header): never
        hidden to protect another cell (still hidden when small themselves).
    zero_ok : collection
        Keys shown when they are 0 (a missing count of 0 discloses nothing about anyone).
    together : list of key groups
        Keys shown in one cell ("n (events)"): hiding one hides all.
    ranges : mapping, optional
        Bounds ``(low, high)`` a reader knows for a cell never shown (the non-missing count
        of a column whose summary is shown is ``min_cell`` or more); default 0 or more.

    Returns
    -------
    small, hidden : set, set
        ``small``: the cells below ``min_cell`` (read "<5"); ``hidden``: those, the cells
        shown ``together`` with them, and every cell hidden to protect them (read
        "suppressed"). On return, no hidden count takes one value in every integer
        solution of all the relations at once, with the shown and public values and the
        bounds the markers give (0-4 for "<5", 1-4 for a ``zero_ok`` one; 5 or more for
        "suppressed", 0 or more for a ``zero_ok`` one) and ``ranges`` (an exact audit: an
        integer program per hidden cell looks for a solution giving it another value).
    """
    keys = list(values)
    index = {k: i for i, k in enumerate(keys)}
    shown, public, zero_ok = set(shown), set(public), set(zero_ok)
    ranges = {k: (float(lo), float(hi)) for k, (lo, hi) in (ranges or {}).items()}
    groups: dict = {}
    for group in together:
        for k in group:
            groups.setdefault(k, set()).update(group)
    matrix = np.zeros((len(relations), len(keys)))
    for r, (total, parts) in enumerate(relations):
        matrix[r, index[total]] += 1.0
        for p in parts:
            matrix[r, index[p]] -= 1.0
    visible_kinds = shown | public

    def is_primary(k) -> bool:
        v = values[k]
        return k in visible_kinds and v < min_cell and not (k in zero_ok and v == 0)

    small = {k for k in keys if is_primary(k)}
    # Shown in one cell with a small one: hidden under its "<5", so nothing is known of it.
    partners = {g for k in small for g in groups.get(k, ()) if g in shown} - small
    hidden = small | partners

    def bounds(k, hidden_now) -> tuple[float, float]:
        if k in small:
            return (1.0 if k in zero_ok else 0.0), float(min_cell - 1)
        if k in hidden_now and k not in partners:  # "suppressed": not small, or it would be
            return (0.0 if k in zero_ok else float(min_cell)), np.inf
        return ranges.get(k, (0.0, np.inf))  # never shown, or under a partner's "<5"

    truth = {k: float(values[k]) for k in keys}

    def determined(hidden_now, cells=None) -> list:
        """The cells of ``cells`` (default: every hidden one) that take one value in every
        integer solution of all the relations at once, with the shown values fixed and the
        bounds of the markers and ``ranges`` (the truth is one solution; look for another)."""
        unknown = [k for k in keys if k in hidden_now or k not in visible_kinds]
        cells = [k for k in (keys if cells is None else cells) if k in hidden_now]
        if not unknown or not cells:
            return []
        col = {k: j for j, k in enumerate(unknown)}
        sub = matrix[:, [index[k] for k in unknown]]
        fixed = [index[k] for k in keys if k not in col]
        rhs = -matrix[:, fixed] @ np.array([truth[keys[i]] for i in fixed])
        keep = np.abs(sub).sum(axis=1) > 0
        constraints = [LinearConstraint(sub[keep], rhs[keep], rhs[keep])] if keep.any() else []
        low = np.array([bounds(k, hidden_now)[0] for k in unknown])
        high = np.array([bounds(k, hidden_now)[1] for k in unknown])
        integral = np.ones(len(unknown))
        others: list = []  # integer solutions found in this call, as {key: value}
        found = []
        for k in cells:
            if any(abs(sol.get(k, truth[k]) - truth[k]) > 0.5 for sol in others):
                continue  # a solution already seen gives it another value
            j, t = col[k], truth[k]
            for lo_j, hi_j in ((low[j], t - 1), (t + 1, high[j])):
                if lo_j > hi_j:
                    continue
                lo, hi = low.copy(), high.copy()
                lo[j], hi[j] = lo_j, hi_j
                res = milp(
                    np.zeros(len(unknown)),
                    constraints=constraints,
                    integrality=integral,
                    bounds=Bounds(lo, hi),
                )
                if res.status == 0:
                    others.append(dict(zip(unknown, np.round(res.x), strict=True)))
                    break
            else:
                found.append(k)
        return found

    def neighbours(k) -> list:
        near = set()
        for r in np.flatnonzero(matrix[:, index[k]]):
            near.update(keys[i] for i in np.flatnonzero(matrix[r]))
        return [c for c in keys if c in near]

    while True:
        leaks = determined(hidden)
        # Cells hidden to protect others that the rest gives back anyway (5 or more, and
        # known), once no small cell is: showing them changes nothing a reader can work out.
        free = {k for k in leaks if k not in small and k not in partners}
        free = {k for k in free if (groups.get(k, set()) & shown) <= free}
        if free == set(leaks):
            return small, hidden - free
        leak = leaks[0]
        open_cells = [k for k in keys if k in shown and k not in public | hidden]
        if not open_cells:
            return small, hidden | (shown - public)
        near = set(neighbours(leak))
        ordered = sorted(open_cells, key=lambda k: (k not in near, values[k] == 0, values[k]))
        choice = ordered[0]
        for candidate in ordered[:40]:
            trial = hidden | {candidate} | (groups.get(candidate, set()) & shown)
            if not determined(trial, [leak]):
                choice = candidate
                break
        hidden |= {choice} | (groups.get(choice, set()) & shown)


def protect_rates(
    n, events, min_cell: int, *, total: int | None = None
) -> tuple[list, list, list[bool]]:
    """Small-cell suppression of a table of groups with n and events (incidence, outcome
    counts), with an optional total row (its n is public: the report's header gives it).

    Returns
    -------
    n_marker, events_marker : list
        Per row, None when the number is shown, else its marker ("<5" or "suppressed").
    derived_hidden : list of bool
        Per row, whether the rates, percentages and intervals computed from the row's counts
        are hidden (their n or events is).
    """
    rows = range(len(n))
    values, relations = {}, []
    for i in rows:
        values[("n", i)], values[("k", i)] = float(n[i]), float(events[i])
        values[("m", i)] = float(n[i]) - float(events[i])  # non-events: never shown
        relations.append((("n", i), [("k", i), ("m", i)]))
    parts = [i for i in rows if i != total]
    if total is not None and parts:
        for kind in ("n", "k", "m"):
            relations.append(((kind, total), [(kind, i) for i in parts]))
    shown = [(kind, i) for i in rows for kind in ("n", "k")]
    public = [("n", total)] if total is not None else []
    if total is not None and min(values[("k", total)], values[("m", total)]) >= min_cell:
        # The outcome totals are public: Table 1 and the odds-ratio table of the same report
        # show them, so they are known to the audit and never hidden to protect a cell.
        public += [("k", total), ("m", total)]
    small, hidden = protect(values, relations, min_cell, shown=shown, public=public)

    def marker(cell):
        return hidden_marker(min_cell, cell in small) if cell in hidden else None

    n_out = [marker(("n", i)) for i in rows]
    k_out = [marker(("k", i)) for i in rows]
    return n_out, k_out, [a is not None or b is not None for a, b in zip(n_out, k_out, strict=True)]


def rate_table_spec(label: str, n: str, events: str, derived, total: str | None = "all") -> dict:
    """How a table of groups with n and events adds up, for ``DataFrame.attrs[SPEC_KEY]``:
    the label column, the count columns, the columns derived from them, and the label of
    the total row."""
    return {"label": label, "n": n, "events": events, "derived": list(derived), "total": total}


def suppress_rate_table(table, min_cell: int):
    """A copy of a table described by :func:`rate_table_spec` with small-cell suppression:
    hidden counts and the values derived from them read "<5" or "suppressed"."""
    spec = table.attrs[SPEC_KEY]
    labels = list(table[spec["label"]])
    total = labels.index(spec["total"]) if spec["total"] in labels else None
    n_out, k_out, derived = protect_rates(
        table[spec["n"]].to_numpy(), table[spec["events"]].to_numpy(), min_cell, total=total
    )
    out = table.copy()
    for column, markers in ((spec["n"], n_out), (spec["events"], k_out)):
        if any(m is not None for m in markers):
            out[column] = [v if m is None else m for v, m in zip(out[column], markers, strict=True)]
            out[column] = out[column].astype(object)
    for column in spec["derived"]:
        if column in out and any(derived):
            out[column] = [
                SUPPRESSED if d else v for v, d in zip(out[column], derived, strict=True)
            ]
            out[column] = out[column].astype(object)
    out.attrs[DONE_KEY] = min_cell
    return out


def fit_html(header: str, notes, table_html: str, extra: str = "") -> str:
    """A fit as HTML for Jupyter: its header (lines in bold), its notes as a list, then its
    table (and any ``extra`` HTML); shared by the logistic, pooled and Cox fits."""
    import html

    items = "".join(f"<li>{html.escape(str(n))}</li>" for n in notes)
    head = html.escape(header).replace("\n", "<br>")
    return f"<div><p><b>{head}</b></p>{'<ul>' + items + '</ul>' if items else ''}{table_html}{extra}</div>"


class FitDisplay:
    """``repr`` and Jupyter's HTML of a fit with ``_header()``, ``notes`` and
    ``summary_frame()``: the logistic, pooled and Dask logistic fits share them."""

    def __repr__(self) -> str:
        return self._header() + "\n" + self.summary_frame().to_string(index=False)

    def _repr_html_(self) -> str:
        """The fit for JupyterLab: its header and notes, then per term the odds ratio with its
        interval, the log odds ratio (SE), a journal p-value and the test; the degrees of
        freedom and fraction of missing information of a pooled fit. Text escaped."""
        f = self.summary_frame()
        shown = f[["term"]].rename(columns={"term": "Term"})
        shown["Odds ratio (95% CI)"] = [
            estimate_ci(o, lo, hi)
            for o, lo, hi in zip(f["odds_ratio"], f["ci_low"], f["ci_high"], strict=True)
        ]
        shown["log OR (SE)"] = [
            f"{number(b, 3)} ({number(s, 3)})"
            for b, s in zip(f["estimate"], f["std_error"], strict=True)
        ]
        shown["p"] = f["p_value"].map(p_value)
        shown["Test"] = f["test"]
        if "df" in f and f["df"].notna().any():
            shown["df"] = f["df"].map(lambda v: number(v, 1))
        if "fmi" in f:
            shown["Fraction of missing information"] = f["fmi"].map(lambda v: number(v, 2))
        return fit_html(self._header(), self.notes, shown.to_html(index=False, escape=True))


def is_p_column(name) -> bool:
    """Whether a table's column holds p-values, to be written as :func:`p_value` does:
    ``p``, ``p_value``, ``q_p``, ``p_uni``, ``p_multi``, ``difference_p``, ``local_p``,
    ``hosmer_lemeshow_p`` (a name that is ``p``, starts with ``p_`` or ends with ``_p``)."""
    if not isinstance(name, str):
        return False
    return name == "p" or name.startswith("p_") or name.endswith("_p")
