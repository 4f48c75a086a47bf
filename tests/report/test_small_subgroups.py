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
    for n, events in ((44, 4), (30, 0)):
        _cohort(n, events).to_csv(tmp_path / f"n{n}e{events}.csv", index=False)
    jobs = [  # name, notebook, data, small-cell suppression
        ("rf-n44e4-open", "02-risk-factors", "n44e4", "false"),
        ("rf-n30e0-open", "02-risk-factors", "n30e0", "false"),
        ("rf-n30e0", "02-risk-factors", "n30e0", "true"),
        ("ev-n30e0-open", "03-evidence", "n30e0", "false"),
        ("ev-n44e4", "03-evidence", "n44e4", "true"),
    ]
    lines = [
        f"  - {{name: {name}, notebook: notebooks/{nb}.ipynb, parameters: {{data_path: {data}.csv, "
        f"suppress_small_cells: {small}" + (", n_boot: 20" if nb.startswith("02") else "") + "}}\n"
        for name, nb, data, small in jobs
    ]
    (tmp_path / "reports.yml").write_text("jobs:\n" + "".join(lines))
    assert main(["report", "run", str(tmp_path / "reports.yml"), "--jobs", "2"]) == 0
    pages = {p.stem: p.read_text() for p in (tmp_path / "reports").glob("*.html")}
    # Without suppression (internal use) every model that can be fitted is shown ...
    assert "Not estimated" not in pages["rf-n44e4-open"], "4 events in 44: Firth fits everything"
    assert "Not estimated: the multivariable model" in pages["rf-n30e0-open"]
    assert "not estimable in these data" in pages["ev-n30e0-open"]
    # ... with suppression, models of fewer than 5 cases are withheld: they would reveal it.
    for name in ("rf-n30e0", "ev-n44e4"):
        assert "Not shown: fewer than 5 runners with PFP" in pages[name]
        assert "events per variable" not in pages[name]
    for html in pages.values():
        assert "Traceback" not in html
