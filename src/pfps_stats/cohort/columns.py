"""Column matching: which canonical variable, in which unit, each source column holds.

A header is matched by canonical name, by a known alias (ignoring case, spaces and
punctuation), by an SPSS/Stata variable label, or by an explicit ``mapping``. Its unit comes
from the header (``"Weight (lb)"``, ``"height_in"``, ``"Miles per week"``) or the mapping; a
variable measured in more than one unit in practice has no default, so a header without a unit
is an error, never a guess.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .units import UNITS, normalise, parse_unit
from .variables import VARIABLES, Variable

MappingTarget = str | tuple[str, str] | list[str] | None

_PARENTHESIS = re.compile(r"^(?P<base>.*?)\s*[\(\[\{](?P<unit>[^\)\]\}]*)[\)\]\}]\s*$")


def _alias_index() -> dict[str, tuple[str, str | None]]:
    index: dict[str, tuple[str, str | None]] = {}

    def add(text: str, name: str, unit: str | None) -> None:
        key = normalise(text)
        if key in index and index[key] != (name, unit):
            raise RuntimeError(f"alias {text!r} names both {index[key][0]} and {name}")
        index[key] = (name, unit)

    for var in VARIABLES.values():
        add(var.name, var.name, var.units[0] if var.units else None)
        for alias in var.aliases:
            text, _, unit = alias.partition("|")
            add(text, var.name, unit or None)
    return index


ALIASES = _alias_index()
# Longest first, so "weekly km change" is tried before "weekly km".
_PREFIXES = sorted(ALIASES, key=len, reverse=True)


@dataclass
class ColumnMatch:
    """How one source column was read.

    ``variable`` is None for a column kept as an extra (not in the dictionary) or ignored.
    """

    source: str
    output: str | None
    variable: str | None
    unit: str | None
    how: str


def _split_unit(header: str) -> tuple[str, str | None]:
    m = _PARENTHESIS.match(header)
    if m and m.group("base").strip():
        return m.group("base"), m.group("unit").strip()
    return header, None


def identify(header: str) -> tuple[str, str | None, str | None] | None:
    """Identify a header: return (variable, unit written in the header, unit implied by the
    name), or None when no variable matches.

    >>> identify("Weight (lb)")
    ('mass_kg', 'lb', None)
    >>> identify("Miles per week")
    ('weekly_km', None, 'mi')
    """
    base, unit_text = _split_unit(header)
    key = normalise(base)
    if not key:
        return None
    if key in ALIASES:
        name, implied = ALIASES[key]
        return name, unit_text, implied
    for prefix in _PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            rest = key[len(prefix) :]
            name, implied = ALIASES[prefix]
            for candidate in (rest, rest[2:] if rest.startswith("in") else None):
                unit = parse_unit(candidate) if candidate else None
                if unit is not None and unit in VARIABLES[name].units:
                    return name, unit_text, unit
    return None


def snake_case(text: str) -> str:
    """Attribute-safe snake_case name for an extra column: ``"Foot posture (FPI)"`` ->
    ``"foot_posture_fpi"``."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", str(text)).strip("_").lower()
    if not name:
        name = "column"
    if name[0].isdigit():
        name = f"x_{name}"
    return name


def _problem(column: str, problem: str, fix: str) -> dict:
    return {"row": None, "column": column, "value": None, "problem": problem, "fix": fix}


def _resolve_unit(
    var: Variable, header: str, unit_text: str | None, implied: str | None, problems: list[dict]
) -> str | None:
    accepted = ", ".join(UNITS[u].symbol for u in var.units)
    written = None
    if unit_text is not None:
        written = parse_unit(unit_text)
        if written is None or written not in var.units:
            problems.append(
                _problem(
                    header,
                    f"unit {unit_text!r} is not a unit pfps_stats reads for {var.name} "
                    f"({var.label}); it reads {accepted}",
                    f"write the unit in the header, e.g. '{var.label} ({UNITS[var.units[0]].symbol})'"
                    f", or pass mapping={{{header!r}: ({var.name!r}, '<unit>')}}",
                )
            )
            return None
    if written and implied and written != implied:
        problems.append(
            _problem(
                header,
                f"the header names two units, {UNITS[implied].symbol} and {UNITS[written].symbol}",
                f"rename the column, or pass mapping={{{header!r}: ({var.name!r}, '<unit>')}}",
            )
        )
        return None
    unit = written or implied
    if unit is None:
        if var.default_unit:
            return var.units[0]
        problems.append(
            _problem(
                header,
                f"the unit of {header!r} ({var.label}) cannot be determined, and "
                f"pfps_stats does not guess it; it reads {accepted}",
                f"say the unit in the header, e.g. '{var.label} ({UNITS[var.units[0]].symbol})', or "
                f"pass mapping={{{header!r}: ({var.name!r}, '{UNITS[var.units[min(1, len(var.units) - 1)]].symbol}')}}",
            )
        )
    return unit


