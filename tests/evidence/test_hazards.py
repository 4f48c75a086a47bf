"""Training-load evidence: the registry's published hazard ratios and the local-vs-published
comparison of hazard ratios (hand-made local tables with known answers)."""

import math
import shutil

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pfps_stats._exceptions import EvidenceError
from pfps_stats.evidence.hazards import (
    HAZARD_COMPARISON_COLUMNS,
    PUBLISHED_DEFINITIONS,
    compare_hazard_ratios,
    plot_hazard_comparison,
)
from pfps_stats.evidence.registry import (
    EVIDENCE_DIR,
    EXPOSURE_FACTORS,
    load_claims,
    load_evidence,
    load_studies,
)

Z = stats.norm.ppf(0.975)
SPIKES = [">10-30%", ">30-100%", ">100%"]
#: The columns of CoxFit.hazard_ratios().
COX_COLUMNS = [
    "term",
    "label",
    "variable",
    "level",
    "increment",
    "hazard_ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "test",
    "events",
    "person_days",
]


def _se(low: float, high: float, z: float = Z) -> float:
    return (math.log(high) - math.log(low)) / (2 * z)


def _local(exposure: str, hrs: dict, se: dict | None = None, level: float = 0.95):
    """A CoxFit.hazard_ratios()-shaped table: hrs = {state: hr}, se of each log HR."""
    z = stats.norm.ppf(0.5 + level / 2)
    se = se or {}
    rows = []
    for i, (state, hr) in enumerate(hrs.items()):
        s = se.get(state, 0.2)
        rows.append(
            {
                "term": f"C({exposure})[T.{state}]",
                "label": f"{exposure}: {state}",
                "variable": exposure,
                "level": state,
                "increment": 1.0,
                "hazard_ratio": hr,
                "ci_low": hr * math.exp(-z * s),
                "ci_high": hr * math.exp(z * s),
                "p_value": 0.5,
                "test": "Wald (robust)",
                "events": 10 + i,
                "person_days": 1000.0 * (i + 1),
            }
        )
    table = pd.DataFrame(rows, columns=COX_COLUMNS)
    table.attrs["level"] = level
    return table


# -- the registry ---------------------------------------------------------------------------


def test_published_hazard_ratios_are_in_the_registry_exactly():
    registry = load_evidence(verified_only=True)
    hr = registry[registry["measure"] == "HR"]
    frandsen = hr[hr["study"] == "frandsen2025"].set_index("level")
    assert list(frandsen.index) == SPIKES
    assert (frandsen["factor"] == "session_state").all()
    assert frandsen.loc[">10-30%", ["estimate", "ci_low", "ci_high"]].tolist() == [1.64, 1.31, 2.05]
    assert frandsen.loc[">30-100%", ["estimate", "ci_low", "ci_high"]].tolist() == [1.52, 1.16, 2.0]
    assert frandsen.loc[">100%", ["estimate", "ci_low", "ci_high"]].tolist() == [2.28, 1.5, 3.48]
    assert frandsen["note"].str.contains("not PFP specifically").all()
    assert frandsen["note"].str.contains("reference <=10%").all()
    (nielsen,) = [r for _, r in hr.iterrows() if r["study"] == "nielsen2014"]
    assert (nielsen["factor"], nielsen["level"]) == ("week_state", ">30%")
    assert [nielsen["estimate"], nielsen["ci_low"], nielsen["ci_high"]] == [1.59, 0.96, 2.66]
    assert "p = 0.07" in nielsen["note"]
    assert "not PFP alone" in nielsen["note"]
    assert len(hr) == 4  # no ACWR or week-to-week estimate rows: those are stated findings
    studies = load_studies().set_index("key")
    assert studies.loc["frandsen2025", "doi"] == "10.1136/bjsports-2024-109380"
    assert "Br J Sports Med 2025;59(17):1203-1210" in studies.loc["frandsen2025", "citation"]
    assert "40623829" in studies.loc["frandsen2025", "url"]
    assert studies.loc["frandsen2025", "n"] == 5205
    assert studies.loc["nielsen2014", "n"] == 874
    assert studies.loc["nielsen2014", "citation"].startswith(
        "Nielsen RO, Parner ET, Nohr EA, Sørensen H, Lind M, Rasmussen S."
    )


def test_the_10_percent_claim_credits_each_number_to_its_study():
    claims = load_claims()
    (claim,) = [r for _, r in claims.iterrows() if "10% a week" in r["claim"]]
    assert claim["sources"] == "buist2008; frandsen2025; nielsen2014"
    parts = claim["evidence"].split("; ")
    (trial,) = [p for p in parts if "20.8% vs 20.3%" in p]
    assert "Buist 2008" in trial
    assert "no benefit" in trial
    (hr,) = [p for p in parts if "1.59" in p]
    assert "HR 1.59 (0.96-2.66)" in hr
    assert "Nielsen 2014" in hr
    assert "Buist" not in hr
    assert any("week-to-week ratios were not related" in p and "Frandsen 2025" in p for p in parts)
    assert any("longest run of the past 30 days" in p and "Frandsen 2025" in p for p in parts)
    assert claim["links"][0] == "https://pubmed.ncbi.nlm.nih.gov/17940147/"


