from pathlib import Path

import pandas as pd
import pytest

import pfps_stats as ps
from pfps_stats.cli import main


def test_validate_clean_file(demo_path, capsys):
    assert main(["validate", str(demo_path)]) == 0
    assert "2400 rows read, 2400 valid, 0 with problems" in capsys.readouterr().out


def test_validate_reports_problems_and_quarantines(tmp_path, capsys):
    path = tmp_path / "c.csv"
    path.write_text("ID,PFP,Wt\n1,0,60\n2,maybe,70\n")
    out = tmp_path / "q.csv"
    assert main(["validate", str(path), "--map", "Wt=mass_kg:lb", "--quarantine", str(out)]) == 1
    captured = capsys.readouterr()
    assert "'maybe' is not a binary outcome" in captured.err
    assert pd.read_csv(out)["source_row"].tolist() == [2]


def test_validate_unreadable_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "none.csv")]) == 1
    assert "file not found" in capsys.readouterr().err


def test_simulate_writes_a_synthetic_cohort(tmp_path):
    out = tmp_path / "s.csv"
    assert (
        main(["simulate", "--out", str(out), "--n", "50", "--subgroup", "military", "--seed", "1"])
        == 0
    )
    frame = pd.read_csv(out)
    assert len(frame) == 50
    assert (frame["data_source"] == "SYNTHETIC").all()


def test_variables_lists_the_dictionary(capsys):
    assert main(["variables"]) == 0
    assert "hip_abd_strength_nkg" in capsys.readouterr().out


def _one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert lines[0].startswith("pfps-stats")
    return lines[0]


def test_validate_refuses_to_quarantine_into_its_input(tmp_path, capsys):
    path = tmp_path / "data.csv"
    text = "ID,PFP\n1,0\n2,maybe\n"
    path.write_text(text)
    assert main(["validate", str(path), "--quarantine", str(path)]) == 2
    assert "is the input file" in _one_line_error(capsys)
    assert path.read_text() == text, "the data file is untouched"


def test_validate_refuses_a_quarantine_folder(tmp_path, capsys):
    path = tmp_path / "data.csv"
    path.write_text("ID,PFP\n1,0\n2,maybe\n")
    assert main(["validate", str(path), "--quarantine", str(tmp_path)]) == 2
    assert "is a folder" in _one_line_error(capsys)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("bad", "--map wants SOURCE=NAME"),
        ("=pfp", "--map wants SOURCE=NAME"),
        ("Wt=mass", "'mass' is not a canonical variable"),
        ("Wt=mass_kg:furlong", "'furlong' is not a unit"),
        ("Wt=mass_kg:cm", "'cm' is not a unit"),
    ],
)
def test_validate_bad_map_is_a_usage_error(demo_path, capsys, item, message):
    assert main(["validate", str(demo_path), "--map", item]) == 2
    assert message in _one_line_error(capsys)


@pytest.mark.parametrize("n", ["-5", "0"])
def test_simulate_needs_a_positive_n(tmp_path, capsys, n):
    out = tmp_path / "s.csv"
    assert main(["simulate", "--out", str(out), "--n", n]) == 2
    assert "positive" in _one_line_error(capsys)
    assert not out.exists()


@pytest.mark.parametrize("demo", [[], ["--demo"]])
def test_simulate_out_must_not_be_a_folder(tmp_path, capsys, demo):
    assert main(["simulate", "--out", str(tmp_path), *demo]) == 2
    assert "is a folder" in _one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_argument_errors_are_one_line_with_exit_2(capsys):
    assert main(["simulate", "--out", "x.csv", "--n", "many"]) == 2
    assert "many" in _one_line_error(capsys)
    assert main(["nonsense"]) == 2
    _one_line_error(capsys)


