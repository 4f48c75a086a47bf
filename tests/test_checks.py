"""Shared argument checks."""

import pandas as pd
import pytest

from pfps_stats._checks import check_level


@pytest.mark.parametrize("level", [0.95, 0.5, 0.999])
def test_a_level_between_0_and_1_passes(level):
    assert check_level(level) == level


@pytest.mark.parametrize(
    ("level", "message"),
    [
        (95, "did you mean 0.95"),
        (1, "between 0 and 1"),
        (0, "between 0 and 1"),
        (-0.5, "between 0 and 1"),
        (float("nan"), "between 0 and 1"),
        ("high", "a number between 0 and 1"),
        (None, "a number between 0 and 1"),
    ],
)
def test_a_bad_level_says_what_to_write(level, message):
    with pytest.raises(ValueError, match=message):
        check_level(level)


def test_every_public_level_argument_is_checked(small_cohort):
    import pfps_stats as ps

    with pytest.warns(ps.ModelWarning, match="events per variable"):
        fit = ps.fit_logistic(small_cohort, "pfp ~ q_angle_deg", method="firth")
    calls = [
        lambda: ps.incidence(small_cohort, level=95),
        lambda: fit.odds_ratios(level=95),
        lambda: fit.predict_proba(small_cohort, level=95),
        lambda: ps.plot_effect(fit, "q_angle_deg", level=95),
        lambda: ps.roc_auc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.7], level=95),
        lambda: ps.meta_analysis([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], level=95),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="did you mean 0.95"):
            call()


def test_describing_functions_refuse_an_imputed_cohort_and_say_what_to_pass():
    import warnings

    import pfps_stats as ps

    cohort = ps.simulate_cohort(80, seed=1)
    cohort.loc[:15, "bmi"] = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imputed = ps.impute(cohort, m=2, max_iter=1, seed=1)
    for describe in (ps.table_one, ps.plot_missing, ps.compare_with_evidence, ps.missing_table):
        with pytest.raises(TypeError, match="describe the incomplete data"):
            describe(imputed)
    with pytest.raises(ValueError, match=r"more than one column named \['bmi'\]"):
        ps.missing_table(pd.concat([cohort, cohort[["bmi"]]], axis=1))
