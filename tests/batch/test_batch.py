"""The scheduled batch: caching, the lock, parameters as data, IPC kernels, privacy. The site
in a real browser: tests/batch/test_browser.py."""

import json
import shutil
from pathlib import Path

import nbformat
import pytest

import pfps_stats as ps
from pfps_stats import LockedError
from pfps_stats.batch.config import load_config
from pfps_stats.batch.runner import _lock, run_batch
from pfps_stats.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _notebook(path: Path, params: str, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path):
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    (tmp_path / "data").mkdir()
    shutil.copy(ps.DEMO_COHORT, tmp_path / "data" / "demo.csv")
    return tmp_path


def _config(project: Path, jobs: str) -> Path:
    path = project / "reports.yml"
    path.write_text("defaults:\n  parameters:\n    data_path: data/demo.csv\njobs:\n" + jobs)
    return path


DQ = "  - {name: dq, notebook: notebooks/01-data-quality.ipynb, parameters: {subgroup: military}}\n"


def test_unchanged_jobs_are_cached_until_forced_or_changed(project):
    config = _config(project, DQ)
    assert main(["report", "run", str(config)]) == 0
    first = json.loads((project / "reports" / "manifest.json").read_text())["jobs"][0]
    code, records = run_batch(load_config(config), progress=False)
    assert code == 0
    assert records[0]["status"] == "cached"
    assert records[0]["cache_key"] == first["cache_key"]
    code, records = run_batch(load_config(config), force=True, progress=False)
    assert records[0]["status"] == "success"
    with (project / "data" / "demo.csv").open("a") as handle:  # new data: a new cache key
        handle.write("")
    text = (project / "data" / "demo.csv").read_text()
    (project / "data" / "demo.csv").write_text(text.replace("SYN-MIL-0001", "SYN-MIL-X001"))
    code, records = run_batch(load_config(config), progress=False)
    assert records[0]["status"] == "success"
    assert records[0]["cache_key"] != first["cache_key"]
    logs = list((project / "reports" / "logs").glob("run-*.log"))
    assert logs
    assert any("cached   dq" in log.read_text() for log in logs)


def test_only_one_job_keeps_the_others_in_the_index(project):
    config = _config(project, DQ + DQ.replace("name: dq", "name: dq2"))
    assert main(["report", "run", str(config), "--jobs", "2"]) == 0
    assert main(["report", "run", str(config), "--only", "dq2", "--force"]) == 0
    manifest = json.loads((project / "reports" / "manifest.json").read_text())
    assert [j["name"] for j in manifest["jobs"]] == ["dq", "dq2"]


def test_a_second_run_is_refused_while_one_holds_the_lock(project):
    config = load_config(_config(project, DQ))
    config.output_dir.mkdir(parents=True)
    with _lock(config.output_dir):
        with pytest.raises(LockedError, match="another report run"):
            run_batch(config, progress=False)
        assert main(["report", "run", str(project / "reports.yml")]) == 3


def test_parameters_are_injected_as_data_not_code(project):
    _notebook(
        project / "notebooks" / "echo.ipynb",
        'text = ""\nout_path = ""',
        "assert isinstance(text, str)\nopen(out_path, 'w').write(text)",
    )
    evil = "quote \" and ' and \n newline\n__import__('os').system('touch HACKED') # \\"
    out = project / "echo.txt"
    config = _config(
        project,
        "  - name: echo\n    notebook: notebooks/echo.ipynb\n"
        f"    parameters: {{text: {json.dumps(evil)}, out_path: "
        f"{json.dumps(str(out))}}}\n",
    )
    config.write_text(
        config.read_text()
        .replace("    data_path: data/demo.csv\n", "    {}\n")
        .replace("defaults:\n  parameters:\n    {}\n", "")
    )
    assert main(["report", "run", str(config)]) == 0
    assert out.read_text() == evil
    assert not (project / "notebooks" / "HACKED").exists()


def test_kernels_listen_on_ipc_not_tcp(project):
    _notebook(
        project / "notebooks" / "transport.ipynb",
        "unused = 0",
        "import json, ipykernel\n"
        "print(json.load(open(ipykernel.get_connection_file()))['transport'])",
    )
    config = _config(project, "  - {name: t, notebook: notebooks/transport.ipynb}\n")
    config.write_text(
        config.read_text().replace("defaults:\n  parameters:\n    data_path: data/demo.csv\n", "")
    )
    assert main(["report", "run", str(config)]) == 0
    executed = nbformat.read(project / "reports" / "t.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"].strip() == "ipc"


def test_reports_hold_no_runner_ids_and_suppress_small_cells(project):
    tiny = ps.simulate_cohort(30, subgroup="recreational", seed=3, incidence=0.05)
    assert tiny["pfp"].sum() < 5
    tiny.to_csv(project / "data" / "tiny.csv", index=False)
    config = _config(
        project,
        "  - name: dq-tiny\n    notebook: notebooks/01-data-quality.ipynb"
        "\n    parameters: {data_path: data/tiny.csv}\n" + DQ,
    )
    assert main(["report", "run", str(config)]) == 0
    for page in ("dq-tiny.html", "dq.html"):
        html = (project / "reports" / page).read_text()
        assert "SYN-" not in html, "no row-level identifiers in reports"
    assert "&lt;5" in (project / "reports" / "dq-tiny.html").read_text()


def test_a_change_to_the_package_code_invalidates_the_cache(project, monkeypatch):
    """pfps_stats's version number does not change with its code; its source hash does."""
    from pfps_stats.batch import provenance

    config = _config(project, DQ)
    assert run_batch(load_config(config), progress=False)[1][0]["status"] == "success"
    assert run_batch(load_config(config), progress=False)[1][0]["status"] == "cached"
    monkeypatch.setattr(provenance, "package_source_sha256", lambda: "edited")
    assert run_batch(load_config(config), progress=False)[1][0]["status"] == "success"
