"""simulate_cohort reproduces its requested incidence and odds ratios; the demo file is what
the documented command makes."""

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import special

import pfps_stats as ps
from pfps_stats.cohort.synthetic import DEMO_SIZES, EFFECT_FACTORS, PUBLISHED_SMD

FACTORS = [f for f in EFFECT_FACTORS if f != "sex"]


def _fit(cohort: pd.DataFrame):
    X = cohort[FACTORS].assign(sex=(cohort["sex"] == "F").astype(float))
    return sm.Logit(cohort["pfp"], sm.add_constant(X)).fit(disp=0)


def test_same_seed_same_cohort_and_labelled_synthetic():
    a = ps.simulate_cohort(300, subgroup="adolescent", seed=3)
    b = ps.simulate_cohort(300, subgroup="adolescent", seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert (a["data_source"] == "SYNTHETIC").all()
    assert a["runner_id"].str.startswith("SYN-").all()
    assert ps.is_synthetic(a)
    assert a.attrs["truth"]["synthetic"] is True


@pytest.mark.parametrize("subgroup", ["military", "adolescent", "recreational"])
def test_intercept_gives_the_requested_incidence(subgroup):
    cohort = ps.simulate_cohort(20_000, subgroup=subgroup, seed=11)
    truth = cohort.attrs["truth"]
    lp = truth["intercept"] + sum(
        math.log(truth["odds_ratios"][f]) * (cohort[f] - truth["centre"][f]) for f in FACTORS
    )
    lp += math.log(truth["odds_ratios"]["sex"]) * (cohort["sex"] == "F")
    assert special.expit(lp).mean() == pytest.approx(truth["incidence"], abs=1e-9)
    se = math.sqrt(truth["incidence"] * (1 - truth["incidence"]) / len(cohort))
    assert abs(cohort["pfp"].mean() - truth["incidence"]) < 4 * se


@pytest.mark.slow
@pytest.mark.parametrize("subgroup", ["military", "adolescent", "recreational"])
def test_ml_fit_recovers_the_true_odds_ratios(subgroup):
    cohort = ps.simulate_cohort(100_000, subgroup=subgroup, seed=5)
    fit = _fit(cohort)
    truth = np.log(pd.Series(cohort.attrs["truth"]["odds_ratios"]))
    z = (fit.params.drop("const") - truth[fit.params.index.drop("const")]) / fit.bse.drop("const")
    assert z.abs().max() < 4, z


def test_requested_odds_ratios_override_the_defaults():
    cohort = ps.simulate_cohort(
        60_000,
        subgroup="recreational",
        incidence=0.2,
        seed=9,
        odds_ratios={"weekly_km": 1.02, "sex": 2.0, "bmi": 0.9},
    )
    fit = _fit(cohort)
    for factor, value in {"weekly_km": 1.02, "sex": 2.0, "bmi": 0.9}.items():
        assert abs(fit.params[factor] - math.log(value)) < 4 * fit.bse[factor], factor
    assert abs(cohort["pfp"].mean() - 0.2) < 4 * math.sqrt(0.2 * 0.8 / 60_000)


@pytest.mark.parametrize(
    ("subgroup", "factor"),
    [("military", "knee_ext_strength_nmkg"), ("adolescent", "hip_abd_strength_nkg")],
)
def test_default_effects_reproduce_the_published_smd(subgroup, factor):
    """Neal 2019: SMD -0.69 (quadriceps, military), +0.71 (hip abduction, adolescents). The
    per-SD log OR = SMD approximation holds within sex (where the SD is the generating one)."""
    cohort = ps.simulate_cohort(100_000, subgroup=subgroup, seed=21)
    for sex in ("F", "M"):
        one = cohort[cohort["sex"] == sex]
        cases, others = one.loc[one["pfp"] == 1, factor], one.loc[one["pfp"] == 0, factor]
        pooled = math.sqrt(
            ((len(cases) - 1) * cases.var() + (len(others) - 1) * others.var()) / (len(one) - 2)
        )
        smd = (cases.mean() - others.mean()) / pooled
        assert smd == pytest.approx(PUBLISHED_SMD[subgroup][factor], abs=0.07), sex


def test_missing_fraction_is_missing_completely_at_random():
    cohort = ps.simulate_cohort(20_000, seed=2, missing=0.1)
    rate = cohort["q_angle_deg"].isna().mean()
    assert 0.09 < rate < 0.11
    assert cohort["pfp"].notna().all()
    assert cohort["runner_id"].notna().all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"subgroup": "elderly"}, "subgroup must be one of"),
        ({"incidence": 1.5}, "incidence must be between 0 and 1"),
        ({"odds_ratios": {"shoe_size": 2}}, "unknown factor 'shoe_size'"),
        ({"odds_ratios": {"bmi": -1}}, "must be positive"),
        ({"missing": 1.0}, "missing must be a fraction"),
    ],
)
def test_bad_arguments_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ps.simulate_cohort(10, **kwargs)
    with pytest.raises(ValueError, match="positive whole number"):
        ps.simulate_cohort(0)


def test_demo_file_is_what_the_documented_command_makes(demo_path):
    """The shipped demo cohort == `pfps-stats simulate --demo` (make demo-data)."""
    committed = pd.read_csv(demo_path)
    fresh = ps.demo_cohort()
    assert len(committed) == sum(DEMO_SIZES.values())
    assert list(committed.columns) == list(fresh.columns)
    for column in committed.columns:
        if pd.api.types.is_numeric_dtype(committed[column]):
            np.testing.assert_allclose(
                committed[column],
                fresh[column].astype(float),
                rtol=1e-12,
                err_msg=f"{column}: run `make demo-data`",
            )
        else:
            assert committed[column].astype(str).tolist() == fresh[column].astype(str).tolist()
    incidence = committed.groupby("subgroup")["pfp"].mean()
    assert 0.06 < incidence["military"] < 0.16
    assert 0.02 < incidence["recreational"] < 0.10
