"""Shared fixtures. No test touches the network; every random draw has a fixed seed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no screen: render off-screen

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import pfps_stats as ps

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _close_figures():
    """Every test starts and ends with no open figure."""
    yield
    plt.close("all")


@pytest.fixture
def demo_path() -> Path:
    return ps.DEMO_COHORT


@pytest.fixture
def small_cohort() -> pd.DataFrame:
    """A small SYNTHETIC cohort in canonical columns (fixed seed)."""
    return ps.simulate_cohort(60, subgroup="military", seed=1)


@pytest.fixture
def write_text(tmp_path):
    """Write text to a file in tmp_path with a given encoding; return the path."""

    def write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _make_log(rows, unit: str = "us") -> pd.DataFrame:
    """A log in ps.load_training_log's form from (runner, start, km) tuples."""
    log = pd.DataFrame(rows, columns=["runner_id", "start", "distance_km"])
    log["start"] = pd.to_datetime(log["start"], format="ISO8601").astype(f"datetime64[{unit}]")
    log["duration_min"] = log["distance_km"] * 6.0
    log["activity_type"] = "Run"
    log["source_row"] = np.arange(1, len(log) + 1)
    return log


@pytest.fixture
def make_log():
    """``make_log([(runner, start, km), ...], unit="us")``: a log as the loader returns it
    (6 min/km durations, activity "Run", source_row 1, 2, ...)."""
    return _make_log


@pytest.fixture(scope="module")
def dask_client():
    """A Dask LocalCluster of 2 single-threaded worker processes (1 GiB each) and its client,
    for one test module; closed after it."""
    import logging
    import warnings

    from distributed import Client, LocalCluster

    with warnings.catch_warnings():  # "port 8787 in use" when another cluster runs
        warnings.simplefilter("ignore", UserWarning)
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit="1GiB",
            silence_logs=logging.ERROR,
        )
    with cluster, Client(cluster) as client:
        yield client


@pytest.fixture
def one_job_config(tmp_path):
    """Write a reports.yml of one job (``a``) on a one-cell notebook into ``tmp_path``, with
    ``top`` (text) before its jobs; return its path."""
    import nbformat

    def write(top: str = "") -> Path:
        notebook = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("subgroup = None")
        cell.metadata["tags"] = ["parameters"]
        notebook.cells = [cell]
        nbformat.write(notebook, tmp_path / "nb.ipynb")
        config = tmp_path / "reports.yml"
        config.write_text(top + "jobs:\n  - name: a\n    notebook: nb.ipynb\n", encoding="utf-8")
        return config

    return write
