"""Writes tests/models/reference/data/knees.csv: SYNTHETIC data with two knees per runner and a shared
runner-level frailty, for the clustered-fit references (sandwich, geepack).

    .venv/bin/python tests/models/reference/data/make_knees.py
"""

import numpy as np
import pandas as pd

import pfps_stats as ps

rng = np.random.default_rng(7)
runners = ps.simulate_cohort(300, subgroup="military", seed=7, incidence=0.2)
rows = []
for _, r in runners.iterrows():
    frailty = rng.normal(0, 1.0)
    for knee in ("L", "R"):
        q = r.q_angle_deg + rng.normal(0, 1.5)
        lp = -1.6 + 0.08 * (q - 14) - 0.9 * (r.knee_ext_strength_nmkg - 3) + frailty
        rows.append(
            {
                "runner_id": r.runner_id,
                "knee": knee,
                "q_angle_deg": round(q, 1),
                "knee_ext_strength_nmkg": r.knee_ext_strength_nmkg,
                "pfp": int(rng.random() < 1 / (1 + np.exp(-lp))),
                "data_source": "SYNTHETIC",
            }
        )
pd.DataFrame(rows).dropna().to_csv("tests/models/reference/data/knees.csv", index=False)
