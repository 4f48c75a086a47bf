"""The batch's configuration: ``reports.yml`` read and checked into jobs.

Each job runs one notebook with parameters. Paths in ``reports.yml`` are relative to its
folder. A job whose ``data_path`` is null (or absent) reports on the SYNTHETIC demo cohort that
ships with pfps_stats; likewise ``log_path`` and ``injuries_path`` (the training-load
notebook's training log and injuries) and the SYNTHETIC demo log and injuries.

``reports.yml`` holds plain data only: text, whole numbers up to 2**53, finite decimals,
true/false, null, and lists and mappings (with text keys) of these. Anything else a YAML tag or
an unquoted date can make (bytes, sets, dates, ...) is refused with :class:`ConfigError`:
papermill would write such a value into the notebook as unescaped text.

``scheduler`` (optional) runs the jobs on a Dask cluster: ``local`` (a ``LocalCluster`` on
this machine) or a scheduler's address such as ``tcp://10.0.0.5:8786``; ``pfps-stats report
run --scheduler`` overrides it. ``retries`` (default 1) is how many times a job is run again
on Dask when its worker dies during it. Path parameters are files: a URL (``s3://...``) is
refused, as pfps_stats's readers open files (mount the bucket and give its path).

``pdf`` (optional, ``true`` or ``false``; default false) also writes each report as a PDF,
``<name>.pdf`` beside its HTML, printed by headless Chromium (:mod:`pfps_stats.batch.pdf`);
``pfps-stats report run --pdf`` turns it on whatever ``reports.yml`` says.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .._exceptions import ConfigError
from ..cohort.synthetic import DEMO_COHORT
from ..exposures.synthetic import DEMO_INJURIES, DEMO_TRAINING_LOG

#: Parameters holding file (or folder) paths: relative to reports.yml's folder, made absolute.
#: Each with its provenance key; null means the SYNTHETIC demo file shipped with pfps_stats.
PATH_PARAMETERS = ("data_path", "log_path", "injuries_path")
_PROVENANCE_KEYS = {
    "data_path": "data_sha256",
    "log_path": "log_sha256",
    "injuries_path": "injuries_sha256",
}

#: Seconds a job may run before it fails (reports.yml ``timeout``, at the top or per job).
DEFAULT_TIMEOUT = 1800.0

#: Times a job runs again on Dask when its worker dies during it (reports.yml ``retries``).
DEFAULT_RETRIES = 1

#: Protocols of a Dask scheduler's address (``tcp://host:port``; ``host:port`` means tcp).
SCHEDULER_PROTOCOLS = ("tcp", "tls", "ws", "wss")

#: Names the site itself uses in the output folder (index.html, manifest.json, logs/): a job
#: of one of these names would be overwritten or clash, so they are refused (in any case, for
#: file systems that ignore it).
RESERVED_NAMES = frozenset({"index", "manifest", "logs"})

#: Largest whole number a parameter may hold: what a JSON reader keeps exactly (2**53).
MAX_INT = 2**53

#: Most values (scalars, list items, mapping entries) reports.yml may hold: a bound on the work
#: of checking it, whatever YAML aliases make of it.
MAX_VALUES = 100_000

_TOP_KEYS = ("output_dir", "defaults", "jobs", "timeout", "scheduler", "retries", "pdf")
_DEFAULTS_KEYS = ("parameters",)
_JOB_KEYS = ("name", "notebook", "parameters", "timeout")


@dataclass
class Job:
    """One report: a notebook run with parameters into ``<output_dir>/<name>.html``, failed
    when it runs longer than ``timeout`` seconds."""

    name: str
    notebook: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT


@dataclass
class BatchConfig:
    """``reports.yml``, checked: its jobs, output folder, where the jobs run (``scheduler``:
    None for this machine's process pool, ``"local"`` or a Dask scheduler's address), and
    whether each report is also written as a PDF (``pdf``)."""

    path: Path
    output_dir: Path
    jobs: list[Job]
    scheduler: str | None = None
    retries: int = DEFAULT_RETRIES
    pdf: bool = False


def scheduler_problem(value: Any) -> str | None:
    """What is wrong with ``value`` as a Dask scheduler (None when nothing is): ``"local"``,
    or an address ``[protocol://]host:port`` with a protocol of :data:`SCHEDULER_PROTOCOLS`
    (the address is not contacted here)."""
    example = "'local' or a Dask scheduler's address such as tcp://10.0.0.5:8786"
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        return f"must be {example}, not {value!r}"
    if value == "local":
        return None
    protocol, sep, rest = value.partition("://")
    if not sep:
        protocol, rest = "tcp", value
    if protocol not in SCHEDULER_PROTOCOLS:
        return (
            f"{value!r}: protocol {protocol!r} is not one of {', '.join(SCHEDULER_PROTOCOLS)} "
            f"(e.g. tcp://10.0.0.5:8786)"
        )
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return f"{value!r} needs a host and a port, e.g. tcp://10.0.0.5:8786; or 'local'"
    return None


def retries_problem(value: Any) -> str | None:
    """What is wrong with ``value`` as a number of retries (None: a whole number >= 0)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        return f"must be a whole number of times, 0 or more, not {value!r}"
    return None


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
    try:
        body = ast.parse(cells[0].source).body
    except (SyntaxError, ValueError) as exc:
        raise ConfigError(f"{notebook}: the parameters cell is not valid Python ({exc})") from None
    names = set()
    for node in body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else ([node.target] if isinstance(node, ast.AnnAssign) else [])
        )
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _kind(value: Any) -> str:
    """How a refused value reads in a message."""
    import datetime

    if isinstance(value, datetime.date):
        return "a date (write it in quotes to pass it as text)"
    if isinstance(value, bytes | bytearray):
        return "binary data (a !!binary tag)"
    if isinstance(value, set | frozenset):
        return "a set (a !!set tag)"
    return f"a {type(value).__name__}"


