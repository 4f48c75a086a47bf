"""Benchmark: load_cohort (read + match + convert + validate) against plain pandas.read_csv of
the same file, side by side in one run. Prints the median of several repeats and the ratio.

    make bench          # or: .venv/bin/python benchmarks/bench_load.py [n_rows ...]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import pfps_stats as ps

REPEATS = 5


def _median_seconds(func) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(sizes: list[int]) -> None:
    print(f"load_cohort vs pandas.read_csv, median of {REPEATS} runs (SYNTHETIC data)")
    print(f"{'rows':>9} {'read_csv s':>11} {'load_cohort s':>14} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"cohort_{n}.csv"
            ps.simulate_cohort(n, seed=1, missing=0.02).to_csv(path, index=False)
            baseline = _median_seconds(lambda p=path: pd.read_csv(p))
            ours = _median_seconds(lambda p=path: ps.load_cohort(p))
            print(f"{n:>9} {baseline:>11.3f} {ours:>14.3f} {ours / baseline:>6.1f}x")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
