"""The training-load report: its set-up, tables and notes, and notebook 04 run by the real
batch on a messy Strava export (SYNTHETIC runners)."""

from __future__ import annotations

import html
import re
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

import pfps_stats as ps
from pfps_stats import report
from pfps_stats.batch import config as batch_config
from pfps_stats.batch.provenance import sha256
from pfps_stats.cli import main
from pfps_stats.report.training import _for_report

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo() -> report.TrainingReportSetup:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.PfpsWarning)
        return report.setup_training_report()


@pytest.fixture(scope="module")
def session_fit(demo):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        return ps.fit_cox(demo.sessions, "C(session_state)", cluster="runner_id")


def test_demo_setup_joins_the_cohort_without_clashing_columns(demo):
    assert demo.n_runners == 600
    assert "SYNTHETIC DATA" in demo.header()
    assert "subgroup" in demo.weeks
    assert "sex" in demo.sessions
    clashes = [c for c in demo.weeks if c.endswith(("_x", "_y"))]
    assert not clashes
    # the cohort's own outcome and static mileage are not joined: the log measures them
    assert demo.weeks["weekly_km"].equals(ps.weekly_exposures(demo.log, demo.injuries)["weekly_km"])
    assert "pfp" not in demo.sessions


def test_summary_counts_add_up(demo):
    summary = dict(zip(*demo.summary().T.to_numpy(), strict=True))
    assert summary["runners"] == "600"
    assert summary["PFP onsets (events)"] == str(int(demo.sessions["event"].sum()))
    assert summary["runs"] == f"{len(demo.log):,}"


def test_notes_are_said_once(demo):
    notes = demo.notes()
    assert len(notes) == len(set(notes))
    assert any("Time at risk" in n for n in notes)


def test_a_subgroup_keeps_only_its_runners(demo):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.PfpsWarning)
        rec = report.setup_training_report(subgroup="recreational")
    assert set(rec.sessions["subgroup"]) == {"recreational"}
    assert rec.n_runners == 200


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"log_path": "x.csv"}, "give both log_path and injuries_path"),
        ({"injuries_path": "x.csv"}, "give both log_path and injuries_path"),
        ({"min_cell": 0}, "min_cell"),
    ],
)
def test_set_up_mistakes_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        report.setup_training_report(**kwargs)


def test_a_subgroup_needs_a_cohort(tmp_path):
    log, injuries = ps.simulate_training(5, 2, seed=1)
    log.to_csv(tmp_path / "log.csv", index=False)
    injuries.to_csv(tmp_path / "injuries.csv", index=False)
    with pytest.raises(ValueError, match="needs cohort_path"):
        report.setup_training_report(
            tmp_path / "log.csv", tmp_path / "injuries.csv", None, "military"
        )


def test_hazard_ratio_table_has_every_level_and_the_models_events(session_fit):
    table = report.format_hazard_ratio_table(session_fit)
    assert table["label"].iloc[0].endswith("(reference)")
    assert table["hazard_ratio"].iloc[0] == "1 (reference)"
    assert len(table) == 4
    assert sum(int(e) for e in table["events"]) == session_fit.n_events
    hr = session_fit.hazard_ratios()
    first = hr.iloc[0]
    assert table["hazard_ratio"].iloc[1] == (
        f"{first['hazard_ratio']:.2f} ({first['ci_low']:.2f}, {first['ci_high']:.2f})"
    )


def test_hazard_ratio_table_hides_small_levels_and_their_complements(session_fit):
    counts = session_fit.counts()["events"]
    smallest = int(counts.min())
    table = report.format_hazard_ratio_table(session_fit, min_cell=smallest + 1)
    hidden = table["events"].isin([f"<{smallest + 1}", ps.report.SUPPRESSED])
    assert hidden.sum() >= 2, "a hidden level never stands alone"
    assert (table.loc[hidden, "hazard_ratio"] == ps.report.SUPPRESSED).all()


def test_a_model_with_a_small_state_is_withheld(demo, session_fit):
    assert demo.too_few_events(session_fit) == ""
    strict = report.TrainingReportSetup(**{**demo.__dict__, "min_cell": 100})
    assert "fewer than 100 PFP onsets" in strict.too_few_events(session_fit)
    relaxed = report.TrainingReportSetup(**{**demo.__dict__, "min_cell": None})
    assert relaxed.too_few_events(session_fit) == ""