class _Budget:
    """Counts the values checked, so that aliases cannot make the check endless."""

    def __init__(self) -> None:
        self.left = MAX_VALUES

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _TooLarge(f"holds more than {MAX_VALUES} values")


class _TooLarge(Exception):
    """reports.yml holds more values than :data:`MAX_VALUES`."""


def _plain(value: Any, budget: _Budget, path: tuple[int, ...] = ()) -> str | None:
    """Why ``value`` is not plain data (None when it is): str, int (|x| <= 2**53), finite
    float, bool, None, and lists and str-keyed dicts of them, without cycles."""
    budget.spend()
    if value is None or isinstance(value, bool | str):
        return None
    if isinstance(value, int):
        return None if abs(value) <= MAX_INT else f"a whole number beyond ±2**53 ({MAX_INT})"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value} (only finite numbers)"
    if isinstance(value, list | dict):
        if id(value) in path:
            return "a list or mapping that contains itself (a YAML alias)"
        inner = (*path, id(value))
        if isinstance(value, list):
            items = value
        else:
            keys = [k for k in value if not isinstance(k, str)]
            if keys:
                return f"a mapping with a key that is not text ({keys[0]!r})"
            items = list(value.values())
        for item in items:
            why = _plain(item, budget, inner)
            if why is not None:
                return why
        return None
    return _kind(value)


def _parameters(raw: Any, where: str, budget: _Budget) -> tuple[dict[str, Any] | None, list[str]]:
    """The parameters mapping ``raw`` (null: none), checked; and the problems found."""
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return None, [f"{where}: 'parameters' must be a mapping of name: value, not {_kind(raw)}"]
    problems = []
    for key, value in raw.items():
        if not isinstance(key, str):
            problems.append(f"{where}: parameter name {key!r} is not text")
            continue
        why = _plain(value, budget)
        if why is not None:
            problems.append(
                f"{where}: parameter {key!r} is {why}; only text, numbers, "
                "true/false, null and lists or mappings of them are allowed"
            )
    return (None if problems else raw), problems


