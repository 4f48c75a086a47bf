"""Run the report batch: read ``reports.yml``, execute each notebook with papermill, convert it
to HTML with nbconvert (code hidden), and write the site index and a manifest.

Jobs run in parallel worker processes, each kernel over IPC sockets (its one TCP socket is
ipykernel's pipe for output of subprocesses, on 127.0.0.1); or, with a scheduler, as tasks
on a Dask cluster (:mod:`pfps_stats.batch.dask_executor`), whose workers run the same code
(:func:`render_job`) and return what they rendered for this process to write. A job whose inputs (data hash,
notebook hash, parameters, package versions and files) are unchanged since its last success is
not re-run (status "cached"). Each job writes to a temporary file that replaces its previous
output only on success, so a failed or killed run never destroys the last good report.

This process makes the site (:mod:`pfps_stats.batch.site`): each report gets a header
(the index, the same analysis for the other subgroups, its PDF, its contents), the index shows
each report's headline numbers (its notebook's summary record), when it last changed and what
changed since the last run (each record keeps the SHA-256 of its inputs). Nothing written holds
a server path: parameters are shown relative to ``reports.yml``'s folder, notebooks get their
data paths relative to their own folder, papermill's record of parameters and paths shows
a file outside the project by its name, and the executed notebooks' outputs (where the job
runs, on a Dask worker too), errors and log lines are scrubbed (:class:`Scrubber`).

What keeps a nightly run from stopping for good:

- a job fails when it runs longer than its ``timeout`` (nbclient's per-cell timeout, given the
  time the job has left), or when its kernel dies (nbclient watches the kernel's process);
- workers come from multiprocessing's fork server (a process started by exec), so they never
  share the lock's open file with the runner; they ignore Ctrl-C (the runner stops them), and
  stop when told (SIGTERM) or when the runner is gone, shutting their kernel down and
  removing their temporary folders on the way out;
- the runner turns SIGTERM and SIGHUP into SystemExit, so its finally blocks stop the workers
  and remove temporary files; a run that finds ``.run-*`` folders left by a killed run
  removes them;
- the lock (``flock`` on ``.lock``, which holds the runner's pid) is taken over, with a log
  line, when the pid in it is dead while some leftover process still holds the file.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._exceptions import ConfigError, LockedError
from . import provenance
from .config import (
    PATH_PARAMETERS,
    BatchConfig,
    Job,
    data_files,
    retries_problem,
    scheduler_problem,
)
from .site import add_navigation, render_index

EXIT_OK, EXIT_JOBS_FAILED, EXIT_CONFIG, EXIT_LOCKED = 0, 1, 2, 3

#: Seconds the runner gives its workers to stop their kernels before it kills them.
STOP_GRACE_S = 10.0

#: Run in each kernel before the notebook: warnings show as report notebooks show them,
#: ``"Category: message"``, without the file, line and source of the code that warned (a path
#: on the server), in every notebook and before its first cell. Paths in the message are left
#: to the runner's :class:`Scrubber`, which knows the project's folders (even with spaces in
#: their names); a notebook that calls ``setup_report`` has ``quiet_warnings`` instead.
KERNEL_SETUP = """\
def _pfps_showwarning(message, category, filename, lineno, file=None, line=None):
    import sys
    stream = sys.stderr if file is None else file
    stream.write(f"{category.__name__}: {message}\\n")
__import__("warnings").showwarning = _pfps_showwarning
del _pfps_showwarning
"""


def _unwritable(folder: Path, exc: OSError) -> ConfigError:
    reason = exc.strerror or str(exc)
    return ConfigError(
        f"cannot write to the output folder {folder} ({reason}): check that it can be "
        "created and written to and that its disk has free space (output_dir in reports.yml)"
    )


@contextmanager
def _writing(folder: Path):
    """Turn a failure to write into ``folder`` (read-only, full disk, ...) into ConfigError."""
    try:
        yield
    except OSError as exc:
        raise _unwritable(folder, exc) from None


def _write_atomic(text: str, target: Path) -> None:
    """Write ``text`` to a temporary file beside ``target``, then rename it over ``target``.

    The file is created as ``open`` would create it (0666 less the umask, like the reports),
    not with mkstemp's 0600.
    """
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _shown(value: Any) -> str:
    """A provenance value as one line of text (mappings as ``key: value; ...``)."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_shown(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value)
    return str(value)


def _footer(prov: dict) -> str:
    """The report's provenance, as an expandable table at its end."""
    import html

    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_shown(v))}</td></tr>"
        for k, v in prov.items()
    )
    return (
        '<footer class="pfps-provenance" style="margin:2em;color:#555;font-size:.8em;'
        'font-family:sans-serif;overflow-wrap:anywhere"><details><summary>Provenance</summary>'
        f'<table style="border-collapse:collapse;text-align:left">{rows}</table></details>'
        "</footer>"
    )


_EXTERNAL_SCRIPT = re.compile(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>\s*')


def _offline(body: str) -> str:
    """Drop the CDN scripts nbconvert's template adds (require.js, MathJax): the reports use
    neither, and must open on a machine without internet access."""
    return _EXTERNAL_SCRIPT.sub("", body)


def cache_key(job: Job, common: dict, inputs: dict | None = None) -> str:
    """SHA-256 of everything a report depends on: data, notebook, parameters, package
    versions and pfps_stats's own source (which changes while its version number does not).
    ``inputs`` (:func:`job_inputs`) spares hashing the files again."""
    if inputs is None:
        files = {key: provenance.sha256(path) for key, path in data_files(job.parameters).items()}
        notebook = provenance.sha256(job.notebook)
    else:
        files = {key: inputs[key] for key in data_files(job.parameters)}
        notebook = inputs["notebook_sha256"]
    key_inputs = {
        **files,
        "notebook_sha256": notebook,
        "parameters": job.parameters,
        "versions": common["versions"],
        "package_sha256": common.get("package_sha256"),
    }
    return hashlib.sha256(json.dumps(key_inputs, sort_keys=True, default=str).encode()).hexdigest()


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def job_inputs(job: Job, common: dict, shown_parameters: dict | None = None) -> dict:
    """The SHA-256 of each input of a job, stored in its record as ``inputs`` so that the next
    run can say which one changed: its data files (``data_sha256``, ``log_sha256``,
    ``injuries_sha256``), ``notebook_sha256``, ``parameters_sha256`` (of the parameters as
    shown, paths relative to the project), ``versions_sha256`` (the packages' versions) and
    ``package_sha256`` (pfps_stats's source)."""
    return {
        **{key: provenance.sha256(path) for key, path in data_files(job.parameters).items()},
        "notebook_sha256": provenance.sha256(job.notebook),
        "parameters_sha256": _digest(
            job.parameters if shown_parameters is None else shown_parameters
        ),
        "versions_sha256": _digest(common["versions"]),
        "package_sha256": common.get("package_sha256"),
    }


#: What changed, by the keys of :func:`job_inputs` (data files are every other key).
_INPUT_KINDS = {
    "notebook_sha256": "notebook",
    "parameters_sha256": "parameters",
    "versions_sha256": "versions",
    "package_sha256": "versions",
}


def changed_inputs(before: Any, now: dict) -> list[str]:
    """Which inputs differ between two :func:`job_inputs`: some of "data", "notebook",
    "parameters", "versions" (in that order); [] when ``before`` is not such a record."""
    if not isinstance(before, dict):
        return []
    kinds = set()
    for key in set(before) | set(now):
        if before.get(key) != now.get(key):
            kinds.add(_INPUT_KINDS.get(key, "data"))
    return [k for k in ("data", "notebook", "parameters", "versions") if k in kinds]


def _relative(path: str | Path, folder: Path) -> str:
    """``path`` relative to ``folder`` (with ``..`` when outside it), in / form."""
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(folder))).as_posix()


