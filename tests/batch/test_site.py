"""The report site: the landing page, what changed, the reports' header, and no server paths in
anything the batch writes (checked on a site built in a temporary folder)."""

import json
import re
import shutil
import types
from pathlib import Path

import nbformat
import pytest
import yaml

from pfps_stats import ConfigError
from pfps_stats.batch import runner
from pfps_stats.batch.config import load_config
from pfps_stats.batch.runner import Scrubber, run_batch
from pfps_stats.batch.site import (
    NAV_END,
    NAV_START,
    STYLE_START,
    add_navigation,
    analysis_of,
    render_index,
    table_of_contents,
)

ROOT = Path(__file__).resolve().parents[2]

#: A run of base64 (an embedded figure), where any short text may occur by chance.
_BASE64 = re.compile(r"[A-Za-z0-9+/=\\n]{120,}")


def _record(name, status="success", **more):
    record = {
        "name": name,
        "notebook": "notebooks/02-risk-factors.ipynb",
        "parameters": {"subgroup": None},
        "output": f"{name}.html",
        "status": status,
        "error": None,
        "duration_s": 1.0,
        "changed": "2025-03-04T05:06:07+00:00",
        "summary": None,
    }
    record.update(more)
    return record


def _summary(analysis, *texts, synthetic=True, subgroup=None):
    labels = ("Runners", "Cases", "Strongest OR", "Fourth")
    return {
        "version": 1,
        "analysis": analysis,
        "subgroup": subgroup,
        "synthetic": synthetic,
        "headlines": [
            {"label": label, "text": text, "value": None}
            for label, text in zip(labels, texts, strict=False)
        ],
    }


# -- the landing page ---------------------------------------------------------------------------


def test_the_index_groups_cards_by_analysis_then_subgroup():
    jobs = [
        _record("rf-mil", parameters={"subgroup": "military"}),
        _record("ev-all", notebook="notebooks/03-evidence.ipynb"),
        _record("x", notebook="notebooks/07-gait-lab.ipynb"),
        _record("rf-all", summary=_summary("risk-factors", "1,200", "120 (10.0%)")),
        _record("dq", notebook="notebooks/01-data-quality.ipynb"),
    ]
    page = render_index(jobs, {"git_commit": "abc"}, changes=[])
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings == ["Data quality", "Risk factors", "The evidence", "Gait lab"]
    cards = re.findall(r'id="job-([^"]+)"', page)
    assert cards == ["dq", "rf-all", "rf-mil", "ev-all", "x"], "all runners first, then subgroups"
    assert analysis_of(jobs[2]) == "gait-lab"


def test_a_card_shows_status_time_headlines_and_links():
    jobs = [
        _record(
            "ok",
            summary=_summary("risk-factors", "1,200", "120 (10.0%)", "Q angle 1.5", "not shown"),
            pdf="ok.pdf",
        ),
        _record("up", status="cached", parameters={"subgroup": "military"}),
        _record(
            "bad",
            status="failed",
            error="cell 3: ValueError: <no> & bad",
            parameters={"subgroup": "adolescent"},
        ),
        _record("gone", status="failed", error="boom", output=None, changed=None),
    ]
    page = render_index(jobs, {}, changes=[])
    card = dict(re.findall(r'<article class="card [^"]*" id="job-([^"]+)">(.*?)</article>', page))
    assert '<span class="badge success">success</span>' in card["ok"]
    assert "SYNTHETIC" in card["ok"]
    assert "Changed 2025-03-04 05:06 UTC" in card["ok"]
    assert "<dd>1,200</dd><dt>Cases</dt><dd>120 (10.0%)</dd>" in card["ok"]
    assert "Q angle 1.5" in card["ok"]
    assert "not shown" not in card["ok"], "three headlines at most"
    assert 'href="ok.pdf"' in card["ok"]
    assert '<span class="badge cached">up to date</span>' in card["up"]
    assert "no summary recorded" in card["up"]
    assert "SYNTHETIC" not in card["up"]
    assert "<details" in card["bad"]
    assert "ValueError: &lt;no&gt; &amp; bad" in card["bad"]
    assert 'href="bad.html">Last good report' in card["bad"]
    assert "No report yet" in card["gone"]
    assert "href=" not in card["gone"]
    # up to date is never shown in red: its badge has its own, neutral class
    assert re.search(r"\.badge\.cached\{[^}]*#eaeef2", page)


