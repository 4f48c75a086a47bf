"""Study planning from the registry: ps.plan_study reads the registry row and the subgroup's
incidence and gives ps.power_logistic's answer for them, says which row it used, and refuses
what it cannot plan for."""

import pandas as pd
import pytest

import pfps_stats as ps
from pfps_stats.cohort.synthetic import INCIDENCE, PROFILES
from pfps_stats.evidence.planning import INCIDENCE_SOURCE


@pytest.fixture(scope="module")
def registry() -> pd.DataFrame:
    return ps.load_evidence()


def _row(registry, study, factor, subgroup) -> pd.Series:
    rows = registry[
        (registry["study"] == study)
        & (registry["factor"] == factor)
        & (registry["subgroup"] == subgroup)
        & (registry["design"] == "prospective")
    ]
    assert len(rows) == 1
    return rows.iloc[0]


def test_plan_is_power_logistic_on_neal_2019s_quadriceps_row(registry):
    row = _row(registry, "neal2019", "knee_ext_strength_nmkg", "military")
    plan = ps.plan_study("knee_ext_strength_nmkg", "military", power=0.8, dropout=0.1)
    expected = ps.power_logistic(
        row["estimate"], scale="smd", incidence=INCIDENCE["military"], power=0.8, dropout=0.1
    )
    assert plan["n"] == expected["n"]
    assert plan["n_analysed"] == expected["n_analysed"]
    assert plan["events"] == pytest.approx(expected["events"])
    assert plan["power"] == pytest.approx(expected["power"])
    assert plan["n"] > plan["n_analysed"], "drop-out inflates the number recruited"
    assert plan["power"] >= 0.8
    assert (plan["study"], plan["measure"], plan["design"]) == ("neal2019", "SMD", "prospective")
    assert (plan["effect"], plan["ci_low"], plan["ci_high"]) == (
        row["estimate"],
        row["ci_low"],
        row["ci_high"],
    )
    assert plan["evidence_level"] == row["evidence_level"]
    assert plan["incidence"] == INCIDENCE["military"]
    assert plan["incidence_source"] == INCIDENCE_SOURCE
    assert "rocha2024" in plan["other_rows"], "the other usable row is named"


def test_the_sentence_quotes_the_numbers_and_sources():
    plan = ps.plan_study("knee_ext_strength_nmkg", "military", dropout=0.1)
    sentence = plan["sentence"]
    for text in (
        f"needs {plan['n']} military recruits",
        f"{plan['n_analysed']} are analysed",
        f"about {plan['events']:.0f} are expected to develop PFP",
        "80% power",
        "two-sided alpha 0.05",
        "11%",
        "10% drop-out",
        "likelihood-ratio test, Self et al. 1992",
        "Neal et al. 2019",
        "\N{MINUS SIGN}0.69",
    ):
        assert text in sentence, text


def test_conservative_plans_for_the_ci_end_nearest_no_effect(registry):
    estimate = ps.plan_study("knee_ext_strength_nmkg", "military")
    conservative = ps.plan_study("knee_ext_strength_nmkg", "military", use="conservative")
    row = _row(registry, "neal2019", "knee_ext_strength_nmkg", "military")
    assert conservative["effect"] == row["ci_high"]  # -0.35: nearer 0 than -1.02
    assert conservative["n"] > estimate["n"]
    assert conservative["use"] == "conservative"
    assert "conservative" in conservative["sentence"]
    assert (
        conservative["n"]
        == ps.power_logistic(
            row["ci_high"], scale="smd", incidence=INCIDENCE["military"], power=0.8
        )["n"]
    )
    # a positive SMD: the lower end is nearest no effect
    hip = ps.plan_study("hip_abd_strength_nkg", "adolescent", use="conservative")
    assert (
        hip["effect"] == _row(registry, "neal2019", "hip_abd_strength_nkg", "adolescent")["ci_low"]
    )


def test_adjustment_power_and_incidence_change_n_as_they_should():
    base = ps.plan_study("knee_ext_strength_nmkg", "military")
    assert ps.plan_study("knee_ext_strength_nmkg", "military", r2_other=0.3)["n"] > base["n"]
    assert ps.plan_study("knee_ext_strength_nmkg", "military", power=0.9)["n"] > base["n"]
    assert ps.plan_study("knee_ext_strength_nmkg", "military", alpha=0.01)["n"] > base["n"]
    given = ps.plan_study("knee_ext_strength_nmkg", "military", incidence=0.25)
    assert given["n"] < base["n"]
    assert given["incidence_source"] == "given (incidence=), not from the registry"
    assert "25%" in given["sentence"]
    assert "conference abstract" not in given["sentence"]


def test_a_pooled_row_of_another_meta_analysis_is_used_without_neal(registry):
    without = registry[registry["study"] != "neal2019"]
    plan = ps.plan_study("knee_ext_strength_nmkg", "military", registry=without)
    assert plan["study"] == "rocha2024"
    assert plan["other_rows"] == ""


