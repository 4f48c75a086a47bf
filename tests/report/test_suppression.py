"""Small-cell suppression cannot be undone by arithmetic.

Each test plays the attacker: it reads only what a report shows, knows how the table is built
(totals are sums of their parts; a percentage or rate times its n is a count), and solves every
relation with one unknown, again and again, until nothing new comes out. No hidden count may
come out. The tables are random and small, so small cells are common.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

import pfps_stats as ps
from pfps_stats import report
from pfps_stats.cohort import quality

MIN = 5
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------
# The attacker


def solve(known: dict, relations: list[tuple[object, list[object]]]) -> dict:
    """Extend ``known`` with every value that ``total = sum(parts)`` relations give away:
    a relation with exactly one unknown gives it."""
    known = dict(known)
    changed = True
    while changed:
        changed = False
        for total, parts in relations:
            unknown = [c for c in (total, *parts) if c not in known]
            if len(unknown) != 1:
                continue
            (cell,) = unknown
            if cell == total:
                known[cell] = sum(known[p] for p in parts)
            else:
                known[cell] = known[total] - sum(known[p] for p in parts if p != cell)
            changed = True
    return known


def number(cell) -> float | None:
    """What a reader sees in a cell as a number, or None when it is hidden."""
    if cell is None or isinstance(cell, str):
        try:
            return float(cell)
        except (TypeError, ValueError):
            return None
    return None if pd.isna(cell) else float(cell)


def from_rate(count: float | None, rate: float | None, digits: int) -> int | None:
    """The n that a shown count and its rounded rate (a fraction) allow, when only one does."""
    if count is None or rate is None or rate <= 0:
        return None
    half = 0.5 * 10.0**-digits
    low, high = count / (rate + half), count / max(rate - half, 1e-12)
    candidates = [n for n in range(math.ceil(low - 1e-9), math.floor(high + 1e-9) + 1)]
    return candidates[0] if len(candidates) == 1 else None


def events_from_interval(n: float | None, low: float | None, high: float | None) -> int | None:
    """The event count that a shown Clopper-Pearson interval and n give away."""
    if n is None or (low is None and high is None):
        return None
    n = int(n)
    fits = []
    for k in range(n + 1):
        lo, hi = proportion_confint(k, n, alpha=0.05, method="beta")
        if (low is None or abs(lo - low) < 1e-9) and (high is None or abs(hi - high) < 1e-9):
            fits.append(k)
    return fits[0] if len(fits) == 1 else None


def assert_nothing_recovered(truth: dict, shown: dict, recovered: dict) -> None:
    hidden = [c for c in truth if c in shown and shown[c] is None]
    leaked = {c: recovered[c] for c in hidden if c in recovered}
    assert not leaked, f"hidden cells recovered: {leaked}"


def marker_ok(cell) -> bool:
    return cell in (f"<{MIN}", "suppressed")


# ---------------------------------------------------------------------------------------------
# Random small cohorts


@st.composite
def cohorts(draw, max_groups: int = 4, max_size: int = 25):
    sizes = draw(st.lists(st.integers(1, max_size), min_size=1, max_size=max_groups))
    rows = []
    for g, size in enumerate(sizes):
        for _ in range(size):
            rows.append(
                {
                    "subgroup": f"g{g}",
                    "pfp": draw(st.sampled_from([0, 0, 1])),
                    "sex": draw(st.sampled_from(["F", "M", "M", None])),
                    "bmi": draw(st.one_of(st.none(), st.floats(18, 32))),
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Incidence and outcome counts


def _attack_rate_table(table, label, n_col, k_col, rate_col, rate_scale, digits, truth):
    shown, relations = {}, []
    groups = [g for g in table[label] if g != "all"]
    for _, row in table.iterrows():
        g = row[label]
        shown[(g, "n")] = number(row[n_col])
        shown[(g, "k")] = number(row[k_col])
    known = {c: v for c, v in shown.items() if v is not None}
    relations.append((("all", "n"), [(g, "n") for g in groups]))
    relations.append((("all", "k"), [(g, "k") for g in groups]))
    for _ in range(3):
        for _, row in table.iterrows():
            g = row[label]
            rate = number(row[rate_col])
            if rate is None:
                continue
            rate /= rate_scale
            if (g, "n") in known and (g, "k") not in known:
                known[(g, "k")] = round(rate * known[(g, "n")])
            if (g, "k") in known and (g, "n") not in known:
                n = from_rate(known[(g, "k")], rate, digits)
                if n is not None:
                    known[(g, "n")] = n
            if "exact_low" in row and (g, "n") in known and (g, "k") not in known:
                k = events_from_interval(
                    known[(g, "n")], number(row["exact_low"]), number(row["exact_high"])
                )
                if k is not None:
                    known[(g, "k")] = k
        known = solve(known, relations)
    assert_nothing_recovered(truth, shown, known)
    for cell, value in shown.items():
        if value is not None:
            assert value == truth[cell], "a shown count is true"


@SETTINGS
@given(cohorts())
def test_incidence_cannot_be_undone(data):
    table = ps.incidence(data, by="subgroup", min_cell=MIN)
    plain = ps.incidence(data, by="subgroup")
    truth = {}
    for _, row in plain.iterrows():
        truth[(row["group"], "n")] = row["n"]
        truth[(row["group"], "k")] = row["events"]
    for _, row in table.iterrows():
        if not isinstance(row["events"], str) and row["events"] < MIN:
            pytest.fail("a small count is shown")
        if isinstance(row["events"], str) or isinstance(row["n"], str):
            for column in ("incidence", "exact_low", "exact_high", "wilson_low", "wilson_high"):
                assert marker_ok(row[column]), f"{column} shown beside a hidden count"
    _attack_rate_table(table, "group", "n", "events", "incidence", 1, 12, truth)


@SETTINGS
@given(cohorts())
def test_outcome_counts_cannot_be_undone(data):
    table = quality.outcome_counts(data, min_cell=MIN)
    plain = quality.outcome_counts(data)
    truth = {}
    for _, row in plain.iterrows():
        truth[(row["subgroup"], "n")] = row["runners"]
        truth[(row["subgroup"], "k")] = row["cases"]
    for _, row in table.iterrows():
        if isinstance(row["cases"], str) or isinstance(row["runners"], str):
            assert marker_ok(row["incidence_pct"]), "a percentage beside a hidden count"
    _attack_rate_table(table, "subgroup", "runners", "cases", "incidence_pct", 100, 1, truth)


def test_the_examples_of_the_issue_are_closed():
    # Incidence: events <5 beside n = 84 and incidence 0.0476 gave events = 4.
    data = pd.DataFrame(
        {"subgroup": ["a"] * 84 + ["b"] * 50, "pfp": [1] * 4 + [0] * 80 + [1] * 10 + [0] * 40}
    )
    table = ps.incidence(data, by="subgroup", min_cell=5).set_index("group")
    assert table.loc["a", "events"] == "<5"
    assert table.loc["a", "incidence"] == "suppressed"
    assert table.loc["a", "exact_low"] == "suppressed"
    assert table.loc["b", "events"] == "suppressed", "complementary: all - b would give a"
    assert table.loc["all", "n"] == 134, "the total n is public and stays"
    # Outcome counts: <5 cases beside 25.0% of 12.
    small = pd.DataFrame({"subgroup": ["a"] * 12, "pfp": [1] * 3 + [0] * 9})
    counts = quality.outcome_counts(small, min_cell=5).set_index("subgroup")
    assert counts.loc["a", "cases"] == "<5"
    assert counts.loc["a", "incidence_pct"] == "suppressed"
    assert counts.loc["all", "cases"] != 3


def test_report_setup_small_knows_rate_tables():
    data = pd.DataFrame(
        {"subgroup": ["a"] * 84 + ["b"] * 50, "pfp": [1] * 4 + [0] * 80 + [1] * 10 + [0] * 40}
    )
    direct = ps.incidence(data, by="subgroup", min_cell=5)
    via = report.suppress_small_counts(ps.incidence(data, by="subgroup"), 5)
    pd.testing.assert_frame_equal(via, direct)
    again = report.suppress_small_counts(direct, 5)
    pd.testing.assert_frame_equal(again, direct)  # suppressing twice changes nothing


# ---------------------------------------------------------------------------------------------
# Table 1


_CELL = re.compile(r"^(\d+)(?: \(([\d.]+)%\))?$")


def _read_count(cell):
    """A Table-1 count cell as a reader sees it: (count or None, percent or None)."""
    if isinstance(cell, str):
        match = _CELL.match(cell)
        if match:
            return int(match.group(1)), (float(match.group(2)) if match.group(2) else None)
        return None, None
    if cell is None or pd.isna(cell):
        return None, None
    return int(cell), None


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy on nearly constant tiny groups
@SETTINGS
@given(cohorts(max_groups=1, max_size=40))
def test_table_one_cannot_be_undone(data):
    data = data.assign(
        sex=pd.Categorical(data["sex"], categories=["F", "M"]), bmi=data["bmi"].astype(float)
    )
    cols = ("overall", "pfp_0", "pfp_1")
    table = ps.table_one(data, variables=["sex", "bmi"], min_cell=MIN)
    groups = {"overall": data, "pfp_0": data[data["pfp"] == 0], "pfp_1": data[data["pfp"] == 1]}
    truth, shown, known, relations = {}, {}, {}, []
    n_row = table.iloc[0]
    for c in cols:
        truth[("n", c)] = len(groups[c])
        shown[("n", c)], _ = _read_count(n_row[c])
    relations.append((("n", "overall"), [("n", "pfp_0"), ("n", "pfp_1")]))
    sex = table[table["variable"] == "sex"]
    levels = sex["level"].tolist()
    for c in cols:
        for level in levels:
            truth[(level, c)] = int((groups[c]["sex"] == level).sum())
        truth[("missing", c)] = int(groups[c]["sex"].isna().sum())
        truth[("nonmissing", c)] = int(groups[c]["sex"].notna().sum())
    missing_cell = sex["missing"].iloc[0] if len(sex) else None  # no rows: nothing shown
    shown[("missing", "overall")] = number(missing_cell)
    if missing_cell is None:
        pass
    elif isinstance(missing_cell, str):
        assert marker_ok(missing_cell)
        if missing_cell == f"<{MIN}":
            assert 1 <= truth[("missing", "overall")] < MIN
    else:
        assert missing_cell == truth[("missing", "overall")]
        assert missing_cell == 0 or missing_cell >= MIN, "a small missing count is shown"
    if shown[("missing", "overall")] == 0:
        known[("missing", "pfp_0")] = known[("missing", "pfp_1")] = 0
    for _, row in sex.iterrows():
        level = row["level"]
        for c in cols:
            k, pct = _read_count(row[c])
            shown[(level, c)] = k
            if k is None:
                assert marker_ok(row[c]), row[c]
            else:
                assert k == truth[(level, c)]
                assert k >= MIN, "a small count is shown"
                denominator = from_rate(k, pct / 100 if pct else None, 3)
                if denominator is not None:
                    known[("nonmissing", c)] = denominator
        relations.append(((level, "overall"), [(level, "pfp_0"), (level, "pfp_1")]))
        if any(marker_ok(row[c]) for c in cols):
            for column in ("smd", "p_value"):
                value = sex[column].iloc[0]
                assert value == "suppressed" or pd.isna(value), (
                    "the SMD and p-value of a variable with hidden cells can give them back"
                )
    for c in cols:
        relations.append((("nonmissing", c), [(level, c) for level in levels]))
        relations.append((("n", c), [("nonmissing", c), ("missing", c)]))
    relations.append((("missing", "overall"), [("missing", "pfp_0"), ("missing", "pfp_1")]))
    relations.append(
        (("nonmissing", "overall"), [("nonmissing", "pfp_0"), ("nonmissing", "pfp_1")])
    )
    known.update({cell: v for cell, v in shown.items() if v is not None})
    recovered = solve(known, relations)
    assert_nothing_recovered(truth, shown, recovered)
    bmi = table[table["variable"] == "bmi"].iloc[0]
    for c in cols:
        if groups[c]["bmi"].notna().sum() < MIN:
            assert marker_ok(bmi[c]), "a summary of fewer than min_cell runners is shown"


def test_table_one_n_row_and_missing_column_are_protected():
    rng = np.random.default_rng(3)
    data = pd.DataFrame(
        {
            "pfp": [1] * 4 + [0] * 56,
            "sex": pd.Categorical(["F"] * 3 + ["M"] * 54 + [None] * 3, categories=["F", "M"]),
            "bmi": rng.normal(24, 3, 60),
        }
    )
    table = ps.table_one(data, variables=["sex", "bmi"], min_cell=5)
    n_row = table.iloc[0]
    assert n_row["overall"] == "60"
    assert n_row["pfp_1"] == "<5"
    assert n_row["pfp_0"] == "suppressed", "60 - 56 would give the 4 cases"
    sex = table[table["variable"] == "sex"].set_index("level")
    assert sex.loc["F", "overall"] == "<5"
    assert "%" not in sex.loc["M", "overall"], "M with its percentage, and n, would give F"
    assert sex["missing"].iloc[0] == "<5"
    bmi = table[table["variable"] == "bmi"].iloc[0]
    assert bmi["pfp_1"] == "<5" or bmi["pfp_1"] == "suppressed", "mean of 4 runners"


# ---------------------------------------------------------------------------------------------
# Odds-ratio table


def _or_table(rows):
    """A hand-made odds_ratio_table: one categorical factor and one numeric one."""
    base = {
        "or_uni": 1.0,
        "ci_low_uni": np.nan,
        "ci_high_uni": np.nan,
        "p_uni": np.nan,
        "or_multi": 1.0,
        "ci_low_multi": np.nan,
        "ci_high_multi": np.nan,
        "p_multi": np.nan,
        "warnings": "",
    }
    out = []
    for i, (factor, level, n, e) in enumerate(rows):
        row = dict(base, factor=factor, label=f"{factor}: {level}", level=level, n=n, events=e)
        if i and factor == rows[i - 1][0] or level is None:
            row.update(or_uni=1.8, ci_low_uni=1.1, ci_high_uni=2.9, p_uni=0.01)
            row.update(or_multi=1.7, ci_low_multi=1.0, ci_high_multi=2.8, p_multi=0.04)
        out.append(row)
    return pd.DataFrame(out)


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(0, 40), st.floats(0, 1)), min_size=2, max_size=4),
    st.integers(0, 60),
    st.floats(0, 1),
)
def test_odds_ratio_table_counts_cannot_be_undone(levels, n_num, p_num):
    rows = [("site", f"L{i}", n, int(round(f * n))) for i, (n, f) in enumerate(levels)]
    rows.append(("bmi", None, n_num, int(round(p_num * n_num))))
    table = _or_table(rows)
    text = ps.format_odds_ratio_table(table, min_cell=MIN)
    truth, shown = {}, {}
    for (_, row), cell in zip(table.iterrows(), text["n_events"], strict=True):
        key = row["label"]
        truth[(key, "e")] = row["events"]
        truth[(key, "n")] = row["n"]
        match = re.match(r"^(\d+) \((\d+)\)$", cell)
        shown[(key, "n")] = int(match.group(1)) if match else None
        shown[(key, "e")] = int(match.group(2)) if match else None
        if match is None:
            assert marker_ok(cell), cell
        else:
            assert min(int(match.group(1)), int(match.group(2))) >= MIN
    # The factor's totals (events and n of the cohort) are public in other tables.
    site = [r for r in rows if r[0] == "site"]
    known = {c: v for c, v in shown.items() if v is not None}
    known[("site", "n")] = sum(r[2] for r in site)
    known[("site", "e")] = sum(r[3] for r in site)
    relations = [
        (("site", "n"), [(f"site: {r[1]}", "n") for r in site]),
        (("site", "e"), [(f"site: {r[1]}", "e") for r in site]),
    ]
    assert_nothing_recovered(truth, shown, solve(known, relations))
    hidden_site = any(shown[(f"site: {r[1]}", "e")] is None for r in site)
    for (_, row), out in zip(table.iterrows(), text.itertuples(), strict=True):
        if row["factor"] == "site" and hidden_site or shown[(row["label"], "e")] is None:
            assert out.univariable in ("suppressed", "1 (reference)"), out.univariable
            assert out.multivariable in ("suppressed", "1 (reference)"), out.multivariable


# ---------------------------------------------------------------------------------------------
# The rule itself


def test_suppress_small_counts_hides_the_next_smallest_in_a_column():
    table = pd.DataFrame({"group": ["a", "b", "c"], "n": [100, 3, 40], "rate": [0.1, 0.2, 0.3]})
    out = report.suppress_small_counts(table, 5)
    assert out["n"].tolist() == [100, "<5", "suppressed"], "one hidden cell would be given back"
    assert out["rate"].tolist() == [0.1, "suppressed", "suppressed"], "rates beside hidden counts"
