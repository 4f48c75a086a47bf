"""Benchmark (issue 11, item 9): session and weekly exposures for 2,000,000 runs (10,000 runners
× 200 runs, SYNTHETIC), side by side in one run with

- (a) the baseline: ``pandas.read_csv`` of the same log written as one long CSV;
- (b) ``session_exposures`` + ``weekly_exposures`` on the log in ``ps.load_training_log``'s
  form (and ``load_training_log`` itself on the CSV, when it exists);
- (c) a straightforward per-runner loop computing the same exposures (for each runner: a
  time-based rolling max, weekly sums on a reindexed calendar, shifts), timed on a subset of
  runners and scaled linearly to the whole log; its results are checked against (b) first.

Targets: (b) at most 5 × (a); (c) at least 20 × (b). Prints PASS/MISS per target (exit 0
either way) and the peak traced memory of (b).

    make bench     # or: .venv/bin/python benchmarks/bench_exposures.py [--runners 10000]
                   #        [--runs 200] [--loop-runners 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import math
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from pfps_stats.exposures.sessions import session_exposures
from pfps_stats.exposures.states import spike_state
from pfps_stats.exposures.weeks import weekly_exposures

SYNTHETIC = "SYNTHETIC"
DAY = pd.Timedelta(days=1)


def synthetic_log(n_runners: int, runs: int, seed: int = 11) -> pd.DataFrame:
    """A SYNTHETIC log in load_training_log's form: 3-5 runs a week, runner-specific distances,
    occasional long runs, times to the second, sorted by runner and start."""
    rng = np.random.default_rng(seed)
    start0 = np.datetime64("2023-01-02T06:00:00", "s").astype(np.int64)
    first = start0 + rng.integers(0, 365 * 86_400, n_runners)
    gaps = (8 * 3600 + rng.exponential(1.6 * 86_400, (n_runners, runs))).astype(np.int64)
    gaps[:, 0] = 0
    seconds = first[:, None] + np.cumsum(gaps, axis=1)
    usual = rng.gamma(6.0, 1.3, n_runners)[:, None]  # km
    km = usual * rng.lognormal(0.0, 0.35, (n_runners, runs))
    km[rng.random((n_runners, runs)) < 0.03] *= 2.5  # occasional spikes
    km = np.clip(np.round(km, 2), 0.5, 250.0).ravel()
    n = n_runners * runs
    return pd.DataFrame(
        {
            "runner_id": np.repeat([f"S{i:05d}" for i in range(n_runners)], runs),
            "start": seconds.ravel().astype("datetime64[s]").astype("datetime64[us]"),
            "distance_km": km,
            "duration_min": np.round(km * rng.uniform(4.5, 7.0, n), 1),
            "activity_type": "Run",
            "source_row": np.arange(1, n + 1),
            "data_source": SYNTHETIC,
        }
    )


def synthetic_injuries(log: pd.DataFrame, seed: int = 12) -> pd.DataFrame:
    """SYNTHETIC injuries: a PFP onset for 10 % of runners, another injury for 5 %."""
    rng = np.random.default_rng(seed)
    spans = log.groupby("runner_id", sort=False)["start"].agg(["min", "max"])
    pick = rng.random(len(spans))
    hurt = spans[pick < 0.15]
    onset = hurt["min"] + (hurt["max"] - hurt["min"]) * rng.random(len(hurt))
    return pd.DataFrame(
        {
            "runner_id": hurt.index.to_numpy(),
            "onset": onset.dt.normalize().to_numpy(),
            "diagnosis": np.where(pick[pick < 0.15] < 0.10, "PFP", "ankle sprain"),
            "pfp": pick[pick < 0.15] < 0.10,
            "follow_up_end": pd.NaT,
            "source_row": np.arange(1, len(hurt) + 1),
        }
    )


def exposures(log: pd.DataFrame, injuries: pd.DataFrame | None = None):
    return session_exposures(log, injuries), weekly_exposures(log, injuries)


def per_runner_loop(log: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same session and weekly exposures, written the straightforward way: one runner at
    a time with pandas' own tools."""
    sessions, weeks = [], []
    for runner, runs in log.groupby("runner_id", sort=False):
        km = runs.set_index("start")["distance_km"]
        longest = km.rolling("30D", closed="left").max().to_numpy()
        ratio = runs["distance_km"].to_numpy() / longest - 1
        sessions.append(
            runs.assign(
                longest_30d_km=longest, session_ratio=ratio, session_state=spike_state(ratio)
            )
        )
        monday = runs["start"].dt.normalize() - runs["start"].dt.day_of_week * DAY
        calendar = pd.date_range(monday.iloc[0], monday.iloc[-1], freq="7D")
        weekly = runs.groupby(monday)["distance_km"].sum().reindex(calendar, fill_value=0.0)
        week_ratio = weekly / weekly.shift(1) - 1
        acwr = weekly / weekly.shift(1).rolling(3).mean() - 1
        weeks.append(
            pd.DataFrame(
                {
                    "runner_id": runner,
                    "week": calendar,
                    "weekly_km": weekly.to_numpy(),
                    "week_ratio": week_ratio.to_numpy(),
                    "week_state": spike_state(week_ratio),
                    "acwr": acwr.to_numpy(),
                    "acwr_state": spike_state(acwr),
                }
            )
        )
    return pd.concat(sessions, ignore_index=True), pd.concat(weeks, ignore_index=True)


