"""The report batch on Dask (issue 14): the same site as the process pool, the cache kept
before the cluster, a worker killed during a job, a job failing on its own, an unreachable
scheduler, and files the workers cannot see.

One LocalCluster of two single-threaded worker processes serves the module; the tests pass
its address as a remote scheduler's. Notebooks are tiny, purpose-built ones in tmp_path.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import threading
import time
from pathlib import Path

import dask
import nbformat
import pytest
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import SchedulerPlugin

from pfps_stats import ConfigError
from pfps_stats.batch.config import load_config
from pfps_stats.batch.dask_executor import differences
from pfps_stats.batch.runner import run_batch
from pfps_stats.cli import main


def _notebook(path: Path, params: str, *cells: str) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes of one thread each, restarted by their nanny when killed (and not
    given up for lost while they restart, as LocalCluster does after lost-worker-timeout)."""
    with (
        dask.config.set({"distributed.deploy.lost-worker-timeout": "1 day"}),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # its HTTP server (health, metrics) on a free port of this machine only
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            memory_limit="2GiB",
            silence_logs=logging.ERROR,
        ) as local,
        Client(local, set_as_default=False) as client,
    ):
        yield local, client


@pytest.fixture
def on_dask(cluster):
    """The cluster with both workers up (a test may have killed one), and its address."""
    local, client = cluster
    client.wait_for_workers(2, timeout=60)
    return local, client, local.scheduler_address


@pytest.fixture
def project(tmp_path):
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "ok.ipynb", "x = 0\ndata_path = None", "print('x is', x)")
    # each run of these adds a line to `marker`: the test counts the runs
    _notebook(
        nbs / "boom.ipynb",
        'marker = ""',
        "open(marker, 'a').write('ran\\n')\nraise RuntimeError('boom')",
    )
    _notebook(
        nbs / "sleepy.ipynb",
        'marker = ""\nseconds = 0',
        "import ipykernel, json, os, time\n"
        "sockets = json.load(open(ipykernel.get_connection_file()))['ip']\n"
        "open(marker, 'a').write(f'{os.getpid()} {os.getppid()} {sockets}\\n')",
        "time.sleep(seconds)\nprint('slept')",
    )
    return tmp_path


def _write(project: Path, name: str, text: str) -> Path:
    path = project / name
    path.write_text(text)
    return path


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _no_cell_ids(page: Path) -> str:
    return re.sub(r"cell-id=[0-9a-f-]+", "cell-id=", page.read_text())


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


# -- the same batch, the same site -------------------------------------------------------------

#: What differs from run to run.
_RUN_ONLY = ("started", "duration_s", "worker", "attempts", "changed")


def test_dask_writes_the_site_the_process_pool_writes(project, on_dask):
    """Same pages, manifest records and exit code; a job failing on its own ends failed once,
    without a retry, and the other succeeds."""
    _, client, address = on_dask
    marker = project / "boom-runs"
    jobs = (
        "jobs:\n"
        "  - {name: a, notebook: notebooks/ok.ipynb, parameters: {x: 2}}\n"
        f"  - {{name: boom, notebook: notebooks/boom.ipynb, parameters: {{marker: {marker}}}}}\n"
    )
    pool_config = _write(project, "pool.yml", "output_dir: pool\n" + jobs)
    dask_config = _write(project, "dask.yml", f"output_dir: dask\nscheduler: {address}\n" + jobs)

    assert main(["report", "run", str(pool_config)]) == 1
    assert len(_lines(marker)) == 1
    assert main(["report", "run", str(dask_config)]) == 1
    assert len(_lines(marker)) == 2, "the failing job ran once on Dask: it was not retried"

    pool, by_dask = project / "pool", project / "dask"

    def pages(folder: Path) -> set[str]:
        return {p.name for p in folder.iterdir() if p.is_file() and p.name != ".lock"}

    assert pages(by_dask) == pages(pool) == {"a.html", "a.ipynb", "index.html", "manifest.json"}
    expected, got = _manifest(pool), _manifest(by_dask)
    if got["package_sha256"] != expected["package_sha256"]:  # never in CI
        pytest.skip("pfps_stats's source was edited between the two runs: rerun the test")
    # the same page, but for papermill's random cell ids
    assert _no_cell_ids(by_dask / "a.html") == _no_cell_ids(pool / "a.html")
    assert "x is 2" in (by_dask / "a.html").read_text()
    assert expected["executor"] == {"kind": "process pool"}
    assert got["executor"] == {"kind": "dask", "scheduler": address, "retries": 1}
    same = {k for k in expected if k not in ("config", "generated", "executor", "jobs")}
    assert {k: got[k] for k in same} == {k: expected[k] for k in same}
    for mine, theirs in zip(got["jobs"], expected["jobs"], strict=True):
        assert {k: v for k, v in mine.items() if k not in _RUN_ONLY} == {
            k: v for k, v in theirs.items() if k not in _RUN_ONLY
        }
    records = {r["name"]: r for r in got["jobs"]}
    assert records["boom"]["status"] == "failed"
    assert records["boom"]["error"] == "cell 3: RuntimeError: boom"  # after papermill's cell
    assert records["boom"]["attempts"] == 1
    workers = set(client.nthreads())
    assert {r["worker"] for r in got["jobs"]} <= workers


