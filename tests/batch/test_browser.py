"""The report site in a real browser (Debian's chromium through Playwright; skipped with the
reason when either is absent), in a file of its own so that it runs beside the other batch
tests."""

import shutil
from pathlib import Path

import pytest

from pfps_stats.batch.config import load_config
from pfps_stats.batch.runner import run_batch

ROOT = Path(__file__).resolve().parents[2]


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
