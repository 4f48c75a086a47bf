"""The variable dictionary: the one source of truth for every canonical variable.

Each :class:`Variable` gives a canonical (stable, snake_case) name, a label for tables and
axes, the canonical unit, the plausible and the possible range, the clinical increment used
for odds ratios, the header spellings seen in real exports, the units a source column may be
recorded in, and the evidence-registry keys of the studies that examined it.

Everything else in the package (loading, validation, table labels, plot axes, odds-ratio
scaling) reads these entries; nothing repeats them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

Kind = Literal["id", "numeric", "category", "binary", "text"]


@dataclass(frozen=True)
class Variable:
    """One entry of the variable dictionary.

    Attributes
    ----------
    name : str
        Canonical column name (stable).
    label : str
        Human label without unit, e.g. ``"Q angle"``.
    kind : {"id", "numeric", "category", "binary", "text"}
        How values are parsed and validated.
    description : str
        What is measured, and how.
    unit : str
        Canonical unit as shown to people (``"kg/m²"``); empty for unitless variables.
    units : tuple of str
        Source units accepted for this variable (keys of :data:`pfps_stats.units.UNITS`);
        the first is the canonical one.
    default_unit : bool
        Whether a source column without a stated unit may be read in the canonical unit.
        True only where one unit is in practical use (degrees for the Q angle, kg/m² for BMI);
        otherwise a column without a unit is an error, never a guess.
    plausible : (float, float) or None
        Values outside are rejected as implausible (likely entry or unit errors).
    possible : (float, float) or None
        Values outside are rejected as impossible.
    increment : float or None
        Clinical increment for odds ratios ("per 5 kg/m²").
    aliases : tuple of str
        Header spellings (compared ignoring case, spaces and punctuation). An alias may
        end in ``"|unit"`` to say that the header itself implies that unit.
    levels : dict
        For categories and the outcome: canonical level -> accepted spellings.
    required : bool
        Whether every cohort must have this column.
    evidence : tuple of str
        Keys of the studies in the registry's ``studies.csv`` that examined it.
    """

    name: str
    label: str
    kind: Kind
    description: str
    unit: str = ""
    units: tuple[str, ...] = ()
    default_unit: bool = False
    plausible: tuple[float, float] | None = None
    possible: tuple[float, float] | None = None
    increment: float | None = None
    aliases: tuple[str, ...] = ()
    levels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    required: bool = False
    evidence: tuple[str, ...] = ()

    @property
    def axis_label(self) -> str:
        """Label with unit for axes and tables, e.g. ``"Body-mass index (kg/m²)"``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    @property
    def increment_label(self) -> str:
        """Label with the clinical increment, e.g. ``"Q angle, per 5°"``."""
        if self.increment is None:
            return self.label
        return _per(self.label, self.unit, self.increment)


def _per(name: str, unit: str, increment: float) -> str:
    """The one rule for increment labels: "Q angle, per 5°", "BMI, per 5 kg/m²"."""
    gap = "" if unit in ("°", "%") else " "
    return f"{name}, per {increment:g}{gap}{unit}".rstrip()


_SEX = {
    "F": ("f", "female", "woman", "women", "w", "girl"),
    "M": ("m", "male", "man", "men", "boy"),
}
_SUBGROUP = {
    "military": (
        "military",
        "military recruit",
        "military recruits",
        "recruit",
        "recruits",
        "army",
        "navy",
        "cadet",
        "cadets",
        "soldier",
        "soldiers",
    ),
    "adolescent": (
        "adolescent",
        "adolescents",
        "school",
        "high school",
        "youth",
        "teen",
        "teenager",
        "teenagers",
    ),
    "recreational": (
        "recreational",
        "recreational runner",
        "recreational runners",
        "runner",
        "runners",
        "novice runner",
        "novice runners",
    ),
}
_KNEE = {"L": ("l", "left", "lt"), "R": ("r", "right", "rt")}
_BINARY = {
    "1": ("1", "1.0", "yes", "y", "true", "pfp", "case", "injured"),
    "0": ("0", "0.0", "no", "n", "false", "no pfp", "none", "control", "uninjured"),
}

