"""Reports as PDF: each report's HTML printed by headless Chromium (``pdf: true`` in
``reports.yml``, or ``pfps-stats report run --pdf``).

Chromium is the system's own program (Debian: ``apt-get install chromium``; or the program
``PFPS_CHROMIUM`` names), run as ``chromium --headless --print-to-pdf``: no Python package is
needed beyond the base install. The print is A4 with the print rules of :data:`PRINT_CSS`,
which the site puts in every report's ``<style>``. Chromium runs with a temporary profile
(removed afterwards) and without network: a report is self-contained (its figures are inline
PNGs), and a print never waits on, or calls, a server.
"""

from __future__ import annotations

import html
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from .._exceptions import ConfigError, PdfError

#: Environment variable naming the Chromium (or Chrome) program to print with.
CHROMIUM_ENV = "PFPS_CHROMIUM"

#: Programs looked up on PATH, in this order, when ``PFPS_CHROMIUM`` is not set.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: Seconds a print may take before Chromium is stopped (a report prints in 1-3 s).
DEFAULT_TIMEOUT = 120.0

#: Print rules, inside ``@media print`` (the screen is unchanged): an A4 page with 12 mm
#: margins, white background and black text. Tables: a smaller font (smaller again from 12
#: and from 16 columns), as wide as their content but no wider than the page: cells wrap
#: between words (from 16 columns also inside them); rows are never
#: split across pages and the header row repeats on each page. nbconvert's (and the site's)
#: scrolling boxes are opened, so nothing hides behind a scroll bar or is cut at the edge.
#: Figures: no wider than the page, keeping their aspect ratio, never split. Headings stay
#: with what follows; nbconvert's prompts and heading anchors (¶) are hidden. The site's
#: header ``<nav class="pfps-nav">`` prints as its title only (its direct child of class
#: ``pfps-title``).
PRINT_CSS = """\
@media print {
  @page { size: A4; margin: 12mm; }
  :root { color-scheme: light; }
  html, body, .jp-Notebook, .jp-Cell, .jp-OutputArea-output {
    background: #fff !important; color: #000 !important;
  }
  body, .jp-Notebook { margin: 0 !important; padding: 0 !important; }
  .jp-Cell, .jp-RenderedHTMLCommon { padding: 0 !important; }
  .jp-MarkdownOutput { display: block !important; }
  .jp-InputPrompt, .jp-OutputPrompt, .jp-Collapser, .anchor-link { display: none !important; }
  .pfps-nav {
    position: static !important; border: none !important; box-shadow: none !important;
    background: none !important; margin: 0 0 4mm 0 !important; padding: 0 !important;
  }
  .pfps-nav > :not(.pfps-title) { display: none !important; }
  .pfps-nav a { color: inherit !important; text-decoration: none !important; }
  .jp-OutputArea, .jp-OutputArea-child, .jp-OutputArea-output, .jp-RenderedHTMLCommon {
    overflow: visible !important; max-height: none !important;
  }
  .jp-OutputArea-child { display: block !important; break-inside: auto !important; }
  .jp-OutputArea-output { display: block !important; width: auto !important; }
  table {
    display: table !important; overflow: visible !important; table-layout: auto !important;
    width: auto !important; max-width: 100% !important;
    font-size: 7.5pt !important; margin-left: 0 !important; margin-right: auto !important;
  }
  th, td { padding: 0.2em 0.45em !important; max-width: none !important; }
  th, td { overflow-wrap: break-word; }
  table:has(tr > :nth-child(12)) { font-size: 6.5pt !important; }
  table:has(tr > :nth-child(12)) :is(th, td) { padding: 0.15em 0.3em !important; }
  table:has(tr > :nth-child(16)) { font-size: 5.5pt !important; }
  table:has(tr > :nth-child(16)) :is(th, td) { overflow-wrap: anywhere; }
  thead { display: table-header-group; }
  tr, img, figure, svg, .jp-RenderedImage { break-inside: avoid; page-break-inside: avoid; }
  img { max-width: 100% !important; height: auto !important; }
  svg { max-width: 100% !important; }
  h1, h2, h3, h4, h5, h6 { break-after: avoid; page-break-after: avoid; }
  pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
  a { color: inherit; }
}
"""