def test_an_odds_ratio_of_sex_is_planned_as_a_binary_factor(registry):
    row = {
        **_row(registry, "boling2010", "sex", "military").to_dict(),
        "measure": "OR",
        "estimate": 2.0,
        "ci_low": 1.2,
        "ci_high": 3.3,
    }
    with_or = pd.concat([registry, pd.DataFrame([row])], ignore_index=True)
    plan = ps.plan_study("sex", "military", registry=with_or)
    share = PROFILES["military"].female[0]
    expected = ps.power_logistic(
        2.0, scale="or_binary", incidence=INCIDENCE["military"], exposed=share, power=0.8
    )
    assert (plan["scale"], plan["exposed"], plan["n"]) == ("or_binary", share, expected["n"])
    conservative = ps.plan_study("sex", "military", use="conservative", registry=with_or)
    assert conservative["effect"] == 1.2


def test_unknown_factor_and_subgroup_name_the_argument():
    with pytest.raises(ValueError, match=r"factor='knee_ext_strength'.*did you mean") as err:
        ps.plan_study("knee_ext_strength", "military")
    assert "knee_ext_strength_nmkg (military)" in str(err.value)
    with pytest.raises(ValueError, match="subgroup='army' is not one of military"):
        ps.plan_study("knee_ext_strength_nmkg", "army")
    with pytest.raises(ValueError, match="use='cautious' is not one of estimate, conservative"):
        ps.plan_study("knee_ext_strength_nmkg", "military", use="cautious")
    with pytest.raises(ValueError, match="power"):
        ps.plan_study("knee_ext_strength_nmkg", "military", power=1.2)


def test_no_usable_estimate_lists_the_pairs_that_have_one():
    with pytest.raises(ps.EvidenceError, match="no usable estimate") as err:
        ps.plan_study("bmi", "military")
    message = str(err.value)
    assert "knee_ext_strength_nmkg (military)" in message
    assert "hip_abd_strength_nkg (adolescent)" in message
    with pytest.raises(ps.EvidenceError, match="RR is neither an SMD nor an odds ratio"):
        ps.plan_study("sex", "military")  # Boling 2010's rate ratio
    with pytest.raises(ps.EvidenceError, match="cross-sectional design"):
        ps.plan_study("bmi", "adolescent")  # Hart 2017: measured once PFP had begun


def test_conservative_refuses_a_ci_that_includes_no_effect(registry):
    crossing = registry.copy()
    crossing.loc[crossing["factor"] == "knee_ext_strength_nmkg", "ci_high"] = 0.05
    with pytest.raises(ValueError, match=r"use='conservative'.*includes no effect"):
        ps.plan_study("knee_ext_strength_nmkg", "military", use="conservative", registry=crossing)


def test_a_population_without_a_published_incidence_needs_one(registry):
    with pytest.raises(ValueError, match=r"incidence: no published PFP incidence.*'adult'"):
        ps.plan_study("bmi", "adult")
    plan = ps.plan_study("bmi", "adult", incidence=0.05)
    row = _row(registry, "hart2017", "bmi", "adult")  # not the cross-sectional row
    assert plan["estimate"] == row["estimate"]
    assert plan["n"] == ps.power_logistic(row["estimate"], incidence=0.05, power=0.8)["n"]
    assert "adult runners" in plan["sentence"]


def test_the_sentence_says_when_the_formula_is_optimistic():
    """With method="hsieh" an SMD of -0.69 lies beyond the formula's region and the sentence
    says the n is a lower bound; the likelihood-ratio method needs no such warning."""
    hsieh = ps.plan_study("knee_ext_strength_nmkg", "military", method="hsieh")
    assert "lower bound on the cohort needed" in hsieh["sentence"]
    assert "Hsieh et al. 1998" in hsieh["sentence"]
    small = ps.plan_study(
        "knee_ext_strength_nmkg", "military", use="conservative", method="hsieh"
    )  # -0.35
    assert "lower bound" not in small["sentence"]
    lr = ps.plan_study("knee_ext_strength_nmkg", "military")
    assert "lower bound" not in lr["sentence"]
    assert (lr["method"], lr["n"], lr["n_hsieh"]) == ("lr", 173, 161)
    assert hsieh["n"] == hsieh["n_hsieh"] == 161


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="method='wald' is not one of lr, hsieh"):
        ps.plan_study("knee_ext_strength_nmkg", "military", method="wald")


def test_plan_study_without_a_target_power_says_what_it_needs():
    with pytest.raises(ValueError, match="power must be the target power"):
        ps.plan_study("knee_ext_strength_nmkg", "military", power=None)


def test_the_sentence_names_the_model_and_warns_of_few_cases():
    plan = ps.plan_study("knee_ext_strength_nmkg", "military")  # about 19 cases
    assert (
        "in an unadjusted logistic regression (odds ratio 0.50 per within-group SD"
        in (plan["sentence"])
    )
    assert "pooled over its studies' follow-up" in plan["sentence"]
    assert "estimated imprecisely whatever the power" in plan["sentence"]
    adjusted = ps.plan_study("knee_ext_strength_nmkg", "military", r2_other=0.2, power=0.9)
    assert "adjusted for the other covariates" in adjusted["sentence"]
    assert adjusted["events"] >= 20
    assert "imprecisely" not in adjusted["sentence"]


@pytest.mark.parametrize("registry", ["x", pd.DataFrame()])
def test_a_registry_that_is_not_one_is_refused(registry):
    with pytest.raises(ValueError, match="registry must be the registry as ps.load_evidence"):
        ps.plan_study("knee_ext_strength_nmkg", "military", registry=registry)
