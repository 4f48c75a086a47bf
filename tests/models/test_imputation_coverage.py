"""Simulation check of multiple imputation (issue 12): SYNTHETIC cohorts with a known hip
abduction strength odds ratio, hip strength missing at random (MAR) -> ps.impute ->
ps.fit_logistic on the ImputedCohort (Rubin's rules); the pooled 95% intervals cover the true
odds ratio in 92-98% of replicates, while the complete-case fit is biased.

Design (DESIGN, _cohort): N runners; age ~ N(35, 9) years (clipped to 18-65); knee extension
strength ~ N(2.2, 0.5) Nm/kg; hip abduction strength = 2.0 - 0.02 (age - 35) + 0.5 (knee - 2.2)
+ N(0, 0.35) N/kg (correlation -0.38 with age, 0.54 with knee strength); PFP from
logit P(pfp) = -1.6 - 1.0 (hip - 2) + 0.04 (age - 35), so the true log-OR is -1.0 per N/kg
(OR 0.37) for hip strength and 0.04 per year for age; about 19% cases. Hip strength is then
deleted with logit P(missing) = -1.1 + 0.05 (age - 35) + 0.6 pfp - 1.6 pfp (knee - 2.2): more
often in older runners, in cases, and in cases with weak knee extensors (about 29% missing,
46% among cases). The mechanism depends only on observed values (age, outcome, knee
strength), so it is MAR; knee strength is an auxiliary variable: a predictor in the imputation
models (impute() uses every fully observed dictionary variable), not in the analysis model
``pfp ~ hip_abd_strength_nkg + age_years``.

Why the case x knee-strength term: when hip strength is missing depending on the outcome and
on covariates in the analysis model only (age), complete-case logistic regression stays nearly
unbiased for the hip log-OR; the selection then changes the intercept and the age coefficient
(Bartlett, Harel & Carpenter 2015, Am J Epidemiol 182:730-736: complete records logistic
regression is unbiased when missingness does not depend on the outcome and the covariates
jointly). In one data set of 1 000 000 runners from this design (full data: hip log-OR -0.995,
age 0.040), missingness on age and the outcome alone (logit -1.1 + 0.05 (age - 35) + 0.9 pfp,
30% missing) left the complete-case hip log-OR at -0.983 and moved the age log-OR to 0.030;
this module's mechanism, where the outcome acts jointly with a correlate of hip strength (knee
strength), gave a complete-case hip log-OR of -0.582. Multiple imputation with that correlate
in the imputation model corrects it.

What the test can catch (checked on 150 of these data sets with broken imputations): leaving
the outcome out of the imputation model biases the MI hip log-OR by +0.24 while its coverage
stays at 96% (B grows), so the bias bound catches it; mean imputation (m identical copies)
gives bias +0.59 and coverage 67%. Pooling that drops the between-imputation variance B makes
intervals too narrow: with these seeds, intervals from the within-imputation variance alone
(ubar, normal quantiles) cover in about 90% of replicates, which the test asserts, so that the
92% bound is sensitive to B. Intervals too wide fail the 98% bound.

REPLICATES = 250 (fixed seeds), N = 400, m = 5 imputations, max_iter = 1: with one incomplete
variable a chain needs no burn-in, as every cycle imputes hip strength afresh from a model
fitted to its observed rows and the complete columns, so the first cycle's draw has the
distribution of any later one (and a chain left at its starting values, the observed mean,
would fail the test). Monte Carlo SE of a 95% coverage: sqrt(0.95 x 0.05 / 250) = 1.4
percentage points, so the 92-98% band is about +-2.2 SE.

Measured with these seeds: MI coverage 96.4% (age 94.8%), MI bias +0.004 (MC SE 0.025);
within-imputation variance only 90.4%; complete cases bias +0.392 (MC SE 0.026), coverage
83.2%; 29% missing, mean fraction of missing information 0.33; about 50 s on the project's
2-core machine.

The larger run (1000 replicates, m = 20, max_iter = 10; docs/imputation-simulation.md)::

    .venv/bin/python tests/models/test_imputation_coverage.py --replicates 1000 --m 20 --max-iter 10
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import pfps_stats as ps

FORMULA = "pfp ~ hip_abd_strength_nkg + age_years"
TERMS = ["hip_abd_strength_nkg", "age_years"]
TRUE_LOG_OR = np.array([-1.0, 0.04])  # per N/kg, per year
DESIGN = {"n": 400, "m": 5, "max_iter": 1}
REPLICATES = 250
FIRST_SEED = 20_251_200
Z = stats.norm.ppf(0.975)


def _cohort(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One SYNTHETIC cohort (data_source "SYNTHETIC"): the complete data and the same data
    with hip abduction strength missing at random (see the module docstring)."""
    age = np.clip(rng.normal(35, 9, n), 18, 65)
    knee = rng.normal(2.2, 0.5, n)
    hip = 2.0 - 0.02 * (age - 35) + 0.5 * (knee - 2.2) + rng.normal(0, 0.35, n)
    logit = -1.6 + TRUE_LOG_OR[0] * (hip - 2.0) + TRUE_LOG_OR[1] * (age - 35)
    pfp = (rng.random(n) < special.expit(logit)).astype(int)
    p_missing = special.expit(-1.1 + 0.05 * (age - 35) + 0.6 * pfp - 1.6 * pfp * (knee - 2.2))
    full = pd.DataFrame(
        {
            "runner_id": [f"S{i:04d}" for i in range(n)],
            "age_years": age,
            "knee_ext_strength_nmkg": knee,
            "hip_abd_strength_nkg": hip,
            "pfp": pfp,
            "data_source": "SYNTHETIC",
        }
    )
    observed = full.copy()
    observed.loc[rng.random(n) < p_missing, "hip_abd_strength_nkg"] = np.nan
    return full, observed


