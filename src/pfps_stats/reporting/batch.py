"""Run the report batch: read ``reports.yml``, execute each notebook with papermill, convert it
to HTML with nbconvert (code hidden), and write the site index and a manifest.

Each job writes to a temporary file that replaces its previous output only on success, so a
failed or killed run never destroys the last good report. Jobs run one after another here;
parallel workers and caching are planned in a later issue.
"""

from __future__ import annotations

import ast
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from . import provenance
from .site import render_index

EXIT_OK, EXIT_JOBS_FAILED, EXIT_CONFIG = 0, 1, 2


class ConfigError(ValueError):
    """``reports.yml`` is invalid; nothing was run."""


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
    path_parameters: tuple[str, ...] = ("data_path",)


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
        for key in ("data_path",):
            if isinstance(parameters.get(key), str):
                parameters[key] = str((base / parameters[key]).resolve())
        jobs.append(Job(name, notebook, parameters))
    if errors:
        raise ConfigError(f"{path}: " + "; ".join(errors))
    return BatchConfig(path, output_dir, jobs)


def _write_atomic(text: str, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _footer(prov: dict) -> str:
    import html

    items = " · ".join(f"{html.escape(k)}: {html.escape(str(v))}" for k, v in prov.items())
    return (
        f'<footer style="margin:2em;color:#666;font-size:.8em;font-family:sans-serif">'
        f"Provenance · {items}</footer>"
    )


def run_job(job: Job, output_dir: Path, common: dict) -> dict:
    """Execute one job; return its manifest record (status "success" or "failed")."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    record: dict[str, Any] = {
        "name": job.name,
        "notebook": str(job.notebook.name),
        "parameters": job.parameters,
        "output": None,
        "status": "failed",
        "started": started.isoformat(timespec="seconds"),
        "duration_s": None,
        "error": None,
    }
    prov = {
        "data_sha256": provenance.sha256(job.parameters.get("data_path", "")),
        "notebook_sha256": provenance.sha256(job.notebook),
        **common,
    }
    record["provenance"] = prov
    with tempfile.TemporaryDirectory(dir=output_dir, prefix=".run-") as tmp:
        executed = Path(tmp) / f"{job.name}.ipynb"
        try:
            papermill.execute_notebook(
                str(job.notebook),
                str(executed),
                parameters=job.parameters,
                kernel_name="python3",
                cwd=str(job.notebook.parent),
                progress_bar=False,
                log_output=False,
            )
            nb = nbformat.read(executed, as_version=4)
            body, _ = HTMLExporter(
                exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
            ).from_notebook_node(nb)
            body = body.replace("</body>", _footer(prov) + "</body>")
            html_tmp = Path(tmp) / f"{job.name}.html"
            html_tmp.write_text(body, encoding="utf-8")
            os.replace(executed, output_dir / f"{job.name}.ipynb")
            os.replace(html_tmp, output_dir / f"{job.name}.html")
            record.update(status="success", output=f"{job.name}.html")
        except papermill.PapermillExecutionError as exc:
            record["error"] = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
        except Exception as exc:  # a job's failure must not stop the batch
            record["error"] = f"{type(exc).__name__}: {exc}"
    if record["status"] != "success" and (output_dir / f"{job.name}.html").exists():
        record["output"] = f"{job.name}.html"  # the last good report, kept in place
        record["error"] += " (the report linked is the last successful one)"
    record["duration_s"] = round(time.perf_counter() - t0, 2)
    return record


def run_batch(config: BatchConfig, only: str | None = None) -> tuple[int, list[dict]]:
    """Run the jobs of ``config`` (or just ``only``), write index.html and manifest.json.

    Returns
    -------
    exit_code : int
        0 when every job succeeded, 1 when any failed.
    records : list of dict
        The manifest records.
    """
    jobs = [j for j in config.jobs if only is None or j.name == only]
    if not jobs:
        raise ConfigError(f"no job named {only!r}; jobs: {', '.join(j.name for j in config.jobs)}")
    config.output_dir.mkdir(parents=True, exist_ok=True)
    common = {
        "versions": provenance.package_versions(),
        "git_commit": provenance.git_commit(config.path.parent),
        "python": provenance.python_version(),
    }
    records = []
    for job in jobs:
        record = run_job(job, config.output_dir, common)
        print(
            f"{record['status']:>8}  {job.name}  ({record['duration_s']:.1f} s)"
            + (f"  {record['error']}" if record["error"] else ""),
            flush=True,
        )
        records.append(record)
    manifest = {
        "config": str(config.path),
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        **common,
        "jobs": records,
    }
    _write_atomic(json.dumps(manifest, indent=2, default=str), config.output_dir / "manifest.json")
    _write_atomic(render_index(records, common), config.output_dir / "index.html")
    failed = sum(r["status"] != "success" for r in records)
    return (EXIT_JOBS_FAILED if failed else EXIT_OK), records
