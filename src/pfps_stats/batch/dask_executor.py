"""Run the report batch's jobs as tasks on a Dask cluster.

``pfps-stats report run reports.yml --scheduler ADDRESS`` (or ``scheduler:`` in reports.yml)
sends each job that is not cached to a Dask scheduler, as one task; ``--scheduler local``
starts a ``LocalCluster`` of worker processes on this machine (one thread each) for the run.

What runs where:

- This process, the coordinator, does what it does with the process pool: it reads
  reports.yml, decides which jobs are cached (those never reach the cluster), holds the
  output folder's lock, and writes each report (to a temporary file, then renamed over the
  last good one), the manifest and the index (:func:`~pfps_stats.batch.runner.write_rendered`).
- A worker runs one job per task (:func:`~pfps_stats.batch.runner.render_job`, the process
  pool's code): papermill starts the job's kernel as a child process of the worker, nbconvert
  renders the HTML, and the task returns the record with the executed notebook and the HTML
  as text. Workers never write into the output folder.

Faults:

- A job that fails on its own (a cell raises, its timeout, its kernel dies) returns a failed
  record, as with the process pool: it is not run again.
- A worker that dies during a job (killed, out of memory, its machine lost): the scheduler
  runs the task again on another worker (its ``distributed.scheduler.allowed-failures``).
  Each run of a task first counts itself in a Dask ``Variable``; a run beyond
  ``retries + 1`` returns "worker died" without running the notebook, and when the scheduler
  gives up first (``KilledWorker``) the coordinator submits the job again, so ``retries``
  holds whatever the scheduler's setting. A LocalCluster is started with
  ``allowed-failures = retries``.
- A scheduler that cannot be reached, or that has no workers, is a
  :class:`~pfps_stats.ClusterError` (a ConfigError: exit code 2) before any job starts; an address is
  reached before the output folder is touched.
- Before the first job, every worker is asked what it sees: each job's notebook (the same
  SHA-256 as here) and data files (``data_path``, ``log_path``, ``injuries_path``: present,
  and files of the same size as here), and the package versions and pfps_stats source (the
  same as here, as the provenance records them). Any difference is a :class:`ClusterError`
  naming the job, the path and the worker. A data file missing here too is left to the job,
  which fails as it would in the process pool.

Stopping the run (Ctrl-C, SIGTERM) cancels the jobs not yet started. A LocalCluster is
closed, which ends its workers and, through their parent poller, their kernels; on a
scheduler's cluster, jobs already running go on until they end or time out, their results
unused.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._exceptions import ClusterError
from . import provenance
from .config import DEFAULT_RETRIES, PATH_PARAMETERS, Job
from .runner import failed_record, render_job, write_rendered

#: Seconds to reach a scheduler, and to wait for its first worker.
CONNECT_TIMEOUT_S = 10.0

#: Problems listed in a ClusterError before "... and N more".
_MAX_PROBLEMS = 8

_NEEDS = (
    "Workers run the notebooks and read the data themselves: each needs the project folder "
    "and the data at the same paths as here (a shared file system, such as NFS) and the same "
    "Python environment (docs/scaling-out.md)"
)


def _label(scheduler: str) -> str:
    return "on a Dask LocalCluster" if scheduler == "local" else f"on Dask at {scheduler}"


def _reach(address: str, timeout: float) -> None:
    """Open (and close) a TCP connection to the scheduler's port, so that a refused
    connection or an unknown host is said at once and plainly.

    Raises
    ------
    ClusterError
        When the connection cannot be made; the message names the address and the reason.
    """
    _protocol, sep, rest = address.partition("://")
    host, _, port = (rest if sep else address).rpartition(":")
    host = host.strip("[]")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return
    except ConnectionRefusedError:
        reason = "connection refused: nothing listens on that port"
    except socket.gaierror:
        reason = f"unknown host {host!r}"
    except TimeoutError:
        reason = f"no answer within {timeout:g} s"
    except OSError as exc:
        reason = exc.strerror or str(exc)
    raise ClusterError(
        f"cannot reach the Dask scheduler at {address} ({reason}). Check the address "
        f"(`dask scheduler` prints it) and that this machine may connect to it, or leave out "
        f"--scheduler to run the jobs here; nothing was run"
    )


def _connect(address: str, timeout: float) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address`` (ClusterError if none)."""
    from distributed import Client

    _reach(address, timeout)
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, a handshake that is not Dask's ...
        raise ClusterError(
            f"cannot connect to the Dask scheduler at {address} ({type(exc).__name__}: "
            f"{exc}): is a Dask scheduler of the same distributed version listening there? "
            "Nothing was run"
        ) from None


