"""Injuries in (docs/training-load.md, section 2): PFP wordings, follow-up, validation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pfps_stats._exceptions import DataQualityWarning, DataValidationError
from pfps_stats.cohort.injuries import (
    PFP_LABELS,
    check_injuries,
    load_injuries,
    looks_like_injuries,
)

DATA = Path(__file__).parent / "data" / "training"
COLUMNS = ["runner_id", "onset", "diagnosis", "pfp", "follow_up_end", "source_row"]


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(check) -> list[tuple]:
    p = check.problems
    return list(zip(p["row"].astype("object"), p["column"], p["problem"], strict=True))


def test_the_injury_fixture():
    injuries = load_injuries(DATA / "injuries.csv")
    assert list(injuries.columns) == COLUMNS
    assert injuries["runner_id"].tolist() == [
        "R001",
        "R002",
        "R002",
        "R003",
        "R004",
        "R005",
        "R006",
    ]
    assert injuries["pfp"].tolist() == [True, True, False, False, False, True, True]
    assert injuries["onset"].iloc[0] == pd.Timestamp("2025-04-20")
    # R002's follow-up end is on a row of its own, and given to each of R002's rows.
    r2 = injuries[injuries["runner_id"] == "R002"]
    assert r2["onset"].isna().tolist() == [False, True]
    assert r2["follow_up_end"].tolist() == [pd.Timestamp("2025-12-31")] * 2
    assert r2["diagnosis"].isna().tolist() == [False, True]
    assert injuries.loc[injuries["runner_id"] == "R005", "follow_up_end"].isna().all()
    notes = " ".join(injuries.attrs["notes"])
    assert "'Anterior knee pain' (1)" in notes
    assert "'Achilles tendinopathy' (1)" in notes


def test_dtypes():
    injuries = load_injuries(DATA / "injuries.csv")
    assert injuries["onset"].dtype == "datetime64[ns]"
    assert injuries["follow_up_end"].dtype == "datetime64[ns]"
    assert injuries["pfp"].dtype == bool
    assert injuries["source_row"].dtype == "int64"
    assert pd.api.types.is_string_dtype(injuries["runner_id"])
    assert pd.api.types.is_string_dtype(injuries["diagnosis"])
    assert isinstance(injuries.index, pd.RangeIndex)


@pytest.mark.parametrize(
    "wording",
    [
        *PFP_LABELS,
        "Patellofemoral Pain Syndrome",
        "patello-femoral pain",
        "P.F.P.S.",
        "RUNNERS KNEE",
        " runner’s knee ",
        "runners knee",
        "Chondromalacia Patellae",
        # A wording inside a longer diagnosis, as whole words:
        "Patellofemoral pain syndrome (PFPS)",
        "PFPS right",
        "R knee PFPS",
        "left knee: patellofemoral pain",
        "PFP-left",
        "bilateral runner's knee, worse on the left",
    ],
)
def test_pfp_wordings(wording):
    frame = pd.DataFrame({"runner_id": ["A"], "onset": ["2025-05-01"], "diagnosis": [wording]})
    assert load_injuries(frame)["pfp"].tolist() == [True]


@pytest.mark.parametrize(
    "wording",
    [
        "anterior knee pain",
        "knee pain",
        "ITBS",
        "patellar tendinopathy",
        "patellofemoral",
        "PFPSX",  # not a whole word
        "apfp",
    ],
)
def test_vaguer_or_other_labels_are_not_pfp(wording):
    frame = pd.DataFrame({"runner_id": ["A"], "onset": ["2025-05-01"], "diagnosis": [wording]})
    assert load_injuries(frame)["pfp"].tolist() == [False]


@pytest.mark.parametrize(
    "wording",
    [
        "suspected PFP",
        "no PFP",
        "Not PFPS",
        "knee pain without PFP",
        "possible runner's knee",
        "query patellofemoral pain",
        "rule out PFPS",
        "R/O PFP",
        "?PFP",
        "PFPS?",
        "PFP vs ITBS",
        "PFP versus patellar tendinopathy",
        "history of PFP",
        "Hx PFPS",
        "non-PFP knee pain",
    ],
)
def test_uncertain_or_negated_pfp_is_not_counted_and_is_named(wording):
    frame = pd.DataFrame({"runner_id": ["A"], "onset": ["2025-05-01"], "diagnosis": [wording]})
    injuries = load_injuries(frame)
    assert injuries["pfp"].tolist() == [False]
    notes = " ".join(injuries.attrs["notes"])
    assert f"Not counted as PFP because uncertain or negated: {wording!r} (1)" in notes
    assert "Diagnoses not counted as PFP" not in notes


def test_the_uncertain_wordings_are_counted_in_a_note(tmp_path):
    path = write_csv(
        tmp_path / "inj.csv",
        "runner_id,onset,diagnosis\n"
        "A,2025-05-01,suspected PFP\n"
        "B,2025-05-02,suspected PFP\n"
        "C,2025-05-03,PFP\n"
        "D,2025-05-04,ITBS\n",
    )
    injuries = load_injuries(path)
    assert injuries["pfp"].tolist() == [False, False, True, False]
    notes = injuries.attrs["notes"]
    assert (
        "Not counted as PFP because uncertain or negated: 'suspected PFP' (2); a pfp column "
        "(1/0) in the file decides such cases." in notes
    )
    assert any(n.startswith("Diagnoses not counted as PFP: 'ITBS' (1);") for n in notes)


def test_a_pfp_column_wins_over_uncertain_wording(tmp_path):
    path = write_csv(
        tmp_path / "inj.csv",
        "runner_id,onset,diagnosis,pfp\nA,2025-05-01,suspected PFP,1\nB,2025-05-02,no PFP,\n",
    )
    injuries = load_injuries(path)
    assert injuries["pfp"].tolist() == [True, False]
    assert "uncertain or negated: 'no PFP' (1);" in " ".join(injuries.attrs["notes"])
    assert "'suspected PFP'" not in " ".join(injuries.attrs["notes"])


def test_pfp_labels_are_matched_as_whole_words_and_hedged_too():
    frame = pd.DataFrame(
        {
            "runner_id": ["A", "B", "C", "D"],
            "onset": ["2025-05-01"] * 4,
            "diagnosis": [
                "anterior knee pain (right)",
                "possible anterior knee pain",
                "suspected PFP",
                "knee pain",
            ],
        }
    )
    assert load_injuries(frame)["pfp"].tolist() == [False, False, False, False]
    extra = load_injuries(frame, pfp_labels=["Anterior knee pain", "suspected PFP"])
    assert extra["pfp"].tolist() == [True, False, True, False]


def test_pfp_labels_adds_wordings():
    injuries = load_injuries(DATA / "injuries.csv", pfp_labels=["Anterior knee pain"])
    assert injuries.loc[injuries["runner_id"] == "R003", "pfp"].tolist() == [True]
    one = load_injuries(DATA / "injuries.csv", pfp_labels="anterior knee pain")
    assert one["pfp"].sum() == 5


def test_a_pfp_column_wins_where_it_has_a_value(tmp_path):
    path = write_csv(
        tmp_path / "inj.csv",
        "id,injury date,diagnosis,PFP\n"
        "A,2025-05-01,anterior knee pain,1\n"
        "B,2025-05-02,PFPS,no\n"
        "C,2025-05-03,PFPS,\n"
        "D,2025-05-04,,yes\n",
    )
    injuries = load_injuries(path)
    assert injuries["pfp"].tolist() == [True, False, True, True]
    assert any("pfp column decides" in note for note in injuries.attrs["notes"])


def test_every_problem_in_one_pass(tmp_path):
    path = write_csv(
        tmp_path / "inj.csv",
        "runner_id,onset,diagnosis,follow_up_end\n"
        "A,2025-05-01,PFPS,2025-12-31\n"  # 1 fine
        ",2025-05-02,PFPS,\n"  # 2 missing runner id
        "B,2025-99-02,PFPS,\n"  # 3 unreadable onset
        "C,,,\n"  # 4 neither onset nor follow-up end
        "D,2025-09-01,PFPS,2025-06-30\n"  # 5 onset after follow-up end
        "E,2099-01-01,PFPS,\n"  # 6 future onset
        "F,2025-05-01,ITBS,2025-09-01\n"  # 7 conflicting follow-up ends
        "F,2025-06-01,PFPS,2025-10-01\n"  # 8 conflicting follow-up ends
        "A,2025-05-01,PFPS,\n"  # 9 duplicate of row 1
        "G,2025-05-01,,\n"  # 10 onset without diagnosis
        "H,,,2099-12-31\n"  # 11 future follow-up end
        "A,2025-06-01,Achilles,\n",  # 12 fine
    )
    check = check_injuries(path)
    assert problems_of(check) == [
        (2, "runner_id", "runner id is missing"),
        (3, "onset", "not a valid calendar date"),
        (4, "onset", "the row gives neither an injury onset nor a follow-up end"),
        (5, "onset", "the onset 2025-09-01 is after runner 'D''s follow-up end 2025-06-30"),
        (6, "onset", "the onset 2099-01-01 is in the future"),
        (
            7,
            "follow_up_end",
            "runner 'F' has more than one follow-up end: 2025-09-01 (row 7), 2025-10-01 (row 8)",
        ),
        (
            8,
            "follow_up_end",
            "runner 'F' has more than one follow-up end: 2025-09-01 (row 7), 2025-10-01 (row 8)",
        ),
        (9, "onset", "the same injury (runner 'A', onset 2025-05-01, 'PFPS') is in row 1 already"),
        (
            10,
            "diagnosis",
            "the injury has an onset but no diagnosis, so it is not known whether it is PFP",
        ),
        (11, "follow_up_end", "the follow-up end 2099-12-31 is in the future"),
    ]
    assert check.data["source_row"].tolist() == [1, 12]
    assert len(check.data) + len(check.quarantined) == check.n_input
    with pytest.raises(DataValidationError) as err:
        load_injuries(path)
    assert len(err.value.problems) == 10
    out = tmp_path / "q.csv"
    with pytest.warns(DataQualityWarning, match="set aside 10 of 12 rows"):
        injuries = load_injuries(path, on_invalid="quarantine", quarantine_path=out)
    assert injuries["follow_up_end"].tolist() == [pd.Timestamp("2025-12-31")] * 2
    written = pd.read_csv(out)
    assert written["source_row"].tolist() == list(range(2, 12))
    assert written["reasons"].iloc[0] == "runner_id: runner id is missing"


def test_ambiguous_dates_need_dayfirst(tmp_path):
    path = write_csv(
        tmp_path / "inj.csv",
        "runner_id,onset,diagnosis,follow_up_end\nA,03/04/2025,PFP,01/12/2025\n",
    )
    with pytest.raises(DataValidationError, match="dayfirst=True") as err:
        load_injuries(path)
    assert err.value.problems["row"].isna().all()
    check = check_injuries(path)
    assert len(check.quarantined) == 1
    assert len(check.data) == 0
    injuries = load_injuries(path, dayfirst=True)
    assert injuries["onset"].iloc[0] == pd.Timestamp("2025-04-03")
    assert injuries["follow_up_end"].iloc[0] == pd.Timestamp("2025-12-01")


def test_the_follow_up_column_can_decide_the_day_month_order(tmp_path):
    path = write_csv(
        tmp_path / "inj.csv",
        "runner_id,onset,diagnosis,follow_up_end\nA,03/04/2025,PFP,31/12/2025\n",
    )
    assert load_injuries(path)["onset"].iloc[0] == pd.Timestamp("2025-04-03")


def test_times_of_day_are_dropped_with_a_note(tmp_path):
    path = write_csv(tmp_path / "inj.csv", "runner_id,onset,diagnosis\nA,2025-05-01 14:30,PFP\n")
    injuries = load_injuries(path)
    assert injuries["onset"].iloc[0] == pd.Timestamp("2025-05-01")
    assert any("time of day" in note for note in injuries.attrs["notes"])


def test_missing_columns(tmp_path):
    path = write_csv(tmp_path / "inj.csv", "who,what\nA,PFP\n")
    with pytest.raises(DataValidationError) as err:
        load_injuries(path)
    problems = " ".join(err.value.problems["problem"])
    assert "no column holds the runner id" in problems
    assert "no column holds the injury onset" in problems
    injuries = load_injuries(
        write_csv(tmp_path / "b.csv", "who,when,what\nA,2025-05-01,PFP\n"),
        mapping={"who": "runner_id", "when": "onset", "what": "diagnosis"},
    )
    assert injuries["pfp"].tolist() == [True]


def test_mapping_problems(tmp_path):
    path = DATA / "injuries.csv"
    with pytest.raises(DataValidationError, match="Did you mean 'onset'"):
        load_injuries(path, mapping={"onst": "onset"})
    with pytest.raises(DataValidationError, match="not an injury column"):
        load_injuries(path, mapping={"onset": "injury_date"})


def test_a_dataframe_is_not_modified():
    frame = pd.DataFrame(
        {"runner_id": [1, 2], "onset": ["2025-05-01", "2025-05-02"], "dx": ["PFP", "x"]}
    )
    before = frame.copy()
    injuries = load_injuries(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert injuries["runner_id"].tolist() == ["1", "2"]


def test_header_detection():
    assert looks_like_injuries(["runner_id", "onset", "diagnosis"])
    assert looks_like_injuries(["Athlete ID", "Injury date"])
    assert not looks_like_injuries(["runner_id", "date", "pfp", "age"])
    assert not looks_like_injuries(["runner_id", "date", "distance_km"])


@pytest.mark.parametrize(
    "diagnosis",
    ["PFP ruled out", "PFP excluded", "negative for PFP", "PFP unlikely", "PFP-like pain"],
)
def test_ruled_out_or_unlikely_pfp_is_not_counted(diagnosis):
    data = pd.DataFrame({"runner_id": ["a"], "onset": ["2025-01-01"], "diagnosis": [diagnosis]})
    check = check_injuries(data)
    assert not check.data["pfp"].iloc[0]
    assert any("uncertain or negated" in n for n in check.notes)