def test_simulate_refuses_a_negative_seed(tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert main(["simulate", "--out", str(out), "--n", "10", "--seed", "-1"]) == 2
    assert "--seed" in _one_line_error(capsys)
    assert not out.exists()


def test_help_returns_0(capsys):
    assert main(["simulate", "--help"]) == 0
    assert "--out" in capsys.readouterr().out


# -- validate: training logs and injury files ----------------------------------------------------
TRAINING = Path(__file__).parent / "cohort" / "data" / "training"


def test_validate_detects_a_strava_log(capsys):
    path = TRAINING / "strava" / "R001" / "activities.csv"
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "8 rows read, 4 valid, 0 with problems, 4 set aside (not runs)" in out
    assert "Read as a training log (from its columns" in out
    assert "note: Recognised a Strava bulk export" in out


def test_validate_a_folder_of_logs(capsys):
    assert main(["validate", str(TRAINING / "strava")]) == 0
    assert "training log" in capsys.readouterr().out


def test_validate_garmin_needs_the_distance_unit(capsys):
    path = str(TRAINING / "garmin_Activities.csv")
    assert main(["validate", path]) == 1
    assert "display setting" in capsys.readouterr().err
    assert main(["validate", path, "--map", "Distance=distance_km:km"]) == 0
    assert "5 valid" in capsys.readouterr().out


def test_validate_a_log_with_problems_and_quarantine(tmp_path, capsys):
    path = tmp_path / "log.csv"
    path.write_text("runner_id,start,distance_km\nA,2025-05-01,5\nA,2025-05-02,-1\n")
    out = tmp_path / "q.csv"
    assert main(["validate", str(path), "--quarantine", str(out)]) == 1
    captured = capsys.readouterr()
    assert "zero or negative" in captured.err
    assert pd.read_csv(out)["source_row"].tolist() == [2]


def test_validate_a_log_with_ambiguous_dates_needs_dayfirst(tmp_path, capsys):
    path = tmp_path / "log.csv"
    path.write_text("runner_id,start,distance_km\nA,03/04/2025,5\n")
    assert main(["validate", str(path)]) == 1
    assert "dayfirst" in capsys.readouterr().err
    assert main(["validate", str(path), "--dayfirst"]) == 0
    assert main(["validate", str(path), "--monthfirst"]) == 0


def test_validate_detects_an_injury_file(capsys):
    assert main(["validate", str(TRAINING / "injuries.csv")]) == 0
    out = capsys.readouterr().out
    assert "7 rows read, 7 valid, 0 with problems. Read as an injury file" in out
    assert "Diagnoses not counted as PFP" in out


def test_validate_kind_overrides_detection(capsys):
    path = str(TRAINING / "injuries.csv")
    assert main(["validate", path, "--kind", "injuries"]) == 0
    assert "(as asked)" in capsys.readouterr().out
    # Read as a cohort, the injury file lacks the outcome column.
    assert main(["validate", path, "--kind", "cohort"]) == 1
    assert "pfp" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("Distance=distance", "'distance' is not a training-log column"),
        ("Distance=distance_km:furlong", "'furlong' is not a unit"),
        ("Distance", "--map wants SOURCE=NAME"),
    ],
)
def test_validate_bad_log_map_is_a_usage_error(capsys, item, message):
    path = str(TRAINING / "garmin_Activities.csv")
    assert main(["validate", path, "--map", item]) == 2
    assert message in _one_line_error(capsys)


def test_validate_refuses_a_quarantine_inside_the_log_folder(tmp_path, capsys):
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "R1.csv").write_text("date,distance_km\n2025-05-01,-5\n")
    assert main(["validate", str(folder), "--quarantine", str(folder / "q.csv")]) == 2
    assert "inside the input folder" in _one_line_error(capsys)


