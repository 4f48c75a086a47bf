"""Small subgroups: the risk-factor and evidence reports render with what can be estimated and
say what could not (issue 10, item 14), through the real batch."""

import shutil
from pathlib import Path

import pytest

import pfps_stats as ps
from pfps_stats.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _cohort(n: int, events: int):
    for seed in range(500):
        data = ps.simulate_cohort(n, subgroup="military", seed=seed)
        if int(data["pfp"].sum()) == events:
            return data
    raise AssertionError(f"no seed gives {events} events in {n}")  # pragma: no cover


@pytest.mark.slow
def test_reports_on_tiny_subgroups_render_and_say_what_was_not_estimated(tmp_path):
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    jobs = []
    for n, events in ((44, 4), (30, 0)):
        name = f"n{n}e{events}"
        _cohort(n, events).to_csv(tmp_path / f"{name}.csv", index=False)
        for kind, notebook in (("rf", "02-risk-factors"), ("ev", "03-evidence")):
            jobs.append(
                f"  - {{name: {kind}-{name}, notebook: notebooks/{notebook}.ipynb, "
                f"parameters: {{data_path: {name}.csv"
                + (", n_boot: 20" if kind == "rf" else "")
                + "}}\n"
            )
    (tmp_path / "reports.yml").write_text("jobs:\n" + "".join(jobs))
    assert main(["report", "run", str(tmp_path / "reports.yml"), "--jobs", "2"]) == 0
    pages = {p.stem: p.read_text() for p in (tmp_path / "reports").glob("*.html")}
    assert "Not estimated: the multivariable model" in pages["rf-n30e0"]
    assert "Not estimated" not in pages["rf-n44e4"], "4 events in 44: Firth fits everything"
    assert "not estimable in these data" in pages["ev-n30e0"]
    for html in pages.values():
        assert "Traceback" not in html