def test_jobs_served_from_the_cache_never_reach_the_cluster(project, on_dask, monkeypatch):
    local, _, address = on_dask

    class Submitted(SchedulerPlugin):
        def __init__(self) -> None:
            self.keys: list[str] = []

        def transition(self, key, start, finish, *args, **kwargs):
            if finish == "processing" and str(key).startswith("pfps-report-"):
                self.keys.append(key)

    submitted = Submitted()
    local.scheduler.add_plugin(submitted, name="submitted")
    try:
        config = _write(
            project, "reports.yml", "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb}\n"
        )
        code, records = run_batch(load_config(config), scheduler=address, progress=False)
        assert (code, records[0]["status"]) == (0, "success")
        assert len(submitted.keys) == 1
        code, records = run_batch(load_config(config), scheduler=address, progress=False)
        assert (code, records[0]["status"]) == (0, "cached")
        assert len(submitted.keys) == 1, "a cached job is not submitted"
    finally:
        local.scheduler.remove_plugin(name="submitted")

    def refuse(*args, **kwargs):
        raise AssertionError("a run with nothing to do started a LocalCluster")

    monkeypatch.setattr("distributed.LocalCluster", refuse)
    assert main(["report", "run", str(config), "--scheduler", "local"]) == 0
    assert _manifest(project / "reports")["jobs"][0]["status"] == "cached"


# -- a worker killed during a job ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("retries", "allowed_failures"),
    [
        (1, 3),  # the scheduler runs the job again; its second run goes ahead
        (0, 3),  # the scheduler runs it again; the run counts itself past `retries` and stops
        (1, 0),  # the scheduler gives up at once (KilledWorker); the coordinator resubmits
    ],
)
def test_a_job_whose_worker_is_killed_is_retried_as_configured(
    project, on_dask, retries, allowed_failures
):
    local, client, address = on_dask
    marker = project / "starts"
    config = _write(
        project,
        "reports.yml",
        f"scheduler: {address}\nretries: {retries}\njobs:\n"
        f"  - {{name: sleepy, notebook: notebooks/sleepy.ipynb, "
        f"parameters: {{marker: {marker}, seconds: 2}}}}\n",
    )
    worker_pids = set(client.run(os.getpid).values())
    result: list = []
    thread = threading.Thread(
        target=lambda: result.append(run_batch(load_config(config), progress=False))
    )
    before = local.scheduler.allowed_failures
    local.scheduler.allowed_failures = allowed_failures
    try:
        thread.start()
        assert _wait_until(lambda: len(_lines(marker)) == 1, 180), "the job never started"
        kernel, worker, sockets = _lines(marker)[0].split()
        kernel, worker = int(kernel), int(worker)
        assert worker in worker_pids, "the kernel is a child of a Dask worker process"
        os.kill(worker, signal.SIGKILL)
        thread.join(90)
    finally:
        local.scheduler.allowed_failures = before
    assert not thread.is_alive()
    code, (record,) = result[0]
    assert _wait_until(lambda: not _alive(kernel), 10), "the killed worker's kernel exits"
    log = "".join(p.read_text() for p in (project / "reports" / "logs").glob("run-*.log"))
    if retries:
        assert (code, record["status"], record["attempts"]) == (0, "success", 2)
        assert len(_lines(marker)) == 2
        assert int(_lines(marker)[1].split()[1]) != worker
        assert "retried  sleepy" in log
        assert "slept" in (project / "reports" / "sleepy.html").read_text()
    else:
        assert (code, record["status"]) == (1, "failed")
        assert record["error"].startswith("worker died: the Dask worker running this job ended")
        assert "0 retries allowed" in record["error"]
        assert len(_lines(marker)) == 1, "not run again"
        assert not (project / "reports" / "sleepy.html").exists()
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker
    # and Dask removed the killed worker's folder, with the job's files and kernel sockets
    assert _wait_until(lambda: not Path(sockets).parent.exists(), 10), sockets