def inspect_paths(files: list[str], notebooks: list[str]) -> dict:
    """What this process sees of a run's inputs (run on each worker, and here).

    Returns
    -------
    dict
        ``paths``: for each of ``files`` and ``notebooks``, None (missing or unreadable),
        ``"folder"``, or the file's size in bytes; ``notebooks``: the SHA-256 of each
        notebook; ``versions`` and ``package_sha256``, as the provenance records them.
    """
    paths: dict[str, Any] = {}
    for path in [*files, *notebooks]:
        try:
            info = os.stat(path)
        except OSError:
            paths[path] = None
            continue
        if not os.access(path, os.R_OK):
            paths[path] = None
        elif stat.S_ISDIR(info.st_mode):
            paths[path] = "folder"
        else:
            paths[path] = info.st_size
    return {
        "paths": paths,
        "notebooks": {nb: provenance.sha256(nb) for nb in notebooks if paths[nb] is not None},
        "versions": provenance.package_versions(),
        "package_sha256": provenance.package_source_sha256(),
    }


def _inputs(job: Job) -> list[tuple[str, str]]:
    """The files a job reads that the workers must see, as (what, path): its data files
    (null paths are pfps_stats's own demo files, part of the package) and its notebook."""
    found = [(key, job.parameters[key]) for key in PATH_PARAMETERS if job.parameters.get(key)]
    return [*found, ("notebook", str(job.notebook))]


def differences(jobs: list[Job], here: dict, workers: dict[str, dict]) -> list[str]:
    """What the workers see differently from this process, one problem a line.

    ``here`` is :func:`inspect_paths` run here; ``workers`` maps each worker's address to
    the same run on it. A path missing here too is left out (its job fails when it runs, as
    in the process pool).
    """
    problems = []
    for address, seen in workers.items():
        changed = sorted(
            f"{name} {seen['versions'].get(name)} (here {version})"
            for name, version in here["versions"].items()
            if seen["versions"].get(name) != version
        )
        if changed:
            problems.append(f"worker {address} runs other package versions: {', '.join(changed)}")
        elif seen["package_sha256"] != here["package_sha256"]:
            problems.append(
                f"worker {address} runs other pfps_stats code (its source and package data "
                "differ from this machine's)"
            )
        for job in jobs:
            for what, path in _inputs(job):
                mine, theirs = here["paths"][path], seen["paths"].get(path)
                where = f"job {job.name}: {what} {path}"
                if mine is None or mine == theirs:
                    if what == "notebook" and seen["notebooks"].get(path) not in (
                        None,
                        here["notebooks"].get(path),
                    ):
                        problems.append(f"{where} differs on worker {address}")
                    continue
                if theirs is None:
                    problems.append(f"{where} is not found (or not readable) on worker {address}")
                elif isinstance(mine, int) and isinstance(theirs, int):
                    problems.append(
                        f"{where} differs on worker {address} ({theirs} bytes there, {mine} here)"
                    )
                else:
                    problems.append(f"{where} is a {theirs!r} on worker {address}")
    return problems


def _died(deaths: int, retries: int) -> str:
    return (
        f"worker died: the Dask worker running this job ended during it ({deaths} time(s); "
        f"{retries} retr{'y' if retries == 1 else 'ies'} allowed, --retries or reports.yml "
        "'retries'); the worker's log says why (out of memory, killed)"
    )