def notebook_parameters(job: Job) -> dict:
    """The parameters given to the job's notebook: its path parameters relative to the
    notebook's folder (where papermill runs it), so that the executed notebook holds no
    absolute path."""
    parameters = dict(job.parameters)
    for key in PATH_PARAMETERS:
        if isinstance(parameters.get(key), str):
            parameters[key] = _relative(parameters[key], job.notebook.parent)
    return parameters


def _is_named_path(key: str, value: Any) -> bool:
    """Whether parameter ``key`` names a file: a path parameter, or text that is an absolute
    path of two names or more (whether it exists or not: a file a job writes exists only
    after its first run, and a Dask worker may see files this machine does not)."""
    if not isinstance(value, str) or not value:
        return False
    if key in PATH_PARAMETERS:
        return True
    return os.path.isabs(value) and "\n" not in value and len(Path(value).parts) >= 3


def shown_parameters(job: Job, project: Path) -> dict:
    """The parameters as the manifest and the index show them: path parameters (and any text
    parameter that is an absolute path) relative to the project (``reports.yml``'s
    folder); a file outside it by its name (its SHA-256 is in the record's provenance)."""
    parameters = dict(job.parameters)
    for key, value in parameters.items():
        if _is_named_path(key, value):
            relative = _relative(value, project)
            parameters[key] = Path(value).name if relative.startswith("..") else relative
    return parameters


def stored_parameters(job: Job, project: Path | None) -> dict:
    """The parameters as the executed notebook records them (its injected cell and
    ``metadata.papermill.parameters``): as given to it (:func:`notebook_parameters`), but a
    path outside the project (all paths, when ``project`` is None) by its name, and other
    text that is an absolute path as a path parameter would be."""
    given = notebook_parameters(job)
    for key, value in job.parameters.items():
        if not _is_named_path(key, value):
            continue
        inside = project is not None and not _relative(value, project).startswith("..")
        given[key] = _relative(value, job.notebook.parent) if inside else Path(value).name
    return given


def _install_paths() -> list[tuple[Path, str]]:
    import sysconfig

    found = [(provenance.PACKAGE_ROOT, "pfps_stats")]
    paths = sysconfig.get_paths()
    for key, shown in (
        ("purelib", "site-packages"),
        ("platlib", "site-packages"),
        ("stdlib", "stdlib"),
    ):
        if paths.get(key):
            found.append((Path(paths[key]), shown))
    return found


#: Folders of this installation, and how errors show them.
_INSTALL_PATHS = _install_paths()


#: Characters of one name of a path the general rule (:class:`Scrubber`) cuts: no space, no
#: separator, quote, bracket or markup character.
_NAME = r"[^\s/:'\"()<>\[\]{},;|`\\\x1b]+"

#: What may not come right before an absolute path: a name's character (``kg/m``, ``0/1``,
#: ``03/04/2025``, ``./data``, ``~/x``), a slash or colon (``https://doi.org/...``), ``<``
#: (``</td>``), or base64's ``+`` and ``=`` (an embedded figure).
_NOT_AFTER = r"(?<![\w.~/:<>+=\\-])"

#: An ANSI colour code, which tracebacks put right before a path.
_ANSI = re.compile(r"(\x1b\[[0-9;]*[A-Za-z])")


def _last_name(path: str) -> str:
    """The last name of a path (``/a/b/c.csv`` -> ``c.csv``; ``/a/b/`` -> ``b``)."""
    return path.rstrip("/").rsplit("/", 1)[-1] or path


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and not _relative(path, folder).startswith("..")


def named_paths(job: Job) -> list[str]:
    """The absolute paths a job's parameters name: its path parameters, and any other text
    parameter that is an absolute path (:func:`_is_named_path`)."""
    return [
        os.path.abspath(os.path.join(job.notebook.parent, value))
        for key, value in job.parameters.items()
        if _is_named_path(key, value)
    ]


