"""SYNTHETIC cohorts with known true effects, for the demo, the tests and power calculations.

Covariates are drawn from published distributions where there are any (see ``PROFILES``; each
parameter names its source or says ASSUMPTION), and the outcome from a logistic model whose
per-unit odds ratios are the truth a fitted model should recover. Every row carries
``data_source = "SYNTHETIC"``.

Default true effects follow the published picture (Neal et al. 2019, doi
10.1136/bjsports-2017-098890): no effect of BMI, Q angle, age, sex or training volume; weaker
quadriceps raise risk in military recruits (SMD -0.69); stronger hip abductors raise risk in
adolescents (SMD +0.71). An SMD d between those who develop PFP and those who do not becomes a
per-SD log odds ratio of d (exact when the factor is normal with equal variance in both groups,
the discriminant-analysis model; close for a rare outcome), so the per-unit odds ratio is
``exp(d / sd)`` with ``sd`` the factor's within-sex SD below.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, special

from .variables import OUTCOME, SUBGROUPS, VARIABLES

SYNTHETIC_LABEL = "SYNTHETIC"

#: PFP incidence per subgroup; Neal et al. 2019 conference abstract (BJSM 52 Suppl 1 A3.2).
INCIDENCE = {"military": 0.11, "adolescent": 0.11, "recreational": 0.06}

#: Pooled SMDs (PFP minus no PFP) from Neal et al. 2019's abstract that define the default
#: non-null effects; every other factor has a true odds ratio of 1.
PUBLISHED_SMD = {
    "military": {"knee_ext_strength_nmkg": -0.69},
    "adolescent": {"hip_abd_strength_nkg": 0.71},
    "recreational": {},
}


@dataclass(frozen=True)
class Normal:
    """mean ± sd, and where the numbers come from."""

    mean: float
    sd: float
    source: str


@dataclass(frozen=True)
class Profile:
    """Generating distributions of one subgroup."""

    female: tuple[float, str]
    age_years: Normal
    bmi: Normal  # drawn log-normal with this mean and SD
    weekly_km: Normal  # drawn gamma with this mean and SD
    followup_weeks: tuple[float, str]
    height_f: Normal
    height_m: Normal


# Shared by every subgroup.
Q_ANGLE = {  # standing, right knee
    "F": Normal(17.1, 3.6, "ajol.info/index.php/ajprs/article/view/51309"),
    "M": Normal(12.3, 4.0, "ajol.info/index.php/ajprs/article/view/51309"),
}
KNEE_EXT = {  # midpoints of the pooled-mean 95% CIs (PMC8554160); SD is an ASSUMPTION
    "F": Normal((2.08 + 2.74) / 2, 0.6, "PMC8554160 (mean); ASSUMPTION (SD 0.6)"),
    "M": Normal((2.92 + 3.45) / 2, 0.6, "PMC8554160 (mean); ASSUMPTION (SD 0.6)"),
}
HIP_ABD = Normal(2.2, 0.5, "ASSUMPTION: no verified runner norm in N/kg (EVIDENCE.md)")
KM_CHANGE = Normal(5.0, 15.0, "ASSUMPTION")
_ASSUMED = "ASSUMPTION"

PROFILES = {
    "recreational": Profile(
        female=(0.795, "novice runners, n=349: doaj.org/article/e3283ba41745486c9be56c20b7568427"),
        age_years=Normal(35.5, 7.3, "doaj.org/article/e3283ba41745486c9be56c20b7568427"),
        bmi=Normal(23.89, 3.88, "doaj.org/article/e3283ba41745486c9be56c20b7568427"),
        weekly_km=Normal(31.5, 21.1, "half-marathon runners, n=327: PMID 29387447"),
        followup_weeks=(52.0, "ASSUMPTION (one year, as Ramskov 2015)"),
        height_f=Normal(166.0, 6.5, _ASSUMED),
        height_m=Normal(179.0, 7.0, _ASSUMED),
    ),
    "military": Profile(
        female=(0.2, _ASSUMED),
        age_years=Normal(21.0, 3.0, _ASSUMED),
        bmi=Normal(24.0, 3.0, _ASSUMED),
        weekly_km=Normal(20.0, 8.0, _ASSUMED),
        followup_weeks=(14.0, "British Army recruit training, 14 weeks (Coppack)"),
        height_f=Normal(164.0, 6.5, _ASSUMED),
        height_m=Normal(177.0, 7.0, _ASSUMED),
    ),
    "adolescent": Profile(
        female=(0.5, _ASSUMED),
        age_years=Normal(15.5, 1.5, _ASSUMED),
        bmi=Normal(21.0, 3.5, _ASSUMED),
        weekly_km=Normal(15.0, 10.0, _ASSUMED),
        followup_weeks=(52.0, _ASSUMED),
        height_f=Normal(163.0, 7.0, _ASSUMED),
        height_m=Normal(172.0, 9.0, _ASSUMED),
    ),
}

#: Factors whose true odds ratio can be set; per unit of the canonical unit ("sex" is F vs M).
EFFECT_FACTORS = (
    "age_years",
    "bmi",
    "q_angle_deg",
    "weekly_km",
    "weekly_km_change_pct",
    "hip_abd_strength_nkg",
    "knee_ext_strength_nmkg",
    "sex",
)
#: The measured columns, in the order simulate_cohort draws their missing values.
MEASURED = (
    "age_years",
    "height_cm",
    "mass_kg",
    "q_angle_deg",
    "weekly_km",
    "weekly_km_change_pct",
    "hip_abd_strength_nkg",
    "knee_ext_strength_nmkg",
)


def default_odds_ratios(subgroup: str) -> dict[str, float]:
    """True per-unit odds ratios of a subgroup implied by :data:`PUBLISHED_SMD` (others 1)."""
    sd = {"knee_ext_strength_nmkg": KNEE_EXT["F"].sd, "hip_abd_strength_nkg": HIP_ABD.sd}
    ors = dict.fromkeys(EFFECT_FACTORS, 1.0)
    for factor, smd in PUBLISHED_SMD[subgroup].items():
        ors[factor] = math.exp(smd / sd[factor])
    return ors


def draw_lognormal(rng: np.random.Generator, d: Normal, n: int) -> np.ndarray:
    """``n`` lognormal draws with the mean and SD of ``d``."""
    sigma2 = math.log(1 + (d.sd / d.mean) ** 2)
    return rng.lognormal(math.log(d.mean) - sigma2 / 2, math.sqrt(sigma2), n)


def draw_gamma(rng: np.random.Generator, d: Normal, n: int) -> np.ndarray:
    """``n`` gamma draws with the mean and SD of ``d``."""
    shape = (d.mean / d.sd) ** 2
    return rng.gamma(shape, d.sd**2 / d.mean, n)


def clip_plausible(name: str, x: np.ndarray) -> np.ndarray:
    """``x`` clipped to the dictionary's plausible range for ``name``."""
    lo, hi = VARIABLES[name].plausible
    return np.clip(x, lo, hi)