def test_a_registry_without_the_level_column_still_loads(tmp_path):
    folder = tmp_path / "evidence"
    shutil.copytree(EVIDENCE_DIR, folder)
    path = folder / "estimates.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    old = frame[frame["measure"] != "HR"].drop(columns="level")
    old.to_csv(path, index=False)
    registry = load_evidence(folder)
    assert len(registry) == len(old)
    assert (registry["level"] == "").all()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (",1.52,1.16,2.00,", ",1.52,-1.16,2.00,", r"field 'ci_low': ratios must be positive"),
        (
            'multistate Cox regression",>100%',
            'multistate Cox regression",',
            r"estimates.csv, line \d+, field 'level': is empty; an estimate for session_state",
        ),
    ],
)
def test_malformed_hazard_ratio_rows_are_named(tmp_path, old, new, message):
    folder = tmp_path / "evidence"
    shutil.copytree(EVIDENCE_DIR, folder)
    path = folder / "estimates.csv"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(EvidenceError, match=message):
        load_evidence(folder)


def test_every_mapped_exposure_is_a_registry_exposure_with_known_studies():
    registry_names = {name.removeprefix("prior_") for name in PUBLISHED_DEFINITIONS}
    assert registry_names == set(EXPOSURE_FACTORS)
    keys = set(load_studies()["key"])
    for sources in PUBLISHED_DEFINITIONS.values():
        for source in sources:
            assert source.study in keys
            assert bool(source.levels) != bool(source.finding)  # a number or a finding


# -- the comparison: known answers ----------------------------------------------------------


def test_identical_estimates_are_consistent_with_difference_zero():
    pub_se = _se(1.31, 2.05)
    local = _local("session_state", {">10-30%": 1.64}, {">10-30%": pub_se})
    row = compare_hazard_ratios(local).set_index("level").loc[">10-30%"]
    assert row["difference"] == pytest.approx(0, abs=1e-12)
    assert row["difference_p"] == pytest.approx(1.0)
    assert row["verdict"] == "consistent"
    half = Z * math.sqrt(pub_se**2 + pub_se**2)
    assert row["difference_low"] == pytest.approx(-half)
    assert row["difference_high"] == pytest.approx(half)
    assert row["ratio_of_hrs"] == pytest.approx(1.0)
    assert row["published_study"] == "frandsen2025"
    assert row["published_hr"] == 1.64
    assert (row["events"], row["person_days"]) == (10, 1000.0)
    assert row["citation"].startswith("Frandsen JSB")


@pytest.mark.parametrize(
    ("z", "verdict"), [(3.0, "differs"), (-2.0, "differs"), (1.9, "consistent")]
)
def test_the_verdict_follows_the_z_test(z, verdict):
    """Local se = published se, local log HR = published + z · √2 · se: the z statistic is z."""
    se = _se(1.16, 2.00)
    hr = math.exp(math.log(1.52) + z * math.sqrt(2) * se)
    local = _local("session_state", {">30-100%": hr}, {">30-100%": se})
    row = compare_hazard_ratios(local).set_index("level").loc[">30-100%"]
    assert row["difference_z"] == pytest.approx(z)
    assert row["difference_p"] == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert row["difference"] == pytest.approx(math.log(hr / 1.52))
    assert row["ratio_of_hrs"] == pytest.approx(hr / 1.52)
    assert row["verdict"] == verdict
    assert row["note"].startswith("differs from" if verdict == "differs" else "no evidence")


def test_the_local_ci_level_sets_its_standard_error():
    se = _se(1.50, 3.48)
    at_95 = compare_hazard_ratios(_local("session_state", {">100%": 3.5}, {">100%": se}))
    at_90 = compare_hazard_ratios(
        _local("session_state", {">100%": 3.5}, {">100%": se}, level=0.90)
    )
    assert at_90.iloc[-1]["difference_z"] == pytest.approx(at_95.iloc[-1]["difference_z"])
    expected = math.log(3.5 / 2.28) / math.sqrt(2 * se**2)
    assert at_95.iloc[-1]["difference_z"] == pytest.approx(expected)


def test_all_three_session_states_and_a_missing_local_state():
    local = _local("session_state", {">10-30%": 1.5, ">30-100%": 1.2})
    table = compare_hazard_ratios(local)
    assert list(table.columns) == list(HAZARD_COMPARISON_COLUMNS)
    assert table["level"].tolist() == SPIKES
    assert table["published_hr"].tolist() == [1.64, 1.52, 2.28]
    last = table.iloc[-1]
    assert np.isnan(last["local_hr"])
    assert last["verdict"] is None
    assert "no local estimate" in last["note"]
    assert table["note"].str.contains("not PFP specifically").all()