class Scrubber:
    """Takes server paths out of text written to the site: the output folder becomes its name
    relative to the project, the project folder ".", the user's home "~", pfps_stats's
    folder "pfps_stats" and Python's library folders "site-packages" and "stdlib"; a file or
    folder of ``paths`` outside the project (a job's data) becomes its name, also as written
    relative to a folder of ``folders`` (the notebooks'). Any absolute path left (two names or
    more; a name with a space only within a folder of ``paths``) is cut to its last name:
    URLs, units (``kg/m²``), ratios and dates are left as they are.

    ``project`` and ``output_dir`` may be None (unknown, as on a Dask worker given no site)."""

    def __init__(
        self,
        project: Path | None,
        output_dir: Path | None,
        paths: Any = (),
        folders: Any = (),
    ):
        project = None if project is None else Path(project)
        output_dir = None if output_dir is None else Path(output_dir)
        pairs: dict[str, str] = {}
        places: list[tuple[Path, str]] = []
        if output_dir is not None:
            relative = _relative(output_dir, project) if project is not None else ".."
            places.append((output_dir, output_dir.name if relative.startswith("..") else relative))
        if project is not None:
            places.append((project, "."))
        known: set[str] = set()
        for value in paths:
            path = Path(os.path.abspath(value))
            if _inside(path, project) or _inside(_resolved(path), project):
                continue
            places.append((path, path.name or str(path)))
            known.update({str(path.parent), str(_resolved(path).parent)})
            for folder in folders:
                pairs.setdefault(_relative(path, folder), path.name)
        for path, shown in places:
            for form in (str(path), os.path.abspath(path), str(_resolved(path))):
                pairs.setdefault(form, shown)
        # where Python and pfps_stats are installed: tracebacks and warnings name them
        for path, shown in _INSTALL_PATHS:
            for form in (str(path), str(_resolved(path))):
                pairs.setdefault(form, shown)
        home = os.path.expanduser("~")
        if home not in ("", "/", "~"):
            for form in (home, str(_resolved(Path(home)))):
                pairs.setdefault(form, "~")
        forms = sorted((f for f in pairs if len(f) > 1 and f != "."), key=len, reverse=True)
        self._pairs = pairs
        # a path ends where a name's characters end: /tmp/x is not taken out of /tmp/xy
        alternatives = [f"(?:{re.escape(f)})(?![\\w.-])" for f in forms]
        folders_with_spaces = sorted((k for k in known if " " in k), key=len, reverse=True)
        prefix = "".join(f"{re.escape(k)}(?=/)|" for k in folders_with_spaces)
        general = f"{_NOT_AFTER}(?:(?:{prefix}/{_NAME})(?:/{_NAME})+/?)"
        self._pattern = re.compile("|".join([*alternatives, f"(?P<general>{general})"]))

    def _one(self, match: re.Match) -> str:
        if match.group("general") is not None:
            return _last_name(match.group(0))
        return self._pairs[match.group(0)]

    def __call__(self, text: str) -> str:
        if not isinstance(text, str) or "/" not in text:
            return text
        if "\x1b" in text:  # a colour code is no name's character: each part on its own
            return "".join(
                part if _ANSI.fullmatch(part) else self._pattern.sub(self._one, part)
                for part in _ANSI.split(text)
            )
        return self._pattern.sub(self._one, text)

    def tree(self, value: Any) -> Any:
        """``value`` with every text in it (in lists and dicts too) scrubbed."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.tree(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.tree(v) for v in value]
        return value

    @classmethod
    def for_jobs(cls, project: Path | None, output_dir: Path | None, jobs: Any) -> Scrubber:
        """The scrubber of a site whose jobs are ``jobs``: it knows the paths they name
        (:func:`named_paths`), as absolute and as given to their notebooks."""
        jobs = list(jobs)
        paths = [p for job in jobs for p in named_paths(job)]
        folders = {job.notebook.parent for job in jobs}
        return cls(project, output_dir, paths, sorted(folders))


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path


def _seconds(value: float) -> str:
    return f"{value:g}"


def _stop_kernel(km: Any) -> None:
    """Shut the kernel down (kill it) and remove its connection file and sockets."""
    from jupyter_core.utils import run_sync

    try:
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
        else:
            run_sync(km.cleanup_resources)()
    except Exception as exc:  # the kernel also exits when its worker does (its parent poller)
        print(f"pfps-stats: could not shut a kernel down: {exc!r}", file=sys.stderr)
    finally:
        if km.context is not None:
            km.context.destroy(linger=0)


#: Longest folder path that kernel sockets may go under: a Unix socket's path has at most
#: 107 bytes, and the socket folder's name and the kernel's add about 20 to it.
_MAX_SOCKET_DIR = 70


def _execute(
    job: Job,
    common: dict,
    scratch: Path,
    deliver: Callable[[Path, Path], None],
    sockets_in: Path | None = None,
) -> dict:
    """Execute one job in a temporary folder under ``scratch``; on success, hand the executed
    notebook and its HTML (two files in that folder) to ``deliver`` before the folder goes.
    The kernel's sockets go in a temporary folder under ``sockets_in`` (default: the system's
    temporary folder).

    Returns the job's manifest record: status "success", or "failed" with the error (a cell
    that raised, the job's timeout, a dead kernel, or ``deliver`` failing), and the time taken.
    """
    import nbformat
    import papermill
    from jupyter_client.manager import AsyncKernelManager
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbconvert import HTMLExporter

    from ..report import notebook_summary

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    deadline = time.monotonic() + job.timeout
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
        "summary": None,
    }
    prov = {
        **{key: provenance.sha256(path) for key, path in data_files(job.parameters).items()},
        "notebook_sha256": provenance.sha256(job.notebook),
        **_shared(common),
    }
    record["provenance"] = prov
    sockets = tempfile.mkdtemp(prefix="pfk-", dir=sockets_in)  # short: names are length-limited
    km = None
    try:
        with tempfile.TemporaryDirectory(dir=scratch, prefix=".run-") as tmp:
            executed = Path(tmp) / f"{job.name}.ipynb"
            try:
                # IPC sockets in a private folder: the kernel listens on no TCP port but
                # ipykernel's loopback pipe. The asynchronous manager is the one nbclient
                # expects: with it, nbclient notices a dead kernel and enforces the timeout
                # (a blocking client waits for output forever).
                km = AsyncKernelManager(
                    kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "k")
                )
                papermill.execute_notebook(
                    str(job.notebook),
                    str(executed),
                    parameters=notebook_parameters(job),
                    kernel_name="python3",
                    km=km,
                    cwd=str(job.notebook.parent),
                    progress_bar=False,
                    log_output=False,
                    execution_timeout=math.ceil(job.timeout),
                    # each cell may use what is left of the job's time (nbclient's hook)
                    timeout_func=lambda cell: max(deadline - time.monotonic(), 0.1),
                    extra_arguments=[f"--IPKernelApp.exec_lines={KERNEL_SETUP}"],
                )
                nb = nbformat.read(executed, as_version=4)
                _forget_paths(nb, job)
                scrub = _scrub_notebook(nb, job, common)
                nbformat.write(nb, executed)
                for key, value in provenance.notebook_provenance(nb).items():
                    prov.setdefault(key, value)  # the runner's own entries stay as they are
                record["summary"] = notebook_summary(nb)
                body, _ = HTMLExporter(
                    exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
                ).from_notebook_node(nb, resources={"metadata": {"name": job.name}})
                footer = _footer(scrub.tree(prov))
                body = _offline(body).replace("</body>", footer + "</body>")
                html_tmp = Path(tmp) / f"{job.name}.html"
                html_tmp.write_text(body, encoding="utf-8")
                deliver(executed, html_tmp)
                record.update(status="success", output=f"{job.name}.html")
            except papermill.PapermillExecutionError as exc:
                record["error"] = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
            except CellTimeoutError:
                record["error"] = (
                    f"timed out: still running after {_seconds(job.timeout)} s, the job's "
                    "timeout (reports.yml 'timeout')"
                )
            except DeadKernelError:
                record["error"] = (
                    "kernel died: the notebook's Python process ended during a cell "
                    "(a crash, os._exit, or out of memory)"
                )
            except Exception as exc:  # a job's failure must not stop the batch
                record["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if km is not None:  # we own the kernel manager: stop its kernel and close its sockets
            _stop_kernel(km)
        shutil.rmtree(sockets, ignore_errors=True)
    record["duration_s"] = round(time.perf_counter() - t0, 2)
    return record


#: Key of ``common`` (:func:`common_provenance`) under which :func:`run_batch` tells each job
#: (in this process or on a Dask worker) the project and output folders, for its
#: :class:`Scrubber`; never shown (:func:`_shared`).
_PLACES = "_places"


def _shared(common: dict) -> dict:
    """``common`` as shown in provenance and the manifest: without :data:`_PLACES`."""
    return {k: v for k, v in common.items() if k != _PLACES}


def _job_scrubber(job: Job, common: dict) -> Scrubber:
    """The scrubber of one job's notebook, built where the job runs: from the project and
    output folders :func:`run_batch` put in ``common`` (none when run on its own) and the
    paths the job names."""
    places = common.get(_PLACES) or {}
    project, output = places.get("project"), places.get("output_dir")
    return Scrubber.for_jobs(
        None if project is None else Path(project),
        None if output is None else Path(output),
        [job],
    )


#: The text of a code cell's outputs that is scrubbed (figures and JSON are left alone).
_SCRUBBED_DATA = ("text/plain", "text/html", "text/markdown")


def _scrub_notebook(nb: Any, job: Job, common: dict) -> Scrubber:
    """Take server paths out of an executed notebook, in place: every code cell's output
    text (streams, text, HTML and markdown data, errors and their tracebacks), and the
    parameters papermill recorded (the injected cell and ``metadata.papermill.parameters``),
    shown as :func:`stored_parameters` gives them. Returns the job's scrubber."""
    from papermill.translators import translate_parameters

    scrub = _job_scrubber(job, common)
    places = common.get(_PLACES) or {}
    project = places.get("project")
    shown = stored_parameters(job, None if project is None else Path(project))
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
            language = nb.metadata.get("kernelspec", {}).get("language", "python")
            cell.source = scrub(translate_parameters(kernel, language, shown, "Parameters"))
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = scrub.tree(output["text"])
            data = output.get("data", {})
            for mime in _SCRUBBED_DATA:
                if mime in data:
                    data[mime] = scrub.tree(data[mime])
            for key in ("evalue", "traceback"):
                if key in output:
                    output[key] = scrub.tree(output[key])
    meta = nb.metadata.get("papermill")
    if isinstance(meta, dict):
        if "parameters" in meta:
            meta["parameters"] = shown
        nb.metadata["papermill"] = scrub.tree(meta)
    return scrub