#: Chromium's options for a print: headless, no first-run set-up, no background traffic, no
#: name resolution (the report loads nothing from the network), no header or footer lines.
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--no-pdf-header-footer",
)

#: Where the print copy's additions go: after the page's ``<head>`` tag (not ``<header>``),
#: else after its ``<html>`` tag, else after its doctype (a page without one is in quirks
#: mode anyway).
_OPENINGS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (rb"<head(?:\s[^>]*)?>", rb"<html(?:\s[^>]*)?>", rb"<!doctype[^>]*>")
)

#: Run in the printed copy: a link to a local file (a sibling report, the index) becomes plain
#: text, as it would point into this machine's folders from the PDF. A link within the page
#: (``#id``) stays: Chromium makes it a link inside the PDF, as it resolves to the ``<base>``.
#: Folded sections (``<details>``: the provenance) are opened, so a mailed PDF carries them.
_PRINT_SCRIPT = """<script>
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  document.querySelectorAll("a[href]").forEach(function (a) {
    if (a.getAttribute("href").charAt(0) !== "#" && a.protocol === "file:") {
      a.removeAttribute("href");
    }
  });
});
</script>"""

#: Chromium's log line: ``[pid:tid:date:LEVEL:file.cc(line)] message``.
_LOG_LINE = re.compile(r"^\[[^\]]*:(?P<level>[A-Z]+):(?P<source>[^\]:]*)[^\]]*\]\s*(?P<msg>.*)$")

#: Lines that seldom say why a print failed (no D-Bus in a container, GPU and font set-up):
#: shown only when there is no other.
_NOISE = re.compile(r"d-?bus|bus\.cc|gpu|fontconfig|viz_main|sandbox|zygote", re.I)

#: Debian's launcher script's test of the memory size, which fails harmlessly on some hosts.
_LAUNCHER = re.compile(r": \[: .*unexpected operator$")

#: An absolute path inside a message: shown as its last part (no server paths in a report).
_ABSOLUTE = re.compile(r"(?<![\w.~])(?:/[^\s/:'\"()]+)+/?")


def find_chromium() -> str | None:
    """The Chromium program to print with: ``PFPS_CHROMIUM`` when set, else the first of
    :data:`CHROMIUM_NAMES` found on PATH; None when there is none.

    Raises
    ------
    ConfigError
        ``PFPS_CHROMIUM`` is set but names no executable program.
    """
    named = os.environ.get(CHROMIUM_ENV, "").strip()
    if named:
        found = shutil.which(named)
        if found is None:
            raise ConfigError(
                f"{CHROMIUM_ENV} names {Path(named).name!r}, which is not an executable "
                "program: set it to Chromium's (or Chrome's) program, or unset it to use "
                f"{' or '.join(CHROMIUM_NAMES[:2])} from PATH"
            )
        return found
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found is not None:
            return found
    return None


def require_chromium() -> str:
    """The Chromium program to print with (see :func:`find_chromium`).

    Raises
    ------
    ConfigError
        No Chromium is found (or ``PFPS_CHROMIUM`` names no program); the message says how to
        install one.
    """
    found = find_chromium()
    if found is None:
        raise ConfigError(
            "PDF reports need Chromium, and none was found on PATH "
            f"({', '.join(CHROMIUM_NAMES)}): install Debian's chromium "
            f"(sudo apt-get install chromium), or set {CHROMIUM_ENV} to the program of an "
            "installed Chromium or Chrome; or turn PDF off (pdf: false in reports.yml, no --pdf)"
        )
    return found


