"""Render every figure of pfps_stats on the SYNTHETIC demo cohort, as PNG.

    .venv/bin/python docs/figures/make_figures.py [OUT_DIR]     (default: docs/figures)

The README shows forest.png and effect.png from here.
"""

import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import pfps_stats as ps
from pfps_stats.cohort.variables import NUMERIC
from pfps_stats.evidence.effect_sizes import smd_by_group

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
OUT.mkdir(parents=True, exist_ok=True)
NOTE = "SYNTHETIC demo cohort"
FACTORS = ["knee_ext_strength_nmkg", "hip_abd_strength_nkg", "q_angle_deg", "bmi", "sex"]


def save(ax, name: str, title: str) -> None:
    ax.set_title(f"{title}\n{NOTE}", fontsize="medium")
    ax.figure.savefig(OUT / f"{name}.png")
    plt.close(ax.figure)
    print(OUT / f"{name}.png")


def main() -> None:
    warnings.simplefilter("ignore", ps.ModelWarning)
    ps.set_theme()
    cohort = ps.load_cohort(ps.DEMO_COHORT)
    military = cohort[cohort["subgroup"] == "military"]
    adolescents = cohort[cohort["subgroup"] == "adolescent"]

    table = ps.odds_ratio_table(military, "pfp", FACTORS)
    _, ax = plt.subplots(figsize=(8, 4))
    save(ps.plot_forest(table, ax=ax), "forest", "Risk factors for PFP, military recruits")

    fit = ps.fit_logistic(military, "pfp ~ knee_ext_strength_nmkg + q_angle_deg + C(sex)")
    _, ax = plt.subplots(figsize=(6, 4))
    save(
        ps.plot_effect(fit, "knee_ext_strength_nmkg", ax=ax),
        "effect",
        "Quadriceps strength and PFP, military recruits",
    )

    spline = ps.fit_logistic(adolescents, "pfp ~ bs(hip_abd_strength_nkg, df=3) * C(sex)")
    _, ax = plt.subplots(figsize=(6, 4))
    save(
        ps.plot_effect(spline, "hip_abd_strength_nkg", ax=ax, by="sex"),
        "effect_by_sex",
        "Hip abduction strength (spline) by sex, adolescents",
    )

    curve = ps.calibrate_bootstrap(fit, n_boot=200, seed=1)
    _, ax = plt.subplots(figsize=(5.5, 5.5))
    save(ps.plot_calibration(fit, ax=ax, curve=curve), "calibration", "Calibration, military model")

    _, ax = plt.subplots(figsize=(5.5, 5.5))
    save(ps.plot_roc(fit, ax=ax), "roc", "Discrimination, military model")

    _, ax = plt.subplots(figsize=(5, 4))
    save(
        ps.plot_distributions(military, "knee_ext_strength_nmkg", ax=ax),
        "distributions",
        "Quadriceps strength by outcome",
    )

    _, ax = plt.subplots(figsize=(6, 4.5))
    save(ps.plot_missing(cohort, ax=ax), "missing", "Missing values")

    _, ax = plt.subplots(figsize=(7, 6))
    numeric = cohort[[c for c in NUMERIC if c != "followup_weeks"]]
    save(ps.plot_correlations(numeric, ax=ax), "correlations", "Correlations")

    comparison = ps.compare_with_evidence(
        military, factors=["knee_ext_strength_nmkg", "hip_abd_strength_nkg", "bmi"]
    )
    _, ax = plt.subplots(figsize=(8, 3))
    save(
        ps.plot_comparison(comparison, ax=ax),
        "comparison",
        "Military recruits: local cohort vs published (Neal 2019, Hart 2017)",
    )

    # A meta-analysis of the three demo subgroups' quadriceps SMDs (illustration only)
    yi, vi = smd_by_group(cohort, "knee_ext_strength_nmkg", "subgroup")
    groups = sorted(cohort["subgroup"].astype(str).unique())
    meta = ps.meta_analysis(yi, vi, test="knha", labels=groups)
    _, ax = plt.subplots(figsize=(7, 3))
    save(
        meta.plot_forest(ax=ax, xlabel="SMD, PFP minus no PFP"),
        "meta_forest",
        "Quadriceps strength across subgroups",
    )
    _, ax = plt.subplots(figsize=(5, 4))
    save(meta.plot_funnel(ax=ax, xlabel="SMD"), "meta_funnel", "Funnel plot")


if __name__ == "__main__":
    main()
