"""Benchmark of power by simulation, side by side in one run (SYNTHETIC data).

ps.simulate_power (a vectorised Newton for studies whose MLE exists, the batched engine of
models/engine.py for the rest)
against a loop of statsmodels fits on the same simulated studies: ``Logit(y, X).fit(disp=0)``
per study, plus the fit without the factor for the likelihood-ratio test. The loop is timed
on studies already drawn (simulate_power's time includes drawing them), and both count the
same rejections. Target (issue 13): simulate_power at least 10x faster in every row; each row
says PASS or FAIL, and the last line sums up.

    make bench     # or: .venv/bin/python benchmarks/bench_power.py [--quick]
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import statsmodels.api as sm
from scipy import stats

import pfps_stats as ps


def _best_of(func, repeats: int) -> tuple[float, object]:
    best, value = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = func()
        best = min(best, time.perf_counter() - t0)
    return best, value


def _studies(scenario: ps.PowerScenario, n: int, n_sim: int, seed: int):
    """The studies simulate_power fits, as (X, y) arrays of each study's complete cases."""
    data = scenario.simulate(n, n_sim=n_sim, seed=seed)
    data = data[data["analysed"]]
    outcome = ps.OUTCOME if scenario.kind == "cohort" else "y"
    columns = list(scenario.columns)
    out = []
    for _, study in data.groupby("study", sort=True):
        X = np.column_stack([np.ones(len(study)), study[columns].to_numpy(float)])
        out.append((X, study[outcome].to_numpy(float)))
    return out


def _statsmodels_loop(studies, test: str, alpha: float) -> float:
    """Power from one statsmodels fit per study (two for the likelihood-ratio test)."""
    rejected = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rare separated studies: statsmodels warns
        for X, y in studies:
            full = sm.Logit(y, X).fit(disp=0)
            if test == "wald":
                p = full.pvalues[1]
            else:
                null = sm.Logit(y, np.delete(X, 1, axis=1)).fit(disp=0)
                p = stats.chi2.sf(2 * (full.llf - null.llf), 1)
            rejected += p < alpha
    return rejected / len(studies)


TARGET = 10.0


def bench(label: str, scenario: ps.PowerScenario, n: int, n_sim: int, test: str) -> float:
    """Time one row, print it and return the ratio (loop time / simulate_power's time)."""
    seed = 1
    ours, table = _best_of(
        lambda: ps.simulate_power(scenario, n, n_sim=n_sim, test=test, seed=seed), 3
    )
    studies = _studies(scenario, n, n_sim, seed)
    loop, power = _best_of(lambda: _statsmodels_loop(studies, test, 0.05), 1)
    row = table.iloc[0]
    ratio = loop / ours
    print(
        f"{label:<34} {n:>5} {test:>4} {ours:8.3f} {loop:9.2f} {ratio:6.1f}x "
        f"{row['power']:7.3f} {power:7.3f} {'PASS' if ratio >= TARGET else 'FAIL':>6}"
    )
    return ratio


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    n_sim = 200 if quick else 1000
    smd = ps.power_scenario(-0.69, scale="smd", incidence=0.11)  # Neal et al.: quadriceps
    adjusted = ps.power_scenario(1.5, scale="or_per_sd", incidence=0.1, r2_other=0.3)
    cohort = ps.power_scenario(
        cohort={"subgroup": "military", "missing": 0.1},
        factor="knee_ext_strength_nmkg",
        adjust=["sex", "bmi"],
    )
    ps.simulate_power(smd, 100, n_sim=20, seed=0)  # imports and first calls
    print(f"\nsimulate_power vs a loop of statsmodels Logit fits on the same {n_sim} studies")
    print("(seconds, best of 3 for simulate_power, which includes drawing the studies)")
    print(
        f"{'scenario':<34} {'n':>5} {'test':>4} {'ours s':>8} {'loop s':>9} {'ratio':>7} "
        f"{'power':>7} {'loop':>7} {'>=10x':>6}"
    )
    ratios = [
        bench("SMD -0.69, incidence 0.11", smd, n, n_sim, "lr")
        for n in ([200, 500] if quick else [200, 500, 1000])
    ]
    ratios.append(bench("SMD -0.69, incidence 0.11", smd, 500, n_sim, "wald"))
    ratios.append(bench("OR 1.5/SD, incidence 0.1, R² 0.3", adjusted, 500, n_sim, "lr"))
    ratios.append(bench("cohort: military, 10% missing", cohort, 500, n_sim, "lr"))
    passed = sum(r >= TARGET for r in ratios)
    verdict = "PASS" if passed == len(ratios) else "FAIL"
    print(
        f"target >= {TARGET:g}x: {verdict} ({passed} of {len(ratios)} rows; "
        f"smallest ratio {min(ratios):.1f}x)"
    )