def test_every_value_on_the_index_is_escaped():
    evil = '<script>alert("x")</script>'
    jobs = [
        _record(
            "a",
            parameters={"subgroup": evil},
            summary={**_summary(evil, evil, evil), "synthetic": evil},
            error=evil,
            status="failed",
            pdf_error=evil,
        )
    ]
    page = render_index(
        jobs,
        {"git_commit": evil, "versions": {evil: evil}, "executor": {"kind": evil}},
        title=evil,
        changes=[{"name": evil, "why": "inputs", "inputs": [evil]}],
    )
    assert "<script" not in page
    assert "&lt;script&gt;" in page


def test_what_changed_names_the_input_that_changed():
    jobs = [_record(n) for n in ("a", "b", "c", "d", "e")]
    jobs[4]["status"] = "failed"
    changes = [
        {"name": "a", "why": "inputs", "inputs": ["data"]},
        {"name": "b", "why": "inputs", "inputs": ["data"]},
        {"name": "c", "why": "inputs", "inputs": ["notebook", "parameters"]},
        {"name": "d", "why": "forced"},
        {"name": "e", "why": "new"},
    ]
    page = render_index(jobs, {}, changes=changes)
    line = re.search(r'<section class="changes">(.*?)</section>', page).group(1)
    text = re.sub(r"<[^>]+>", "", line)
    assert "Re-run because the data changed: a, b" in text
    assert "notebook and parameters changed: c" in text
    assert "(--force): d" in text
    assert "New: e" in text
    assert "Failed: e" in text
    quiet = render_index(jobs[:4], {}, changes=[])
    assert "Nothing changed: all 4 reports are up to date" in quiet
    first = render_index(jobs[:2], {}, changes=[{"name": n, "why": "new"} for n in "ab"])
    assert "First run: all 2 reports are new" in first


