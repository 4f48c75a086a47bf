import pandas as pd

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