VARIABLES: dict[str, Variable] = {
    v.name: v
    for v in [
        Variable(
            "runner_id",
            "Runner",
            "id",
            "Participant identifier; one row per runner, or per knee when `knee` is given.",
            aliases=(
                "id",
                "participant",
                "participant id",
                "subject",
                "subject id",
                "record id",
                "record_id",
                "study id",
                "runner",
                "athlete id",
                "pid",
            ),
            required=True,
        ),
        Variable(
            "sex",
            "Sex",
            "category",
            "Sex as recorded: F or M.",
            aliases=("gender", "sex (f/m)"),
            levels=_SEX,
            evidence=("neal2019",),
        ),
        Variable(
            "age_years",
            "Age",
            "numeric",
            "Age at baseline.",
            unit="years",
            units=("years", "months"),
            default_unit=True,
            plausible=(8, 90),
            possible=(0, 120),
            increment=5,
            aliases=("age", "age yrs|years", "age months|months"),
            evidence=("neal2019",),
        ),
        Variable(
            "height_cm",
            "Height",
            "numeric",
            "Standing height at baseline.",
            unit="cm",
            units=("cm", "m", "mm", "in", "ft"),
            plausible=(120, 220),
            possible=(1, 272),
            increment=10,
            aliases=("height", "stature", "body height", "ht"),
            evidence=("neal2019",),
        ),
        Variable(
            "mass_kg",
            "Body mass",
            "numeric",
            "Body mass at baseline.",
            unit="kg",
            units=("kg", "lb", "g", "st"),
            plausible=(25, 200),
            possible=(1, 650),
            increment=10,
            aliases=("mass", "body mass", "weight", "body weight", "wt"),
            evidence=("neal2019",),
        ),
        Variable(
            "bmi",
            "Body-mass index",
            "numeric",
            "Body-mass index, mass / height²; derived from height and mass when absent, "
            "and checked against them when present.",
            unit="kg/m²",
            units=("kg/m2",),
            default_unit=True,
            plausible=(12, 60),
            possible=(1, 200),
            increment=5,
            aliases=("body mass index",),
            evidence=("neal2019", "hart2017"),
        ),
        Variable(
            "q_angle_deg",
            "Q angle",
            "numeric",
            "Quadriceps angle, standing or supine as the study protocol says.",
            unit="°",
            units=("deg",),
            default_unit=True,
            plausible=(-10, 40),
            possible=(-90, 90),
            increment=5,
            aliases=("q angle", "qangle", "quadriceps angle", "q"),
            evidence=("neal2019", "lankhorst2013"),
        ),
        Variable(
            "weekly_km",
            "Weekly running distance",
            "numeric",
            "Usual running (or marching) distance per week at baseline.",
            unit="km/week",
            units=("km", "mi", "m"),
            plausible=(0, 250),
            possible=(0, 1500),
            increment=10,
            aliases=(
                "weekly distance",
                "weekly mileage",
                "mileage",
                "distance per week",
                "weekly volume",
                "running volume",
                "training volume",
                "km per week|km",
                "kilometres per week|km",
                "kilometers per week|km",
                "weekly km|km",
                "km week|km",
                "km/week|km",
                "km/wk|km",
                "miles per week|mi",
                "weekly miles|mi",
                "miles week|mi",
                "mpw|mi",
                "miles/week|mi",
                "mi/wk|mi",
            ),
            evidence=("neal2019",),
        ),
        Variable(
            "weekly_km_change_pct",
            "Change in weekly distance",
            "numeric",
            "Change in weekly distance before follow-up, as a percentage of the earlier week.",
            unit="%",
            units=("pct",),
            default_unit=True,
            plausible=(-100, 500),
            possible=(-100, 10000),
            increment=10,
            aliases=(
                "weekly km change",
                "mileage change",
                "weekly distance change",
                "distance change",
                "change in weekly distance",
                "weekly change",
                "training load change",
                "weekly km change pct|pct",
                "mileage change pct|pct",
                "mileage increase|pct",
            ),
            evidence=("buist2008",),
        ),
        Variable(
            "hip_abd_strength_nkg",
            "Hip abduction strength",
            "numeric",
            "Isometric hip abduction strength by hand-held dynamometer, force normalised to "
            "body mass (N/kg). %BW converts as %BW × 9.80665 / 100; N, kgf and lbf are "
            "divided by body mass.",
            unit="N/kg",
            units=("N/kg", "pctBW", "kgf/kg", "N", "kgf", "lbf"),
            plausible=(0.2, 10),
            possible=(0, 50),
            increment=0.5,
            aliases=(
                "hip abduction strength",
                "hip abduction",
                "hip abd strength",
                "hip abd",
                "hip abductor strength",
                "hip abductors",
                "hipabd",
                "hip abd force",
            ),
            evidence=("neal2019", "lankhorst2013", "finnoff2011"),
        ),
        Variable(
            "knee_ext_strength_nmkg",
            "Knee extension strength",
            "numeric",
            "Knee extension (quadriceps) peak torque normalised to body mass (Nm/kg). "
            "Nm and ft·lbf are divided by body mass.",
            unit="Nm/kg",
            units=("Nm/kg", "Nm", "ftlbf"),
            plausible=(0.3, 6),
            possible=(0, 20),
            increment=0.5,
            aliases=(
                "knee extension strength",
                "knee extension torque",
                "knee extension",
                "knee ext strength",
                "knee ext",
                "quadriceps strength",
                "quad strength",
                "quads",
                "knee extensor strength",
            ),
            evidence=("neal2019", "rocha2024", "lankhorst2013"),
        ),
        Variable(
            "subgroup",
            "Subgroup",
            "category",
            "Population the runner belongs to: military, adolescent or recreational "
            "(the subgroups of Neal et al. 2019).",
            aliases=("group", "population", "cohort", "setting"),
            levels=_SUBGROUP,
        ),
        Variable(
            "knee",
            "Knee",
            "category",
            "Side, L or R, for data with one row per knee (two knees per runner).",
            aliases=("side", "leg", "limb"),
            levels=_KNEE,
        ),
        Variable(
            "pfp",
            "Patellofemoral pain",
            "binary",
            "Outcome: 1 if the runner developed patellofemoral pain during follow-up, else 0.",
            aliases=(
                "pfp",
                "pfps",
                "patellofemoral pain",
                "patellofemoral pain syndrome",
                "runners knee",
                "outcome",
                "case",
                "injured pfp",
                "pfp 0 1",
            ),
            levels=_BINARY,
            required=True,
        ),
        Variable(
            "followup_weeks",
            "Follow-up",
            "numeric",
            "Length of follow-up.",
            unit="weeks",
            units=("weeks", "days", "months", "years"),
            plausible=(0.5, 520),
            possible=(0.01, 5200),
            aliases=("follow up", "followup", "follow-up duration", "follow up time"),
        ),
        Variable(
            "data_source",
            "Data source",
            "text",
            "Where the row came from; simulated rows say SYNTHETIC.",
            aliases=("source", "dataset"),
        ),
    ]
}