def _count_attempt(counter: str) -> int:
    """On a worker: count this run of a task in the Dask Variable ``counter``; its number."""
    from distributed import Variable, get_client

    variable = Variable(counter, client=get_client())
    attempt = int(variable.get(timeout=CONNECT_TIMEOUT_S)) + 1
    variable.set(attempt)
    return attempt


def _run_task(job: Job, common: dict, counter: str, retries: int) -> dict:
    """A Dask task: run ``job`` in this worker and return what it rendered, or, when this run
    is beyond ``retries + 1`` (earlier runs' workers died), the number of deaths."""
    from distributed import get_worker

    worker = get_worker()
    attempt = _count_attempt(counter)
    if attempt > retries + 1:
        return {"deaths": attempt - 1}
    record, rendered = render_job(job, common, Path(worker.local_directory))
    record["worker"] = worker.address
    record["attempts"] = attempt
    return {"record": record, "rendered": rendered}


class DaskCluster:
    """Where a batch runs on Dask: ``scheduler`` is ``"local"`` (a LocalCluster, started when
    a job needs it) or a scheduler's address (connected to on entering the context).

    Parameters
    ----------
    scheduler : str
        ``"local"`` or an address such as ``tcp://10.0.0.5:8786`` (checked by
        :func:`pfps_stats.batch.config.scheduler_problem`).
    retries : int
        Times a job runs again when its worker dies during it.
    timeout : float
        Seconds to reach the scheduler, and to wait for its first worker.
    """

    def __init__(
        self, scheduler: str, *, retries: int = DEFAULT_RETRIES, timeout: float = CONNECT_TIMEOUT_S
    ) -> None:
        self.scheduler = scheduler
        self.retries = retries
        self.timeout = timeout
        self.label = _label(scheduler)
        self._client: Any = None
        self._cluster: Any = None
        self._settings: Any = None

    def __enter__(self) -> DaskCluster:
        if self.scheduler != "local":
            self._client = _connect(self.scheduler, self.timeout)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the client, and the LocalCluster if this object started one."""
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        try:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
        finally:
            if self._settings is not None:
                self._settings.__exit__(None, None, None)
                self._settings = None

    def describe(self) -> dict:
        """The executor, for the manifest."""
        return {"kind": "dask", "scheduler": self.scheduler, "retries": self.retries}

    def prepare(self, jobs: list[Job], common: dict, workers: int | None = None) -> str:
        """Start the LocalCluster (``workers`` processes, at most one per job; default the
        cores) or wait for the scheduler's first worker, and check what the workers see.
        Returns where the jobs run, for the log.

        Raises
        ------
        ClusterError
            When the scheduler has no worker, or the workers see a job's files differently
            or run other package versions (see :func:`differences`).
        """
        if self.scheduler == "local" and self._client is None:
            self._start_local(max(1, min(workers or os.cpu_count() or 1, len(jobs))))
        client = self._client
        try:
            client.wait_for_workers(1, timeout=self.timeout)
        except Exception:  # distributed's TimeoutError
            raise ClusterError(
                f"the Dask scheduler at {self.scheduler} has no workers: start some "
                f"(`dask worker {self.scheduler}` on each machine); nothing was run"
            ) from None
        self._check(client, jobs, common)
        # threads by worker, from the scheduler (Client.scheduler_info's copy of its workers
        # may be emptied by the client's periodic refresh)
        threads = client.nthreads()
        return f"{self.label} ({len(threads)} worker(s), {sum(threads.values())} thread(s))"

    def _start_local(self, n_workers: int) -> None:
        import dask
        from distributed import Client, LocalCluster

        # While the cluster runs: a task whose worker dies is rescheduled `retries` times by
        # the scheduler itself; and a worker that died is never given up for lost (which
        # LocalCluster does, closing its nanny, when a worker of the same name has not come
        # back within lost-worker-timeout: a second death while it restarts from a first
        # one could leave no workers, and the run waiting). The nanny restarts it.
        self._settings = dask.config.set(
            {
                "distributed.scheduler.allowed-failures": self.retries,
                "distributed.deploy.lost-worker-timeout": "1 day",
            }
        )
        self._cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # its HTTP server (health, metrics) on a free port of this machine only
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        )
        self._client = Client(self._cluster, set_as_default=False)

    def _check(self, client: Any, jobs: list[Job], common: dict) -> None:
        files = sorted({p for job in jobs for what, p in _inputs(job) if what != "notebook"})
        notebooks = sorted({str(job.notebook) for job in jobs})
        # the versions and source hash the reports' provenance records
        here = {**inspect_paths(files, notebooks), **common}
        try:
            seen = client.run(inspect_paths, files, notebooks)
        except Exception as exc:  # pfps_stats cannot be imported there, say
            raise ClusterError(
                f"the Dask workers could not run pfps_stats's check ({type(exc).__name__}: "
                f"{exc}): install pfps_stats and the packages it needs on every worker; "
                "nothing was run"
            ) from None
        problems = differences(jobs, here, seen)
        if problems:
            shown = problems[:_MAX_PROBLEMS]
            if len(problems) > _MAX_PROBLEMS:
                shown.append(f"... and {len(problems) - _MAX_PROBLEMS} more")
            raise ClusterError(
                f"the Dask workers cannot run these jobs as here: {'; '.join(shown)}. "
                f"{_NEEDS}; nothing was run"
            )

    def run(
        self,
        jobs: list[Job],
        output_dir: Path,
        common: dict,
        show: Callable[[dict], None],
        say: Callable[[str], None] = lambda text: None,
    ) -> dict[str, dict]:
        """Run ``jobs`` as tasks (after :meth:`prepare`) and write what each rendered into
        ``output_dir`` as it comes back; ``show`` gets each record. Returns the records by
        job name; a job that did not end (the run was stopped) has none, and its task is
        cancelled."""
        from distributed import Variable, as_completed
        from distributed.scheduler import KilledWorker

        client = self._client
        token = uuid.uuid4().hex[:8]
        counters = {job.name: f"pfps-attempts-{job.name}-{token}" for job in jobs}

        def submit(job: Job, n: int) -> Any:
            return client.submit(
                _run_task,
                job,
                common,
                counters[job.name],
                self.retries,
                key=f"pfps-report-{job.name}-{token}-{n}",
                pure=False,
            )

        futures: dict[Any, Job] = {}
        records: dict[str, dict] = {}
        try:
            for job in jobs:
                Variable(counters[job.name], client=client).set(0)
                futures[submit(job, 1)] = job
            pending = as_completed(list(futures), loop=client.loop)
            for future in pending:
                job = futures.pop(future)
                try:
                    outcome = future.result()
                except KilledWorker:  # the scheduler gave up before `retries` was reached
                    deaths = int(Variable(counters[job.name], client=client).get(timeout=5))
                    if deaths <= self.retries:
                        say(f"retrying {job.name}: its worker died ({deaths} time(s))")
                        again = submit(job, deaths + 1)
                        futures[again] = job
                        pending.add(again)
                        continue
                    record = failed_record(job, _died(deaths, self.retries), output_dir)
                except Exception as exc:
                    record = failed_record(
                        job, f"Dask could not run the job: {type(exc).__name__}: {exc}", output_dir
                    )
                else:
                    if "record" in outcome:
                        record = write_rendered(outcome["record"], outcome["rendered"], output_dir)
                        if record["attempts"] > 1:
                            say(
                                f"retried  {job.name}: run {record['attempts']} times, as its "
                                f"worker died during the job"
                            )
                    else:
                        record = failed_record(
                            job, _died(outcome["deaths"], self.retries), output_dir
                        )
                future.release()
                records[job.name] = record
                show(record)
        finally:
            if futures:  # stopped: jobs not started are cancelled
                client.cancel(list(futures))
            for counter in counters.values():
                try:
                    Variable(counter, client=client).delete()
                except Exception:  # the scheduler is gone: nothing to clean up
                    pass
        return records