def _timeout(raw: Any, where: str, default: float) -> tuple[float, list[str]]:
    if raw is None:
        return default, []
    if (
        isinstance(raw, bool)
        or not isinstance(raw, int | float)
        or not 0 < raw <= MAX_INT  # False for nan; before isfinite, which a huge int overflows
        or not math.isfinite(raw)
    ):
        return default, [f"{where}: 'timeout' must be a number of seconds above 0, not {raw!r}"]
    return float(raw), []


def _unknown(entry: dict, allowed: tuple[str, ...], where: str) -> list[str]:
    unknown = [repr(k) for k in entry if k not in allowed]
    if not unknown:
        return []
    return [f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(allowed)})"]


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML (nested too deeply)") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a number of 5,000 digits
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None


def load_config(path: str | Path) -> BatchConfig:
    """Read and check ``reports.yml``; paths are relative to its folder.

    Raises
    ------
    ConfigError
        Bad YAML, an unknown key, a value of the wrong type (a parameter that is not plain
        data, see the module's docstring), no jobs, a job without name or notebook, a
        duplicate or reserved name, a missing notebook, a parameter the notebook does not
        declare, a path parameter that is a URL, a timeout that is not a positive number,
        a ``scheduler`` that is not ``local`` or an address, ``retries`` that is not a
        whole number >= 0, or ``pdf`` that is not true or false.
    """
    path = Path(path)
    raw = _read(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("jobs"), list) or not raw["jobs"]:
        raise ConfigError(f"{path}: needs a non-empty list 'jobs'")
    base = path.parent.resolve()
    budget = _Budget()
    errors = _unknown(raw, _TOP_KEYS, "top level")

    output_dir = raw.get("output_dir", "reports")
    if not _is_path_text(output_dir):
        errors.append(f"output_dir must be a folder path (text), not {output_dir!r}")
        output_dir = "reports"
    timeout, problems = _timeout(raw.get("timeout"), "top level", DEFAULT_TIMEOUT)
    errors += problems
    scheduler = raw.get("scheduler")
    if scheduler is not None and (problem := scheduler_problem(scheduler)):
        errors.append(f"scheduler {problem}")
        scheduler = None
    retries = raw.get("retries")
    if retries is None:
        retries = DEFAULT_RETRIES
    if problem := retries_problem(retries):
        errors.append(f"retries {problem}")
        retries = DEFAULT_RETRIES
    pdf = raw.get("pdf")
    if pdf is None:
        pdf = False
    elif not isinstance(pdf, bool):
        errors.append(f"pdf must be true or false (write each report as a PDF too), not {pdf!r}")
        pdf = False

    jobs: list[Job] = []
    try:
        defaults = _defaults(raw.get("defaults"), budget, errors)
        seen: set[str] = set()
        for i, entry in enumerate(raw["jobs"], start=1):
            job = _job(i, entry, base, defaults, timeout, seen, budget, errors)
            if job is not None:
                jobs.append(job)
    except _TooLarge as exc:
        errors.append(str(exc))
    if errors:
        raise ConfigError(f"{path}: " + "; ".join(errors))
    return BatchConfig(path, base / output_dir, jobs, scheduler, retries, pdf)