#: Canonical names of the numeric risk factors, in dictionary order.
NUMERIC = tuple(v.name for v in VARIABLES.values() if v.kind == "numeric")
#: The outcome variable: the default ``outcome=`` of every function that takes one.
OUTCOME = "pfp"
#: The populations a runner can belong to (the levels of ``subgroup``), in dictionary order.
SUBGROUPS = tuple(_SUBGROUP)


def get_variable(name: str) -> Variable:
    """Return the dictionary entry for a canonical name.

    Raises
    ------
    KeyError
        With the list of known names, when ``name`` is not in the dictionary.
    """
    try:
        return VARIABLES[name]
    except KeyError:
        known = ", ".join(VARIABLES)
        raise KeyError(f"{name!r} is not in the variable dictionary; known: {known}") from None


def label(name: str, *, unit: bool = True) -> str:
    """Return the display label of a variable, with its unit; unknown names are returned as is."""
    var = VARIABLES.get(name)
    if var is None:
        return name
    return var.axis_label if unit else var.label


def increment_label(name: str, increment: float) -> str:
    """Label of an effect per ``increment`` of a variable, with its unit: ``"Q angle, per 5°"``,
    ``"BMI, per 5 kg/m²"``; a name not in the dictionary gets no unit."""
    var = VARIABLES.get(name)
    return _per(var.label, var.unit, increment) if var else _per(name, "", increment)


def variable_table() -> pd.DataFrame:
    """Return the variable dictionary as a tidy DataFrame (one row per variable).

    Columns: name, label, kind, unit, source_units, plausible_low, plausible_high,
    increment, required, aliases, description, evidence.
    """
    from .units import UNITS

    rows = []
    for v in VARIABLES.values():
        rows.append(
            {
                "name": v.name,
                "label": v.label,
                "kind": v.kind,
                "unit": v.unit,
                "source_units": ", ".join(UNITS[u].symbol for u in v.units),
                "plausible_low": v.plausible[0] if v.plausible else None,
                "plausible_high": v.plausible[1] if v.plausible else None,
                "increment": v.increment,
                "required": v.required,
                "aliases": ", ".join(a.split("|")[0] for a in v.aliases),
                "description": v.description,
                "evidence": ", ".join(v.evidence),
            }
        )
    return pd.DataFrame(rows)