def test_plan_prints_plan_studys_numbers_and_sentence(capsys):
    plan = ps.plan_study("knee_ext_strength_nmkg", "military", dropout=0.1)
    argv = ["plan", "--factor", "knee_ext_strength_nmkg", "--subgroup", "military"]
    assert main([*argv, "--power", "0.8", "--dropout", "0.1"]) == 0
    out = capsys.readouterr().out
    assert f"runners to recruit  {plan['n']}\n" in out
    assert f"runners analysed    {plan['n_analysed']} (drop-out 10%)" in out
    assert "neal2019" in out
    assert plan["sentence"] in out
    assert main([*argv, "--use", "conservative"]) == 0
    conservative = ps.plan_study("knee_ext_strength_nmkg", "military", use="conservative")
    out = capsys.readouterr().out
    assert f"runners to recruit  {conservative['n']}\n" in out
    assert "conservative" in out
    # the likelihood-ratio test by default, with Hsieh's number beside it; or Hsieh's alone
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "runners to recruit  173\n" in out
    assert "Hsieh et al. 1998   161 runners" in out
    assert main([*argv, "--method", "hsieh"]) == 0
    out = capsys.readouterr().out
    assert "runners to recruit  161\n" in out
    assert "lower bound on the cohort needed" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--factor", "bmi", "--subgroup", "military"], "no usable estimate"),
        (["--factor", "knee_ext", "--subgroup", "military"], "did you mean"),
        (["--factor", "knee_ext_strength_nmkg", "--subgroup", "navy"], "invalid choice"),
        (
            ["--factor", "knee_ext_strength_nmkg", "--subgroup", "military", "--power", "80"],
            "power",
        ),
        (
            ["--factor", "knee_ext_strength_nmkg", "--subgroup", "military", "--alpha", "x"],
            "--alpha",
        ),
        (["--subgroup", "military"], "--factor"),
        (
            ["--factor", "knee_ext_strength_nmkg", "--subgroup", "military", "--method", "wald"],
            "--method",
        ),
    ],
)
def test_plan_bad_arguments_are_usage_errors(capsys, extra, message):
    assert main(["plan", *extra]) == 2
    assert message in _one_line_error(capsys)


@pytest.mark.parametrize(
    ("top", "flag", "passed"),
    [
        ("", [], None),
        ("", ["--pdf"], True),
        ("pdf: false\n", ["--pdf"], True),
        ("pdf: true\n", [], None),
    ],
)
def test_report_run_pdf_flag_turns_pdf_on(one_job_config, monkeypatch, capsys, top, flag, passed):
    """--pdf passes pdf=True to run_batch; without it, None (run_batch then reads
    reports.yml's pdf, which load_config read)."""
    import pfps_stats.batch.runner as runner

    seen = {}

    def fake_run_batch(config, **kwargs):
        seen.update(kwargs, config_pdf=config.pdf)
        record = {"name": "a", "status": "success"}
        if kwargs.get("pdf") or config.pdf:
            record["pdf_error"] = "PdfError: a.html: Chromium failed (exit code 1): boom"
        return 0, [record]

    monkeypatch.setattr(runner, "run_batch", fake_run_batch)
    assert main(["report", "run", str(one_job_config(top)), *flag]) == 0
    assert seen["pdf"] is passed
    assert seen["config_pdf"] is (top == "pdf: true\n")
    captured = capsys.readouterr()
    assert "1 run, 0 cached, 0 failed" in captured.out
    if passed or seen["config_pdf"]:
        assert "a: PDF not printed (PdfError: a.html: Chromium failed" in captured.err
    else:
        assert "PDF" not in captured.err


def test_report_run_without_chromium_is_a_configuration_error(
    tmp_path, one_job_config, monkeypatch, capsys
):
    """--pdf and no Chromium: exit 2 with how to install it, before any job runs."""
    monkeypatch.delenv("PFPS_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["report", "run", str(one_job_config()), "--pdf"]) == 2
    err = _one_line_error(capsys)
    assert "invalid report configuration" in err
    assert "apt-get install chromium" in err
    assert not (tmp_path / "reports" / "a.html").exists()


def test_report_run_help_describes_pdf(capsys):
    assert main(["report", "run", "--help"]) == 0
    assert "--pdf" in capsys.readouterr().out
