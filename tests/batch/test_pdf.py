"""Reports as PDF (pfps_stats.batch.pdf): a report-like page printed by the real headless
Chromium and checked with poppler (pdftoppm, pdftotext, pdfimages); failures with a fake
Chromium (PFPS_CHROMIUM); ``pdf:`` in reports.yml."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import time
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from PIL import Image

from pfps_stats import ConfigError
from pfps_stats.batch.config import load_config
from pfps_stats.batch.pdf import PRINT_CSS, PdfError, find_chromium, write_pdf

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
POPPLER = all(shutil.which(p) for p in ("pdftoppm", "pdftotext", "pdfimages"))
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None or not POPPLER,
    reason="needs Debian's chromium and poppler-utils (pdftoppm, pdftotext, pdfimages) "
    "to print and read a PDF: apt-get install chromium poppler-utils",
)

ROWS = 60


def _figure_png() -> str:
    """A SYNTHETIC figure, 8 x 3 in at 100 dpi, as base64 PNG (as nbconvert embeds it)."""
    fig, ax = plt.subplots(figsize=(8, 3), dpi=100)
    ax.plot(range(10), [x**2 for x in range(10)], linewidth=4)
    ax.fill_between(range(10), 0, [x**2 for x in range(10)], alpha=0.4)
    ax.set_title("SYNTHETIC figure")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _report_page() -> str:
    """A page shaped like a report: nbconvert's output classes, a header, a table of 60 rows
    and 9 columns (wider than the page in the screen's font), a figure, links to a sibling
    file and within the page, a folded provenance section; PRINT_CSS."""
    head = "".join(f"<th>column_{c}</th>" for c in range(7)) + "<th>last column</th>"
    rows = "".join(
        f"<tr><td>row {r}</td>"
        + "".join(f"<td>{(r * 7 + c) / 997:.14f}</td>" for c in range(7))
        + f"<td>END{r}</td></tr>"
        for r in range(1, ROWS + 1)
    )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Risk factors · été</title>
<style>.jp-OutputArea-output {{ overflow: auto; display: table-cell }}
.jp-RenderedHTMLCommon table {{ display: block; overflow-x: auto }}</style>
<style>{PRINT_CSS}</style></head><body>
<nav class="pfps-nav"><div class="pfps-title">Risk factors · all runners</div>
<ul class="pfps-links"><li><a href="index.html">All reports NAVLINK</a></li></ul></nav>
<h1 id="top">Risk factors (SYNTHETIC)<a class="anchor-link" href="#top">¶</a></h1>
<p>See <a href="other%20report.html">the other report</a> and <a href="#figure">the figure</a>.</p>
<div class="jp-OutputArea-output jp-RenderedHTMLCommon"><table><thead><tr><th></th>{head}
</tr></thead><tbody>{rows}</tbody></table></div>
<h2 id="figure">Figure</h2>
<div class="jp-RenderedImage jp-OutputArea-output"><img src="data:image/png;base64,{_figure_png()}"></div>
<details><summary>Provenance</summary><p>FOLDED data_sha256 abc123</p></details>
</body></html>"""


def _run(*command: str | Path) -> str:
    return subprocess.run(
        [str(c) for c in command], check=True, capture_output=True, text=True, timeout=60
    ).stdout


@needs_chromium
def test_write_pdf_prints_a_report_page_that_is_readable_and_not_cut(tmp_path, monkeypatch):
    monkeypatch.delenv("PFPS_CHROMIUM", raising=False)
    folder = tmp_path / "rapports été"  # a space and non-ASCII in the folder and file names
    folder.mkdir()
    html, pdf = folder / "risk factors ü.html", folder / "risk factors ü.pdf"
    html.write_text(_report_page(), encoding="utf-8")

    write_pdf(html, pdf)  # its speed is not a test's business (benchmarks' at most)

    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert sorted(p.name for p in folder.iterdir()) == [html.name, pdf.name], "no temporary file"
    for form in {str(tmp_path), tmp_path.as_uri(), folder.as_uri()}:
        assert form.encode() not in data, "no server path (a link to a local file) in the PDF"
    assert b"/URI (file:" not in data
    assert b"/Dest" in data, "the link within the page stays a link inside the PDF"

    _run("pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", pdf, tmp_path / "page")
    (png,) = tmp_path.glob("page*.png")
    gray = Image.open(png).convert("L")
    inked = sum(gray.histogram()[:200]) / (gray.width * gray.height)
    assert inked > 0.01, f"page 1 is blank ({inked:.2%} of its pixels are not white)"
    assert abs(gray.width / gray.height - 210 / 297) < 0.01, "an A4 page, upright"

    text = _run("pdftotext", "-layout", pdf, "-")
    assert "Risk factors · all runners" in text, "the header prints its title"
    assert "NAVLINK" not in text, "the header's links are hidden"
    assert "¶" not in text, "the headings' anchors are hidden"
    assert f"END{ROWS}" in text, "the last row is printed"
    assert "FOLDED data_sha256" in text, "folded sections (the provenance) are printed open"
    # Every word within the right margin (12 mm = 34 pt, less 4 pt for glyphs' overhang):
    # no table runs off the page's edge.
    boxes = _run("pdftotext", "-bbox", pdf, "-")
    width = float(re.search(r'<page width="([\d.]+)"', boxes).group(1))
    rightmost = max(float(x) for x in re.findall(r'xMax="([\d.]+)"', boxes))
    assert rightmost <= width - 30, f"text reaches {rightmost:.0f} pt of a {width:.0f} pt page"
    assert text.count("column_1") >= 2, "the table's header row repeats on the next page"

    # The figure is printed whole, once, with the same scale across and down (not squashed).
    images = [line.split() for line in _run("pdfimages", "-list", pdf).splitlines()[2:]]
    assert len(images) == 1, images
    x_ppi, y_ppi = float(images[0][12]), float(images[0][13])
    assert abs(x_ppi - y_ppi) <= 1, f"figure squashed: {x_ppi} x {y_ppi} ppi"


def _fake_chromium(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "fake chromium"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def _report(tmp_path: Path) -> tuple[Path, Path]:
    """A report and its previous PDF in an output folder."""
    out = tmp_path / "reports"
    out.mkdir()
    html = out / "dq-all.html"
    html.write_text("<html><head></head><body><p>report</p></body></html>", encoding="utf-8")
    pdf = out / "dq-all.pdf"
    pdf.write_bytes(b"%PDF-1.4 the last good PDF")
    return html, pdf


def test_a_failed_print_keeps_the_previous_pdf_and_says_why(tmp_path, monkeypatch):
    html, pdf = _report(tmp_path)
    fake = _fake_chromium(
        tmp_path,
        f'echo "[1:2:1202/1.2:ERROR:dbus/bus.cc(405)] Failed to connect to the bus" >&2\n'
        f'echo "[1:2:1202/1.3:ERROR:headless_command_handler.cc(403)] Page load failed: '
        f'net::ERR_FILE_NOT_FOUND {html}" >&2\n'
        f'echo "[1:2:1202/1.4:ERROR:gpu_init.cc(9)] gpu: nothing" >&2\n'
        "exit 1",
    )
    monkeypatch.setenv("PFPS_CHROMIUM", str(fake))
    with pytest.raises(PdfError, match=r"^dq-all\.html: Chromium failed \(exit code 1\)") as err:
        write_pdf(html, pdf)
    message = str(err.value)
    assert "Page load failed: net::ERR_FILE_NOT_FOUND dq-all.html" in message, message
    assert str(tmp_path) not in message
    assert "dbus" not in message
    assert pdf.read_bytes() == b"%PDF-1.4 the last good PDF"
    assert sorted(p.name for p in pdf.parent.iterdir()) == ["dq-all.html", "dq-all.pdf"]


def test_a_print_that_writes_no_pdf_is_an_error(tmp_path, monkeypatch):
    html, pdf = _report(tmp_path)
    fake = _fake_chromium(tmp_path, 'echo "[1:2:3:ERROR:x.cc(1)] Failed to write file" >&2')
    monkeypatch.setenv("PFPS_CHROMIUM", str(fake))
    with pytest.raises(PdfError, match=r"wrote no PDF \(Failed to write file\)"):
        write_pdf(html, pdf)
    assert pdf.read_bytes() == b"%PDF-1.4 the last good PDF"


def test_a_print_that_hangs_is_stopped_with_its_processes(tmp_path, monkeypatch):
    html, pdf = _report(tmp_path)
    pids = tmp_path / "pids"
    fake = _fake_chromium(tmp_path, f'sleep 60 & echo $$ $! > "{pids}"\nwait')
    monkeypatch.setenv("PFPS_CHROMIUM", str(fake))
    started = time.perf_counter()
    with pytest.raises(PdfError, match=r"did not finish printing within 0\.5 s and was stopped"):
        write_pdf(html, pdf, timeout=0.5)
    assert time.perf_counter() - started < 10
    assert pdf.read_bytes() == b"%PDF-1.4 the last good PDF"
    assert sorted(p.name for p in pdf.parent.iterdir()) == ["dq-all.html", "dq-all.pdf"]
    for pid in map(int, pids.read_text().split()):  # the script and its child, sleep
        status = Path(f"/proc/{pid}/status")
        if status.exists():  # killed, not yet reaped by init
            assert re.search(r"State:\s+Z", status.read_text()), f"process {pid} still runs"


@needs_chromium
def test_a_real_chromium_timeout_keeps_the_previous_pdf(tmp_path, monkeypatch):
    monkeypatch.delenv("PFPS_CHROMIUM", raising=False)
    html, pdf = _report(tmp_path)
    with pytest.raises(PdfError, match="did not finish printing within 0.001 s"):
        write_pdf(html, pdf, timeout=0.001)
    assert pdf.read_bytes() == b"%PDF-1.4 the last good PDF"


def test_no_chromium_is_a_config_error_that_says_how_to_install_it(tmp_path, monkeypatch):
    html, pdf = _report(tmp_path)
    monkeypatch.delenv("PFPS_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_chromium() is None
    with pytest.raises(ConfigError, match=r"apt-get install chromium.*PFPS_CHROMIUM"):
        write_pdf(html, pdf)
    assert pdf.read_bytes() == b"%PDF-1.4 the last good PDF"


def test_pfps_chromium_naming_no_program_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PFPS_CHROMIUM", str(tmp_path / "no such chrome"))
    with pytest.raises(ConfigError, match=r"PFPS_CHROMIUM names 'no such chrome'") as err:
        find_chromium()
    assert str(tmp_path) not in str(err.value)


def test_pfps_chromium_comes_first(tmp_path, monkeypatch):
    fake = _fake_chromium(tmp_path, "exit 0")
    monkeypatch.setenv("PFPS_CHROMIUM", str(fake))
    assert find_chromium() == str(fake)


def test_a_missing_report_is_a_pdf_error_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PFPS_CHROMIUM", str(_fake_chromium(tmp_path, "exit 0")))
    with pytest.raises(PdfError, match=r"^gone\.html: cannot be read") as err:
        write_pdf(tmp_path / "gone.html", tmp_path / "gone.pdf")
    assert str(tmp_path) not in str(err.value)
    assert not (tmp_path / "gone.pdf").exists()


def test_print_css_is_print_only_and_covers_the_page_tables_figures_and_header():
    assert PRINT_CSS.lstrip().startswith("@media print {")
    assert PRINT_CSS.rstrip().endswith("}")
    assert PRINT_CSS.count("{") == PRINT_CSS.count("}")
    for rule in ("size: A4", "max-width: 100%", "break-inside: avoid", "height: auto"):
        assert rule in PRINT_CSS, rule
    assert ".anchor-link" in PRINT_CSS
    assert ".pfps-nav > :not(.pfps-title)" in PRINT_CSS


# -- reports.yml -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("top", "expected"),
    [("", False), ("pdf: true\n", True), ("pdf: false\n", False), ("pdf: null\n", False)],
)
def test_pdf_in_reports_yml(one_job_config, top, expected):
    assert load_config(one_job_config(top)).pdf is expected


@pytest.mark.parametrize(("value", "shown"), [('"yes"', "'yes'"), ("1", "1"), ("[true]", "[True]")])
def test_pdf_that_is_not_true_or_false_is_refused(one_job_config, value, shown):
    with pytest.raises(ConfigError, match="pdf must be true or false") as err:
        load_config(one_job_config(f"pdf: {value}\n"))
    assert f"not {shown}" in str(err.value)
