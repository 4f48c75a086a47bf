"""Writes the SYNTHETIC small cohorts behind tests/models/reference/rms_validate_small.R:
tests/models/reference/data/perf_n60_p4.csv, perf_n100_p5.csv, perf_n60_sparse.csv and
perf_n80_rare.csv.

    .venv/bin/python tests/models/reference/data/perf_make_small.py

Small samples with few events per predictor, where bootstrap validation is fragile: some
bootstrap samples are separated and the calibration refit must still be finite (issue 10).
"""

from pathlib import Path

import pfps_stats as ps

HERE = Path(__file__).parent
FOUR = ["bmi", "q_angle_deg", "weekly_km", "knee_ext_strength_nmkg"]
FIVE = [*FOUR, "hip_abd_strength_nkg"]
DATASETS = {
    # 60 military runners, 9 events, 4 predictors (one true effect: knee extension strength)
    "perf_n60_p4": (ps.simulate_cohort(60, subgroup="military", seed=1), FOUR),
    # 100 military runners, 14 events, 5 predictors
    "perf_n100_p5": (ps.simulate_cohort(100, subgroup="military", seed=3), FIVE),
    # 60 recreational runners, 7 events, 4 predictors, no true effect: many separated resamples
    "perf_n60_sparse": (ps.simulate_cohort(60, seed=1), FOUR),
}


def _rare_exposure():
    """80 military runners, ~20 events, and a binary exposure in 2 of them (one with PFP):
    about 1 bootstrap sample in 8 leaves both out (singular information: rms drops it) and
    about half hold only one (quasi-separated: rms keeps lrm.fit's finite coefficients)."""
    data = ps.simulate_cohort(80, subgroup="military", incidence=0.25, seed=11)
    data["orthotics"] = 0
    exposed = [data.index[data["pfp"] == 1][0], data.index[data["pfp"] == 0][0]]
    data.loc[exposed, "orthotics"] = 1
    return data


DATASETS["perf_n80_rare"] = (_rare_exposure(), ["knee_ext_strength_nmkg", "orthotics"])

if __name__ == "__main__":
    for name, (data, predictors) in DATASETS.items():
        data[["pfp", *predictors, "data_source"]].to_csv(HERE / f"{name}.csv", index=False)