# -- the reports' header ------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html><html><head><title>x</title></head><body class="jp-Notebook">
<h1 id="Top">Top</h1><h2 id="Who-was-studied">Who was <em>studied</em><a class="anchor-link"
href="#Who-was-studied">¶</a></h2><h3 id="Odds-ratios">Odds ratios</h3><h2>No id</h2>
<img src="data:image/png;base64,AAAA"></body></html>"""


def test_each_report_gets_one_header_with_its_siblings_contents_and_pdf():
    records = [
        _record("rf-all"),
        _record("rf-mil", parameters={"subgroup": "military"}),
        _record("rf-ado", parameters={"subgroup": "adolescent"}),
        _record("dq", notebook="notebooks/01-data-quality.ipynb"),
    ]
    there = {"rf-all.html", "rf-mil.html", "dq.html"}
    page = add_navigation(_PAGE, "rf-mil", records, pdf="rf-mil.pdf", exists=there.__contains__)
    again = add_navigation(page, "rf-mil", records, pdf="rf-mil.pdf", exists=there.__contains__)
    assert again == page, "the header and style are replaced, not added twice"
    assert page.count(NAV_START) == page.count(NAV_END) == page.count(STYLE_START) == 1
    nav = page[page.index(NAV_START) : page.index(NAV_END)]
    assert 'href="index.html"' in nav
    assert 'href="rf-all.html"' in nav
    assert 'href="rf-ado.html"' not in nav, "no link to a report that is not there"
    assert 'href="dq.html"' not in nav, "another analysis"
    assert 'href="rf-mil.pdf"' in nav
    assert '<li class="pfps-current">military</li>' in nav
    assert 'href="#Who-was-studied">Who was studied<' in nav
    assert 'href="#Odds-ratios"' in nav
    assert "No id" not in nav
    assert "<title>Risk factors · military</title>" in page
    assert "img{max-width:100%;height:auto}" in page
    assert "@media print" in page
    assert table_of_contents(page) == table_of_contents(_PAGE)
    without_pdf = add_navigation(page, "rf-mil", records, exists=there.__contains__)
    assert "rf-mil.pdf" not in without_pdf


def test_the_scrubber_takes_out_project_output_and_home(tmp_path):
    home = str(Path.home())
    project = tmp_path / "proj"
    scrub = Scrubber(project, project / "site" / "out")
    text = (
        f"cannot read {project}/data/a.csv in {project}/site/out/.lock; "
        f"{tmp_path}/projx is cut; {home}/.cache"
    )
    assert scrub(text) == "cannot read ./data/a.csv in site/out/.lock; projx is cut; ~/.cache"
    assert scrub.tree({"a": [f"{project}/x", 3, None]}) == {"a": ["./x", 3, None]}


def test_the_scrubber_cuts_data_outside_the_project_and_any_absolute_path(tmp_path):
    project = tmp_path / "my home" / "proj x"
    outside = tmp_path / "outside data" / "cohort.csv"
    notebooks = project / "notebooks"
    scrub = Scrubber(project, project / "site", [outside, project / "data" / "a.csv"], [notebooks])
    assert scrub(f"cannot use {outside}.") == "cannot use cohort.csv."
    assert scrub(f"read {project}/data/a.csv") == "read ./data/a.csv", "inside: relative"
    assert scrub("given ../../../outside data/cohort.csv here") == "given cohort.csv here"
    assert scrub(f"{outside.parent}/other.csv") == "other.csv", "a known folder with a space"
    assert scrub("'/srv/clinic/data/x.csv'") == "'x.csv'"
    assert scrub("\x1b[0;32m/opt/lib/mod.py\x1b[0m:3") == "\x1b[0;32mmod.py\x1b[0m:3"
    kept = (
        "https://doi.org/10.1136/bjsports-2016-096705 kg/m² 0/1 03/04/2025 ~/x/y ./a/b "
        "ratio 3 / 4 /etc </td><br/> <b>x</b> data:image/png;base64,AB+/cd/ef== and/or"
    )
    assert scrub(kept) == kept


# -- sites built by the batch ---------------------------------------------------------------------


def _notebook(path: Path, params: str, *cells: str, markdown: str = "") -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    if markdown:
        nb.cells.append(nbformat.v4.new_markdown_cell(markdown))
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


#: What ``display(report.record_summary(...))`` shows, written out: importing pfps_stats in
#: each tiny kernel would take most of the test's time.
_SUMMARY_CELL = """\
from IPython.display import display
rows = open(data_path).read().splitlines()
display({"text/plain": "In brief", "application/vnd.pfps-stats.summary+json": {
    "version": 1, "analysis": "risk-factors", "subgroup": subgroup, "synthetic": True,
    "headlines": [{"label": "Runners", "text": f"{len(rows) - 1:,}", "value": len(rows) - 1},
                  {"label": "Cases", "text": "12 (10.0%)", "value": 12}]}}, raw=True)"""


def _written(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` as text (embedded figures taken out)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            found[str(path.relative_to(folder))] = _BASE64.sub("", text)
    return found


def _assert_no_server_path(folder: Path, *paths: Path) -> None:
    forbidden = {str(p) for p in paths} | {str(p.resolve()) for p in paths}
    home = str(Path.home())
    if home not in ("/", ""):
        forbidden.add(home)
    for name, text in _written(folder).items():
        for path in forbidden:
            assert path not in text, f"{path} in {name}: ...{text[text.find(path) - 80 :][:200]}"


@pytest.fixture
def small(tmp_path, monkeypatch):
    """A project with a tiny notebook that reads its data file and records a summary, one
    that fails naming its data file's absolute path, and one of an analysis not known.
    pfps_stats's source hash is held still: edits to the package during the test would make
    every job run again."""
    from pfps_stats.batch import provenance

    monkeypatch.setattr(provenance, "package_source_sha256", lambda: "held")
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "data").mkdir()
    (project / "data" / "cohort.csv").write_text("id\n" + "".join(f"{i}\n" for i in range(120)))
    nbs = project / "notebooks"
    _notebook(
        nbs / "02-risk-factors.ipynb",
        "data_path = None\nsubgroup = None",
        _SUMMARY_CELL,
        markdown="## Who was studied\n\ntext\n\n### Odds ratios\n\nmore",
    )
    _notebook(
        nbs / "09-broken.ipynb",
        "data_path = None",
        "import os\nraise RuntimeError(f'cannot use {os.path.abspath(data_path)}')",
    )
    _notebook(nbs / "08-gait-lab.ipynb", "x = 1\ndata_path = None", "print('gait', x)")
    (project / "reports.yml").write_text(
        "output_dir: site/reports\n"
        "defaults: {parameters: {data_path: data/cohort.csv}}\n"
        "jobs:\n"
        "  - {name: rf-all, notebook: notebooks/02-risk-factors.ipynb, parameters: {subgroup: null}}\n"
        "  - {name: rf-mil, notebook: notebooks/02-risk-factors.ipynb, "
        "parameters: {subgroup: military}}\n"
        "  - {name: broken, notebook: notebooks/09-broken.ipynb}\n"
        "  - {name: gait, notebook: notebooks/08-gait-lab.ipynb, parameters: {data_path: null}}\n"
    )
    return project


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def test_a_site_built_in_a_temporary_folder_holds_no_server_path(small, tmp_path):
    config = load_config(small / "reports.yml")
    out = small / "site" / "reports"
    code, records = run_batch(config, progress=False, workers=2)
    assert code == 1
    manifest = _manifest(out)
    jobs = {r["name"]: r for r in manifest["jobs"]}
    assert manifest["config"] == "reports.yml"
    assert jobs["rf-all"]["parameters"] == {"data_path": "data/cohort.csv", "subgroup": None}
    assert jobs["rf-all"]["summary"]["headlines"][0]["text"] == "120"
    assert jobs["broken"]["error"] == "cell 3: RuntimeError: cannot use ./data/cohort.csv"
    assert set(jobs["rf-all"]["inputs"]) >= {"data_sha256", "notebook_sha256", "parameters_sha256"}
    executed = nbformat.read(out / "rf-all.ipynb", as_version=4)
    assert executed.metadata.papermill["input_path"] == "02-risk-factors.ipynb"
    assert executed.metadata.papermill["parameters"]["data_path"] == "../data/cohort.csv"
    index = (out / "index.html").read_text()
    assert "First run: all 4 reports are new" in index
    assert "<h2>Gait lab</h2>" in index
    page = (out / "rf-all.html").read_text()
    assert 'href="rf-mil.html"' in page
    assert 'href="index.html"' in page
    assert 'href="#Who-was-studied"' in page
    _assert_no_server_path(small / "site", tmp_path)

    # the data change: the two jobs that read it run again, and the index says why
    first_changed = jobs["gait"]["changed"]
    with (small / "data" / "cohort.csv").open("a") as handle:
        handle.write("120\n")
    assert run_batch(config, progress=False, workers=2)[0] == 1
    jobs = {r["name"]: r for r in _manifest(out)["jobs"]}
    assert jobs["gait"]["status"] == "cached"
    assert jobs["gait"]["changed"] == first_changed, "a cached report keeps its time"
    assert jobs["rf-all"]["summary"]["headlines"][0]["text"] == "121"
    changes = {c["name"]: c for c in _manifest(out)["changes"]}
    assert changes["rf-all"] == {"name": "rf-all", "why": "inputs", "inputs": ["data"]}
    assert changes["broken"]["why"] == "inputs"
    assert "gait" not in changes
    text = re.sub(r"<[^>]+>", "", (out / "index.html").read_text())
    assert "Re-run because the data changed: rf-all, rf-mil, broken" in text
    assert "Failed: broken" in text
    _assert_no_server_path(small / "site", tmp_path)


def test_the_real_demo_config_builds_a_site_without_server_paths(tmp_path):
    """Two fast jobs of the shipped reports.yml, in a copy of the project."""
    project = tmp_path / "demo"
    shutil.copytree(ROOT / "notebooks", project / "notebooks")
    shipped = yaml.safe_load((ROOT / "reports.yml").read_text())
    keep = {"data-quality-military", "study-planning-military"}
    shipped["jobs"] = [j for j in shipped["jobs"] if j["name"] in keep]
    assert len(shipped["jobs"]) == len(keep)
    (project / "reports.yml").write_text(yaml.safe_dump(shipped))
    code, records = run_batch(load_config(project / "reports.yml"), progress=False, workers=2)
    assert code == 0, [r["error"] for r in records]
    out = project / "reports"
    page = (out / "data-quality-military.html").read_text()
    assert 'href="index.html"' in page
    index = (out / "index.html").read_text()
    assert "<h2>Data quality</h2>" in index
    assert "<h2>Study planning</h2>" in index
    _assert_no_server_path(out, tmp_path)


# -- the PDF hook --------------------------------------------------------------------------------


def _fake_pdf(monkeypatch, *, chromium="/usr/bin/chromium", fail=None):
    printed = []

    def write_pdf(html_path, pdf_path, *, timeout=120):
        if fail:
            raise RuntimeError(f"chromium failed on {html_path}")
        printed.append(html_path.name)
        pdf_path.write_bytes(b"%PDF-1.4 fake")

    module = types.SimpleNamespace(find_chromium=lambda: chromium, write_pdf=write_pdf)
    monkeypatch.setattr(runner, "_pdf_module", lambda: module)
    return printed


def _gait_only(small: Path) -> Path:
    path = small / "gait.yml"
    path.write_text(
        "output_dir: site/gait\n"
        "jobs:\n"
        "  - {name: gait, notebook: notebooks/08-gait-lab.ipynb}\n"
        "  - {name: gait2, notebook: notebooks/08-gait-lab.ipynb, parameters: {x: 2}}\n"
    )
    return path


def test_pdf_without_chromium_is_a_config_error_before_any_job(small, monkeypatch):
    _fake_pdf(monkeypatch, chromium=None)
    config = load_config(_gait_only(small))
    with pytest.raises(ConfigError, match="apt-get install chromium"):
        run_batch(config, progress=False, pdf=True)
    assert not (small / "site").exists()
    config.pdf = True  # the config's setting is read when run_batch is not told
    with pytest.raises(ConfigError, match="PFPS_CHROMIUM"):
        run_batch(config, progress=False)


def test_pdfs_are_printed_linked_and_their_failures_recorded(small, monkeypatch, tmp_path):
    config = load_config(_gait_only(small))
    out = small / "site" / "gait"
    assert run_batch(config, progress=False, only="gait")[0] == 0
    assert not (out / "gait.pdf").exists(), "pdf is off unless asked for"
    printed = _fake_pdf(monkeypatch)
    assert run_batch(config, progress=False, pdf=True)[0] == 0
    assert sorted(printed) == ["gait.html", "gait2.html"], "a cached report without a PDF too"
    jobs = {r["name"]: r for r in _manifest(out)["jobs"]}
    assert jobs["gait"]["status"] == "cached"
    assert jobs["gait"]["pdf"] == "gait.pdf"
    assert 'href="gait.pdf"' in (out / "index.html").read_text()
    assert 'href="gait.pdf"' in (out / "gait.html").read_text()
    printed.clear()
    assert run_batch(config, progress=False, pdf=True)[0] == 0
    assert printed == [], "cached reports with their PDF are not printed again"

    _fake_pdf(monkeypatch, fail=True)
    code, records = run_batch(config, progress=False, pdf=True, force=True)
    assert code == 0, "a report that cannot be printed is still a success"
    jobs = {r["name"]: r for r in _manifest(out)["jobs"]}
    assert jobs["gait"]["status"] == "success"
    assert jobs["gait"]["pdf_error"] == "RuntimeError: chromium failed on site/gait/gait.html"
    log = "".join(p.read_text() for p in (out / "logs").glob("run-*.log"))
    assert "pdf      gait: not printed" in log
    _assert_no_server_path(small / "site", tmp_path)


# -- paths with spaces, data outside the project ----------------------------------------------------


@pytest.fixture
def spaced(tmp_path, monkeypatch):
    """A project in a folder with spaces, reading data from a folder outside it (with a space
    too): notebooks print their folder and their data file's absolute path, warn naming it,
    take another existing absolute path as a plain parameter, and fail naming it."""
    from pfps_stats.batch import provenance

    monkeypatch.setattr(provenance, "package_source_sha256", lambda: "held")
    project = tmp_path / "my home" / "proj x"
    nbs = project / "notebooks"
    nbs.mkdir(parents=True)
    (project / "data").mkdir()
    (project / "data" / "cohort.csv").write_text("id\n1\n2\n")
    outside = tmp_path / "outside data"
    outside.mkdir()
    (outside / "cohort.csv").write_text("id\n" + "".join(f"{i}\n" for i in range(50)))
    (outside / "secret.txt").write_text("x")
    _notebook(
        nbs / "02-risk-factors.ipynb",
        "data_path = None\nsubgroup = None\nextra = None",
        "import os, warnings\nprint('cwd', os.getcwd(), 'data', os.path.abspath(data_path))\n"
        "print('given', data_path, extra)\n"
        "warnings.warn(f'odd values in {os.path.abspath(data_path)}')",
        "from IPython.display import display\n"
        "display({'text/html': f'<p>{os.path.abspath(data_path)}</p>', "
        "'text/plain': os.path.abspath(data_path)}, raw=True)",
        _SUMMARY_CELL,
    )
    _notebook(
        nbs / "09-broken.ipynb",
        "data_path = None",
        "import os\nraise RuntimeError(f'cannot use {os.path.abspath(data_path)}')",
    )
    (project / "reports.yml").write_text(
        "output_dir: site/reports\n"
        "defaults: {parameters: {data_path: data/cohort.csv}}\n"
        "jobs:\n"
        "  - {name: rf-all, notebook: notebooks/02-risk-factors.ipynb}\n"
        "  - {name: rf-out, notebook: notebooks/02-risk-factors.ipynb, parameters: "
        f'{{subgroup: military, data_path: "{outside}/cohort.csv", '
        f'extra: "{outside}/secret.txt"}}}}\n'
        "  - {name: broken-out, notebook: notebooks/09-broken.ipynb, parameters: "
        f'{{data_path: "{outside}/cohort.csv"}}}}\n'
    )
    return project


def test_outputs_parameters_and_errors_hold_no_path_with_data_outside_the_project(spaced, tmp_path):
    config = load_config(spaced / "reports.yml")
    out = spaced / "site" / "reports"
    code, _ = run_batch(config, progress=False, workers=2)
    assert code == 1
    _assert_no_server_path(spaced / "site", tmp_path)
    for name, text in _written(spaced / "site").items():
        assert "outside data/" not in text, name
        assert "../../" not in text, name
        assert "my home" not in text, name
    jobs = {r["name"]: r for r in _manifest(out)["jobs"]}
    assert jobs["rf-out"]["parameters"] == {
        "data_path": "cohort.csv",
        "subgroup": "military",
        "extra": "secret.txt",
    }
    assert jobs["broken-out"]["error"] == "cell 3: RuntimeError: cannot use cohort.csv"
    assert "RuntimeError: cannot use cohort.csv" in (out / "index.html").read_text()
    log = "".join(p.read_text() for p in (out / "logs").glob("run-*.log"))
    assert "cannot use cohort.csv" in log

    executed = nbformat.read(out / "rf-out.ipynb", as_version=4)
    assert executed.metadata.papermill["parameters"] == {
        "data_path": "cohort.csv",
        "subgroup": "military",
        "extra": "secret.txt",
    }
    injected = next(
        c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])
    )
    assert 'data_path = "cohort.csv"' in injected.source
    assert 'extra = "secret.txt"' in injected.source
    printed = "".join(o.get("text", "") for o in executed.cells[2].outputs)
    assert "cwd ./notebooks data cohort.csv" in printed
    assert "given cohort.csv secret.txt" in printed
    assert "UserWarning: odd values in cohort.csv" in printed
    shown = executed.cells[3].outputs[0]["data"]
    assert shown == {"text/html": "<p>cohort.csv</p>", "text/plain": "cohort.csv"}
    assert jobs["rf-out"]["summary"]["headlines"][0]["text"] == "50", "the data was read"

    inside = nbformat.read(out / "rf-all.ipynb", as_version=4)
    assert inside.metadata.papermill["parameters"]["data_path"] == "../data/cohort.csv"
    printed = "".join(o.get("text", "") for o in inside.cells[2].outputs)
    assert "cwd ./notebooks data ./data/cohort.csv" in printed
    assert "UserWarning: odd values in ./data/cohort.csv" in printed

    # a manifest written before summaries were: a cached report's is read from its notebook
    manifest = _manifest(out)
    for record in manifest["jobs"]:
        record.pop("summary", None)
    (out / "manifest.json").write_text(json.dumps(manifest))
    run_batch(config, progress=False, workers=1, only="rf-out")
    jobs = {r["name"]: r for r in _manifest(out)["jobs"]}
    assert jobs["rf-out"]["status"] == "cached"
    assert jobs["rf-out"]["summary"]["headlines"][0]["text"] == "50"
    card = (out / "index.html").read_text().split('id="job-rf-out"')[1].split("</article>")[0]
    assert "no summary recorded" not in card
    _assert_no_server_path(spaced / "site", tmp_path)


def test_a_stale_pdf_is_never_linked_and_is_printed_again(small, monkeypatch, tmp_path):
    config = load_config(_gait_only(small))
    out = small / "site" / "gait"
    printed = _fake_pdf(monkeypatch)
    assert run_batch(config, progress=False, pdf=True, only="gait")[0] == 0
    first = {r["name"]: r for r in _manifest(out)["jobs"]}["gait"]
    assert first["pdf"] == "gait.pdf"
    assert first["pdf_key"] == first["cache_key"]

    def card() -> str:
        index = (out / "index.html").read_text()
        return index.split('id="job-gait"')[1].split("</article>")[0]

    # new inputs, and the print fails: the old PDF is not linked, the card says why
    notebook = small / "notebooks" / "08-gait-lab.ipynb"
    notebook.write_text(notebook.read_text().replace("'gait'", "'gait, changed'"))
    _fake_pdf(monkeypatch, fail=True)
    assert run_batch(config, progress=False, pdf=True, only="gait")[0] == 0
    record = {r["name"]: r for r in _manifest(out)["jobs"]}["gait"]
    assert record["status"] == "success"
    assert record["pdf"] is None
    assert record["pdf_key"] is None
    assert (out / "gait.pdf").exists(), "the old file is there, but not linked"
    assert 'href="gait.pdf"' not in card()
    assert "PDF failed: RuntimeError: chromium failed on site/gait/gait.html" in card()
    assert "gait.pdf" not in (out / "gait.html").read_text()

    # cached next time: the PDF is printed again (failing again: still not linked)
    assert run_batch(config, progress=False, pdf=True, only="gait")[0] == 0
    record = {r["name"]: r for r in _manifest(out)["jobs"]}["gait"]
    assert record["status"] == "cached"
    assert record["pdf"] is None
    assert "PDF failed" in card()
    # with pdf off, nothing is linked either
    assert run_batch(config, progress=False, only="gait")[0] == 0
    assert 'href="gait.pdf"' not in card()
    # and once printing works, the PDF of this report is printed and linked
    printed = _fake_pdf(monkeypatch)
    assert run_batch(config, progress=False, pdf=True, only="gait")[0] == 0
    record = {r["name"]: r for r in _manifest(out)["jobs"]}["gait"]
    assert printed == ["gait.html"]
    assert record["status"] == "cached"
    assert record["pdf"] == "gait.pdf"
    assert record["pdf_key"] == record["cache_key"] != first["cache_key"]
    assert 'href="gait.pdf"' in card()
    assert "PDF failed" not in card()
    assert 'href="gait.pdf"' in (out / "gait.html").read_text()
    # a job that fails keeps its last good report and the PDF printed from it
    notebook.write_text(notebook.read_text().replace("print(", "raise SystemError(", 1))
    assert run_batch(config, progress=False, pdf=True, only="gait")[0] == 1
    record = {r["name"]: r for r in _manifest(out)["jobs"]}["gait"]
    assert record["status"] == "failed"
    assert record["pdf"] == "gait.pdf"
    # an old manifest's PDF without the key of its report is not linked
    manifest = _manifest(out)
    for each in manifest["jobs"]:
        each.pop("pdf_key", None)
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert run_batch(config, progress=False, only="gait")[0] == 1
    assert 'href="gait.pdf"' not in card()
    _assert_no_server_path(small / "site", tmp_path)
