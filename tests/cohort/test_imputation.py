"""impute and ImputedCohort: observed values untouched, every gap filled with donor values,
reproducible chains, BMI derived, the outcome never imputed, from_datasets, bad input, and a
small missing-at-random sanity check (SYNTHETIC data throughout)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from statsmodels.imputation.mice import MICEData

import pfps_stats as ps
from pfps_stats._exceptions import DataValidationError
from pfps_stats.cohort.imputation import ImputedCohort, _FastMICEData, impute


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    """SYNTHETIC: 300 runners, 10% of each covariate missing, some sex and outcomes missing."""
    data = ps.simulate_cohort(300, seed=3, missing=0.1)
    data.loc[data.index[[3, 30, 60]], "sex"] = None
    data.loc[data.index[[1, 2]], "pfp"] = np.nan
    return data


@pytest.fixture(scope="module")
def imputed(cohort) -> ImputedCohort:
    return impute(cohort, m=3, max_iter=3, seed=7)


def test_observed_values_untouched_and_every_gap_filled(cohort, imputed):
    kept = cohort.drop(index=cohort.index[[1, 2]])
    assert imputed.m == 3
    for data in imputed.datasets:
        assert list(data.columns) == list(cohort.columns)
        assert data.index.equals(kept.index)
        assert not data[list(imputed.variables)].isna().any().any()
        observed = kept.notna()
        for column in kept.columns:
            mask = observed[column]
            assert (data.loc[mask, column] == kept.loc[mask, column]).all(), column
    assert imputed.missing.sum().to_dict() == kept[list(imputed.variables)].isna().sum().to_dict()
    assert cohort.loc[cohort.index[1], "pfp"] != cohort.loc[cohort.index[1], "pfp"]  # unchanged


def test_imputed_values_are_observed_donor_values(cohort, imputed):
    kept = cohort.drop(index=cohort.index[[1, 2]])
    for name in imputed.variables:
        if name == "bmi":
            continue  # derived, not matched
        donors = set(kept[name].dropna())
        mask = imputed.missing[name]
        for data in imputed.datasets:
            assert set(data.loc[mask, name]) <= donors, name
    assert set(imputed.datasets[0]["sex"].dropna()) <= {"F", "M"}


def test_reproducible_with_a_seed_and_different_across_datasets(cohort, imputed):
    again = impute(cohort, m=3, max_iter=3, seed=7)
    for a, b in zip(imputed.datasets, again.datasets, strict=True):
        assert_frame_equal(a, b)
    mask = imputed.missing["q_angle_deg"]
    first, second = (d.loc[mask, "q_angle_deg"] for d in imputed.datasets[:2])
    assert not first.equals(second)
    other = impute(cohort, m=3, max_iter=3, seed=8)
    assert not other.datasets[0].equals(imputed.datasets[0])


def test_none_seed_is_recorded_so_the_run_can_be_repeated(cohort):
    small = cohort[["age_years", "q_angle_deg", "pfp"]]
    run = impute(small, m=2, max_iter=2, seed=None)
    again = impute(small, m=2, max_iter=2, seed=run.settings["seed"])
    assert_frame_equal(run.datasets[1], again.datasets[1])


def test_bmi_is_derived_from_imputed_height_and_mass(cohort, imputed):
    gap = imputed.missing["bmi"]
    assert gap.any()
    for data in imputed.datasets:
        expected = (data["mass_kg"] / (data["height_cm"] / 100) ** 2).round(2)
        assert np.allclose(data.loc[gap, "bmi"], expected[gap])
    assert "bmi" not in imputed.settings["predictors"]
    assert imputed.settings["bmi"].startswith("derived")


def test_bmi_imputed_as_itself_without_height(cohort):
    run = impute(cohort.drop(columns="height_cm"), m=2, max_iter=2, seed=1)
    assert run.settings["bmi"].startswith("imputed as itself")
    assert "bmi" in run.settings["predictors"]
    donors = set(cohort["bmi"].dropna())
    assert set(run.datasets[0].loc[run.missing["bmi"], "bmi"]) <= donors


def test_outcome_is_a_predictor_never_imputed_and_exclusions_counted(imputed):
    assert "pfp" in imputed.settings["predictors"]
    assert "pfp" not in imputed.variables
    assert imputed.settings["n_excluded_outcome_missing"] == 2
    assert any("2 rows with a missing outcome" in n for n in imputed.notes)
    for never in ("runner_id", "data_source"):
        assert never not in imputed.settings["predictors"]


def test_settings_and_diagnostics(imputed):
    s = imputed.settings
    assert (s["m"], s["method"], s["max_iter"], s["seed"], s["donors"]) == (3, "pmm", 3, 7, 5)
    assert s["statsmodels_version"]
    d = imputed.diagnostics()
    assert list(d["variable"]) == list(imputed.variables)
    row = d.set_index("variable").loc["q_angle_deg"]
    assert row["n_imputed"] == imputed.missing["q_angle_deg"].sum()
    assert row["label"] == "Q angle (°)"
    assert 10 < row["imputed_mean"] < 25
    assert d.set_index("variable").loc["sex", "coding"] == "proportion M"
    long = imputed.values("q_angle_deg")
    assert len(long) == row["n_observed"] + 3 * row["n_imputed"]


def test_fast_chain_matches_statsmodels_formula_version():
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(80, 3)), columns=["v0", "v1", "v2"])
    x.loc[rng.random(80) < 0.2, "v1"] = np.nan
    x.loc[rng.random(80) < 0.2, "v2"] = np.nan
    stock = MICEData(x, k_pmm=5, rng=np.random.default_rng(1))
    fast = _FastMICEData(x, k_pmm=5, rng=np.random.default_rng(1))
    stock.update_all(3)
    fast.update_all(3)
    assert_frame_equal(stock.data, fast.data)


def test_mar_mean_recovered_better_than_complete_case():
    """SYNTHETIC: y observed less often when x is high (MAR given x); the complete-case mean of
    y is biased downward, the imputed mean much less."""
    rng = np.random.default_rng(11)
    n = 600
    x = rng.normal(size=n)
    y = 10 + 2 * x + rng.normal(scale=0.5, size=n)
    data = pd.DataFrame({"y": y, "x": x, "pfp": (rng.random(n) < 0.2).astype(int)})
    data.loc[rng.random(n) < 1 / (1 + np.exp(-2 * x)), "y"] = np.nan
    run = impute(data, m=5, max_iter=5, seed=2, variables=["y", "x"])
    truth = y.mean()
    complete_case = data["y"].mean()
    pooled = np.mean([d["y"].mean() for d in run.datasets])
    assert abs(complete_case - truth) > 0.5
    assert abs(pooled - truth) < abs(complete_case - truth) / 3


def test_from_datasets_round_trip(cohort, imputed):
    kept = cohort.drop(index=cohort.index[[1, 2]])
    again = ImputedCohort.from_datasets(
        list(imputed.datasets), settings=imputed.settings, original=kept
    )
    assert again.m == 3
    assert_frame_equal(again.missing, imputed.missing)
    assert_frame_equal(again.diagnostics(), imputed.diagnostics())
    inferred = ImputedCohort.from_datasets(list(imputed.datasets))
    assert set(inferred.variables) <= set(imputed.variables)
    assert any("differ between datasets" in n for n in inferred.notes)


def test_from_datasets_bad_input(imputed):
    a, b, _ = imputed.datasets
    with pytest.raises(ValueError, match="at least 2"):
        ImputedCohort.from_datasets([a])
    with pytest.raises(ValueError, match="columns"):
        ImputedCohort.from_datasets([a, b.drop(columns="bmi")])
    with pytest.raises(ValueError, match="index"):
        ImputedCohort.from_datasets([a, b.iloc[::-1]])
    holed = b.copy()
    holed.iloc[0, holed.columns.get_loc("q_angle_deg")] = np.nan
    with pytest.raises(ValueError, match="still has missing values"):
        ImputedCohort.from_datasets([a, holed])


def test_bad_input(cohort):
    with pytest.raises(ValueError, match="at least 2"):
        impute(cohort, m=1, seed=1)
    with pytest.raises(ValueError, match="method='mean' is not supported"):
        impute(cohort, method="mean", seed=1)
    with pytest.raises(ValueError, match="not a column"):
        impute(cohort.drop(columns="pfp"), seed=1)
    with pytest.raises(ValueError, match="not columns of the data: 'grip'"):
        impute(cohort, variables=["grip"], seed=1)
    with pytest.raises(ValueError, match="never imputed"):
        impute(cohort, variables=["runner_id"], seed=1)
    mixed = ps.simulate_cohort(30, seed=1)
    with pytest.raises(ValueError, match="more than two levels"):
        impute(mixed.assign(subgroup=["a", "b", "c"] * 10), variables=["subgroup"], seed=1)
    with pytest.raises(ValueError, match="missing in every row"):
        impute(cohort.assign(q_angle_deg=np.nan), seed=1)
    complete = ps.simulate_cohort(50, seed=2)
    with pytest.warns(ps.ModelWarning, match="nothing to impute"):
        once = impute(complete, seed=1)
    assert once.m == 1
    assert once.settings["m_requested"] == 20
    assert once.datasets[0].equals(complete)
    assert not once.missing.any().any()


def test_text_in_a_numeric_column_is_reported_by_cell(cohort):
    bad = cohort.astype({"q_angle_deg": object})
    bad.loc[bad.index[4], "q_angle_deg"] = "twelve"
    with pytest.raises(DataValidationError, match="twelve") as info:
        impute(bad, seed=1)
    assert info.value.problems["row"].tolist() == [5]


@pytest.mark.filterwarnings("error")
def test_collinear_complete_predictors_are_left_out_and_said():
    """SYNTHETIC: follow-up length is fixed by subgroup, so it is a copy of the subgroup
    indicators; it is left out (no rank-deficient fits) and the notes say so."""
    parts = [
        ps.simulate_cohort(60, subgroup=name, seed=i, missing=0.1)
        for i, name in enumerate(["military", "recreational"])
    ]
    run = impute(pd.concat(parts, ignore_index=True), m=2, max_iter=2, seed=1)
    assert "subgroup" in run.settings["predictors"]
    assert "followup_weeks" not in run.settings["predictors"]
    assert any("followup_weeks" in n for n in run.notes)


def test_from_datasets_with_original_marks_values_filled_alike_in_every_dataset():
    original = pd.DataFrame(
        {
            "pfp": [0, 1, 0, 1, 0, 1],
            "x": [1.0, None, 3.0, 4.0, None, 6.0],
            "z": [1, 2, 3, None, 5, 6],
        }
    )
    frames = [original.fillna({"x": 2.0, "z": 4.0}), original.fillna({"x": 5.0, "z": 4.0})]
    imputed = ps.ImputedCohort.from_datasets(frames, original=original)
    assert imputed.variables == ("x", "z")  # z was filled with 4 in both datasets
    assert imputed.settings["n_missing"] == {"x": 2, "z": 1}


def test_from_datasets_refuses_duplicated_index_labels_with_a_fix():
    frame = pd.DataFrame({"pfp": [0, 1, 0], "x": [1.0, 2.0, 3.0]}, index=[0, 0, 1])
    with pytest.raises(ValueError, match="reset_index"):
        ps.ImputedCohort.from_datasets([frame, frame.assign(x=[1.0, 2.5, 3.0])])


def test_an_outcome_with_one_class_is_refused(cohort):
    with pytest.raises(ValueError, match="only one value"):
        impute(cohort.assign(pfp=0), seed=1)


def test_a_yes_no_text_column_outside_the_dictionary_says_how_to_convert_it(cohort):
    flag = pd.Series([True, False, None] * (len(cohort) // 3 + 1), dtype=object)
    with pytest.raises(ValueError, match="nullable boolean"):
        impute(cohort.assign(flag=flag.iloc[: len(cohort)].to_numpy()), variables=["flag"], seed=1)
