"""The report notebooks, run by the real batch on a small, messy cohort: no identifier, row
number or row value reaches the HTML, small cells stay hidden, warnings carry no paths."""

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import pfps_stats as ps
from pfps_stats.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    project = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "notebooks", project / "notebooks")
    data = ps.simulate_cohort(60, subgroup="military", seed=1).astype(object)
    data.loc[data.index[2], "runner_id"] = data.loc[data.index[1], "runner_id"]  # a duplicate
    data.loc[data.index[3], "mass_kg"] = 250.0  # outside the plausible range
    data.loc[data.index[4], "q_angle_deg"] = "abc"
    data.loc[data.index[10:20], "hip_abd_strength_nkg"] = None  # > 5% missing: MI beside CC
    (project / "data").mkdir()
    data.to_csv(project / "data" / "messy.csv", index=False)
    config = project / "reports.yml"
    config.write_text(
        "defaults:\n  parameters:\n    data_path: data/messy.csv\njobs:\n"
        "  - {name: dq, notebook: notebooks/01-data-quality.ipynb}\n"
        "  - {name: rf, notebook: notebooks/02-risk-factors.ipynb, parameters: {n_boot: 20}}\n"
    )
    assert main(["report", "run", str(config)]) == 0
    pages = {name: (project / "reports" / f"{name}.html").read_text() for name in ("dq", "rf")}
    return data, pages


def test_reports_show_no_identifier_row_or_value(rendered):
    data, pages = rendered
    for name, html in pages.items():
        assert "SYN-" not in html, f"{name}: a runner ID"
        assert "appears in 2 rows" not in html
        assert "250 kg" not in html, f"{name}: a row's value"
        assert "&#x27;abc&#x27;" not in html
        assert "'abc'" not in html
    assert "more than one row" in pages["dq"], "the duplicate is still reported, as a kind"


def test_risk_factor_report_shows_complete_cases_beside_imputation(rendered):
    _, pages = rendered
    html = pages["rf"]
    assert "Multiple imputation (m=20" in html
    assert "Complete cases (n=" in html
    assert "Barnard-Rubin" in html, "the pooled interval is named"
    assert "imputation settings" in html.lower()


def test_reports_show_no_small_count(rendered):
    data, pages = rendered
    cases = int(pd.to_numeric(data["pfp"]).sum())
    assert cases >= 5, "the fixture cohort has enough cases for the models"
    assert "&lt;5" in pages["rf"], "few women had PFP: their cells read <5"
    assert "suppressed" in pages["rf"], "and the cells that would give them back are hidden"


def test_reports_show_no_server_path(rendered):
    _, pages = rendered
    for html in pages.values():
        text = re.sub(r"<[^>]+>", " ", html)
        assert str(ROOT) not in text
        assert "site-packages" not in text


@pytest.fixture(scope="module")
def planning_page(tmp_path_factory):
    project = tmp_path_factory.mktemp("planning")
    shutil.copytree(ROOT / "notebooks", project / "notebooks")
    config = project / "reports.yml"
    config.write_text(
        "defaults:\n  parameters:\n    data_path: null\njobs:\n"
        "  - {name: plan, notebook: notebooks/05-study-planning.ipynb, "
        "parameters: {n_sim: 200}}\n"
    )
    assert main(["report", "run", str(config)]) == 0
    return (project / "reports" / "plan.html").read_text()


def test_the_planning_report_states_the_required_cohort(planning_page):
    plan = ps.plan_study("knee_ext_strength_nmkg", "military", dropout=0.1)
    assert f"the cohort needs {plan['n']} military recruits" in planning_page
    assert "Hsieh et al. 1998" in planning_page  # its n, for comparison
    assert "likelihood-ratio test, Self et al. 1992" in planning_page
    assert "<img" in planning_page
    assert "Not estimated" not in planning_page
    assert str(ROOT) not in re.sub(r"<[^>]+>", " ", planning_page)
