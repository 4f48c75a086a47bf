"""Benchmark (issue 14): a pooled logistic model fitted to 50 million SYNTHETIC runner-weeks
from Parquet on a 2-worker LocalCluster with bounded memory, side by side in one run with
statsmodels' Logit in memory on the largest size that fits comfortably (5 million rows).

1. Writes the runner-weeks in chunks of whole runners (never all rows in memory) to
   ``data/processed/bench/SYNTHETIC_runner_weeks_<rows>/`` (gitignored; reused when the same
   specification is already there), one Parquet file per chunk.
2. Starts a LocalCluster (2 workers, 1 thread each, ``--memory-limit`` per worker) and fits
   ``ps.fit_logistic(dd.read_parquet(folder), FORMULA)``, then the same with
   ``cluster="runner_id"`` (files hold whole runners, so clusters never span partitions);
   prints total time, passes over the data, the peak memory (RSS) of each worker and of this
   process, and the estimates against the true model.
3. On the first 5M rows (``--memory-rows``): statsmodels Logit on a prebuilt design matrix in
   this process, pfps_stats' in-memory fit_logistic (patsy design + statsmodels), and the Dask
   fit of the same rows; time, time per million rows and ratios, and the agreement of the
   estimates.

    make bench     # or: .venv/bin/python benchmarks/bench_dask.py [--quick] [--rows 50000000]
                   #        [--memory-rows 5000000] [--memory-limit 3.5GiB] [--no-cluster-fit]
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

import pfps_stats as ps

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "data" / "processed" / "bench"
FORMULA = "pfp ~ weekly_km + spike + bmi + C(sex)"
WEEKS = 100  # weeks per runner
#: The true model: logit P(PFP onset in a week) (SYNTHETIC).
TRUTH = {
    "Intercept": -4.2 - 0.04 * 23.5,
    "C(sex)[T.M]": 0.25,
    "weekly_km": 0.015,
    "spike": 0.5,
    "bmi": 0.04,
}
SEED = 20260614


# ---------------------------------------------------------------------------------------------
# SYNTHETIC data, written in chunks


def chunk(index: int, runners: int, first_runner: int) -> pa.Table:
    """One chunk of SYNTHETIC runner-weeks: ``runners`` whole runners x WEEKS weeks."""
    rng = np.random.default_rng([SEED, index])
    n = runners * WEEKS
    bmi = np.round(rng.normal(23.5, 3.0, runners), 1)
    male = rng.random(runners) < 0.5
    km = np.round(rng.gamma(4.0, 7.0, n), 1)
    spike = (rng.random(n) < 0.15).astype(np.int8)
    eta = (
        TRUTH["Intercept"]
        + TRUTH["weekly_km"] * km
        + TRUTH["spike"] * spike
        + np.repeat(TRUTH["bmi"] * bmi + TRUTH["C(sex)[T.M]"] * male, WEEKS)
    )
    pfp = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int8)
    codes = pa.array(np.repeat(male.astype(np.int8), WEEKS))
    return pa.table(
        {
            "runner_id": np.repeat(np.arange(first_runner, first_runner + runners), WEEKS),
            "week": np.tile(np.arange(WEEKS, dtype=np.int16), runners),
            "weekly_km": km,
            "spike": spike,
            "bmi": np.repeat(bmi, WEEKS),
            "sex": pa.DictionaryArray.from_arrays(codes, pa.array(["F", "M"])),
            "pfp": pfp,
            "data_source": pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, dtype=np.int8)), pa.array(["SYNTHETIC"])
            ),
        }
    )


def write(rows: int, rows_per_file: int) -> tuple[Path, float, bool]:
    """Write (or reuse) the SYNTHETIC runner-weeks; returns the folder, seconds, written."""
    folder = BENCH / f"SYNTHETIC_runner_weeks_{rows}"
    spec = {"rows": rows, "rows_per_file": rows_per_file, "weeks": WEEKS, "seed": SEED,
            "truth": TRUTH, "label": "SYNTHETIC"}  # fmt: skip
    marker = folder / "SYNTHETIC_spec.json"
    if marker.exists() and json.loads(marker.read_text()) == spec:
        return folder, 0.0, False
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    t0 = time.perf_counter()
    runners = rows_per_file // WEEKS
    for i in range(rows // rows_per_file):
        pq.write_table(
            chunk(i, runners, i * runners),
            folder / f"SYNTHETIC_part-{i:04d}.parquet",
            row_group_size=rows_per_file,
        )
    marker.write_text(json.dumps(spec))
    return folder, time.perf_counter() - t0, True


def files(folder: Path, n: int | None = None) -> list[str]:
    found = sorted(str(p) for p in folder.glob("SYNTHETIC_part-*.parquet"))
    return found if n is None else found[:n]


# ---------------------------------------------------------------------------------------------
# Memory


class PeakMemory:
    """Peak resident memory of each worker and of this process, sampled every 0.2 s."""

    def __init__(self, client=None):
        self.client = client
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        sizes = {"this process": psutil.Process().memory_info().rss}
        if self.client is not None:
            rss = self.client.run(lambda: psutil.Process().memory_info().rss)
            sizes.update({f"worker {i}": v for i, (_, v) in enumerate(sorted(rss.items()))})
        for name, value in sizes.items():
            self.peaks[name] = max(self.peaks.get(name, 0.0), value / 2**20)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._sample()
            except Exception:  # a worker restarting: sample again next time
                pass
            self._stop.wait(0.2)

    def __enter__(self):
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    def text(self) -> str:
        return ", ".join(f"{k} {v:,.0f} MiB" for k, v in self.peaks.items())


# ---------------------------------------------------------------------------------------------
# Fits


def dask_fit(paths, client, **kwargs):
    import dask.dataframe as dd

    t0 = time.perf_counter()
    with PeakMemory(client) as memory, warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        fit = ps.fit_logistic(dd.read_parquet(paths), FORMULA, **kwargs)
    return fit, time.perf_counter() - t0, memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2M rows, 1M in memory")
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--memory-rows", type=int, default=5_000_000)
    parser.add_argument("--rows-per-file", type=int, default=1_000_000)
    parser.add_argument("--memory-limit", default="3.5GiB")
    parser.add_argument("--no-cluster-fit", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.memory_rows, args.rows_per_file = 2_000_000, 1_000_000, 500_000
    import statsmodels.api as sm
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    folder, seconds, written = write(args.rows, args.rows_per_file)
    n_files = args.rows // args.rows_per_file
    print(
        f"\nDask logistic fit on {args.rows:,} SYNTHETIC runner-weeks ({args.rows // WEEKS:,} "
        f"runners x {WEEKS} weeks; {n_files} Parquet files of {args.rows_per_file:,} rows)"
    )
    print(
        f"  data: {folder.relative_to(ROOT)} "
        + (f"written in {seconds:.1f} s" if written else "reused (same specification)")
    )
    print(f"  formula: {FORMULA}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a dashboard port already in use
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit=args.memory_limit,
            silence_logs=logging.ERROR,
        )
    with cluster, Client(cluster) as client:
        print(f"  LocalCluster: 2 workers x 1 thread, memory_limit {args.memory_limit} per worker")
        client.run(lambda: __import__("pfps_stats.models.dask_logistic"))  # warm imports
        big, big_s, big_mem = dask_fit(files(folder), client)
        print(
            f"\n  fit_logistic(dd.read_parquet(...)) on {big.n_obs:,} rows: {big_s:.1f} s "
            f"({big_s / (big.n_obs / 1e6):.2f} s per million rows), {big.n_iter} Newton "
            f"iterations, {big.n_passes} passes over the data"
        )
        print(f"    peak memory (RSS): {big_mem.text()}")
        clustered = None
        if not args.no_cluster_fit:
            clustered, cl_s, cl_mem = dask_fit(files(folder), client, cluster="runner_id")
            print(
                f"  ... with cluster='runner_id' ({clustered.cluster['n_clusters']:,} clusters, "
                f"CR1): {cl_s:.1f} s ({cl_s / (clustered.n_obs / 1e6):.2f} s per million rows), "
                f"{clustered.n_passes} passes"
            )
            print(f"    peak memory (RSS): {cl_mem.text()}")
        print(f"\n  estimates vs the true model ({big.n_events:,} events)")
        head = f"  {'term':<13} {'truth':>9} {'estimate':>10} {'SE':>9} {'z vs truth':>10}"
        print(head + (f" {'SE (CR1)':>9}" if clustered else ""))
        for term in big.columns:
            est, se = big.params_[term], big.bse_[term]
            line = (
                f"  {term:<13} {TRUTH[term]:9.4f} {est:10.4f} {se:9.5f} "
                f"{(est - TRUTH[term]) / se:10.2f}"
            )
            print(line + (f" {clustered.bse_[term]:9.5f}" if clustered else ""))

        # -- in memory, on the first rows -------------------------------------------------
        k = max(1, args.memory_rows // args.rows_per_file)
        small_paths = files(folder, k)
        n_small = k * args.rows_per_file
        t0 = time.perf_counter()
        with PeakMemory():
            frame = pd.concat([pd.read_parquet(p) for p in small_paths], ignore_index=True)
            frame["sex"] = frame["sex"].astype(str)
        read_s = time.perf_counter() - t0
        X = np.column_stack(
            [
                np.ones(len(frame)),
                (frame["sex"] == "M").to_numpy(float),
                frame["weekly_km"].to_numpy(float),
                frame["spike"].to_numpy(float),
                frame["bmi"].to_numpy(float),
            ]
        )
        y = frame["pfp"].to_numpy(float)
        t0 = time.perf_counter()
        with PeakMemory() as sm_mem:
            sm_fit = sm.Logit(y, X).fit(disp=0, method="newton")
        sm_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with PeakMemory() as mem_mem, warnings.catch_warnings():
            warnings.simplefilter("ignore", ps.ModelWarning)
            in_memory = ps.fit_logistic(frame, FORMULA)
        mem_s = time.perf_counter() - t0
        del frame, X, y
        small, small_s, small_mem = dask_fit(small_paths, client)
    per = {name: s / (n / 1e6) for name, s, n in (("sm", sm_s, n_small), ("big", big_s, big.n_obs))}
    print(f"\n  side by side on {n_small:,} rows (read into pandas first: {read_s:.1f} s)")
    print(f"  {'method':<48} {'s':>7} {'s/M rows':>9} {'ratio':>6}  peak RSS")
    rows = [
        ("statsmodels Logit in memory (prebuilt X)", sm_s, n_small, sm_mem.text()),
        ("pfps_stats fit_logistic in memory", mem_s, n_small, mem_mem.text()),
        ("pfps_stats fit_logistic on Dask (2 workers)", small_s, n_small, small_mem.text()),
        (f"pfps_stats fit_logistic on Dask, {big.n_obs:,} rows", big_s, big.n_obs, ""),
    ]
    for name, s, n, memory in rows:
        print(
            f"  {name:<48} {s:7.2f} {s / (n / 1e6):9.3f} {s / (n / 1e6) / per['sm']:5.2f}x  {memory}"
        )
    sm_beta = np.asarray(sm_fit.params)
    sm_se = np.asarray(sm_fit.bse)
    order = [
        small.columns.index(c) for c in ["Intercept", "C(sex)[T.M]", "weekly_km", "spike", "bmi"]
    ]
    print(
        f"  Dask vs statsmodels on the same rows: max |coef diff| "
        f"{np.max(np.abs(small.params_.to_numpy()[order] - sm_beta)):.1e}, max |SE rel diff| "
        f"{np.max(np.abs(small.bse_.to_numpy()[order] / sm_se - 1)):.1e}; vs the in-memory "
        f"fit_logistic: {np.max(np.abs(small.params_ - in_memory.params_)):.1e}, "
        f"{np.max(np.abs(small.bse_ / in_memory.bse_ - 1)):.1e}"
    )
    print(
        f"  ratio (time per million rows): Dask on {big.n_obs:,} rows / statsmodels in memory "
        f"on {n_small:,} = {per['big'] / per['sm']:.2f}x; same size, Dask / statsmodels = "
        f"{small_s / sm_s:.2f}x"
    )
    print(f"  total run: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