# -- a cluster that cannot run the batch: exit code 2, nothing run or written ------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_scheduler_is_a_clear_error_before_anything_is_written(project, capsys):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    config = _write(project, "reports.yml", "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb}\n")
    started = time.monotonic()
    assert main(["report", "run", str(config), "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert time.monotonic() - started < 5, "a refused connection is said at once"
    assert err.startswith(f"pfps-stats: Dask cluster: cannot reach the Dask scheduler at {address}")
    assert "(connection refused" in err
    assert len(err.strip().splitlines()) == 1
    assert not (project / "reports").exists(), "no output was touched"
    _write(project, "reports.yml", f"scheduler: {address}\n" + config.read_text())
    assert main(["report", "run", str(config)]) == 2
    assert not (project / "reports").exists()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
def test_a_data_file_the_workers_cannot_see_is_refused_before_any_job_runs(project, on_dask):
    """/proc/self/fd/N names a file this process has open: the coordinator sees it, the
    workers do not, as with a file on this machine's own disk."""
    _, _, address = on_dask
    data = project / "cohort.csv"
    data.write_text("SYNTHETIC\n")
    config = load_config(
        _write(
            project,
            "reports.yml",
            "jobs:\n  - {name: seen-here, notebook: notebooks/ok.ipynb, "
            "parameters: {data_path: cohort.csv}}\n",
        )
    )
    fd = os.open(data, os.O_RDONLY)
    here = 900
    os.dup2(fd, here)
    try:
        config.jobs[0].parameters["data_path"] = f"/proc/self/fd/{here}"
        with pytest.raises(ConfigError) as caught:
            run_batch(config, scheduler=address, progress=False)
    finally:
        os.close(here)
        os.close(fd)
    message = str(caught.value)
    assert f"job seen-here: data_path /proc/self/fd/{here} is not found" in message
    assert "on worker tcp://127.0.0.1:" in message
    assert "shared file system" in message
    assert "nothing was run" in message
    assert not (project / "reports" / "seen-here.html").exists()
    log = "".join(p.read_text() for p in (project / "reports" / "logs").glob("run-*.log"))
    assert "running" not in log


def test_workers_with_other_versions_or_files_are_named():
    from pfps_stats.batch.config import Job

    job = Job("a", Path("/p/nb.ipynb"), {"data_path": "/d/c.csv"})
    here = {
        "paths": {"/d/c.csv": 10, "/p/nb.ipynb": 5},
        "notebooks": {"/p/nb.ipynb": "n1"},
        "versions": {"pandas": "2.2.3", "pfps_stats": "0.3"},
        "package_sha256": "s",
    }
    same = json.loads(json.dumps(here))
    assert differences([job], here, {"w1": same}) == []
    other = {
        **same,
        "paths": {"/d/c.csv": 12, "/p/nb.ipynb": 5},
        "notebooks": {"/p/nb.ipynb": "n2"},
        "versions": {"pandas": "2.1.0", "pfps_stats": "0.3"},
    }
    assert differences([job], here, {"w2": other}) == [
        "worker w2 runs other package versions: pandas 2.1.0 (here 2.2.3)",
        "job a: data_path /d/c.csv differs on worker w2 (12 bytes there, 10 here)",
        "job a: notebook /p/nb.ipynb differs on worker w2",
    ]
    code = {**same, "package_sha256": "t"}
    assert differences([job], here, {"w3": code}) == [
        "worker w3 runs other pfps_stats code (its source and package data differ from this "
        "machine's)"
    ]
    # a file missing here too is the job's to fail on, as in the process pool
    gone = {**here, "paths": {"/d/c.csv": None, "/p/nb.ipynb": 5}}
    assert differences([job], gone, {"w4": {**same, "paths": gone["paths"]}}) == []


# -- reports.yml and the command line ----------------------------------------------------------


@pytest.mark.parametrize(
    ("top", "message"),
    [
        ("scheduler: 5\n", "scheduler must be 'local' or a Dask scheduler's address"),
        ("scheduler: http://host:8786\n", "protocol 'http'"),
        ("scheduler: tcp://host\n", "needs a host and a port"),
        ("scheduler: tcp://host:99999\n", "needs a host and a port"),
        ("retries: -1\n", "retries must be a whole number"),
        ("retries: true\n", "retries must be a whole number"),
        ("retries: 1.5\n", "retries must be a whole number"),
    ],
)
def test_scheduler_and_retries_in_reports_yml_are_checked(project, top, message):
    config = _write(
        project, "reports.yml", top + "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb}\n"
    )
    with pytest.raises(ConfigError, match=message):
        load_config(config)


def test_scheduler_and_retries_are_read_and_the_command_line_overrides_them(project, capsys):
    config = _write(
        project,
        "reports.yml",
        "scheduler: tcp://10.0.0.5:8786\nretries: 0\n"
        "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb}\n",
    )
    loaded = load_config(config)
    assert (loaded.scheduler, loaded.retries) == ("tcp://10.0.0.5:8786", 0)
    plain = load_config(
        _write(project, "plain.yml", "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb}\n")
    )
    assert (plain.scheduler, plain.retries) == (None, 1)
    port = _closed_port()
    assert main(["report", "run", str(config), "--scheduler", f"127.0.0.1:{port}"]) == 2
    assert f"127.0.0.1:{port}" in capsys.readouterr().err, "the command line's address is used"
    assert main(["report", "run", str(project / "plain.yml"), "--retries", "2"]) == 2
    assert "--retries applies to jobs run on Dask" in capsys.readouterr().err
    assert main(["report", "run", str(config), "--scheduler", "nope://x:1"]) == 2
    assert "protocol 'nope'" in capsys.readouterr().err
    assert not (project / "reports").exists()


def test_a_url_as_a_data_path_is_refused_with_what_to_do(project):
    config = _write(
        project,
        "reports.yml",
        "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, "
        "parameters: {data_path: 's3://bucket/cohort.csv'}}\n",
    )
    with pytest.raises(ConfigError, match=r"job a: parameter 'data_path' is a URL.*mount"):
        load_config(config)