def write_pdf(html_path: Path, pdf_path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Print the HTML file ``html_path`` to ``pdf_path`` (A4) with headless Chromium.

    Chromium prints a copy of the page in a temporary folder, in which links to local files
    (sibling reports, the index) are made plain text: in a PDF they would point into this
    machine's folders. Links within the page and to web addresses stay. The PDF is printed
    into a temporary file beside ``pdf_path`` and renamed over it only when Chromium wrote a
    PDF (a file starting ``%PDF``): a failed print leaves the previous PDF as it was.
    Chromium runs in its own process group with a temporary profile; on timeout the whole
    group is killed. Messages name files, never their folders.

    Raises
    ------
    ConfigError
        No Chromium is found (see :func:`require_chromium`).
    PdfError
        ``html_path`` cannot be read, ``pdf_path`` cannot be written, or Chromium could not be
        started, failed, wrote no PDF, or took more than ``timeout`` seconds; the message has
        Chromium's last error line.
    """
    html_path, pdf_path = Path(html_path), Path(pdf_path)
    chromium = require_chromium()
    name = html_path.name
    try:
        page = html_path.read_bytes()
    except OSError as exc:
        raise PdfError(f"{name}: cannot be read to print it ({exc.strerror})") from None
    tmp = pdf_path.with_name(f".{pdf_path.name}.{secrets.token_hex(8)}.tmp")
    try:
        # Created as `open` creates files (0666 less the umask); Chromium writes into it.
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666))
    except OSError as exc:
        raise PdfError(f"{pdf_path.name}: cannot be written ({exc.strerror})") from None
    try:
        with tempfile.TemporaryDirectory(prefix="pfps-pdf-", ignore_cleanup_errors=True) as work:
            work_dir = Path(work)
            copy = work_dir / name  # the same name: Chromium's title when the page has none
            copy.write_bytes(_print_copy(page, html_path.resolve().parent))
            command = [
                chromium,
                *_FLAGS,
                f"--user-data-dir={work_dir / 'profile'}",
                f"--print-to-pdf={tmp}",
                copy.as_uri(),
            ]
            stderr = _run(command, timeout, name, [tmp, copy, html_path, work_dir])
        with open(tmp, "rb") as handle:
            wrote_pdf = handle.read(5) == b"%PDF-"
        if not wrote_pdf:
            raise PdfError(
                f"{name}: Chromium wrote no PDF ({_last_error(stderr, [tmp, copy, html_path])})"
            )
        os.replace(tmp, pdf_path)
    except OSError as exc:
        raise PdfError(f"{pdf_path.name}: cannot be written ({exc.strerror})") from None
    finally:
        tmp.unlink(missing_ok=True)


def _print_copy(page: bytes, folder: Path) -> bytes:
    """``page`` with, first in its head, a ``<base>`` of its own ``folder`` (what it loads by
    relative address loads as from there) and :data:`_PRINT_SCRIPT`."""
    at = next((found.end() for opening in _OPENINGS if (found := opening.search(page))), 0)
    base = f'<base href="{html.escape(folder.as_uri().rstrip("/") + "/")}">'
    return page[:at] + base.encode() + _PRINT_SCRIPT.encode() + page[at:]


def _run(command: list[str], timeout: float, name: str, paths: list[Path]) -> str:
    """Run Chromium in its own process group; its stderr. PdfError when it cannot start,
    fails or outlives ``timeout`` (then its group is killed, as on any interruption)."""
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise PdfError(
            f"{name}: Chromium ({Path(command[0]).name}) cannot be started ({exc.strerror})"
        ) from None
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise PdfError(
            f"{name}: Chromium did not finish printing within {timeout:g} s and was stopped "
            "(a report prints in seconds: is the machine overloaded, or the page very large?)"
        ) from None
    except BaseException:  # SIGTERM's SystemExit, KeyboardInterrupt: leave no Chromium behind
        _kill(process)
        raise
    stderr = err.decode("utf-8", "replace")
    if process.returncode != 0:
        raise PdfError(
            f"{name}: Chromium failed (exit code {process.returncode}): "
            f"{_last_error(stderr, paths)}"
        )
    return stderr


def _kill(process: subprocess.Popen) -> None:
    """Kill ``process``'s whole group (Chromium's renderer and helper processes too)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.communicate()


def _last_error(stderr: str, paths: list[Path]) -> str:
    """Chromium's last line that says something about the print, with paths shown as file
    names; "no message" when there is none."""
    chosen = fallback = ""
    for line in stderr.splitlines():
        match = _LOG_LINE.match(line.strip())
        if match and match["level"] not in ("ERROR", "FATAL"):
            continue
        text = (match["msg"] if match else line).strip()
        if not text or _LAUNCHER.search(text):
            continue
        fallback = text
        if not _NOISE.search(match["source"] if match else "") and not _NOISE.search(text):
            chosen = text
    chosen = (chosen or fallback)[:300]
    if not chosen:
        return "no message"
    for path in paths:
        chosen = chosen.replace(str(path), path.name)
    return _ABSOLUTE.sub(lambda m: Path(m.group(0)).name, chosen)