def test_comparison_summary_follows_the_comparison(session_fit):
    comparison = ps.compare_hazard_ratios(session_fit.hazard_ratios())
    summary = report.hazard_comparison_summary(comparison)
    assert list(summary["verdict"]) == list(comparison["verdict"])
    assert summary["published"].str.contains("frandsen2025").all()
    hidden = report.hazard_comparison_summary(comparison, min_cell=1000)
    assert (hidden["local"] == ps.report.SUPPRESSED).all()
    assert (hidden["verdict"] == ps.report.SUPPRESSED).all()


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        (
            "2 runners of the injuries table absent from the training log (R007, R-9): their "
            "7 injuries not counted.",
            "<5 runners of the injuries table absent from the training log (runner ids not "
            "shown): their 7 injuries not counted.",
        ),
        ("Diagnoses not counted as PFP: 'calf strain' (2), 'ITBS' (7).", None),
        ("R007.csv: 3 rows read", "[runner].csv: <5 rows read"),
        ("600 runners: 222 PFP onsets; 0 censored at another injury", None),
    ],
)
def test_report_notes_name_no_runner_and_no_small_count(note, expected):
    out = _for_report(note, {"R007", "R-9", "R0"}, 5)
    assert "R007" not in out
    assert "R-9" not in out
    if expected is not None:
        assert out == expected
    assert not re.search(r"(?<![\d,.<])[0-4] (runners|injur|censored)", out)
    assert "(<5)" in out or "'" not in out


def test_folder_hash_changes_with_any_file_and_ignores_hidden_files(tmp_path):
    (tmp_path / "R1").mkdir()
    (tmp_path / "R1" / "activities.csv").write_text("a\n1\n")
    before = sha256(tmp_path)
    (tmp_path / ".lock").write_text("x")
    assert sha256(tmp_path) == before
    (tmp_path / "R1" / "activities.csv").write_text("a\n2\n")
    assert sha256(tmp_path) != before