def _wald(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Log-ORs and SEs of the analysis model (rows missing hip strength dropped, silently)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        fit = ps.fit_logistic(data, FORMULA)
    return fit.params_[TERMS].to_numpy(), fit.bse_[TERMS].to_numpy()


def _replicate(seed: int, n: int, m: int, max_iter: int, full_data: bool = False) -> dict:
    """Estimates and interval limits (log scale) of one SYNTHETIC data set, one entry per term:
    multiple imputation (Rubin), within-imputation variance only, complete cases and, with
    ``full_data``, the data before deletion."""
    rng = np.random.default_rng(seed)
    full, observed = _cohort(n, rng)
    imp = ps.impute(observed, m=m, max_iter=max_iter, seed=seed)
    fit = ps.fit_logistic(imp, FORMULA)
    pooled = fit.pooled().set_index("term").loc[TERMS]
    table = fit.odds_ratios(ci="wald").set_index("term").loc[TERMS]
    mi = pooled["estimate"].to_numpy()
    cc, cc_se = _wald(observed)
    out = {
        "mi": mi,
        "mi_low": np.log(table["ci_low"].to_numpy()),
        "mi_high": np.log(table["ci_high"].to_numpy()),
        "ubar_low": mi - Z * np.sqrt(pooled["ubar"].to_numpy()),
        "ubar_high": mi + Z * np.sqrt(pooled["ubar"].to_numpy()),
        "fmi": pooled["fmi"].to_numpy(),
        "cc": cc,
        "cc_low": cc - Z * cc_se,
        "cc_high": cc + Z * cc_se,
        "missing": np.full(2, observed["hip_abd_strength_nkg"].isna().mean()),
    }
    if full_data:
        est, se = _wald(full)
        out.update(full=est, full_low=est - Z * se, full_high=est + Z * se)
    return out


def simulate(
    replicates: int, *, n: int, m: int, max_iter: int, first_seed: int = FIRST_SEED, **kw
) -> dict[str, np.ndarray]:
    """Stack :func:`_replicate` over seeds: each value an array (replicates x terms)."""
    rows = [_replicate(first_seed + i, n, m, max_iter, **kw) for i in range(replicates)]
    return {key: np.stack([r[key] for r in rows]) for key in rows[0]}


def summary(res: dict[str, np.ndarray]) -> pd.DataFrame:
    """Bias (mean log-OR minus truth), its Monte Carlo SE, empirical SE and coverage of the
    true log-OR, per method and term."""
    rows = []
    methods = [("mi", "MI, Rubin's rules"), ("ubar", "MI, within-imputation variance only")]
    methods += [("cc", "complete cases"), ("full", "full data (before deletion)")]
    for key, name in methods:
        if f"{key}_low" not in res:
            continue
        est = res["mi" if key == "ubar" else key]
        covered = (res[f"{key}_low"] <= TRUE_LOG_OR) & (TRUE_LOG_OR <= res[f"{key}_high"])
        for j, term in enumerate(TERMS):
            rows.append(
                {
                    "method": name,
                    "term": term,
                    "true_log_or": TRUE_LOG_OR[j],
                    "bias": est[:, j].mean() - TRUE_LOG_OR[j],
                    "bias_mc_se": est[:, j].std(ddof=1) / math.sqrt(len(est)),
                    "empirical_se": est[:, j].std(ddof=1),
                    "coverage": covered[:, j].mean(),
                    "replicates": len(est),
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_mi_intervals_cover_the_true_odds_ratio_under_mar():
    res = simulate(REPLICATES, **DESIGN)
    table = summary(res).set_index(["method", "term"])
    hip = table.xs("hip_abd_strength_nkg", level="term")
    mi, ubar, cc = (hip.loc[k] for k in hip.index[:3])
    report = (
        f"{REPLICATES} replicates (MC SE of a 95% coverage {math.sqrt(0.95 * 0.05 / REPLICATES):.3f}),"
        f" n={DESIGN['n']}, m={DESIGN['m']}, max_iter={DESIGN['max_iter']}, "
        f"{res['missing'].mean():.0%} missing; hip log-OR (true -1.0): "
        f"MI bias {mi.bias:+.3f} (MC SE {mi.bias_mc_se:.3f}), coverage {mi.coverage:.3f}; "
        f"ubar only coverage {ubar.coverage:.3f}; complete-case bias {cc.bias:+.3f} "
        f"(MC SE {cc.bias_mc_se:.3f}), coverage {cc.coverage:.3f}; mean fmi "
        f"{res['fmi'][:, 0].mean():.2f}\n{table.round(4).to_string()}"
    )
    print(report)
    assert 0.92 <= mi.coverage <= 0.98, report
    # the complete-case estimate is biased toward 0 (the design's point) and MI corrects it
    assert cc.bias > 0.2, report
    assert abs(mi.bias) < 0.1 < cc.bias / 2, report
    # the between-imputation variance matters here: without it the intervals undercover
    assert ubar.coverage < 0.92, report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=REPLICATES)
    parser.add_argument("--n", type=int, default=DESIGN["n"])
    parser.add_argument("--m", type=int, default=DESIGN["m"])
    parser.add_argument("--max-iter", type=int, default=DESIGN["max_iter"])
    parser.add_argument("--first-seed", type=int, default=FIRST_SEED)
    args = parser.parse_args()
    t0 = time.perf_counter()
    result = simulate(
        args.replicates,
        n=args.n,
        m=args.m,
        max_iter=args.max_iter,
        first_seed=args.first_seed,
        full_data=True,
    )
    seconds = time.perf_counter() - t0
    pd.set_option("display.width", 200)
    print(
        f"SYNTHETIC MAR simulation: {args.replicates} replicates, n={args.n}, m={args.m}, "
        f"max_iter={args.max_iter}, first seed {args.first_seed}; "
        f"{result['missing'].mean():.1%} of hip strength missing; mean fmi (hip) "
        f"{result['fmi'][:, 0].mean():.3f}; MC SE of a 95% coverage "
        f"{math.sqrt(0.95 * 0.05 / args.replicates):.4f}; {seconds:.0f} s"
    )
    print(summary(result).round(4).to_string(index=False))
