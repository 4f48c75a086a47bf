"""Units of measurement: recognising them in column headers and converting to canonical units.

Each :class:`Unit` is defined by its size in a base unit of its dimension, so any two units of
one dimension convert by a single factor. Units of force or torque (N, kgf, lbf, Nm, ft·lbf)
convert to the canonical per-body-mass units (N/kg, Nm/kg) only with each runner's body mass.

Conversion factors are exact by definition (international yard and pound agreement, 1959;
standard gravity 9.80665 m/s², CGPM 1901).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

STANDARD_GRAVITY = 9.80665  # m/s², exact (CGPM 1901)
POUND_KG = 0.45359237  # exact
INCH_CM = 2.54  # exact
LBF_N = POUND_KG * STANDARD_GRAVITY  # 4.4482216152605 N
FOOT_POUND_FORCE_NM = LBF_N * 0.3048  # 1.3558179483314004 N·m


@dataclass(frozen=True)
class Unit:
    """A unit: its display symbol, dimension, size in the dimension's base unit, and spellings.

    ``per_mass`` marks a force or torque that becomes the canonical per-kg unit only after
    division by body mass.
    """

    symbol: str
    dimension: str
    size: float
    spellings: tuple[str, ...]
    per_mass: bool = False


# Base units: time in days, length in cm, mass in kg, force per mass in N/kg,
# torque per mass in Nm/kg, percent in %, angle in degrees, BMI in kg/m².
UNITS: dict[str, Unit] = {
    "years": Unit("years", "time", 365.25, ("years", "year", "yrs", "yr", "y")),
    "months": Unit("months", "time", 365.25 / 12, ("months", "month", "mo", "mos", "mths")),
    "weeks": Unit("weeks", "time", 7.0, ("weeks", "week", "wk", "wks", "w")),
    "days": Unit("days", "time", 1.0, ("days", "day", "d")),
    "cm": Unit("cm", "length", 1.0, ("cm", "centimetres", "centimeters")),
    "m": Unit("m", "length", 100.0, ("m", "metres", "meters")),
    "mm": Unit("mm", "length", 0.1, ("mm", "millimetres", "millimeters")),
    "in": Unit("in", "length", INCH_CM, ("in", "inch", "inches")),
    "ft": Unit("ft", "length", 12 * INCH_CM, ("ft", "feet", "foot")),
    "km": Unit(
        "km",
        "length",
        100_000.0,
        ("km", "kms", "kilometres", "kilometers", "km/week", "km/wk", "km per week"),
    ),
    "mi": Unit(
        "mi",
        "length",
        1609.344 * 100,
        ("mi", "miles", "mile", "mi/week", "mi/wk", "miles/week", "miles per week", "mpw"),
    ),
    "kg": Unit("kg", "mass", 1.0, ("kg", "kgs", "kilograms", "kilogram")),
    "lb": Unit("lb", "mass", POUND_KG, ("lb", "lbs", "pounds", "pound")),
    "g": Unit("g", "mass", 0.001, ("g", "grams", "gram")),
    "st": Unit("st", "mass", 14 * POUND_KG, ("st", "stone")),
    "kg/m2": Unit("kg/m²", "bmi", 1.0, ("kg/m2", "kg/m²", "kg m-2", "kgm2")),
    "deg": Unit("°", "angle", 1.0, ("deg", "°", "degrees", "degree", "degs")),
    "pct": Unit("%", "percent", 1.0, ("%", "pct", "percent", "per cent")),
    "N/kg": Unit("N/kg", "force_per_mass", 1.0, ("N/kg", "N kg-1", "N·kg-1", "nkg")),
    "pctBW": Unit(
        "%BW",
        "force_per_mass",
        STANDARD_GRAVITY / 100,
        (
            "%BW",
            "% BW",
            "%bodyweight",
            "% body weight",
            "% of body weight",
            "pct BW",
            "percent BW",
            "percent body weight",
            "%BM",
            "% body mass",
        ),
    ),
    "kgf/kg": Unit("kgf/kg", "force_per_mass", STANDARD_GRAVITY, ("kgf/kg", "kgf kg-1")),
    "N": Unit("N", "force_per_mass", 1.0, ("N", "newton", "newtons"), per_mass=True),
    "kgf": Unit(
        "kgf",
        "force_per_mass",
        STANDARD_GRAVITY,
        ("kgf", "kg force", "kilogram force"),
        per_mass=True,
    ),
    "lbf": Unit("lbf", "force_per_mass", LBF_N, ("lbf", "lb force", "pound force"), per_mass=True),
    "Nm/kg": Unit(
        "Nm/kg", "torque_per_mass", 1.0, ("Nm/kg", "N·m/kg", "N m/kg", "Nm kg-1", "nmkg")
    ),
    "Nm": Unit(
        "Nm",
        "torque_per_mass",
        1.0,
        ("Nm", "N·m", "N m", "newton metres", "newton meters"),
        per_mass=True,
    ),
    "ftlbf": Unit(
        "ft·lbf",
        "torque_per_mass",
        FOOT_POUND_FORCE_NM,
        ("ft-lb", "ft-lbf", "ft lb", "ft·lbf", "ft-lbs", "foot pounds", "ftlb"),
        per_mass=True,
    ),
}


def normalise(text: str) -> str:
    """Fold a header or unit for matching: lower case, symbols spelled out, punctuation dropped.

    ``"Hip abduction strength (%BW)"`` -> ``"hipabductionstrengthpctbw"``;
    ``"km/week"`` -> ``"kmperweek"``; ``"Q-angle (°)"`` -> ``"qangledeg"``.
    """
    text = str(text).lower()
    for symbol, word in (("%", " pct "), ("°", " deg "), ("²", "2"), ("/", " per ")):
        text = text.replace(symbol, word)
    return re.sub(r"[^0-9a-z]+", "", text)


_SPELLING_TO_UNIT: dict[str, str] = {}
for _key, _unit in UNITS.items():
    for _spelling in (*_unit.spellings, _key):
        _SPELLING_TO_UNIT.setdefault(normalise(_spelling), _key)


def parse_unit(text: str) -> str | None:
    """Return the unit key (a key of :data:`UNITS`) for a written unit, or None if unknown."""
    return _SPELLING_TO_UNIT.get(normalise(text))


def conversion_note(source: str, target: str) -> str:
    """Describe a conversion in words, for the column report: ``"lb -> kg (x 0.45359237)"``."""
    src, dst = UNITS[source], UNITS[target]
    if source == target:
        return "as recorded"
    factor = src.size / dst.size
    note = f"{src.symbol} -> {dst.symbol} (x {factor:.10g})"
    if src.per_mass:
        note += " / body mass (kg)"
    return note


def convert(
    values: pd.Series, source: str, target: str, mass_kg: pd.Series | None = None
) -> pd.Series:
    """Convert numeric ``values`` from unit ``source`` to unit ``target``.

    Parameters
    ----------
    values : Series of float
    source, target : str
        Keys of :data:`UNITS` of the same dimension.
    mass_kg : Series of float, optional
        Body mass per row; needed when ``source`` is a force or torque (N, kgf, lbf, Nm, ft·lbf).

    Returns
    -------
    Series of float
        Values in ``target``; NaN where the value, or the body mass it needs, is missing.
    """
    src, dst = UNITS[source], UNITS[target]
    if src.dimension != dst.dimension:
        raise ValueError(f"cannot convert {src.symbol} to {dst.symbol}: different quantities")
    out = values.astype(float) * (src.size / dst.size)
    if src.per_mass:
        if mass_kg is None:
            raise ValueError(f"converting {src.symbol} to {dst.symbol} needs body mass (kg)")
        mass = mass_kg.astype(float).where(mass_kg > 0)
        out = out / mass
    return out.replace([np.inf, -np.inf], np.nan)
