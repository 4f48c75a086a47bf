"""Benchmarks of the modelling layer, side by side in one run (SYNTHETIC data).

1. validate_bootstrap (B=500, n=2000, 5 predictors) against a loop of statsmodels fits doing
   the same work, and against rms::validate on the same data when Rscript and rms are present.
2. fit_logistic on 1M and 5M rows against statsmodels' Logit on the prebuilt design matrix,
   and against statsmodels' formula interface; time and peak traced memory.

    make bench     # or: .venv/bin/python benchmarks/bench_models.py [--quick]
"""

from __future__ import annotations

import gc
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import statsmodels.api as sm
import statsmodels.formula.api as smf

import pfps_stats as ps
from pfps_stats.models import performance

PREDICTORS = ["bmi", "q_angle_deg", "weekly_km", "hip_abd_strength_nkg", "knee_ext_strength_nmkg"]
FORMULA = "pfp ~ " + " + ".join(PREDICTORS)


def _best_of(func, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def _statsmodels_loop(fit, n_boot: int, seed: int) -> None:
    """The same optimism bootstrap, one statsmodels fit per replicate."""
    rng = np.random.default_rng(seed)
    X, y = fit.design.X, fit.design.y
    n = len(y)
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        beta = sm.Logit(y[idx], X[idx]).fit(disp=0, method="newton").params
        for rows in (idx, np.arange(n)):
            prob = 1 / (1 + np.exp(-(X[rows] @ beta)))
            performance.roc_auc(y[rows], prob)
            performance.calibration(y[rows], prob)


RMS_SCRIPT = """
suppressPackageStartupMessages(library(rms))
d <- read.csv(commandArgs(TRUE)[1])
f <- lrm(pfp ~ bmi + q_angle_deg + weekly_km + hip_abd_strength_nkg + knee_ext_strength_nmkg,
         data = d, x = TRUE, y = TRUE)
set.seed(1)
t <- system.time(v <- rms::validate(f, B = as.integer(commandArgs(TRUE)[2])))["elapsed"]
cat(t, v["Dxy", "index.corrected"], v["Slope", "index.corrected"], "\\n")
"""


def bench_bootstrap(n_boot: int = 500, n: int = 2000) -> None:
    data = ps.simulate_cohort(
        n,
        subgroup="recreational",
        incidence=0.15,
        seed=1,
        odds_ratios={"knee_ext_strength_nmkg": 0.5, "weekly_km": 1.02},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        fit = ps.fit_logistic(data, FORMULA)
    ours = _best_of(lambda: ps.validate_bootstrap(fit, n_boot=n_boot, seed=1), 3)
    table = ps.validate_bootstrap(fit, n_boot=n_boot, seed=1)
    loop = _best_of(lambda: _statsmodels_loop(fit, n_boot, 1), 1)
    print(f"\nvalidate_bootstrap: B={n_boot}, n={fit.n_obs}, 5 predictors (best of runs)")
    print(f"  pfps_stats validate_bootstrap  {ours:8.3f} s   1.0x")
    print(f"  loop of statsmodels fits       {loop:8.3f} s   {loop / ours:5.1f}x slower")
    print(
        f"  pfps_stats corrected: Dxy {table.loc['dxy', 'corrected']:.4f}, slope "
        f"{table.loc['calibration_slope', 'corrected']:.4f}"
    )
    if shutil.which("Rscript") is None:
        print("  rms::validate                  skipped: Rscript not installed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        csv, script = Path(tmp) / "d.csv", Path(tmp) / "v.R"
        data.to_csv(csv, index=False)
        script.write_text(RMS_SCRIPT)
        run = subprocess.run(
            ["Rscript", str(script), str(csv), str(n_boot)], capture_output=True, text=True
        )
    if run.returncode != 0:
        print(f"  rms::validate                  skipped: {run.stderr.strip()[:200]}")
        return
    seconds, dxy, slope = map(float, run.stdout.split())
    print(f"  rms::validate (inside R)       {seconds:8.3f} s   {seconds / ours:5.1f}x slower")
    print(f"  rms corrected:        Dxy {dxy:.4f}, slope {slope:.4f}")


def _measure(func) -> tuple[float, float]:
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    func()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak


def bench_large(sizes: list[int]) -> None:
    print("\nfit_logistic vs statsmodels on large data (5 predictors; time, peak traced memory)")
    print(f"{'rows':>9} {'method':<34} {'s':>7} {'ratio':>6} {'peak MiB':>9} {'ratio':>6}")
    for n in sizes:
        data = ps.simulate_cohort(n, subgroup="military", seed=2)[["pfp", *PREDICTORS]]
        X = sm.add_constant(data[PREDICTORS].to_numpy())
        y = data["pfp"].to_numpy(float)
        runs = {
            "statsmodels Logit (prebuilt X)": lambda y=y, X=X: sm.Logit(y, X).fit(
                disp=0, method="newton"
            ),
            "statsmodels smf.logit (formula)": lambda d=data: smf.logit(FORMULA, d).fit(disp=0),
            "pfps_stats fit_logistic": lambda d=data: ps.fit_logistic(d, FORMULA),
        }
        base_s = base_m = None
        warm = data.iloc[:2000]  # first calls pay for imports; time the steady state
        sm.Logit(y[:2000], X[:2000]).fit(disp=0, method="newton")
        smf.logit(FORMULA, warm).fit(disp=0)
        ps.fit_logistic(warm, FORMULA)
        for name, func in runs.items():
            seconds, peak = _measure(func)
            if base_s is None:
                base_s, base_m = seconds, peak
            print(
                f"{n:>9} {name:<34} {seconds:7.2f} {seconds / base_s:5.2f}x {peak:9.0f} "
                f"{peak / base_m:5.2f}x"
            )
        gc.collect()


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    bench_bootstrap(n_boot=100 if quick else 500)
    bench_large([100_000] if quick else [1_000_000, 5_000_000])
