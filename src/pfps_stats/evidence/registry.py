"""The evidence registry: ``studies.csv``, ``estimates.csv`` and ``claims.csv``, shipped as
package data in ``pfps_stats/data/evidence/``.

Every number carries its source. Only figures verified against the source text (see
``docs/evidence-sources.md``) have ``verified = yes``; the others stay flagged ``no`` and
are never used for comparisons unless asked for.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .._exceptions import EvidenceError
from ..cohort.variables import SUBGROUPS as RUNNER_SUBGROUPS
from ..cohort.variables import VARIABLES

#: The shipped registry (package data, found with importlib.resources).
EVIDENCE_DIR = Path(str(resources.files("pfps_stats").joinpath("data", "evidence")))
MEASURES = ("SMD", "OR", "RR", "HR", "WMD", "MD")
#: Ratio measures: estimates and CI limits must be positive.
RATIO_MEASURES = ("OR", "RR", "HR")
#: Training-load exposures (spike states of the exposures layer) that published hazard
#: ratios may describe besides the dictionary's variables; their rows name a ``level``.
EXPOSURE_FACTORS = ("session_state", "week_state", "acwr_state")
#: Populations an estimate may describe: the dictionary's subgroups and two pooled ones.
SUBGROUPS = (*RUNNER_SUBGROUPS, "adult", "all")
DESIGNS = ("prospective", "cross-sectional", "trial")
COLUMNS = {
    "studies.csv": ["key", "citation", "doi", "design", "population", "n", "cases", "url"],
    "estimates.csv": [
        "study",
        "factor",
        "subgroup",
        "measure",
        "estimate",
        "ci_low",
        "ci_high",
        "n_studies",
        "n_participants",
        "i2",
        "evidence_level",
        "verified",
        "design",
        "source_url",
        "note",
    ],
    "claims.csv": ["claim", "verdict", "evidence", "sources"],
}
#: Columns added after the first release: optional in a registry file (empty when absent).
#: ``level``: the category level of ``factor`` an estimate is for (e.g. a spike state,
#: ``">10-30%"``), empty for a numeric factor.
OPTIONAL_COLUMNS = {"estimates.csv": ["level"]}


def _read(folder: Path, name: str) -> pd.DataFrame:
    path = folder / name
    if not path.is_file():
        raise EvidenceError(f"{path}: file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise EvidenceError(f"{path}: cannot be read as CSV ({exc})") from None
    missing = [c for c in COLUMNS[name] if c not in frame.columns]
    if missing:
        raise EvidenceError(
            f"{path}: missing column(s) {', '.join(missing)}; the header must "
            f"be {','.join(COLUMNS[name])}"
        )
    for column in OPTIONAL_COLUMNS.get(name, []):
        if column not in frame:
            frame[column] = ""
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="line")  # line 1 is the header
    return frame


def _fail(path: Path, line: int, field: str, problem: str) -> EvidenceError:
    return EvidenceError(f"{path}, line {line}, field {field!r}: {problem}")


def _number(path: Path, line: int, field: str, text: str, *, required: bool) -> float:
    if text.strip() == "":
        if required:
            raise _fail(path, line, field, "is empty; a number is required")
        return np.nan
    try:
        return float(text)
    except ValueError:
        raise _fail(path, line, field, f"{text!r} is not a number") from None


def load_studies(folder: str | Path = EVIDENCE_DIR) -> pd.DataFrame:
    """``studies.csv``: key, citation, doi, design, population, n, cases, url (one per study).

    Raises
    ------
    EvidenceError
        Naming the file, line and field of the first malformed entry.
    """
    folder = Path(folder)
    frame = _read(folder, "studies.csv")
    path = folder / "studies.csv"
    for line, row in frame.iterrows():
        if not row["key"].strip():
            raise _fail(path, line, "key", "is empty")
        if not row["citation"].strip():
            raise _fail(path, line, "citation", "is empty; every study needs its citation")
        if row["doi"] and not row["doi"].startswith("10."):
            raise _fail(path, line, "doi", f"{row['doi']!r} is not a DOI (10.xxxx/...)")
    duplicated = frame["key"][frame["key"].duplicated()]
    if len(duplicated):
        raise _fail(path, duplicated.index[0], "key", f"{duplicated.iloc[0]!r} appears twice")
    for column in ("n", "cases"):
        frame[column] = [
            _number(path, i, column, v, required=False) for i, v in frame[column].items()
        ]
    return frame.reset_index(drop=True)


def load_evidence(
    folder: str | Path = EVIDENCE_DIR, *, verified_only: bool = False
) -> pd.DataFrame:
    """The registry of published estimates, joined with their studies.

    Parameters
    ----------
    folder : path
        The registry folder (default: the shipped registry, ``EVIDENCE_DIR``).
    verified_only : bool
        Keep only estimates verified against their source.

    Returns
    -------
    DataFrame
        The columns of ``estimates.csv`` (numbers as floats, ``verified`` as bool; ``level``
        empty when an estimate is not for a category level), plus the study's citation and
        doi. ``measure`` "HR" is a hazard (rate) ratio, e.g. Frandsen 2025's per spike state
        of ``session_state``.

    Raises
    ------
    EvidenceError
        Naming the file, line and field of the first malformed entry.
    """
    folder = Path(folder)
    studies = load_studies(folder)
    frame = _read(folder, "estimates.csv")
    path = folder / "estimates.csv"
    known = set(studies["key"])
    for line, row in frame.iterrows():
        if row["study"] not in known:
            raise _fail(path, line, "study", f"{row['study']!r} is not a key of studies.csv")
        if row["factor"] not in VARIABLES and row["factor"] not in EXPOSURE_FACTORS:
            raise _fail(
                path,
                line,
                "factor",
                f"{row['factor']!r} is not a canonical variable name (pfps_stats.cohort.variables)"
                f" nor a training-load exposure ({', '.join(EXPOSURE_FACTORS)})",
            )
        if row["factor"] in EXPOSURE_FACTORS and not row["level"].strip():
            raise _fail(
                path,
                line,
                "level",
                f"is empty; an estimate for {row['factor']} must name its state (e.g. '>10-30%')",
            )
        for field, allowed in (
            ("measure", MEASURES),
            ("subgroup", SUBGROUPS),
            ("design", DESIGNS),
            ("verified", ("yes", "no")),
        ):
            if row[field] not in allowed:
                raise _fail(
                    path, line, field, f"{row[field]!r} must be one of {', '.join(allowed)}"
                )
        est, lo, hi = (
            _number(path, line, f, row[f], required=True) for f in ("estimate", "ci_low", "ci_high")
        )
        if not lo <= est <= hi:
            raise _fail(path, line, "estimate", f"{est} is not within its CI [{lo}, {hi}]")
        if row["measure"] in RATIO_MEASURES and lo <= 0:
            raise _fail(path, line, "ci_low", "ratios must be positive")
        for field in ("n_studies", "n_participants", "i2"):
            _number(path, line, field, row[field], required=False)
    for field in ("estimate", "ci_low", "ci_high", "n_studies", "n_participants", "i2"):
        frame[field] = pd.to_numeric(frame[field].replace("", np.nan))
    frame["verified"] = frame["verified"] == "yes"
    frame = frame.merge(
        studies[["key", "citation", "doi"]], left_on="study", right_on="key", how="left"
    ).drop(columns="key")
    if verified_only:
        frame = frame[frame["verified"]].reset_index(drop=True)
    return frame


def load_claims(folder: str | Path = EVIDENCE_DIR) -> pd.DataFrame:
    """``claims.csv``: claim, verdict, evidence, sources; plus ``links``, the DOI or URL of each
    source (study keys resolved through studies.csv)."""
    folder = Path(folder)
    studies = load_studies(folder).set_index("key")
    frame = _read(folder, "claims.csv")
    path = folder / "claims.csv"
    links = []
    for line, row in frame.iterrows():
        found = []
        for source in [s.strip() for s in row["sources"].split(";") if s.strip()]:
            if source.startswith("http"):
                found.append(source)
            elif source in studies.index:
                study = studies.loc[source]
                found.append(f"https://doi.org/{study['doi']}" if study["doi"] else study["url"])
            else:
                raise _fail(path, line, "sources", f"{source!r} is neither a study key nor a URL")
        links.append(found)
    frame["links"] = links
    return frame.reset_index(drop=True)
