"""Coverage of meta_analysis's intervals at k = 5 by simulation (fixed seed, about 2 s).

Random-effects data: true effect mu = 0.3, tau² = 0.05, five studies with sampling variances
uniform on (0.01, 0.1). REML with Knapp-Hartung: the CI of the pooled estimate covers mu at
about the nominal 95% (within 3 Monte Carlo standard errors); the prediction interval covers
a new study's true effect less often than 95%, as meta.py's docstring says.
"""

import numpy as np

from pfps_stats.evidence.meta import meta_analysis

REPS = 1000
MU, TAU2, K = 0.3, 0.05, 5


def test_knha_ci_covers_at_the_nominal_rate_and_the_prediction_interval_under_covers():
    rng = np.random.default_rng(20240610)
    ci_hits = pi_hits = 0
    for _ in range(REPS):
        vi = rng.uniform(0.01, 0.1, K)
        yi = rng.normal(MU + rng.normal(0.0, np.sqrt(TAU2), K), np.sqrt(vi))
        result = meta_analysis(yi, vi, method="REML", test="knha")
        ci_hits += result.ci_low <= MU <= result.ci_high
        new_study = rng.normal(MU, np.sqrt(TAU2))
        pi_hits += result.pi_low <= new_study <= result.pi_high
    mc_se = np.sqrt(0.95 * 0.05 / REPS)
    ci_coverage, pi_coverage = ci_hits / REPS, pi_hits / REPS
    assert abs(ci_coverage - 0.95) < 3 * mc_se, ci_coverage
    assert pi_coverage < 0.95 - 3 * mc_se, pi_coverage