def _forget_paths(nb: Any, job: Job) -> None:
    """Take the server's paths out of what papermill records in an executed notebook
    (``metadata.papermill``: the input and output notebooks' paths): file names remain."""
    meta = nb.metadata.get("papermill")
    if not isinstance(meta, dict):
        return
    if "input_path" in meta:
        meta["input_path"] = job.notebook.name
    if "output_path" in meta:
        meta["output_path"] = f"{job.name}.ipynb"
    for key in ("cwd", "working_directory"):
        if key in meta:
            meta[key] = "."


def _keep_last_good(record: dict, output_dir: Path) -> dict:
    """A failed job's record links the job's last good report when there is one; returns
    ``record``."""
    if record["status"] != "success" and (output_dir / f"{record['name']}.html").exists():
        record["output"] = f"{record['name']}.html"  # the last good report, kept in place
        record["error"] += " (the report linked is the last successful one)"
    return record


def run_job(job: Job, output_dir: Path, common: dict) -> dict:
    """Execute one job into ``output_dir``; return its manifest record (status "success" or
    "failed").

    The job fails when a cell raises, when it runs longer than ``job.timeout`` seconds, or
    when its kernel dies. Its executed notebook and HTML are written in a temporary folder in
    ``output_dir``, then renamed over the previous ones: a failed job leaves them in place.
    """

    def deliver(executed: Path, html: Path) -> None:
        os.replace(executed, output_dir / f"{job.name}.ipynb")
        os.replace(html, output_dir / f"{job.name}.html")

    return _keep_last_good(_execute(job, common, output_dir, deliver), output_dir)


def render_job(job: Job, common: dict, scratch: Path) -> tuple[dict, dict[str, str] | None]:
    """Execute one job in a temporary folder under ``scratch`` and return what it rendered,
    for another process to write (:func:`write_rendered`): a Dask worker runs this.

    Returns
    -------
    record : dict
        The manifest record, as :func:`run_job` returns it (the last good report is not
        looked for: the output folder may be on another machine).
    rendered : dict or None
        The executed notebook and the HTML report as text (keys ``"ipynb"``, ``"html"``);
        None when the job failed.
    """
    rendered: dict[str, str] = {}
    # the kernel's sockets beside the run's folder when the path is short enough, so that
    # whoever removes ``scratch`` after a killed worker (Dask does) removes them too
    sockets_in = scratch if len(str(scratch)) <= _MAX_SOCKET_DIR else None

    def deliver(executed: Path, html: Path) -> None:
        # bytes decoded as they are: no newline translation, so what is written is what
        # papermill and nbconvert wrote
        rendered["ipynb"] = executed.read_bytes().decode("utf-8")
        rendered["html"] = html.read_bytes().decode("utf-8")

    record = _execute(job, common, scratch, deliver, sockets_in)
    return record, (rendered if record["status"] == "success" else None)


def write_rendered(record: dict, rendered: dict[str, str] | None, output_dir: Path) -> dict:
    """Write what :func:`render_job` rendered into ``output_dir``, each file to a temporary
    file renamed over the previous one (as :func:`run_job` does); return the record, failed
    when a file could not be written, and linking the last good report of a failed job."""
    if rendered is not None:
        try:
            _write_atomic(rendered["ipynb"], output_dir / f"{record['name']}.ipynb")
            _write_atomic(rendered["html"], output_dir / f"{record['name']}.html")
        except OSError as exc:
            record.update(status="failed", output=None, error=f"{type(exc).__name__}: {exc}")
    return _keep_last_good(record, output_dir)