def _defaults(raw: Any, budget: _Budget, errors: list[str]) -> dict[str, Any]:
    """The ``defaults`` section's parameters, with its problems added to ``errors``."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors.append(f"defaults must be a mapping (with 'parameters'), not {_kind(raw)}")
        return {}
    errors += _unknown(raw, _DEFAULTS_KEYS, "defaults")
    checked, problems = _parameters(raw.get("parameters"), "defaults", budget)
    errors += problems
    return checked or {}


def _is_path_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and "\0" not in value


def _exists(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, say
        return False


def _job(
    i: int,
    entry: Any,
    base: Path,
    defaults: dict[str, Any],
    timeout: float,
    seen: set[str],
    budget: _Budget,
    errors: list[str],
) -> Job | None:
    """Job ``i`` of reports.yml, or None with its problems added to ``errors``."""
    if not isinstance(entry, dict) or "name" not in entry or "notebook" not in entry:
        errors.append(f"job {i}: needs 'name' and 'notebook'")
        return None
    name = entry["name"]
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        errors.append(f"job {i}: name {name!r} must be text of letters, digits, - and _")
        return None
    if name in seen:
        errors.append(f"job {i}: name {name!r} is a duplicate")
        return None
    if name.lower() in RESERVED_NAMES:
        errors.append(
            f"job {name}: the name {name!r} is reserved for the site "
            f"({', '.join(sorted(RESERVED_NAMES))}); choose another"
        )
        return None
    seen.add(name)
    problems = _unknown(entry, _JOB_KEYS, f"job {name}")
    notebook_raw = entry["notebook"]
    if not _is_path_text(notebook_raw):
        problems.append(f"job {name}: notebook must be a file path (text), not {notebook_raw!r}")
    job_timeout, more = _timeout(entry.get("timeout"), f"job {name}", timeout)
    problems += more
    own, more = _parameters(entry.get("parameters"), f"job {name}", budget)
    problems += more
    if problems:
        errors += problems
        return None
    notebook = base / notebook_raw
    if not _exists(notebook):
        errors.append(f"job {name}: notebook {notebook_raw} not found")
        return None
    parameters = {**defaults, **own}
    try:
        declared = declared_parameters(notebook)
    except ConfigError as exc:
        errors.append(f"job {name}: {exc}")
        return None
    unknown = set(parameters) - declared
    # A data path the notebook declares but the job leaves out is its default, the demo:
    # say so, so that the job's inputs (and its cache key) name every file it reads.
    for key in PATH_PARAMETERS:
        if key in declared and key != "data_path":
            parameters.setdefault(key, None)
    if unknown:
        errors.append(
            f"job {name}: {notebook_raw} does not declare parameter(s) {', '.join(sorted(unknown))}"
        )
        return None
    for key in PATH_PARAMETERS:
        value = parameters.get(key)
        if value is None:
            continue
        if not _is_path_text(value):
            errors.append(f"job {name}: parameter {key!r} must be a file path (text) or null")
            return None
        if "://" in value:
            errors.append(
                f"job {name}: parameter {key!r} is a URL ({value}); pfps_stats reads files: "
                "copy the data to a folder, or mount the bucket (s3fs, gcsfuse) on every "
                "machine that runs jobs, and give its path"
            )
            return None
        try:
            parameters[key] = str((base / value).resolve())
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
            errors.append(f"job {name}: parameter {key!r}: {value} cannot be resolved ({exc})")
            return None
    return Job(name, notebook, parameters, job_timeout)


def data_file(parameters: dict[str, Any]) -> Path:
    """The data file a job reads: its ``data_path``, or the demo cohort when that is null."""
    path = parameters.get("data_path")
    return DEMO_COHORT if path is None else Path(path)


def data_files(parameters: dict[str, Any]) -> dict[str, Path]:
    """Every data file (or folder) a job reads, by provenance key: ``data_sha256`` (the
    cohort: ``data_path``, or the demo cohort unless the job reads a user's training log
    without a cohort), and ``log_sha256`` and ``injuries_sha256`` for jobs with ``log_path``
    and ``injuries_path`` (null: the demo log and injuries)."""
    demo = {"log_path": DEMO_TRAINING_LOG, "injuries_path": DEMO_INJURIES}
    files = {"data_sha256": data_file(parameters)}
    if parameters.get("log_path") is not None and parameters.get("data_path") is None:
        del files["data_sha256"]  # a user's log without a cohort: no cohort is read
    for key, default in demo.items():
        if key in parameters:
            value = parameters[key]
            files[_PROVENANCE_KEYS[key]] = default if value is None else Path(value)
    return files
