"""The scheduled batch: caching, the lock, parameters as data, IPC kernels, privacy, and a real
browser (Debian's chromium through Playwright; skipped with the reason when either is absent)."""

import json
import shutil
from pathlib import Path

import nbformat
import pytest

import pfps_stats as ps
from pfps_stats import LockedError
from pfps_stats.batch.config import load_config
from pfps_stats.batch.runner import _lock, run_batch
from pfps_stats.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _notebook(path: Path, params: str, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path):
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    (tmp_path / "data").mkdir()
    shutil.copy(ps.DEMO_COHORT, tmp_path / "data" / "demo.csv")
    return tmp_path


def _config(project: Path, jobs: str) -> Path:
    path = project / "reports.yml"
    path.write_text("defaults:\n  parameters:\n    data_path: data/demo.csv\njobs:\n" + jobs)
    return path


DQ = "  - {name: dq, notebook: notebooks/01-data-quality.ipynb, parameters: {subgroup: military}}\n"


def test_unchanged_jobs_are_cached_until_forced_or_changed(project):
    config = _config(project, DQ)
    assert main(["report", "run", str(config)]) == 0
    first = json.loads((project / "reports" / "manifest.json").read_text())["jobs"][0]
    code, records = run_batch(load_config(config), progress=False)
    assert code == 0
    assert records[0]["status"] == "cached"
    assert records[0]["cache_key"] == first["cache_key"]
    code, records = run_batch(load_config(config), force=True, progress=False)
    assert records[0]["status"] == "success"
    with (project / "data" / "demo.csv").open("a") as handle:  # new data: a new cache key
        handle.write("")
    text = (project / "data" / "demo.csv").read_text()
    (project / "data" / "demo.csv").write_text(text.replace("SYN-MIL-0001", "SYN-MIL-X001"))
    code, records = run_batch(load_config(config), progress=False)
    assert records[0]["status"] == "success"
    assert records[0]["cache_key"] != first["cache_key"]
    logs = list((project / "reports" / "logs").glob("run-*.log"))
    assert logs
    assert any("cached   dq" in log.read_text() for log in logs)


def test_only_one_job_keeps_the_others_in_the_index(project):
    config = _config(project, DQ + DQ.replace("name: dq", "name: dq2"))
    assert main(["report", "run", str(config), "--jobs", "2"]) == 0
    assert main(["report", "run", str(config), "--only", "dq2", "--force"]) == 0
    manifest = json.loads((project / "reports" / "manifest.json").read_text())
    assert [j["name"] for j in manifest["jobs"]] == ["dq", "dq2"]


def test_a_second_run_is_refused_while_one_holds_the_lock(project):
    config = load_config(_config(project, DQ))
    config.output_dir.mkdir(parents=True)
    with _lock(config.output_dir):
        with pytest.raises(LockedError, match="another report run"):
            run_batch(config, progress=False)
        assert main(["report", "run", str(project / "reports.yml")]) == 3


def test_parameters_are_injected_as_data_not_code(project):
    _notebook(
        project / "notebooks" / "echo.ipynb",
        'text = ""\nout_path = ""',
        "assert isinstance(text, str)\nopen(out_path, 'w').write(text)",
    )
    evil = "quote \" and ' and \n newline\n__import__('os').system('touch HACKED') # \\"
    out = project / "echo.txt"
    config = _config(
        project,
        "  - name: echo\n    notebook: notebooks/echo.ipynb\n"
        f"    parameters: {{text: {json.dumps(evil)}, out_path: "
        f"{json.dumps(str(out))}}}\n",
    )
    config.write_text(
        config.read_text()
        .replace("    data_path: data/demo.csv\n", "    {}\n")
        .replace("defaults:\n  parameters:\n    {}\n", "")
    )
    assert main(["report", "run", str(config)]) == 0
    assert out.read_text() == evil
    assert not (project / "notebooks" / "HACKED").exists()


def test_kernels_listen_on_ipc_not_tcp(project):
    _notebook(
        project / "notebooks" / "transport.ipynb",
        "unused = 0",
        "import json, ipykernel\n"
        "print(json.load(open(ipykernel.get_connection_file()))['transport'])",
    )
    config = _config(project, "  - {name: t, notebook: notebooks/transport.ipynb}\n")
    config.write_text(
        config.read_text().replace("defaults:\n  parameters:\n    data_path: data/demo.csv\n", "")
    )
    assert main(["report", "run", str(config)]) == 0
    executed = nbformat.read(project / "reports" / "t.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"].strip() == "ipc"


def test_reports_hold_no_runner_ids_and_suppress_small_cells(project):
    tiny = ps.simulate_cohort(30, subgroup="recreational", seed=3, incidence=0.05)
    assert tiny["pfp"].sum() < 5
    tiny.to_csv(project / "data" / "tiny.csv", index=False)
    config = _config(
        project,
        "  - name: dq-tiny\n    notebook: notebooks/01-data-quality.ipynb"
        "\n    parameters: {data_path: data/tiny.csv}\n" + DQ,
    )
    assert main(["report", "run", str(config)]) == 0
    for page in ("dq-tiny.html", "dq.html"):
        html = (project / "reports" / page).read_text()
        assert "SYN-" not in html, "no row-level identifiers in reports"
    assert "&lt;5" in (project / "reports" / "dq-tiny.html").read_text()


