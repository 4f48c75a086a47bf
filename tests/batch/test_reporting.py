"""The report batch with the real papermill, kernel and nbconvert, in a temporary folder."""

import json
import shutil
from pathlib import Path

import nbformat
import pytest

import pfps_stats as ps
from pfps_stats import ConfigError
from pfps_stats.batch.config import declared_parameters, load_config
from pfps_stats.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path):
    """A copy of the notebooks and demo data with a reports.yml, as a user's project."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    (tmp_path / "data").mkdir()
    shutil.copy(ps.DEMO_COHORT, tmp_path / "data" / "demo.csv")
    broken = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("data_path = ''")
    cell.metadata["tags"] = ["parameters"]
    broken.cells = [cell, nbformat.v4.new_code_cell("raise RuntimeError('boom')")]
    broken.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(broken, tmp_path / "notebooks" / "broken.ipynb")
    return tmp_path


def _config(project: Path, jobs: str) -> Path:
    path = project / "reports.yml"
    path.write_text("defaults:\n  parameters:\n    data_path: data/demo.csv\njobs:\n" + jobs)
    return path


def test_batch_writes_reports_index_and_manifest(project):
    config = _config(
        project,
        "  - name: dq-military\n    notebook: notebooks/01-data-quality.ipynb\n"
        "    parameters: {subgroup: military}\n",
    )
    assert main(["report", "run", str(config)]) == 0
    html = (project / "reports" / "dq-military.html").read_text()
    assert "SYNTHETIC DATA" in html
    assert "Provenance" in html
    assert "data_sha256" in html
    assert "report.setup_report(" not in html, "code cells are hidden"
    index = (project / "reports" / "index.html").read_text()
    assert 'href="dq-military.html"' in index
    manifest = json.loads((project / "reports" / "manifest.json").read_text())
    (job,) = manifest["jobs"]
    assert job["status"] == "success"
    assert job["parameters"]["subgroup"] == "military"
    assert len(job["provenance"]["data_sha256"]) == 64


def test_a_failed_job_keeps_the_last_good_report(project):
    good = "  - name: dq\n    notebook: notebooks/01-data-quality.ipynb\n"
    assert main(["report", "run", str(_config(project, good))]) == 0
    before = (project / "reports" / "dq.html").read_text()
    bad = good.replace("01-data-quality", "broken")
    assert main(["report", "run", str(_config(project, bad))]) == 1
    assert (project / "reports" / "dq.html").read_text() == before
    manifest = json.loads((project / "reports" / "manifest.json").read_text())
    assert "RuntimeError: boom" in manifest["jobs"][0]["error"]
    assert "boom" in (project / "reports" / "index.html").read_text()
    assert not list((project / "reports").glob(".run-*")), "temporary files are cleaned up"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jobs: [\n", "not valid YAML"),
        ("jobs: []\n", "non-empty list"),
        ("jobs:\n  - name: a\n    notebook: notebooks/none.ipynb\n", "not found"),
        (
            "jobs:\n  - name: a\n    notebook: notebooks/01-data-quality.ipynb\n"
            "    parameters: {colour: red}\n",
            "does not declare parameter\\(s\\) colour",
        ),
    ],
)
def test_config_errors_are_reported_before_anything_runs(project, text, message, capsys):
    path = project / "reports.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)
    assert main(["report", "run", str(path)]) == 2
    assert not (project / "reports").exists()


def test_shipped_notebooks_declare_their_parameters():
    common = {"data_path", "subgroup", "outcome", "suppress_small_cells", "min_cell"}
    assert declared_parameters(ROOT / "notebooks" / "01-data-quality.ipynb") == common
    assert declared_parameters(ROOT / "notebooks" / "02-risk-factors.ipynb") == common | {
        "factors",
        "n_boot",
        "seed",
        "missing",
        "m",
        "max_iter",
    }
    assert declared_parameters(ROOT / "notebooks" / "03-evidence.ipynb") == common
    assert declared_parameters(ROOT / "notebooks" / "04-training-load.ipynb") == (
        common - {"outcome"}
    ) | {"log_path", "injuries_path", "dayfirst", "log_mapping", "pfp_labels"}
    assert declared_parameters(ROOT / "notebooks" / "05-study-planning.ipynb") == {
        "data_path",
        "factor",
        "subgroup",
        "power",
        "alpha",
        "dropout",
        "r2_other",
        "use",
        "method",
        "n_sim",
        "seed",
    }


def test_shipped_config_is_valid():
    config = load_config(ROOT / "reports.yml")
    names = {job.name for job in config.jobs}
    for notebook in ("data-quality", "risk-factors", "evidence"):
        for subgroup in ("all", "military", "adolescent", "recreational"):
            assert f"{notebook}-{subgroup}" in names
    assert "training-load-all" in names
    assert "study-planning-military" in names
