"""Run the report batch: read ``reports.yml``, execute each notebook with papermill, convert it
to HTML with nbconvert (code hidden), and write the site index and a manifest.

Jobs run in parallel worker processes, each kernel over IPC sockets (no TCP port). A job
whose inputs (data hash, notebook hash, parameters, package versions) are unchanged since its
last success is not re-run (status "cached"). Each job writes to a temporary file that
replaces its previous output only on success, so a failed or killed run never destroys the
last good report. A lock file keeps two runs of one output folder from overlapping.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._exceptions import ConfigError, LockedError
from . import provenance
from .config import BatchConfig, Job, data_file
from .site import render_index

EXIT_OK, EXIT_JOBS_FAILED, EXIT_CONFIG, EXIT_LOCKED = 0, 1, 2, 3


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


_EXTERNAL_SCRIPT = re.compile(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>\s*')


def _offline(body: str) -> str:
    """Drop the CDN scripts nbconvert's template adds (require.js, MathJax): the reports use
    neither, and must open on a machine without internet access."""
    return _EXTERNAL_SCRIPT.sub("", body)


def cache_key(job: Job, common: dict) -> str:
    """SHA-256 of everything a report depends on: data, notebook, parameters, package
    versions and pfps_stats's own source (which changes while its version number does not)."""
    inputs = {
        "data_sha256": provenance.sha256(data_file(job.parameters)),
        "notebook_sha256": provenance.sha256(job.notebook),
        "parameters": job.parameters,
        "versions": common["versions"],
        "package_sha256": common.get("package_sha256"),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def run_job(job: Job, output_dir: Path, common: dict) -> dict:
    """Execute one job; return its manifest record (status "success" or "failed")."""
    import shutil

    import nbformat
    import papermill
    from jupyter_client.manager import KernelManager
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
        "cache_key": cache_key(job, common),
    }
    prov = {
        "data_sha256": provenance.sha256(data_file(job.parameters)),
        "notebook_sha256": provenance.sha256(job.notebook),
        **common,
    }
    record["provenance"] = prov
    sockets = tempfile.mkdtemp(prefix="pfk-")  # short path: socket names are length-limited
    km = None
    try:
        with tempfile.TemporaryDirectory(dir=output_dir, prefix=".run-") as tmp:
            executed = Path(tmp) / f"{job.name}.ipynb"
            try:
                # IPC sockets in a private folder: the kernel listens on no TCP port.
                km = KernelManager(
                    kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "k")
                )
                papermill.execute_notebook(
                    str(job.notebook),
                    str(executed),
                    parameters=job.parameters,
                    kernel_name="python3",
                    km=km,
                    cwd=str(job.notebook.parent),
                    progress_bar=False,
                    log_output=False,
                )
                nb = nbformat.read(executed, as_version=4)
                body, _ = HTMLExporter(
                    exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
                ).from_notebook_node(nb)
                body = _offline(body).replace("</body>", _footer(prov) + "</body>")
                html_tmp = Path(tmp) / f"{job.name}.html"
                html_tmp.write_text(body, encoding="utf-8")
                os.replace(executed, output_dir / f"{job.name}.ipynb")
                os.replace(html_tmp, output_dir / f"{job.name}.html")
                record.update(status="success", output=f"{job.name}.html")
            except papermill.PapermillExecutionError as exc:
                record["error"] = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
            except Exception as exc:  # a job's failure must not stop the batch
                record["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if km is not None:  # we own the kernel manager: stop its kernel and close its sockets
            if km.has_kernel:
                km.shutdown_kernel(now=True)
            km.cleanup_resources()
            if km.context is not None:
                km.context.destroy(linger=0)
        shutil.rmtree(sockets, ignore_errors=True)
    if record["status"] != "success" and (output_dir / f"{job.name}.html").exists():
        record["output"] = f"{job.name}.html"  # the last good report, kept in place
        record["error"] += " (the report linked is the last successful one)"
    record["duration_s"] = round(time.perf_counter() - t0, 2)
    return record


@contextmanager
def _lock(output_dir: Path):
    """Hold ``output_dir/.lock`` for the run; raise LockedError if another run holds it."""
    handle = (output_dir / ".lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise LockedError(
            f"another report run is writing to {output_dir} (lock "
            f"{output_dir / '.lock'}); try again when it has finished"
        ) from None
    try:
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _previous(output_dir: Path) -> dict[str, dict]:
    try:
        manifest = json.loads((output_dir / "manifest.json").read_text(encoding="utf-8"))
        return {r["name"]: r for r in manifest.get("jobs", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def run_batch(
    config: BatchConfig,
    only: str | None = None,
    *,
    workers: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> tuple[int, list[dict]]:
    """Run the jobs of ``config`` (or just ``only``) and write index.html and manifest.json.

    Jobs whose inputs are unchanged since their last success are not re-run (status
    "cached") unless ``force``. Jobs run in ``workers`` processes (default: the cores).
    Every line of progress also goes to ``reports/logs/run-<time>.log``.

    Returns
    -------
    exit_code : int
        0 when every job succeeded (or was cached), 1 when any failed.
    records : list of dict
        The manifest records of every job of the config (jobs not run keep their record).

    Raises
    ------
    LockedError
        When another run holds the output folder's lock.
    """
    selected = [j for j in config.jobs if only is None or j.name == only]
    if not selected:
        raise ConfigError(f"no job named {only!r}; jobs: {', '.join(j.name for j in config.jobs)}")
    out = config.output_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "logs").mkdir(exist_ok=True)
    common = {
        "versions": provenance.package_versions(),
        "package_sha256": provenance.package_source_sha256(),
        "git_commit": provenance.git_commit(config.path.parent),
        "python": provenance.python_version(),
    }
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with _lock(out), (out / "logs" / f"run-{stamp}.log").open("a", encoding="utf-8") as log:

        def say(text: str) -> None:
            log.write(f"{datetime.now(UTC).isoformat(timespec='seconds')} {text}\n")
            log.flush()

        previous = _previous(out)
        records: dict[str, dict] = {}
        to_run = []
        for job in selected:
            before = previous.get(job.name)
            if (
                not force
                and before
                and before.get("status") in ("success", "cached")
                and before.get("cache_key") == cache_key(job, common)
                and (out / f"{job.name}.html").exists()
            ):
                records[job.name] = {**before, "status": "cached", "duration_s": 0.0, "error": None}
                say(f"cached   {job.name}")
            else:
                to_run.append(job)
        workers = max(1, min(workers or os.cpu_count() or 1, len(to_run) or 1))
        say(
            f"running {len(to_run)} job(s) in {workers} worker(s); "
            f"{len(selected) - len(to_run)} cached"
        )
        bar = None
        if progress and to_run:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(to_run), desc="reports", unit="job")
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(run_job, job, out, common): job for job in to_run}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    record = future.result()
                except Exception as exc:  # the worker itself died
                    record = {
                        "name": job.name,
                        "notebook": job.notebook.name,
                        "parameters": job.parameters,
                        "status": "failed",
                        "output": None,
                        "duration_s": None,
                        "error": f"worker failed: {type(exc).__name__}: {exc}",
                    }
                records[job.name] = record
                line = f"{record['status']:<8} {job.name} ({record['duration_s'] or 0:.1f} s)" + (
                    f" {record['error']}" if record["error"] else ""
                )
                say(line)
                if bar is not None:
                    bar.update(1)
                    bar.write(line)
                else:
                    print(line, flush=True)
        if bar is not None:
            bar.close()
        ordered = [records.get(j.name) or previous.get(j.name) for j in config.jobs]
        ordered = [r for r in ordered if r is not None]
        manifest = {
            "config": str(config.path),
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            **common,
            "jobs": ordered,
        }
        _write_atomic(json.dumps(manifest, indent=2, default=str), out / "manifest.json")
        _write_atomic(render_index(ordered, common), out / "index.html")
        failed = [r["name"] for r in records.values() if r["status"] == "failed"]
        say(f"done: {len(records) - len(failed)} ok, {len(failed)} failed")
    return (EXIT_JOBS_FAILED if failed else EXIT_OK), list(records.values())