def failed_record(job: Job, error: str, output_dir: Path) -> dict:
    """The record of a job that ended without a record of its own (its worker died)."""
    record = {
        "name": job.name,
        "notebook": job.notebook.name,
        "parameters": job.parameters,
        "status": "failed",
        "output": None,
        "duration_s": None,
        "error": error,
    }
    return _keep_last_good(record, output_dir)


# -- worker processes --------------------------------------------------------------------------


class _Stopped(SystemExit):
    """A worker was told to stop: SIGTERM from the runner, or the runner is gone."""


def _stop_worker(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: let the cleanup finish
    raise _Stopped(128 + signum)


def _watch_runner() -> None:
    """Stop this worker when its runner has ended (killed with SIGKILL, say), as nothing would
    read its results: multiprocessing's parent sentinel becomes ready when the runner ends."""
    runner = multiprocessing.parent_process()
    if runner is not None:
        runner.join()
        os.kill(os.getpid(), signal.SIGTERM)


def _worker_init() -> None:
    """Set up a worker: Ctrl-C is the runner's to handle; SIGTERM unwinds the running job
    (its finally blocks stop the kernel and remove temporary folders) and ends the worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)
    threading.Thread(target=_watch_runner, name="watch-runner", daemon=True).start()


#: Imported once by the fork server, before it forks the workers.
_PRELOAD = [__name__, "papermill", "nbconvert", "nbclient", "jupyter_client"]


def _context() -> Any:
    """Workers come from multiprocessing's fork server: a clean process started by exec, which
    shares no open file with the runner (the lock above all), with the modules a job needs
    already imported."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def _run_in_worker(job: Job, output_dir: Path, common: dict) -> dict:
    try:
        return run_job(job, output_dir, common)
    except _Stopped as stop:
        # run_job's finally blocks have run; end the worker rather than take the next job
        os._exit(stop.code)


def _stop_workers(pool: ProcessPoolExecutor, workers: list) -> None:
    """Stop the pool now: SIGTERM to each worker (it stops its kernel and removes its temporary
    folders), SIGKILL to any still running after :data:`STOP_GRACE_S`."""
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        process.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for process in workers:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in workers:
        if process.is_alive():
            process.kill()
            process.join(5)


@contextmanager
def _stop_on_signals():
    """In the runner, SIGTERM and SIGHUP raise SystemExit (as Ctrl-C raises KeyboardInterrupt),
    so that finally blocks stop the workers and remove temporary files before it exits."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set in the main thread
        return
    signals = (signal.SIGTERM, signal.SIGHUP)

    def stop(signum: int, frame: Any) -> None:
        for each in signals:
            signal.signal(each, signal.SIG_IGN)  # once: let the cleanup finish
        raise SystemExit(128 + signum)

    previous = {each: signal.signal(each, stop) for each in signals}
    try:
        yield
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)


# -- the lock, leftovers, the previous manifest ------------------------------------------------


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not a pid we could judge: assume a run holds the lock
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    try:  # a zombie has ended, even if nothing has reaped it yet (Linux)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _holder(fd: int) -> int | None:
    """The pid written in the lock file (None when there is none)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == path.stat().st_ino
    except OSError:
        return False


@contextmanager
def _lock(output_dir: Path):
    """Hold ``output_dir/.lock`` for the run, with this process's pid in it; yield a note for
    the log when a stale lock was taken over (else None).

    A stale lock: the pid in the file has ended, yet the file is still locked, by a process
    it left behind (a worker forked by an older version, still holding the open file). The
    file is then replaced by a new one, which this run locks.

    Raises
    ------
    LockedError
        When another run holds the lock.
    """
    path = output_dir / ".lock"
    note = None
    for _attempt in range(5):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if holder is not None and not _pid_alive(holder) and _same_file(fd, path):
                path.unlink(missing_ok=True)
                os.close(fd)
                note = (
                    f"took over a stale lock {path}: the run that wrote it (pid {holder}) has "
                    "ended, but a process it left behind still held the file"
                )
                continue
            os.close(fd)
            who = f"pid {holder}" if holder is not None else "pid unknown"
            raise LockedError(
                f"another report run ({who}) is writing to {output_dir} (lock {path}); try "
                "again when it has finished. If no run is going on, a leftover process holds "
                f"the lock: `fuser -v {path}` names it"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            break
        os.close(fd)  # replaced by a run taking over a stale lock meanwhile: try again
    else:
        raise LockedError(f"{path} keeps changing: another report run is starting")
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield note
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _sweep(output_dir: Path) -> int:
    """Remove temporary files left by a killed run (``.run-*`` folders of jobs, ``.tmp`` files
    of the manifest and index); only while holding the lock, when no other run writes them."""
    removed = 0
    for path in output_dir.glob(".run-*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    for name in ("manifest.json", "index.html"):
        for path in output_dir.glob(f".{name}.*.tmp"):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _probe(folder: Path) -> None:
    """Create and write a file in ``folder``, as each job will: OSError if it cannot."""
    with tempfile.TemporaryFile(dir=folder) as handle:
        handle.write(bytes(4096))
        handle.flush()


_STATUSES = ("success", "cached", "failed")


def _well_formed(record: Any) -> bool:
    """Whether a record from manifest.json has the shape this runner writes (it is shown in
    the index and may be reused as "cached")."""
    if not isinstance(record, dict) or not isinstance(record.get("name"), str):
        return False
    duration = record.get("duration_s")
    return (
        record.get("status") in _STATUSES
        and isinstance(record.get("parameters", {}), dict)
        and record.get("output") in (None, f"{record['name']}.html")
        and isinstance(record.get("error"), str | None)
        and isinstance(record.get("notebook", ""), str)
        and isinstance(record.get("cache_key"), str | None)
        and isinstance(record.get("summary"), dict | None)
        and isinstance(record.get("inputs"), dict | None)
        and isinstance(record.get("changed"), str | None)
        and record.get("pdf") in (None, f"{record['name']}.pdf")
        and isinstance(record.get("pdf_key"), str | None)
        and isinstance(record.get("pdf_error"), str | None)
        and (
            duration is None
            or (isinstance(duration, int | float) and not isinstance(duration, bool))
        )
    )


def _previous(output_dir: Path, say: Callable[[str], None]) -> dict[str, dict]:
    """The records of the last run, from manifest.json; an unreadable or ill-shaped manifest
    counts as no previous run (every job then runs), with a line in the log."""
    path = output_dir / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        say(f"{path} cannot be read ({exc}); treated as no previous runs")
        return {}
    if not isinstance(manifest, dict) or not isinstance(manifest.get("jobs"), list):
        say(f"{path} is not a manifest (no list 'jobs'); treated as no previous runs")
        return {}
    records = [r for r in manifest["jobs"] if _well_formed(r)]
    if len(records) != len(manifest["jobs"]):
        say(f"{path}: ignored {len(manifest['jobs']) - len(records)} ill-shaped record(s)")
    return {r["name"]: r for r in records}


def _cause(exc: BaseException) -> str:
    """What stopped a run, for the log: a signal's name, Ctrl-C, or the error."""
    if isinstance(exc, SystemExit) and isinstance(exc.code, int) and exc.code > 128:
        try:
            return signal.Signals(exc.code - 128).name
        except ValueError:
            pass
    if isinstance(exc, KeyboardInterrupt):
        return "Ctrl-C (SIGINT)"
    return f"{type(exc).__name__}: {exc}"


def common_provenance(config: BatchConfig) -> dict:
    """What every report of a run shares: package versions and files, git commit, Python."""
    return {
        "versions": provenance.package_versions(),
        "package_sha256": provenance.package_source_sha256(),
        "git_commit": provenance.git_commit(config.path.parent),
        "python": provenance.python_version(),
    }


def _pdf_module() -> Any:
    """:mod:`pfps_stats.batch.pdf`, imported when a run writes PDFs (None when absent)."""
    try:
        from . import pdf
    except ImportError:
        return None
    return pdf


def _pdf_printer(pdf: bool) -> Any:
    """The module that prints PDFs when ``pdf`` (None when not).

    Raises
    ------
    ConfigError
        When PDFs are asked for and no Chromium is found (or the PDF module is missing).
    """
    if not pdf:
        return None
    module = _pdf_module()
    if module is None:
        raise ConfigError(
            "pdf: true needs pfps_stats.batch.pdf, which this installation lacks: update "
            "pfps_stats, or leave pdf out of reports.yml (and --pdf off)"
        )
    if module.find_chromium() is None:
        raise ConfigError(
            "pdf: true (or --pdf) prints each report with headless Chromium, and none was "
            "found: install Debian's chromium (apt-get install chromium) or set PFPS_CHROMIUM "
            "to its path; or leave pdf off. Nothing was run"
        )
    return module


class _Site:
    """What the runner does on its own side for the site: each job's record made ready for
    the manifest (paths relative to the project, errors without server paths, its inputs,
    when its output changed), each report's header, PDFs, and what changed since the last
    run."""

    def __init__(
        self,
        config: BatchConfig,
        common: dict,
        previous: dict[str, dict],
        say: Callable[[str], None],
        printer: Any,
        scrub: Scrubber,
    ):
        self.config = config
        self.out = config.output_dir
        self.project = config.path.parent.resolve()
        self.scrub = scrub
        self.common = common
        self.previous = previous
        self.say = say
        self.printer = printer
        self.jobs = {job.name: job for job in config.jobs}
        self.known = {n: r for n, r in previous.items() if n in self.jobs}
        self.inputs: dict[str, dict] = {}
        self.changes: list[dict] = []

    def inputs_of(self, job: Job) -> dict:
        if job.name not in self.inputs:
            self.inputs[job.name] = job_inputs(
                job, self.common, shown_parameters(job, self.project)
            )
        return self.inputs[job.name]

    def relative(self, path: Path) -> str:
        relative = _relative(path, self.project)
        return Path(path).name if relative.startswith("../") else relative

    def is_cached(self, job: Job, force: bool) -> bool:
        """Whether ``job`` is served from the cache; when not, why it runs goes in
        :attr:`changes`."""
        before = self.previous.get(job.name)
        inputs = self.inputs_of(job)
        key = cache_key(job, self.common, inputs)
        ok = bool(before) and before.get("status") in ("success", "cached")
        there = (self.out / f"{job.name}.html").exists()
        if not force and ok and before.get("cache_key") == key and there:
            return True
        change: dict[str, Any] = {"name": job.name}
        changed = changed_inputs(before.get("inputs"), inputs) if before else []
        if before is None:
            change["why"] = "new"
        elif changed:
            change.update(why="inputs", inputs=changed)
        elif force:
            change["why"] = "forced"
        elif not ok:
            change["why"] = "failed-before"
        elif before.get("cache_key") != key:
            change.update(why="inputs", inputs=[])
        else:
            change["why"] = "missing"
        self.changes.append(change)
        return False

    def cached(self, job: Job) -> dict:
        """The record of a job served from the cache: its last record, as of now."""
        before = self.previous[job.name]
        record = {**before, "status": "cached", "duration_s": 0.0, "error": None}
        record.pop("pdf_error", None)
        record.update(
            parameters=shown_parameters(job, self.project),
            notebook=self.relative(job.notebook),
            inputs=self.inputs_of(job),
            changed=before.get("changed") or before.get("started"),
            summary=self._summary_kept(job.name, before),
        )
        self._keep_pdf(record, before, before.get("cache_key"))
        self.known[job.name] = record
        return record

    def _summary_kept(self, name: str, before: dict) -> dict | None:
        """The summary of the report kept in the output folder: its record's, else (a
        manifest written before summaries were) read from its executed notebook there."""
        if isinstance(before.get("summary"), dict):
            return before["summary"]
        import nbformat

        from ..report import notebook_summary

        try:
            summary = notebook_summary(nbformat.read(self.out / f"{name}.ipynb", as_version=4))
        except Exception:  # gone, unreadable or not a notebook: no summary, as before
            return None
        return summary if isinstance(summary, dict) else None

    def _keep_pdf(self, record: dict, before: dict, report_key: Any) -> None:
        """Link the PDF of ``before`` in ``record`` when it was printed from the report
        ``record`` links (its ``pdf_key`` is ``report_key``) and is still there; else none."""
        pdf = f"{record['name']}.pdf"
        key = before.get("pdf_key")
        current = isinstance(key, str) and key == report_key and before.get("pdf") == pdf
        if current and (self.out / pdf).is_file():
            record.update(pdf=pdf, pdf_key=key)
        else:
            record.update(pdf=None, pdf_key=None)

    def settle(self, record: dict) -> None:
        """Make a record of this run ready, in place, as it arrives: and for a success, give
        its report a header and print its PDF."""
        name = record["name"]
        job = self.jobs.get(name)
        before = self.previous.get(name)
        if job is not None:
            record["parameters"] = shown_parameters(job, self.project)
            record["notebook"] = self.relative(job.notebook)
            record["inputs"] = self.inputs_of(job)
        if record.get("error"):
            record["error"] = self.scrub(record["error"])
        record.pop("pdf_error", None)
        if record["status"] == "success":
            record["changed"] = datetime.now(UTC).isoformat(timespec="seconds")
            record.update(pdf=None, pdf_key=None)  # a PDF there is of an older report
            self.known[name] = record
            self.navigate(record)
            if self.printer is not None:
                self.print_pdf(record)
        else:
            kept = record.get("output") is not None and before is not None
            record["changed"] = (before.get("changed") or before.get("started")) if kept else None
            record["summary"] = self._summary_kept(name, before) if kept else None
            # the last good report stays, and with it the PDF printed from it (if any)
            record.update(pdf=None, pdf_key=None)
            if kept:
                self._keep_pdf(record, before, before.get("pdf_key"))
            self.known[name] = record

    def print_pdf(self, record: dict) -> None:
        """Print the record's report to ``<name>.pdf``, recording in ``pdf_key`` the cache
        key of the report it was printed from; a failure is the record's ``pdf_error`` (the
        report stays a success) and no PDF is linked (one left there is of an older
        report)."""
        name = record["name"]
        try:
            self.printer.write_pdf(self.out / f"{name}.html", self.out / f"{name}.pdf")
        except Exception as exc:  # PdfError, a missing Chromium, a full disk: the job stands
            reason = self.scrub(f"{type(exc).__name__}: {exc}")
            record.update(pdf_error=reason, pdf=None, pdf_key=None)
            self.say(f"pdf      {name}: not printed ({reason})")
        else:
            record.update(pdf=f"{name}.pdf", pdf_key=record.get("cache_key"))
            self.say(f"pdf      {name}")

    def navigate(self, record: dict, records: list[dict] | None = None) -> None:
        """Give the record's report its header (index, other subgroups, PDF, contents),
        rewritten only when it changes."""
        target = self.out / f"{record['name']}.html"
        try:
            page = target.read_text(encoding="utf-8")
        except OSError:  # gone, or unreadable: nothing to add a header to
            return
        shown = records if records is not None else list(self.known.values())
        pdf = record.get("pdf") if (self.out / str(record.get("pdf"))).is_file() else None
        updated = add_navigation(
            page, record["name"], shown, pdf=pdf, exists=lambda f: (self.out / f).is_file()
        )
        if updated != page:
            try:
                _write_atomic(updated, target)
            except OSError as exc:  # the report stays as it was, without its new header
                self.say(f"could not add the header to {target.name}: {exc}")

    def finish(self, ordered: list[dict], run: dict[str, dict]) -> list[dict]:
        """At the end of the run: PDFs of cached reports that have none, every report's header
        refreshed (new siblings, PDFs), and the records scrubbed of server paths."""
        ordered = [self.scrub.tree(r) for r in ordered]
        for record in ordered:
            if record.get("output"):
                self.navigate(record, ordered)
        if self.printer is not None:
            for record in ordered:
                if record["name"] in run and record["status"] == "cached" and not record.get("pdf"):
                    self.print_pdf(record)
                    self.navigate(record, ordered)
        return ordered


def run_batch(
    config: BatchConfig,
    only: str | None = None,
    *,
    workers: int | None = None,
    force: bool = False,
    progress: bool = True,
    scheduler: str | None = None,
    retries: int | None = None,
    pdf: bool | None = None,
) -> tuple[int, list[dict]]:
    """Run the jobs of ``config`` (or just ``only``) and write index.html and manifest.json.

    Jobs whose inputs are unchanged since their last success are not re-run (status
    "cached") unless ``force``. Jobs run in ``workers`` processes (default: the cores), or,
    with a ``scheduler`` (default: ``config.scheduler``), as tasks on a Dask cluster: "local"
    starts a ``LocalCluster`` of ``workers`` processes when a job needs it; an address
    (``tcp://host:8786``) connects to a running scheduler before the output folder is
    touched. On Dask, a job whose worker dies during it is run again up to ``retries`` times
    (default: ``config.retries``, 1); see :mod:`pfps_stats.batch.dask_executor`. Either way
    the reports, the manifest and the index are written here, by this process.

    Each report gets a header (the index, the same analysis for the other subgroups, its PDF,
    a table of contents), refreshed for every report at the end of the run. With ``pdf``
    (default: ``config.pdf``), each report is also printed to ``<name>.pdf`` with headless
    Chromium (:mod:`pfps_stats.batch.pdf`); a report that cannot be printed stays a success,
    with the reason in its record's ``pdf_error``.

    Nothing written holds a server path: parameters are shown relative to ``reports.yml``'s
    folder, notebooks get their data paths relative to their own folder, and the notebooks'
    outputs, errors and log lines have the project folder as ".", the output folder by its
    name, the home as "~", a data file outside the project by its name and any other
    absolute path cut to its last name. A PDF is linked only when it was printed from the
    report linked (the record's ``pdf_key`` is the report's ``cache_key``): a print that
    fails links none, and the next run with ``pdf`` prints it again.

    Every line of progress also goes to ``reports/logs/run-<time>.log``. SIGTERM or SIGHUP
    stop the run (SystemExit, code 128 + the signal): workers and kernels are stopped (on a
    scheduler's cluster, queued jobs are cancelled) and temporary files removed; reports
    already replaced stay, the manifest is not rewritten. Workers, started by
    multiprocessing's fork server (or a LocalCluster's spawned processes), import the main
    module: a script that calls ``run_batch`` does so under ``if __name__ == "__main__":``.

    Returns
    -------
    exit_code : int
        0 when every job succeeded (or was cached), 1 when any failed.
    records : list of dict
        The manifest records of the jobs run (or cached) by this run.

    Raises
    ------
    ConfigError
        When ``only`` names no job, the output folder cannot be created or written
        (read-only, full disk; the message names the folder), ``scheduler`` is not an
        address, or ``retries`` is given without a scheduler; when PDFs are asked for and no
        Chromium is found; and when the scheduler cannot be reached or has no workers, or its
        workers cannot see a job's files or run other package versions (nothing was run; see
        :class:`~pfps_stats.batch.dask_executor.DaskCluster`).
    LockedError
        When another run holds the output folder's lock.
    """
    selected = [j for j in config.jobs if only is None or j.name == only]
    if not selected:
        raise ConfigError(f"no job named {only!r}; jobs: {', '.join(j.name for j in config.jobs)}")
    scheduler = config.scheduler if scheduler is None else scheduler
    if scheduler is None and retries is not None:
        raise ConfigError(
            "retries apply to jobs run on Dask, whose workers may die: give a scheduler "
            "(--scheduler, or 'scheduler' in reports.yml), or leave retries out"
        )
    if scheduler is not None and (problem := scheduler_problem(scheduler)):
        raise ConfigError(f"scheduler {problem}")
    if retries is not None and (problem := retries_problem(retries)):
        raise ConfigError(f"retries {problem}")
    printer = _pdf_printer(bool(getattr(config, "pdf", False)) if pdf is None else bool(pdf))
    out = config.output_dir
    scrub = Scrubber.for_jobs(config.path.parent.resolve(), out, config.jobs)
    with ExitStack() as stack:
        cluster = None
        if scheduler is not None:
            from .dask_executor import DaskCluster

            retries = config.retries if retries is None else retries
            cluster = stack.enter_context(DaskCluster(scheduler, retries=retries))
        with _writing(out):
            out.mkdir(parents=True, exist_ok=True)
            (out / "logs").mkdir(exist_ok=True)
        common = common_provenance(config)
        # each job's scrubber (where it runs) knows the site's folders
        common[_PLACES] = {"project": str(config.path.parent.resolve()), "output_dir": str(out)}
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        with _writing(out):
            note = stack.enter_context(_lock(out))
            log = stack.enter_context(
                (out / "logs" / f"run-{stamp}.log").open("a", encoding="utf-8")
            )
        stack.enter_context(_stop_on_signals())

        def say(text: str) -> None:
            try:
                log.write(f"{datetime.now(UTC).isoformat(timespec='seconds')} {scrub(text)}\n")
                log.flush()
            except OSError:  # a full disk: the run goes on, and its end reports the folder
                pass

        if note:
            say(note)
        with _writing(out):
            if removed := _sweep(out):
                say(f"removed {removed} temporary file(s) left by an interrupted run")
            _probe(out)  # a read-only folder or a full disk stops the run before any job
        previous = _previous(out, say)
        site = _Site(config, common, previous, say, printer, scrub)
        try:
            records = _run_jobs(config, selected, site, workers, force, progress, cluster)
        except BaseException as exc:
            say(f"stopped by {_cause(exc)}: workers and kernels stopped, manifest not rewritten")
            raise
        ordered = [records.get(j.name) or previous.get(j.name) for j in config.jobs]
        ordered = [r for r in ordered if r is not None]
        ordered = site.finish(ordered, records)
        manifest = {
            "config": site.relative(config.path),
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            **_shared(common),
            "executor": cluster.describe() if cluster is not None else {"kind": "process pool"},
            "changes": site.changes,
            "jobs": ordered,
        }
        manifest = scrub.tree(manifest)
        index = render_index(
            ordered, {k: v for k, v in manifest.items() if k != "jobs"}, changes=site.changes
        )
        with _writing(out):
            _write_atomic(json.dumps(manifest, indent=2, default=str), out / "manifest.json")
            _write_atomic(index, out / "index.html")
        failed = [r["name"] for r in records.values() if r["status"] == "failed"]
        say(f"done: {len(records) - len(failed)} ok, {len(failed)} failed")
    by_name = {r["name"]: r for r in ordered}
    return (EXIT_JOBS_FAILED if failed else EXIT_OK), [by_name[n] for n in records]


@contextmanager
def _outcomes(
    total: int,
    progress: bool,
    say: Callable[[str], None],
    settle: Callable[[dict], None] = lambda record: None,
):
    """Yield ``show(record)``: each finished job's record is settled (on this process: its
    paths, its report's header and PDF), and its line goes to the log and to the terminal
    (under a progress bar of ``total`` jobs when ``progress``)."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="reports", unit="job")

    def show(record: dict) -> None:
        settle(record)
        line = f"{record['status']:<8} {record['name']} ({record['duration_s'] or 0:.1f} s)" + (
            f" {record['error']}" if record["error"] else ""
        )
        say(line)
        if bar is not None:
            bar.update(1)
            bar.write(line)
        else:
            print(line, flush=True)

    try:
        yield show
    finally:
        if bar is not None:
            bar.close()


def _run_jobs(
    config: BatchConfig,
    selected: list[Job],
    site: _Site,
    workers: int | None,
    force: bool,
    progress: bool,
    cluster: Any = None,
) -> dict[str, dict]:
    """Run the jobs that are not cached, in a pool of workers or on ``cluster`` (a
    :class:`~pfps_stats.batch.dask_executor.DaskCluster`); their records by name. Cached
    jobs never reach the workers."""
    out = config.output_dir
    say = site.say
    records: dict[str, dict] = {}
    to_run = []
    for job in selected:
        if site.is_cached(job, force):
            records[job.name] = site.cached(job)
            say(f"cached   {job.name}")
        else:
            to_run.append(job)
    cached = len(selected) - len(to_run)
    if cluster is not None:
        # the cluster is started (LocalCluster) and checked only when a job needs it
        where = cluster.prepare(to_run, site.common, workers) if to_run else cluster.label
        say(f"running {len(to_run)} job(s) {where}; {cached} cached")
        if to_run:
            with _outcomes(len(to_run), progress, say, site.settle) as show:
                records.update(cluster.run(to_run, out, site.common, show, say))
        return records
    workers = max(1, min(workers or os.cpu_count() or 1, len(to_run) or 1))
    say(f"running {len(to_run)} job(s) in {workers} worker(s); {cached} cached")
    if to_run:
        with _outcomes(len(to_run), progress, say, site.settle) as show:
            records.update(_run_in_pool(to_run, out, site.common, workers, show))
    return records


def _run_in_pool(
    jobs: list[Job], out: Path, common: dict, workers: int, show: Callable[[dict], None]
) -> dict[str, dict]:
    """Run ``jobs`` in a pool of ``workers`` processes, each writing its reports into
    ``out``; their records by name."""
    records: dict[str, dict] = {}
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_worker_init)
    finished = False
    try:
        futures = {pool.submit(_run_in_worker, job, out, common): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                record = future.result()
            except Exception as exc:  # the worker itself died
                record = failed_record(job, f"worker failed: {type(exc).__name__}: {exc}", out)
            records[job.name] = record
            show(record)
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:  # stopped (a signal, Ctrl-C, an error): stop the workers, remove what they left
            _stop_workers(pool, [p for p in multiprocessing.active_children() if p not in before])
            with suppress(OSError):  # what is left, the next run removes
                _sweep(out)
    return records
