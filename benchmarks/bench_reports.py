"""Benchmark of the report batch, side by side in one run (SYNTHETIC demo data).

1. The shipped batch (reports.yml) with `pfps-stats report run --force` (parallel workers,
   in-process HTML conversion) against the same jobs one by one with the command-line tools:
   `papermill` then `jupyter nbconvert --to html --no-input`.
2. An unchanged re-run (every job cached) against the first run.
3. The same batch as Dask tasks on a LocalCluster of as many single-threaded worker processes
   as the parallel run uses (`--scheduler local`, cluster start and stop included).

    make bench     # or: .venv/bin/python benchmarks/bench_reports.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _timed(command: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "notebooks", work / "notebooks")
        shutil.copy(ROOT / "reports.yml", work / "reports.yml")
        config = yaml.safe_load((work / "reports.yml").read_text())
        jobs = config["jobs"]
        cli = str(BIN / "pfps-stats")

        batch = _timed([cli, "report", "run", "reports.yml", "--force"], work)
        cached = _timed([cli, "report", "run", "reports.yml"], work)
        manifest = json.loads((work / "reports" / "manifest.json").read_text())
        statuses = {j["status"] for j in manifest["jobs"]}
        on_dask = _timed(
            [cli, "report", "run", "reports.yml", "--force", "--scheduler", "local"], work
        )
        manifest = json.loads((work / "reports" / "manifest.json").read_text())
        dask_statuses = {j["status"] for j in manifest["jobs"]}
        workers = min(os.cpu_count() or 1, len(jobs))

        out = work / "sequential"
        out.mkdir()
        t0 = time.perf_counter()
        for job in jobs:
            params = {**config["defaults"]["parameters"], **(job.get("parameters") or {})}
            if params.get("data_path") is not None:
                params["data_path"] = str(work / params["data_path"])
            executed = out / f"{job['name']}.ipynb"
            subprocess.run(
                [
                    str(BIN / "papermill"),
                    str(work / job["notebook"]),
                    str(executed),
                    "-y",
                    yaml.safe_dump(params),
                    "--cwd",
                    str(work / "notebooks"),
                    "--no-progress-bar",
                ],
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)],
                check=True,
                capture_output=True,
            )
        sequential = time.perf_counter() - t0

    print(f"\nreport batch: {len(jobs)} jobs of reports.yml on the SYNTHETIC demo cohort")
    print(f"  papermill + jupyter nbconvert, one by one   {sequential:7.1f} s   1.0x")
    print(
        f"  pfps-stats report run --force (parallel)    {batch:7.1f} s   "
        f"{sequential / batch:4.1f}x faster"
    )
    print(
        f"  pfps-stats report run, unchanged (cached)   {cached:7.1f} s   "
        f"{batch / cached:4.1f}x faster than the first run (statuses: {sorted(statuses)})"
    )
    print(
        f"  {f'Dask LocalCluster, {workers} workers, --force':<44}{on_dask:7.1f} s   "
        f"{sequential / on_dask:4.1f}x faster (statuses: {sorted(dask_statuses)})"
    )


if __name__ == "__main__":
    main()