def simulate_cohort(
    n: int,
    *,
    subgroup: str = "recreational",
    incidence: float | None = None,
    odds_ratios: Mapping[str, float] | None = None,
    seed: int | np.random.Generator | None = None,
    missing: float = 0.0,
) -> pd.DataFrame:
    """Simulate a SYNTHETIC cohort of ``n`` runners with known true odds ratios.

    Parameters
    ----------
    n : int
        Number of runners.
    subgroup : {"recreational", "military", "adolescent"}
        Sets the covariate distributions (``PROFILES``), the default incidence and the
        default true effects.
    incidence : float, optional
        Expected PFP incidence; default per subgroup: military 0.11, adolescent 0.11,
        recreational 0.06 (Neal et al. 2019).
    odds_ratios : dict, optional
        True per-unit odds ratios overriding the defaults, e.g. ``{"weekly_km": 1.02}``;
        keys from :data:`EFFECT_FACTORS` (``"sex"``: female vs male).
    seed : int or numpy Generator, optional
    missing : float
        Fraction of each measured covariate set missing completely at random (default 0).

    Returns
    -------
    DataFrame
        Canonical columns (values rounded as a clinic records them), ``pfp`` drawn from the
        true model, and ``data_source = "SYNTHETIC"``. ``.attrs["truth"]`` holds the intercept,
        the per-unit odds ratios, the centring values and the expected incidence.

    Notes
    -----
    The intercept is solved (Brent's method) so that the mean predicted risk over the drawn
    cohort equals ``incidence``. The linear predictor uses the rounded covariates exactly as
    returned, so the logistic model on the returned columns is the true model.
    Checked by ``tests/test_synthetic.py``: the realised incidence and the ML odds ratios on
    large cohorts agree with the truth within their sampling error.
    """
    if subgroup not in PROFILES:
        raise ValueError(f"subgroup must be one of {', '.join(SUBGROUPS)}, not {subgroup!r}")
    if not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive whole number, not {n!r}")
    incidence = INCIDENCE[subgroup] if incidence is None else float(incidence)
    if not 0 < incidence < 1:
        raise ValueError(f"incidence must be between 0 and 1 (exclusive), not {incidence}")
    if not 0 <= missing < 1:
        raise ValueError(f"missing must be a fraction in [0, 1), not {missing}")
    ors = default_odds_ratios(subgroup)
    for key, value in (odds_ratios or {}).items():
        if key not in EFFECT_FACTORS:
            raise ValueError(
                f"odds_ratios has an unknown factor {key!r}; use {', '.join(EFFECT_FACTORS)}"
            )
        if not value > 0:
            raise ValueError(f"odds ratio for {key} must be positive, not {value}")
        ors[key] = float(value)

    rng = np.random.default_rng(seed)
    p = PROFILES[subgroup]
    female = rng.random(n) < p.female[0]
    sex = np.where(female, "F", "M")
    height = np.where(
        female,
        rng.normal(p.height_f.mean, p.height_f.sd, n),
        rng.normal(p.height_m.mean, p.height_m.sd, n),
    )
    height = np.round(clip_plausible("height_cm", height), 1)
    bmi_draw = clip_plausible("bmi", draw_lognormal(rng, p.bmi, n))
    mass = np.round(clip_plausible("mass_kg", bmi_draw * (height / 100) ** 2), 1)
    bmi = np.round(mass / (height / 100) ** 2, 1)
    q = np.where(
        female,
        rng.normal(Q_ANGLE["F"].mean, Q_ANGLE["F"].sd, n),
        rng.normal(Q_ANGLE["M"].mean, Q_ANGLE["M"].sd, n),
    )
    knee = np.where(
        female,
        rng.normal(KNEE_EXT["F"].mean, KNEE_EXT["F"].sd, n),
        rng.normal(KNEE_EXT["M"].mean, KNEE_EXT["M"].sd, n),
    )
    frame = pd.DataFrame(
        {
            "runner_id": [f"SYN-{subgroup[:3].upper()}-{i:04d}" for i in range(1, n + 1)],
            "sex": pd.Categorical(sex, categories=["F", "M"]),
            "age_years": np.round(
                clip_plausible("age_years", rng.normal(p.age_years.mean, p.age_years.sd, n)), 0
            ),
            "height_cm": height,
            "mass_kg": mass,
            "bmi": bmi,
            "q_angle_deg": np.round(clip_plausible("q_angle_deg", q), 1),
            "weekly_km": np.round(clip_plausible("weekly_km", draw_gamma(rng, p.weekly_km, n)), 1),
            "weekly_km_change_pct": np.round(
                clip_plausible("weekly_km_change_pct", rng.normal(KM_CHANGE.mean, KM_CHANGE.sd, n)),
                0,
            ),
            "hip_abd_strength_nkg": np.round(
                clip_plausible("hip_abd_strength_nkg", rng.normal(HIP_ABD.mean, HIP_ABD.sd, n)), 2
            ),
            "knee_ext_strength_nmkg": np.round(clip_plausible("knee_ext_strength_nmkg", knee), 2),
            "subgroup": pd.Categorical([subgroup] * n, categories=list(SUBGROUPS)),
        }
    )

    centre = {k: float(frame[k].mean()) for k in EFFECT_FACTORS if k != "sex"}
    lp = np.zeros(n)
    for key, value in ors.items():
        x = female.astype(float) if key == "sex" else frame[key].to_numpy() - centre[key]
        lp += math.log(value) * x
    intercept = optimize.brentq(
        lambda b: special.expit(b + lp).mean() - incidence, -30, 30, xtol=1e-12
    )
    frame[OUTCOME] = (rng.random(n) < special.expit(intercept + lp)).astype("int64")
    frame["followup_weeks"] = p.followup_weeks[0]
    frame["data_source"] = SYNTHETIC_LABEL
    if missing:
        for column in MEASURED:
            frame.loc[rng.random(n) < missing, column] = np.nan
        frame.loc[frame["height_cm"].isna() | frame["mass_kg"].isna(), "bmi"] = np.nan
    frame.attrs["truth"] = {
        "synthetic": True,
        "subgroup": subgroup,
        "intercept": intercept,
        "odds_ratios": ors,
        "centre": centre,
        "incidence": incidence,
        "note": "per-unit odds ratios of the generating logistic model; sex is F vs M; "
        "covariates centred at 'centre' (the intercept applies there)",
    }
    return frame