def test_training_jobs_record_the_log_and_injuries(tmp_path):
    job = {"data_path": None, "log_path": None, "injuries_path": str(tmp_path)}
    files = batch_config.data_files(job)
    assert files["data_sha256"] == ps.DEMO_COHORT
    assert files["log_sha256"] == ps.DEMO_TRAINING_LOG
    assert files["injuries_sha256"] == tmp_path
    assert set(batch_config.data_files({"data_path": None})) == {"data_sha256"}
    users_log = {"data_path": None, "log_path": str(tmp_path), "injuries_path": str(tmp_path)}
    assert set(batch_config.data_files(users_log)) == {"log_sha256", "injuries_sha256"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Notebook 04 on SYNTHETIC runners written as Strava exports, with a bad row, an injury
    of a runner absent from the log and a rare diagnosis."""
    project = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "notebooks", project / "notebooks")
    log, injuries = ps.load_demo_training()
    log = log[log["runner_id"].str.startswith("SYN-REC")]
    exports = ps.write_strava_exports(log, project / "data" / "strava", seed=3)
    first = sorted(exports.iterdir())[0] / "activities.csv"
    lines = first.read_text().splitlines()
    _, _, rest = lines[-1].split('"', 2)  # Activity ID,"<date>",rest
    lines.append(f'99999999,"not a date"{rest}')
    first.write_text("\n".join(lines) + "\n")
    injuries = injuries[injuries["runner_id"].str.startswith("SYN-REC")].copy()
    extra = injuries.iloc[[0]].assign(runner_id="SYN-REC-9999")  # not in the log
    injuries = pd.concat([injuries, extra], ignore_index=True)
    rare = injuries.index[injuries["onset"].notna() & ~injuries["pfp"]][0]
    injuries.loc[rare, "diagnosis"] = "stress fracture"
    injuries.drop(columns=["pfp", "source_row"]).to_csv(
        project / "data" / "injuries.csv", index=False
    )
    config = project / "reports.yml"
    config.write_text(
        "jobs:\n  - {name: tl, notebook: notebooks/04-training-load.ipynb, parameters: "
        "{log_path: data/strava, injuries_path: data/injuries.csv}}\n"
    )
    assert main(["report", "run", str(config)]) == 0
    return (project / "reports" / "tl.html").read_text()


def test_training_report_runs_on_a_strava_export_without_ids_or_paths(rendered):
    text = html.unescape(re.sub(r"<[^>]+>", " ", rendered))
    assert "Hazard ratios" in text
    assert "SYN-" not in text, "a runner id"
    assert str(ROOT) not in text
    assert "site-packages" not in text
    assert "Strava" in text
    assert "runner ids not shown" in text
    assert "'stress fracture' (<5)" in text
    assert "<5 rows quarantined" in text  # a small count, in the plural
    assert "Not estimated" not in text


def test_a_garmin_export_needs_its_unit_and_the_report_says_so(tmp_path, monkeypatch):
    garmin = ROOT / "tests" / "cohort" / "data" / "training" / "garmin_Activities.csv"
    injuries = tmp_path / "injuries.csv"
    injuries.write_text("runner_id,onset,diagnosis\ngarmin_Activities,2025-07-19,PFPS\n")
    with pytest.raises(ps.DataValidationError, match="Garmin Connect's 'Distance' column"):
        report.setup_training_report(garmin, injuries)
    rs = report.setup_training_report(
        garmin, injuries, log_mapping={"Distance": ["distance_km", "km"]}, min_cell=None
    )
    assert rs.sessions["event"].sum() == 1
    # an error about the data names no runner
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *items: shown.extend(items))
    fit = rs.attempt(
        "a clustered model", ps.fit_cox, rs.sessions, "C(session_state)", cluster="runner_id"
    )
    assert fit is None
    text = " ".join(getattr(item, "data", str(item)) for item in shown)
    assert "Not estimated" in text
    assert "garmin_Activities" not in text


def test_numeric_runner_ids_are_hidden_only_where_they_are_listed():
    ids = {"1", "2", "3", "20"}
    note = "1 runner absent from the log (20): their 1 injury not counted. Swim 3, Ride 48."
    assert _for_report(note, ids, None) == (
        "1 runner absent from the log (runner ids not shown): their 1 injury not counted. "
        "Swim 3, Ride 48."
    )
    masked = _for_report(note, ids, 5)
    assert masked.startswith("<5 runners absent")
    assert "their <5 injuries" in masked
    assert _for_report("Distances converted: mi -> km (x 1.609344).", ids, 5).endswith(
        "(x 1.609344)."
    )
    assert _for_report("3 censored, 4 at the end of follow-up", ids, 5) == (
        "<5 censored, <5 at the end of follow-up"
    )


def test_report_notes_hide_a_folders_paths_and_quoted_diagnoses():
    files = ["Ivan Ivanov", "Ivan Ivanov/activities.csv", "121/activities.csv"]
    note = "Ivan Ivanov/activities.csv: no data rows; 121/activities.csv: no data rows."
    assert _for_report(note, set(), None, files) == (
        "[a file]: no data rows; [a file]: no data rows."
    )
    quoted = "Diagnoses not counted as PFP: \"Achilles' tendinopathy\" (1), 'ITBS' (9)."
    assert _for_report(quoted, set(), 5) == (
        "Diagnoses not counted as PFP: \"Achilles' tendinopathy\" (<5), 'ITBS' (9)."
    )


def test_with_suppression_a_failed_models_reason_is_not_shown(demo, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *items: shown.extend(items))

    def fails():
        raise ps.ModelError("no event in '>100%' (3 rows)")

    assert demo.attempt("a model", fails) is None
    text = " ".join(getattr(item, "data", str(item)) for item in shown)
    assert "Not estimated" in text
    assert ">100%" not in text
    assert "could reveal a count" in text


def test_summary_hides_onsets_that_would_give_back_the_runners_without_pfp(demo, monkeypatch):
    """A runner has at most one onset: runners minus onsets below min_cell would reveal the
    few runners without PFP, so the onsets read "suppressed"."""
    from pfps_stats.report import SUPPRESSED
    from pfps_stats.report.training import TrainingReportSetup

    onsets = int(demo.sessions["event"].sum())
    monkeypatch.setattr(TrainingReportSetup, "n_runners", property(lambda self: onsets + 2))
    summary = dict(zip(*demo.summary().T.to_numpy(), strict=True))
    assert demo.min_cell == 5
    assert summary["PFP onsets (events)"] == SUPPRESSED
    assert summary["runners"] == str(onsets + 2)
