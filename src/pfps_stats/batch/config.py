"""The batch's configuration: ``reports.yml`` read and checked into jobs.

Each job runs one notebook with parameters. Paths in ``reports.yml`` are relative to its
folder. A job whose ``data_path`` is null (or absent) reports on the SYNTHETIC demo cohort that
ships with pfps_stats.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .._exceptions import ConfigError
from ..cohort.synthetic import DEMO_COHORT

#: Parameters holding file paths: relative to reports.yml's folder, made absolute.
PATH_PARAMETERS = ("data_path",)


@dataclass
class Job:
    """One report: a notebook run with parameters into ``<output_dir>/<name>.html``."""

    name: str
    notebook: Path
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class BatchConfig:
    path: Path
    output_dir: Path
    jobs: list[Job]


def declared_parameters(notebook: Path) -> set[str]:
    """Names assigned in the notebook's cell tagged ``parameters``.

    Raises
    ------
    ConfigError
        When the notebook cannot be read or has not exactly one such cell.
    """
    import nbformat

    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception as exc:  # nbformat raises several types for a broken file
        raise ConfigError(f"{notebook}: cannot be read as a notebook ({exc})") from None
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ConfigError(
            f"{notebook}: needs exactly one cell tagged 'parameters', has {len(cells)}"
        )
    names = set()
    for node in ast.parse(cells[0].source).body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else ([node.target] if isinstance(node, ast.AnnAssign) else [])
        )
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def load_config(path: str | Path) -> BatchConfig:
    """Read and check ``reports.yml``; paths are relative to its folder.

    Raises
    ------
    ConfigError
        Bad YAML, no jobs, a job without name or notebook, a duplicate name, a missing
        notebook, or a parameter the notebook does not declare.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("jobs"), list) or not raw["jobs"]:
        raise ConfigError(f"{path}: needs a non-empty list 'jobs'")
    base = path.parent.resolve()
    defaults = (raw.get("defaults") or {}).get("parameters") or {}
    output_dir = base / raw.get("output_dir", "reports")
    jobs, errors, seen = [], [], set()
    for i, entry in enumerate(raw["jobs"], start=1):
        if not isinstance(entry, dict) or "name" not in entry or "notebook" not in entry:
            errors.append(f"job {i}: needs 'name' and 'notebook'")
            continue
        name = str(entry["name"])
        if name in seen or not name.replace("-", "").replace("_", "").isalnum():
            errors.append(f"job {i}: name {name!r} is a duplicate or not letters, digits, - and _")
            continue
        seen.add(name)
        notebook = base / entry["notebook"]
        if not notebook.is_file():
            errors.append(f"job {name}: notebook {entry['notebook']} not found")
            continue
        parameters = {**defaults, **(entry.get("parameters") or {})}
        try:
            unknown = set(parameters) - declared_parameters(notebook)
        except ConfigError as exc:
            errors.append(f"job {name}: {exc}")
            continue
        if unknown:
            errors.append(
                f"job {name}: {entry['notebook']} does not declare parameter(s) "
                f"{', '.join(sorted(unknown))}"
            )
            continue
        for key in PATH_PARAMETERS:
            if isinstance(parameters.get(key), str):
                parameters[key] = str((base / parameters[key]).resolve())
        jobs.append(Job(name, notebook, parameters))
    if errors:
        raise ConfigError(f"{path}: " + "; ".join(errors))
    return BatchConfig(path, output_dir, jobs)


def data_file(parameters: dict[str, Any]) -> Path:
    """The data file a job reads: its ``data_path``, or the demo cohort when that is null."""
    path = parameters.get("data_path")
    return DEMO_COHORT if path is None else Path(path)