def is_synthetic(data: pd.DataFrame) -> bool:
    """Whether any row of ``data`` is labelled SYNTHETIC (``data_source`` column)."""
    return (
        "data_source" in data
        and data["data_source"]
        .astype(str)
        .str.contains(SYNTHETIC_LABEL, case=False, na=False)
        .any()
    )


#: The SYNTHETIC demo cohort shipped with the package (package data, found with
#: importlib.resources); regenerated by ``make demo-data``.
DEMO_COHORT = Path(str(resources.files("pfps_stats").joinpath("data", "demo_cohort.csv")))
#: Runners per subgroup in the bundled demo cohort, and its seed.
DEMO_SIZES = {"military": 900, "adolescent": 700, "recreational": 800}
DEMO_SEED = 20190301


def demo_cohort(seed: int = DEMO_SEED) -> pd.DataFrame:
    """The bundled SYNTHETIC demo cohort: three subgroups (``DEMO_SIZES``), default published
    effects, 2% of each measured covariate missing at random, made afresh from ``seed``.
    :data:`DEMO_COHORT` is this frame as written by ``pfps-stats simulate --demo``; read it
    with :func:`load_demo_cohort`."""
    rng = np.random.default_rng(seed)
    parts = [
        simulate_cohort(size, subgroup=name, seed=rng, missing=0.02)
        for name, size in DEMO_SIZES.items()
    ]
    frame = pd.concat(parts, ignore_index=True)
    frame["subgroup"] = pd.Categorical(frame["subgroup"], categories=list(SUBGROUPS))
    frame.attrs["truth"] = {p.attrs["truth"]["subgroup"]: p.attrs["truth"] for p in parts}
    return frame


def write_demo_cohort(path: str | Path, seed: int = DEMO_SEED) -> Path:
    """Write :func:`demo_cohort` to ``path`` as CSV and return the path."""
    from .validation import write_csv_atomic

    path = Path(path)
    write_csv_atomic(demo_cohort(seed), path)
    return path


def load_demo_cohort() -> pd.DataFrame:
    """The SYNTHETIC demo cohort shipped with pfps_stats, loaded and validated like a user's
    file (:func:`~pfps_stats.load_cohort`): 2,400 runners in three subgroups.

    Returns
    -------
    DataFrame
        Canonical columns; every row's ``data_source`` says SYNTHETIC.
    """
    from .load import load_cohort

    return load_cohort(DEMO_COHORT)