def match_columns(
    columns: list[str],
    labels: Mapping[str, str] | None = None,
    mapping: Mapping[str, MappingTarget] | None = None,
) -> tuple[list[ColumnMatch], list[dict]]:
    """Match source columns to canonical variables and units.

    Parameters
    ----------
    columns : list of str
        Source headers, in file order.
    labels : mapping, optional
        Variable labels (SPSS, Stata) per header, tried when the header itself does not match.
    mapping : mapping, optional
        ``{source header: target}``; target is a canonical name, ``(name, unit)`` or None to
        ignore the column. Keys may be written with any case and punctuation.

    Returns
    -------
    matches : list of ColumnMatch
        One per source column.
    problems : list of dict
        Column-level problems (row None), each with a fix.
    """
    labels = dict(labels or {})
    problems: list[dict] = []
    mapping = dict(mapping or {})
    by_key = {normalise(c): c for c in columns}
    resolved_mapping: dict[str, MappingTarget] = {}
    for key, target in mapping.items():
        source = key if key in columns else by_key.get(normalise(key))
        if source is None:
            close = difflib.get_close_matches(str(key), columns, n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            problems.append(
                _problem(
                    str(key),
                    f"mapping names a column {key!r} that is not in the data.{hint}",
                    f"use one of the data's columns: {', '.join(map(repr, columns))}",
                )
            )
            continue
        resolved_mapping[source] = target

    matches: list[ColumnMatch] = []
    for header in columns:
        if header in resolved_mapping:
            matches.append(_from_mapping(header, resolved_mapping[header], problems))
            continue
        found, how = identify(header), "name"
        if labels.get(header):
            # An SPSS/Stata label may name the variable, or the unit a short name lacks.
            from_label = identify(labels[header])
            unitless = found is not None and found[1] is None and found[2] is None
            if from_label and (found is None or (unitless and from_label[0] == found[0])):
                found, how = from_label, "label"
        if found is None:
            matches.append(ColumnMatch(header, None, None, None, "extra"))
            continue
        name, unit_text, implied = found
        var = VARIABLES[name]
        unit = (
            _resolve_unit(var, header, unit_text, implied, problems)
            if var.kind == "numeric"
            else None
        )
        how = "canonical name" if header == name else how
        matches.append(ColumnMatch(header, name, name, unit, how))

    _check_duplicates(matches, problems)
    _check_required(matches, columns, problems)
    _check_mass_available(matches, problems)
    _name_extras(matches)
    return matches, problems


def _from_mapping(header: str, target: MappingTarget, problems: list[dict]) -> ColumnMatch:
    if target is None:
        return ColumnMatch(header, None, None, None, "ignored (mapping)")
    if isinstance(target, str):
        name, unit_text = target, None
    elif isinstance(target, tuple | list) and len(target) == 2:
        name, unit_text = target
    else:
        problems.append(
            _problem(
                header,
                f"mapping target {target!r} is not understood",
                "give a canonical name, (name, unit), or None to ignore",
            )
        )
        return ColumnMatch(header, None, None, None, "extra")
    if name not in VARIABLES:
        close = difflib.get_close_matches(str(name), list(VARIABLES), n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        problems.append(
            _problem(
                header,
                f"mapping target {name!r} is not a canonical variable.{hint}",
                f"use one of: {', '.join(VARIABLES)}",
            )
        )
        return ColumnMatch(header, None, None, None, "extra")
    var = VARIABLES[name]
    unit = None
    if var.kind == "numeric":
        if unit_text is None:
            # The header's own unit wins; else the canonical name's unit ("mass_kg" is kg).
            _, written = _split_unit(header)
            found = identify(header)
            implied = found[2] if found and found[0] == name else None
            if written is None and implied is None:
                implied = var.units[0]
            unit = _resolve_unit(var, header, written, implied, problems)
        else:
            unit = _resolve_unit(var, header, unit_text, None, problems)
    return ColumnMatch(header, name, name, unit, "mapping")


def _check_duplicates(matches: list[ColumnMatch], problems: list[dict]) -> None:
    seen: dict[str, list[str]] = {}
    for m in matches:
        if m.variable:
            seen.setdefault(m.variable, []).append(m.source)
    for name, sources in seen.items():
        if len(sources) > 1:
            problems.append(
                _problem(
                    sources[1],
                    f"{len(sources)} columns hold {name}: {', '.join(map(repr, sources))}",
                    f"keep one; ignore the others with mapping={{{sources[1]!r}: None}}",
                )
            )


def _check_required(matches: list[ColumnMatch], columns: list[str], problems: list[dict]) -> None:
    present = {m.variable for m in matches}
    unmatched = [m.source for m in matches if m.variable is None and m.how == "extra"]
    for var in VARIABLES.values():
        if var.required and var.name not in present:
            close = difflib.get_close_matches(var.name, unmatched, n=2, cutoff=0.4)
            hint = f" Is it {' or '.join(map(repr, close))}?" if close else ""
            problems.append(
                _problem(
                    var.name,
                    f"no column holds the required variable {var.name} ({var.label}); "
                    f"the data's columns are {', '.join(map(repr, columns))}.{hint}",
                    f"rename your column to {var.name!r}, or pass mapping={{'<your column>': "
                    f"{var.name!r}}}",
                )
            )


def _check_mass_available(matches: list[ColumnMatch], problems: list[dict]) -> None:
    has_mass = any(m.variable == "mass_kg" and m.unit for m in matches)
    for m in matches:
        if m.unit and UNITS[m.unit].per_mass and not has_mass:
            target = VARIABLES[m.variable]
            problems.append(
                _problem(
                    m.source,
                    f"{m.source!r} is in {UNITS[m.unit].symbol}, which becomes "
                    f"{target.unit} only with each runner's body mass, and there is no "
                    f"body-mass column",
                    "add a body-mass column such as 'Weight (kg)', or record the strength "
                    f"already normalised ({target.unit})",
                )
            )


def _name_extras(matches: list[ColumnMatch]) -> None:
    taken = set(VARIABLES)
    for m in matches:
        if m.variable is None and m.how == "extra":
            name, i = snake_case(m.source), 2
            base = name
            while name in taken:
                name, i = f"{base}_{i}", i + 1
            taken.add(name)
            m.output = name