def test_week_to_week_against_nielsen_and_frandsens_finding():
    local = _local("week_state", {">10-30%": 1.1, ">30-100%": 1.3, ">100%": 2.0})
    table = compare_hazard_ratios(local, exposure="week_state")
    nielsen = table[table["published_study"] == "nielsen2014"]
    assert nielsen["level"].tolist() == [">30-100%", ">100%"]  # no number for 10-30%
    assert (nielsen["published_level"] == ">30%").all()
    assert (nielsen["published_hr"] == 1.59).all()
    assert nielsen["verdict"].isin(["consistent", "differs"]).all()
    assert nielsen["note"].str.contains("category mismatch").all()
    frandsen = table[table["published_study"] == "frandsen2025"]
    assert frandsen["level"].tolist() == SPIKES
    assert (frandsen["stated_finding"] == "no relationship with injury").all()
    assert frandsen["verdict"].isna().all()
    assert frandsen["published_hr"].isna().all()
    assert frandsen["difference_p"].isna().all()


def test_acwr_carries_the_stated_finding_without_a_verdict():
    table = compare_hazard_ratios(_local("acwr_state", {">100%": 0.7}), exposure="acwr_state")
    assert table["level"].tolist() == SPIKES
    assert table["stated_finding"].str.contains("spikes had lower injury rates").all()
    assert table["verdict"].isna().all()
    assert table.loc[table["level"] == ">100%", "local_hr"].item() == 0.7


def test_exposure_none_takes_every_exposure_the_local_table_holds():
    local = pd.concat(
        [_local("session_state", {">10-30%": 1.5}), _local("acwr_state", {">10-30%": 0.9})]
    )
    table = compare_hazard_ratios(local, exposure=None)
    assert list(dict.fromkeys(table["exposure"])) == ["session_state", "acwr_state"]


def test_the_local_table_is_not_modified():
    local = _local("session_state", {">10-30%": 1.5})
    before = local.copy()
    compare_hazard_ratios(local)
    pd.testing.assert_frame_equal(local, before)


@pytest.mark.parametrize(
    ("local", "kwargs", "message"),
    [
        (_local("week_state", {">10-30%": 1.5}), {}, r"no hazard ratio for 'session_state'"),
        (_local("session_state", {">10-30%": 1.5}), {"exposure": "pace"}, "no published def"),
        (pd.DataFrame({"term": ["x"]}), {}, "no column"),
        (
            _local("session_state", {"<=10%": 0.8, ">30-100%": 1.5}),
            {},
            "reference is another state",
        ),
        (_local("session_state", {"big": 1.5}), {}, "not spike states"),
        (
            pd.concat([_local("session_state", {">100%": 1.5})] * 2),
            {},
            "more than one hazard ratio",
        ),
    ],
)
def test_bad_local_tables_are_refused_clearly(local, kwargs, message):
    with pytest.raises(ValueError, match=message):
        compare_hazard_ratios(local, **kwargs)


# -- the figure -----------------------------------------------------------------------------


def test_plot_hazard_comparison_draws_local_and_published_on_a_log_axis():
    local = pd.concat(
        [
            _local("session_state", {s: 1.5 for s in SPIKES}),
            _local("week_state", {s: 1.2 for s in SPIKES}),
        ]
    )
    table = compare_hazard_ratios(local, exposure=["session_state", "week_state"])
    ax = plot_hazard_comparison(table, ax=plt.figure().gca())
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "Hazard ratio (log scale)"
    labels = [" ".join(t.get_text().split()) for t in ax.get_yticklabels()]  # wrapped
    assert len(labels) == 6
    assert labels[0] == "Single run vs longest run of past 30 days: >10-30%"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["local cohort", "published"]
    texts = [" ".join(t.get_text().split()) for t in ax.texts]
    assert "nielsen2014 (>30%); frandsen2025: no relationship with injury" in texts
    assert "frandsen2025" in texts
    assert any(line.get_xdata()[0] == 1 for line in ax.get_lines()), "the line at HR = 1"


def test_plot_hazard_comparison_refuses_other_tables():
    with pytest.raises(ValueError, match="compare_hazard_ratios"):
        plot_hazard_comparison(pd.DataFrame({"x": [1]}))
    table = compare_hazard_ratios(_local("acwr_state", {">100%": np.nan}), exposure="acwr_state")
    with pytest.raises(ValueError, match="nothing to draw"):
        plot_hazard_comparison(table)


def test_the_previous_weeks_state_is_compared_with_the_weekly_definitions():
    local = pd.DataFrame(
        {
            "variable": ["prior_week_state"] * 3,
            "level": [">10-30%", ">30-100%", ">100%"],
            "hazard_ratio": [1.1, 1.5, 1.6],
            "ci_low": [0.8, 1.0, 0.9],
            "ci_high": [1.5, 2.25, 2.8],
            "p_value": [0.5, 0.05, 0.1],
            "events": [10, 12, 6],
            "person_days": [900.0, 800.0, 300.0],
        }
    )
    table = compare_hazard_ratios(local, exposure="prior_week_state")
    nielsen = table[table["published_study"] == "nielsen2014"]
    assert list(nielsen["level"]) == [">30-100%", ">100%"]
    assert (nielsen["published_hr"] == 1.59).all()
    assert nielsen["verdict"].notna().all()