#: One job of each analysis from the shipped reports.yml, and two subgroups of one (links
#: across): the reduced demo site the browser test reads.
BROWSER_JOBS = (
    "data-quality-all",
    "data-quality-military",
    "risk-factors-all",
    "evidence-military",
    "training-load-military",
    "study-planning-military",
)

#: Every local link and image of a page, resolved by the browser: (attribute, URL).
_LOCAL_REFS = """() => [...document.querySelectorAll('a[href], img[src], link[href], script[src]')]
  .map(e => [e.tagName, e.href || e.src])"""


def _target_exists(url: str) -> bool:
    """Whether a file:// URL (with or without #anchor) names an existing file, and the anchor
    an element of that file."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    target = Path(unquote(parts.path))
    if not target.is_file():
        return False
    if not parts.fragment:
        return True
    text = target.read_text(encoding="utf-8", errors="replace")
    # the browser tries the fragment as written, then decoded (nbconvert's ids keep a %25)
    return any(
        f'{attribute}="{anchor}"' in text
        for anchor in (parts.fragment, unquote(parts.fragment))
        for attribute in ("id", "name")
    )


def test_browser_reads_the_site_at_two_widths(tmp_path):
    """The demo site (one report of each analysis) in Debian's chromium at 1280 and 800 px:
    no console error, no failed request, no broken link or anchor, no server path, no page
    that scrolls sideways. Full-page screenshots go to $PFPS_SCREENSHOTS (default:
    the test's temporary folder), to be looked at."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright (dev extra) is not installed"
    )
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    import os

    import yaml

    from pfps_stats.batch import provenance

    project = tmp_path / "demo"
    shutil.copytree(ROOT / "notebooks", project / "notebooks")
    shutil.copytree(ROOT / "docs", project / "docs")  # the notebooks link ../docs/*.md
    shipped = yaml.safe_load((ROOT / "reports.yml").read_text())
    shipped["jobs"] = [j for j in shipped["jobs"] if j["name"] in BROWSER_JOBS]
    assert len(shipped["jobs"]) == len(BROWSER_JOBS)
    (project / "reports.yml").write_text(yaml.safe_dump(shipped, sort_keys=False))
    code, records = run_batch(load_config(project / "reports.yml"), progress=False, workers=2)
    assert code == 0, {r["name"]: r["error"] for r in records if r["error"]}
    reports = project / "reports"
    shots = Path(os.environ.get("PFPS_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    server = [str(tmp_path), str(provenance.PACKAGE_ROOT), str(ROOT)]
    if str(Path.home()) not in ("/", ""):
        server.append(str(Path.home()))
    pages = ["index.html", *(f"{name}.html" for name in BROWSER_JOBS)]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        for width in (1280, 800):
            context = browser.new_context(viewport={"width": width, "height": 900})
            for name in pages:
                page = context.new_page()
                problems = []
                page.on(
                    "console",
                    lambda m, problems=problems: (
                        problems.append(m.text) if m.type == "error" else None
                    ),
                )
                page.on("pageerror", lambda e, problems=problems: problems.append(str(e)))
                page.on("requestfailed", lambda r, problems=problems: problems.append(r.url))
                page.goto((reports / name).as_uri(), wait_until="load")
                page.screenshot(path=str(shots / f"{name[:-5]}-{width}.png"), full_page=True)
                assert problems == [], (name, width, problems)
                for tag, url in page.evaluate(_LOCAL_REFS):
                    if url.startswith("file://"):
                        assert _target_exists(url), f"broken {tag} {url} in {name}"
                    else:
                        # links may lead out (a DOI); what the page loads is its own
                        allowed = ("data:", "https:", "http:") if tag == "A" else ("data:",)
                        assert url.startswith(allowed), f"{name} loads {url} from outside"
                broken = page.eval_on_selector_all(
                    "img", "els => els.filter(e => !(e.complete && e.naturalWidth > 0)).length"
                )
                assert broken == 0, f"{broken} image(s) not shown in {name}"
                text = page.inner_text("body")
                source = page.content()
                for path in server:
                    assert path not in text, f"{path} shown in {name}"
                    assert path not in source, f"{path} in the HTML of {name}"
                # wide tables scroll in their own box; the page itself never sideways
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{name} scrolls sideways at {width} px"
                if name == "index.html":
                    assert text.count("Changed ") == len(BROWSER_JOBS)
                else:
                    assert page.locator("nav.pfps-nav a[href='index.html']").count() == 1
                if name == "data-quality-military.html":
                    assert page.locator("nav.pfps-nav a[href='data-quality-all.html']").count()
                if name == "evidence-military.html":
                    assert page.eval_on_selector_all("img", "els => els.length") >= 1
                    assert "SYNTHETIC DATA" in source
                page.close()
            context.close()
        browser.close()


def test_a_change_to_the_package_code_invalidates_the_cache(project, monkeypatch):
    """pfps_stats's version number does not change with its code; its source hash does."""
    from pfps_stats.batch import provenance

    config = _config(project, DQ)
    assert run_batch(load_config(config), progress=False)[1][0]["status"] == "success"
    assert run_batch(load_config(config), progress=False)[1][0]["status"] == "cached"
    monkeypatch.setattr(provenance, "package_source_sha256", lambda: "edited")
    assert run_batch(load_config(config), progress=False)[1][0]["status"] == "success"