def plain_python_loop(log: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same exposures in plain Python over lists, one runner at a time: for each run, scan
    back over the runner's earlier runs while they lie in the 30-day window; weekly totals in
    a dict, then a pass over the runner's calendar weeks."""
    day, window = 86_400 * 10**9, 30 * 86_400 * 10**9
    runner = log["runner_id"].tolist()
    t = log["start"].astype("datetime64[ns]").to_numpy().view("int64").tolist()
    km = log["distance_km"].tolist()
    longest, week_rows = [], []
    i, n = 0, len(t)
    while i < n:
        j = i
        while j < n and runner[j] == runner[i]:
            j += 1
        for k in range(i, j):
            best, back = math.nan, k - 1
            while back >= i and t[back] >= t[k] - window:
                best = km[back] if math.isnan(best) else max(best, km[back])
                back -= 1
            longest.append(best)
        totals: dict[int, float] = {}
        for k in range(i, j):
            week = (t[k] // day + 3) // 7  # Monday weeks (1970-01-01 was a Thursday)
            totals[week] = totals.get(week, 0.0) + km[k]
        first, last = (t[i] // day + 3) // 7, (t[j - 1] // day + 3) // 7
        series = [totals.get(w, 0.0) for w in range(first, last + 1)]
        for q, this in enumerate(series):
            week_ratio = _ratio(this, series[q - 1]) if q >= 1 else math.nan
            acwr = _ratio(this, (series[q - 3] + series[q - 2] + series[q - 1]) / 3)
            week_rows.append((runner[i], this, week_ratio, acwr if q >= 3 else math.nan))
        i = j
    ratio = np.asarray(km) / np.asarray(longest) - 1
    sessions = pd.DataFrame(
        {"longest_30d_km": longest, "session_ratio": ratio, "session_state": spike_state(ratio)}
    )
    weeks = pd.DataFrame(week_rows, columns=["runner_id", "weekly_km", "week_ratio", "acwr"])
    weeks["week_state"] = spike_state(weeks["week_ratio"])
    weeks["acwr_state"] = spike_state(weeks["acwr"])
    return sessions, weeks


def _ratio(new: float, old: float) -> float:
    if old == 0:
        return math.inf if new > 0 else math.nan
    return new / old - 1


def _same(loop: tuple[pd.DataFrame, pd.DataFrame], ours: tuple[pd.DataFrame, pd.DataFrame]):
    """Check that the loop computes what the vectorised functions compute."""
    for a, b, numeric, states in (
        (*[x[0] for x in (loop, ours)], ["longest_30d_km", "session_ratio"], ["session_state"]),
        (*[x[1] for x in (loop, ours)], ["weekly_km", "week_ratio", "acwr"], ["week_state"]),
    ):
        assert len(a) == len(b), (len(a), len(b))
        for column in numeric:
            np.testing.assert_allclose(a[column], b[column], rtol=1e-9, atol=1e-9, err_msg=column)
        for column in states:
            labels = [x[column].astype(object).fillna("").tolist() for x in (a, b)]
            assert labels[0] == labels[1], column


def _median_seconds(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _peak_mib(func) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _loader():
    """ps.load_training_log when the cohort layer has it (issue 11, item 1), else None."""
    try:
        module = importlib.import_module("pfps_stats.cohort.training_log")
    except ImportError:
        return None
    return getattr(module, "load_training_log", None)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(n_runners: int, runs: int, loop_runners: int, repeats: int) -> None:
    n = n_runners * runs
    print(
        f"Exposures for {n:,} runs ({n_runners:,} runners × {runs} runs, {SYNTHETIC} data), "
        f"median of {repeats} runs each"
    )
    log = synthetic_log(n_runners, runs)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "training_log.csv"
        log.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
        size = path.stat().st_size / 2**20
        read_csv = _median_seconds(lambda: pd.read_csv(path), repeats)
        loader = _loader()
        load_seconds = load_note = None
        if loader is None:
            load_note = "not available yet (pfps_stats.cohort.training_log.load_training_log)"
        else:
            try:
                load_seconds = _median_seconds(lambda: loader(path), 1)
            except Exception as err:  # report, do not fail: the loader is another item
                load_note = f"failed: {type(err).__name__}: {str(err).splitlines()[0]}"

    ours = _median_seconds(lambda: exposures(log), repeats)
    sessions_only = _median_seconds(lambda: session_exposures(log), repeats)
    injuries = synthetic_injuries(log)
    with_injuries = _median_seconds(lambda: exposures(log, injuries), repeats)
    peak = _peak_mib(lambda: exposures(log))
    peak_injuries = _peak_mib(lambda: exposures(log, injuries))
    input_mib = log.memory_usage(deep=True).sum() / 2**20

    subset = log[log["runner_id"].isin(log["runner_id"].unique()[:loop_runners])]
    subset = subset.reset_index(drop=True)
    ours_subset = exposures(subset)
    _same(per_runner_loop(subset), ours_subset)
    _same(plain_python_loop(subset), ours_subset)
    scale = n_runners / loop_runners
    loop = _median_seconds(lambda: per_runner_loop(subset), 1) * scale
    plain = _median_seconds(lambda: plain_python_loop(subset), 1) * scale

    print(f"  CSV: {size:,.0f} MiB; log in memory: {input_mib:,.0f} MiB")
    print(f"{'step':<58} {'seconds':>9} {'ratio':>9}")
    print(f"{'(a) pandas.read_csv of the CSV (baseline)':<58} {read_csv:>9.2f} {'1.0x':>9}")
    if load_seconds is not None:
        print(
            f"{'    ps.load_training_log of the same CSV':<58} {load_seconds:>9.2f} "
            f"{load_seconds / read_csv:>8.1f}x"
        )
    else:
        print(f"    ps.load_training_log: {load_note}")
    print(f"{'(b) session_exposures + weekly_exposures':<58} {ours:>9.2f} {ours / read_csv:>8.1f}x")
    print(f"{'      of which session_exposures':<58} {sessions_only:>9.2f}")
    print(
        f"{'    the same with injuries (counting-process rows)':<58} {with_injuries:>9.2f} "
        f"{with_injuries / read_csv:>8.1f}x"
    )
    print(f"(c) per-runner loops: {loop_runners} runners timed, scaled × {scale:.1f}")
    print(f"{'    pandas, one runner at a time':<58} {loop:>9.2f} {loop / read_csv:>8.1f}x")
    print(
        f"{'    plain Python lists, one runner at a time':<58} {plain:>9.2f} {plain / read_csv:>8.1f}x"
    )
    print(
        f"    (checked first: on those {loop_runners} runners both loops' states equal (b)'s and "
        "their numbers agree within 1e-9)"
    )
    print(f"Peak traced memory of (b): {peak:,.0f} MiB; with injuries: {peak_injuries:,.0f} MiB")
    print("Targets:")
    print(f"  (b) / (a) = {ours / read_csv:5.2f}  (target <= 5)   {_verdict(ours <= 5 * read_csv)}")
    print(
        f"  (c) / (b) = {loop / ours:5.1f}  (target >= 20)  {_verdict(loop >= 20 * ours)}"
        "   pandas loop"
    )
    print(
        f"  (c) / (b) = {plain / ours:5.1f}  (target >= 20)  {_verdict(plain >= 20 * ours)}"
        "   plain-Python loop"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--loop-runners", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    main(args.runners, args.runs, min(args.loop_runners, args.runners), args.repeats)
