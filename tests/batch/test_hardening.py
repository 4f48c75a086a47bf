"""The batch under failure (review issue 10): hanging cells, dying kernels, a killed runner and
the lock, the cache key, what reports.yml may hold, and the files a run writes.

Failure cases run tiny purpose-built notebooks in tmp_path; a case that used to hang runs the
command line in a subprocess with a time limit, so that a regression fails instead of hanging.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pfps_stats as ps
from pfps_stats import ConfigError, LockedError
from pfps_stats.batch import config as batch_config
from pfps_stats.batch import provenance, runner
from pfps_stats.batch.config import load_config
from pfps_stats.batch.runner import _lock, cache_key, run_batch
from pfps_stats.cli import main

PACKAGE = Path(ps.__file__).resolve().parent


def _notebook(path: Path, params: str, *cells: str) -> Path:
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
    return path


@pytest.fixture
def project(tmp_path):
    """A project with tiny notebooks: ok (prints its parameter), and room for more."""
    (tmp_path / "notebooks").mkdir()
    _notebook(tmp_path / "notebooks" / "ok.ipynb", "x = 0", "print(x)")
    return tmp_path


def _write(project: Path, text: str) -> Path:
    path = project / "reports.yml"
    path.write_text(text)
    return path


def _cli(config: Path, *args: str, timeout: float = 120, env: dict | None = None):
    """Run ``pfps-stats report run`` in its own process, killed after ``timeout`` seconds."""
    return subprocess.run(
        [sys.executable, "-m", "pfps_stats.cli", "report", "run", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, which nothing reaps in some containers, counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


# -- 8 (a, b): a hanging cell and a dying kernel fail their job promptly ---------------------


def test_a_hanging_cell_and_a_dying_kernel_fail_their_jobs_promptly(project):
    nbs = project / "notebooks"
    _notebook(nbs / "hang.ipynb", "x = 0", "import time\ntime.sleep(600)")
    _notebook(nbs / "die.ipynb", "x = 0", "import os\nos._exit(1)")
    config = _write(
        project,
        "timeout: 600\n"
        "jobs:\n"
        "  - {name: hang, notebook: notebooks/hang.ipynb, timeout: 3}\n"
        "  - {name: die, notebook: notebooks/die.ipynb}\n"
        "  - {name: ok, notebook: notebooks/ok.ipynb}\n",
    )
    started = time.monotonic()
    result = _cli(config, "--jobs", "2", timeout=90)
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started < 60
    jobs = {
        j["name"]: j
        for j in json.loads((project / "reports" / "manifest.json").read_text())["jobs"]
    }
    assert jobs["ok"]["status"] == "success"
    assert jobs["hang"]["status"] == "failed"
    assert "timed out" in jobs["hang"]["error"]
    assert "3 s" in jobs["hang"]["error"]
    assert "time.sleep" not in jobs["hang"]["error"], "no code in the index"
    assert jobs["die"]["status"] == "failed"
    assert "kernel died" in jobs["die"]["error"]
    assert jobs["die"]["duration_s"] < 30
    index = (project / "reports" / "index.html").read_text()
    assert "timed out" in index
    assert "kernel died" in index


def test_timeouts_are_read_from_the_top_level_and_each_job(project):
    config = load_config(
        _write(
            project,
            "timeout: 60\njobs:\n  - {name: a, notebook: notebooks/ok.ipynb}\n"
            "  - {name: b, notebook: notebooks/ok.ipynb, timeout: 7.5}\n",
        )
    )
    assert [j.timeout for j in config.jobs] == [60, 7.5]
    config = load_config(_write(project, "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb}\n"))
    assert config.jobs[0].timeout == 1800


# -- 8 (c): a killed runner leaves no workers, kernels, temporary folders or held lock ---------


@pytest.fixture
def sleepy(project, tmp_path):
    """A job whose kernel records its pid and its worker's, then sleeps; the command line's
    environment points its temporary and Jupyter runtime folders into tmp_path."""
    _notebook(
        project / "notebooks" / "sleepy.ipynb",
        'marker = ""',
        "import os, time\n"
        "open(marker + '.tmp', 'w').write(f'{os.getpid()} {os.getppid()}')\n"
        "os.replace(marker + '.tmp', marker)\n"
        "time.sleep(120)",
    )
    marker = tmp_path / "pids"
    config = _write(
        project,
        f"jobs:\n  - name: sleepy\n    notebook: notebooks/sleepy.ipynb\n"
        f"    parameters: {{marker: {json.dumps(str(marker))}}}\n",
    )
    # a short base: multiprocessing's forkserver puts a socket in TMPDIR, and a Unix socket
    # path must stay under 108 bytes (pytest-xdist's tmp_path is longer)
    base = Path(tempfile.mkdtemp(prefix="pfps-"))
    tmp, runtime = base / "tmp", base / "runtime"
    tmp.mkdir()
    runtime.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "JUPYTER_RUNTIME_DIR": str(runtime)}
    output = (tmp_path / "output.txt").open("w")  # not a pipe: orphans would hold it open
    proc = subprocess.Popen(
        [sys.executable, "-m", "pfps_stats.cli", "report", "run", str(config)],
        env=env,
        stdin=subprocess.DEVNULL,  # not the test runner's (pytest-xdist talks over it)
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    try:
        assert _wait_until(marker.exists, 90), "the sleepy job never started"
        kernel, worker = map(int, marker.read_text().split())
        yield proc, kernel, worker, tmp, runtime
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        output.close()
        shutil.rmtree(base, ignore_errors=True)


def _assert_cleaned_up(project, kernel, worker, tmp, runtime):
    assert _wait_until(lambda: not _alive(kernel) and not _alive(worker), 20), (
        "the worker and its kernel exit"
    )
    reports = project / "reports"
    assert not list(reports.glob(".run-*")), "no temporary report folder is left"
    assert not list(tmp.glob("pfk-*")), "no kernel socket folder is left"
    assert not list(tmp.glob("*.json")), "no kernel connection file is left"
    assert not list(runtime.iterdir())
    with _lock(reports) as note:  # the lock is free: a new run can start
        assert note is None


def test_sigterm_stops_the_run_and_cleans_up(project, sleepy):
    proc, kernel, worker, tmp, runtime = sleepy
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    _assert_cleaned_up(project, kernel, worker, tmp, runtime)
    log = "".join(p.read_text() for p in (project / "reports" / "logs").glob("run-*.log"))
    assert "stopped by SIGTERM" in log


def test_a_killed_runner_frees_the_lock_and_its_workers_exit(project, sleepy):
    proc, kernel, worker, tmp, runtime = sleepy
    proc.kill()  # SIGKILL: no handler runs, as with the OOM killer or a systemd timeout
    proc.wait(timeout=30)
    with _lock(project / "reports") as note:  # at once: no worker inherited the lock
        assert note is None
    _assert_cleaned_up(project, kernel, worker, tmp, runtime)


def _hold_lock(folder: Path, pid: int) -> subprocess.Popen:
    """A process holding ``folder/.lock`` with ``pid`` written in it, as a worker orphaned by
    an older version did."""
    code = (
        "import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "os.ftruncate(fd, 0); os.write(fd, sys.argv[2].encode())\n"
        "print('locked', flush=True)\n"
        "time.sleep(120)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(folder / ".lock"), str(pid)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert not _alive(gone.pid)
    return gone.pid


def test_a_stale_lock_is_taken_over_with_a_log_line(project):
    reports = project / "reports"
    reports.mkdir()
    holder = _hold_lock(reports, _dead_pid())
    try:
        with _lock(reports) as note:
            assert "stale" in note
            assert (reports / ".lock").read_text().strip() == str(os.getpid())
        config = _write(project, "jobs:\n  - {name: ok, notebook: notebooks/ok.ipynb}\n")
        holder2 = _hold_lock(reports, _dead_pid())
        try:
            assert main(["report", "run", str(config)]) == 0
        finally:
            holder2.kill()
            holder2.wait()
        log = "".join(p.read_text() for p in (reports / "logs").glob("run-*.log"))
        assert "stale lock" in log
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_held_by_a_live_process_is_respected_and_kept(project):
    reports = project / "reports"
    reports.mkdir()
    holder = _hold_lock(reports, os.getpid())
    try:
        with pytest.raises(LockedError, match=str(os.getpid())):
            with _lock(reports):
                pass
        assert (reports / ".lock").read_text() == str(os.getpid()), "a refused run keeps the pid"
    finally:
        holder.kill()
        holder.wait()


# -- 10: the cache key follows the registry, the demo cohort, and job names ----------------


def _package_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "pkg" / "pfps_stats"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_editing_the_evidence_registry_changes_the_cache_key(project, tmp_path, monkeypatch):
    copy = _package_copy(tmp_path)
    monkeypatch.setattr(provenance, "PACKAGE_ROOT", copy)
    config = load_config(_write(project, "jobs:\n  - {name: ev, notebook: notebooks/ok.ipynb}\n"))
    (job,) = config.jobs
    before = cache_key(job, runner.common_provenance(config))
    registry = copy / "data" / "evidence" / "estimates.csv"
    registry.write_text(registry.read_text().replace("0.", "1.", 1))
    assert cache_key(job, runner.common_provenance(config)) != before
    # bytecode is not source: a new __pycache__ leaves the key alone
    after = cache_key(job, runner.common_provenance(config))
    (copy / "__pycache__").mkdir()
    (copy / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert cache_key(job, runner.common_provenance(config)) == after


def test_editing_the_demo_cohort_changes_the_key_of_jobs_without_data_path(
    project, tmp_path, monkeypatch
):
    demo = tmp_path / "demo.csv"
    shutil.copy(ps.DEMO_COHORT, demo)
    monkeypatch.setattr(batch_config, "DEMO_COHORT", demo)
    config = load_config(
        _write(
            project,
            "defaults: {parameters: {x: null}}\n"
            "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb}\n",
        )
    )
    (job,) = config.jobs
    assert batch_config.data_file(job.parameters) == demo
    common = {"versions": {}, "package_sha256": "fixed"}
    before = cache_key(job, common)
    demo.write_text(demo.read_text().replace("SYN-MIL-0001", "SYN-MIL-X001"))
    assert cache_key(job, common) != before


@pytest.mark.parametrize("name", ["index", "manifest", "logs", "Index", "LOGS"])
def test_job_names_that_clash_with_the_site_are_refused(project, name):
    config = _write(project, f"jobs:\n  - {{name: {name}, notebook: notebooks/ok.ipynb}}\n")
    with pytest.raises(ConfigError, match=f"{name}.*reserved"):
        load_config(config)


# -- 11: reports.yml holds plain data only --------------------------------------------------


def test_a_yaml_tag_cannot_smuggle_code_into_a_parameter(project):
    _notebook(project / "notebooks" / "echo.ipynb", 'text = ""', "print(text)")
    payload = b'"; open("PWNED", "w") #'
    assert "'" not in payload.decode()
    import base64

    config = _write(
        project,
        "jobs:\n  - name: echo\n    notebook: notebooks/echo.ipynb\n"
        f"    parameters: {{text: !!binary {base64.b64encode(payload).decode()}}}\n",
    )
    assert main(["report", "run", str(config)]) == 2
    assert not (project / "notebooks" / "PWNED").exists()
    with pytest.raises(ConfigError, match="job echo.*'text'"):
        load_config(config)


_OK_JOB = "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("output_dir: null\n" + _OK_JOB, "output_dir"),
        ("output_dir: 5\n" + _OK_JOB, "output_dir"),
        ("defaults: [1]\n" + _OK_JOB, "defaults"),
        ("defaults: {parameters: [1]}\n" + _OK_JOB, "defaults"),
        ("defaults: {parameters: {x: !!set {a}}}\n" + _OK_JOB, "defaults.*'x'"),
        ("defaults: {colour: red}\n" + _OK_JOB, "defaults.*colour"),
        ("jobs:\n  - {name: a, notebook: 123}\n", "job a.*notebook"),
        ("jobs:\n  - {name: a, notebook: null}\n", "job a.*notebook"),
        ("jobs:\n  - {name: a, notebook: [x]}\n", "job a.*notebook"),
        ("jobs:\n  - {name: [a], notebook: notebooks/ok.ipynb}\n", "job 1.*name"),
        ("jobs:\n  - {name: 5, notebook: notebooks/ok.ipynb}\n", "job 1.*name"),
        ("jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, parameters: [1]}\n", "job a"),
        ("jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, parameters: x}\n", "job a"),
        (
            "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, parameters: {x: 9007199254740993}}\n",
            "job a.*'x'",
        ),
        (
            "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, parameters: {x: -9007199254740993}}\n",
            "job a.*'x'",
        ),
        (
            "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, parameters: {x: "
            + "9" * 5000
            + "}}\n",
            ".",
        ),
        (
            "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, parameters: {x: 2024-01-31}}\n",
            "job a.*'x'.*quote",
        ),
        (
            "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, parameters: {x: [1, !!binary AA==]}}\n",
            "job a.*'x'",
        ),
        (
            "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, parameters: {x: {1: a}}}\n",
            "job a.*'x'",
        ),
        (
            "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, parameters: {x: .nan}}\n",
            "job a.*'x'",
        ),
        (
            "jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, parameters: {x: &l [*l]}}\n",
            "job a.*'x'",
        ),
        ("jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, parameters: {1: a}}\n", "job a"),
        ("jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, timout: 5}\n", "job a.*timout"),
        ("jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, timeout: 0}\n", "job a.*timeout"),
        ("jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, timeout: true}\n", "job a.*timeout"),
        ("jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, timeout: ten}\n", "job a.*timeout"),
        ("timeout: -1\n" + _OK_JOB, "timeout"),
        ("timeout: .inf\n" + _OK_JOB, "timeout"),
        ("timeout: .nan\n" + _OK_JOB, "timeout"),
        ("timeout: 1" + "0" * 400 + "\n" + _OK_JOB, "timeout"),
        ("output: reports\n" + _OK_JOB, "output"),
        ("jobs: [1]\n", "job 1"),
        ("[" * 2000 + "]" * 2000 + "\n", "."),
        ("jobs:\n  - {name: a, notebook: notebooks/ok.ipynb, parameters: {x: !!int nope}}\n", "."),
    ],
)
def test_reports_yml_with_wrong_types_is_a_config_error(project, text, message):
    config = _write(project, text)
    with pytest.raises(ConfigError, match=message):
        load_config(config)
    assert main(["report", "run", str(config)]) == 2
    assert not (project / "reports").exists(), "nothing ran"


def test_plain_values_of_every_allowed_type_are_accepted(project):
    config = load_config(
        _write(
            project,
            "jobs:\n  - name: a\n    notebook: notebooks/ok.ipynb\n"
            "    parameters: {x: [1, -2.5, 'two', true, null, {k: [9007199254740992]}]}\n",
        )
    )
    assert config.jobs[0].parameters == {"x": [1, -2.5, "two", True, None, {"k": [2**53]}]}


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.binary(max_size=4),
    st.dates(),
    st.sampled_from(["notebooks/ok.ipynb", "ok", "reports", "x"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.one_of(st.text(max_size=4), st.integers(), st.just("x")), inner, max_size=3
        ),
    ),
    max_leaves=8,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    top=st.dictionaries(
        st.sampled_from(["output_dir", "defaults", "jobs", "timeout", "other"]), _values, max_size=4
    ),
    job=st.dictionaries(
        st.sampled_from(["name", "notebook", "parameters", "timeout", "x"]), _values, max_size=5
    ),
)
def test_any_yaml_document_loads_or_is_a_config_error(project, top, job):
    """Whatever reports.yml holds, load_config returns jobs or raises ConfigError."""
    document = {**top, "jobs": [{"name": "a", "notebook": "notebooks/ok.ipynb", **job}]}
    path = project / "reports.yml"
    path.write_text(yaml.dump(document))
    try:
        config = load_config(path)
    except ConfigError:
        return
    for j in config.jobs:
        json.dumps(j.parameters, allow_nan=False)  # plain, finite data all the way down
        assert j.timeout > 0


# -- 13: the files a run writes --------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_index_and_manifest_are_written_with_the_umask_like_reports(tmp_path, umask):
    old = os.umask(umask)
    try:
        runner._write_atomic("{}", tmp_path / "manifest.json")
        (tmp_path / "report.html").write_text("")
    finally:
        os.umask(old)
    assert (tmp_path / "manifest.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "manifest.json").stat().st_mode == (tmp_path / "report.html").stat().st_mode


@pytest.mark.parametrize("text", ["[1, 2]", '"x"', "{not json", '{"jobs": {"a": 1}}'])
def test_an_ill_shaped_manifest_is_set_aside_as_no_previous_runs(project, text):
    reports = project / "reports"
    reports.mkdir()
    (reports / "manifest.json").write_text(text)
    lines = []
    assert runner._previous(reports, lines.append) == {}
    assert any("manifest.json" in line for line in lines)


def test_ill_shaped_records_of_a_manifest_are_ignored(project):
    reports = project / "reports"
    reports.mkdir()
    good = {
        "name": "a",
        "status": "success",
        "cache_key": "k",
        "parameters": {},
        "output": "a.html",
    }
    bad = [
        1,
        {"status": "success"},
        {"name": "b", "duration_s": "slow"},
        {"name": "c", "parameters": 3},
        {"name": "d", "status": 5},
    ]
    (reports / "manifest.json").write_text(json.dumps({"jobs": [good, *bad]}))
    lines = []
    assert runner._previous(reports, lines.append) == {"a": good}
    assert any("ignored 5" in line for line in lines)


def test_a_run_over_a_manifest_that_is_a_list_succeeds(project):
    reports = project / "reports"
    reports.mkdir()
    (reports / "manifest.json").write_text("[1, 2]")
    config = _write(project, "jobs:\n  - {name: ok, notebook: notebooks/ok.ipynb}\n")
    assert main(["report", "run", str(config)]) == 0
    assert json.loads((reports / "manifest.json").read_text())["jobs"][0]["status"] == "success"
    assert (reports / "index.html").stat().st_mode == (reports / "ok.html").stat().st_mode
    log = "".join(p.read_text() for p in (reports / "logs").glob("run-*.log"))
    assert "manifest.json" in log


def test_an_output_folder_that_cannot_be_made_is_a_config_error(project, capsys):
    (project / "afile").write_text("")
    config = _write(project, "output_dir: afile/reports\n" + _OK_JOB)
    with pytest.raises(ConfigError, match="afile/reports"):
        run_batch(load_config(config), progress=False)
    assert main(["report", "run", str(config)]) == 2
    assert "afile/reports" in capsys.readouterr().err


@pytest.fixture
def read_only(project):
    """Makes a folder read-only, for root too (chattr +i) where it can."""
    made = []

    def make(folder: Path) -> None:
        if os.geteuid() != 0:
            folder.chmod(0o555)
        else:
            done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
            if shutil.which("chattr") is None or done.returncode:
                pytest.skip(f"cannot make a folder read-only for root here: {done.stderr}")
        made.append(folder)

    yield make
    for folder in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=False)
        folder.chmod(0o755)


@pytest.mark.parametrize("used_before", [False, True])
def test_a_read_only_output_folder_is_a_config_error_before_any_job_runs(
    project, read_only, capsys, used_before
):
    reports = project / "reports"
    (reports / "logs").mkdir(parents=True)
    if used_before:  # the lock file and the logs folder are there, and writable
        (reports / ".lock").write_text("")
    read_only(reports)
    config = _write(project, "jobs:\n  - {name: ok, notebook: notebooks/ok.ipynb}\n")
    with pytest.raises(ConfigError, match=re.escape(str(reports))):
        run_batch(load_config(config), progress=False)
    assert main(["report", "run", str(config)]) == 2
    assert str(reports) in capsys.readouterr().err
    log = "".join(p.read_text() for p in (reports / "logs").glob("run-*.log"))
    assert "running" not in log, "no job ran"


def test_a_full_disk_is_a_config_error_naming_the_folder(project, monkeypatch):
    def full(text, target):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    monkeypatch.setattr(runner, "_write_atomic", full)
    config = load_config(_write(project, "jobs:\n  - {name: ok, notebook: notebooks/ok.ipynb}\n"))
    with pytest.raises(ConfigError, match=f"{re.escape(str(project / 'reports'))}.*No space"):
        run_batch(config, progress=False)


def test_warnings_in_reports_carry_no_server_path(project):
    """Even in a notebook that never calls setup_report: the batch's kernels show warnings as
    report.quiet_warnings does, from the first cell on."""
    nbs = project / "notebooks"
    (nbs / "helper.py").write_text(
        "import warnings\n\ndef f():\n    warnings.warn('from a module', RuntimeWarning)\n"
    )
    _notebook(
        nbs / "warn.ipynb",
        "x = 0",
        "import warnings\nwarnings.warn('from a cell', RuntimeWarning)",
        "import helper\nhelper.f()",
        "warnings.warn('could not read /srv/clinic/data/clinic.csv')",
    )
    config = _write(project, "jobs:\n  - {name: warn, notebook: notebooks/warn.ipynb}\n")
    assert main(["report", "run", str(config)]) == 0
    executed = nbformat.read(project / "reports" / "warn.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "RuntimeWarning: from a cell" in text
    assert "RuntimeWarning: from a module" in text
    assert "UserWarning: could not read clinic.csv" in text
    assert "/" not in text, text
    html = (project / "reports" / "warn.html").read_text()
    assert "RuntimeWarning: from a cell" in html
    assert str(project) not in html
    assert "ipykernel_" not in html
    assert "/srv/" not in html


@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="needs Linux's /proc")
def test_a_kernel_listens_on_no_tcp_port_but_ipykernels_loopback_pipe(project):
    """README: kernels talk over IPC sockets; ipykernel's pipe for the output of subprocesses a
    cell forks is its one TCP socket, on 127.0.0.1 (ipykernel has no option to turn it off)."""
    _notebook(
        project / "notebooks" / "tcp.ipynb",
        "x = 0",
        "import os\n"
        "mine = set()\n"
        "for fd in os.listdir('/proc/self/fd'):\n"
        "    try:\n"
        "        target = os.readlink(f'/proc/self/fd/{fd}')\n"
        "    except OSError:\n"
        "        continue\n"
        "    if target.startswith('socket:['):\n"
        "        mine.add(target[8:-1])\n"
        "for table in ('tcp', 'tcp6'):\n"
        "    for row in open(f'/proc/self/net/{table}').read().splitlines()[1:]:\n"
        "        f = row.split()\n"
        "        if f[3] == '0A' and f[9] in mine:\n"
        "            print(table, f[1].split(':')[0])",
    )
    config = _write(project, "jobs:\n  - {name: tcp, notebook: notebooks/tcp.ipynb}\n")
    assert main(["report", "run", str(config)]) == 0
    executed = nbformat.read(project / "reports" / "tcp.ipynb", as_version=4)
    listening = (
        executed.cells[-1].outputs[0]["text"].split("\n") if executed.cells[-1].outputs else []
    )
    listening = [line for line in listening if line]
    assert listening == ["tcp 0100007F"], listening  # 127.0.0.1, and nothing else
