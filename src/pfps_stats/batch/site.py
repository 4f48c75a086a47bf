"""The report site: the landing page (``index.html``) and the header of every report.

The index groups the reports by analysis (data quality, risk factors, the evidence, training
load, study planning; a notebook of another name forms its own group) and subgroup, as a grid
of cards. Each card shows the report's status (success, up to date, failed), when its output
last changed, and the two or three headline numbers its notebook recorded
(:func:`pfps_stats.report.record_summary`, carried in the manifest record's ``summary``; the
index never reads the reports' HTML). A line says what changed since the last run, and the
provenance of the run sits in an expandable section.

Every report gets a header (:func:`add_navigation`): a link back to the index, links to the
same analysis for the other subgroups, its PDF when there is one, and a table of contents from
its h2/h3 headings. The header and a style block (responsive figures and tables, print CSS) are
delimited by HTML comments, so each run replaces them.

Every value shown comes from the records and is HTML-escaped; the pages load nothing from the
network and open from ``file://``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..cohort.variables import SUBGROUPS

#: The analyses of the index, in its order, with their titles (the summary's ``analysis``).
ANALYSES = {
    "data-quality": "Data quality",
    "risk-factors": "Risk factors",
    "evidence": "The evidence",
    "training-load": "Training load",
    "study-planning": "Study planning",
}

#: The subgroups in the order the index shows them: all runners, then the dictionary's
#: subgroups (others follow, in the order of the jobs).
SUBGROUP_ORDER = ("all", *SUBGROUPS)

#: Headline numbers shown on a card.
MAX_HEADLINES = 3

NAV_START, NAV_END = "<!-- pfps-nav -->", "<!-- /pfps-nav -->"
STYLE_START, STYLE_END = "<!-- pfps-style -->", "<!-- /pfps-style -->"

#: The print CSS used until :mod:`pfps_stats.batch.pdf` (which owns it) is importable.
_FALLBACK_PRINT_CSS = """
@media print {
  .pfps-nav .pfps-links, .pfps-nav .pfps-toc { display: none !important; }
  .pfps-nav { background: none; border: 0; padding: 0; }
  img { max-width: 100% !important; page-break-inside: avoid; }
  table { width: auto; max-width: 100%; font-size: 9pt; }
  tr { page-break-inside: avoid; }
  @page { size: A4; margin: 15mm; }
}
"""

_FONT = "system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif"

_INDEX_STYLE = f"""
*{{box-sizing:border-box}}
body{{font-family:{_FONT};margin:0 auto;max-width:78rem;color:#1f2328;padding:1rem 1.25rem 2rem;
line-height:1.45;overflow-wrap:break-word}}
h1{{font-size:1.6rem;margin:.4rem 0 .2rem}}
h2{{font-size:1.2rem;margin:1.8rem 0 .6rem;padding-bottom:.25rem;border-bottom:1px solid #d0d7de}}
a{{color:#0550ae}}
.lead{{color:#59636e;margin:.2rem 0 1rem}}
.changes{{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.6rem .9rem;
margin:0 0 1rem}}
.changes ul{{margin:.3rem 0 0;padding-left:1.2rem}}
.failed-label{{color:#a40e26}}
.grid{{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,17rem),1fr));
gap:.9rem}}
.card{{border:1px solid #d0d7de;border-radius:8px;padding:.75rem .9rem;background:#fff;
display:flex;flex-direction:column;gap:.4rem;min-width:0}}
.card.failed{{border-color:#cf222e;border-left-width:4px}}
.card h3{{margin:0;font-size:1.05rem}}
.card .job{{color:#59636e;font-size:.8rem}}
.badges{{display:flex;flex-wrap:wrap;gap:.3rem}}
.badge{{display:inline-block;border-radius:999px;padding:.05rem .55rem;font-size:.75rem;
font-weight:600;border:1px solid transparent}}
.badge.success{{background:#dafbe1;color:#116329;border-color:#aceebb}}
.badge.cached{{background:#eaeef2;color:#424a53;border-color:#d0d7de}}
.badge.failed{{background:#ffebe9;color:#a40e26;border-color:#ffcecb}}
.badge.synthetic{{background:#fff8c5;color:#7d4e00;border-color:#eac54f}}
.when{{color:#59636e;font-size:.8rem}}
dl.headlines{{margin:.2rem 0 0;font-size:.9rem}}
dl.headlines dt{{color:#59636e;font-size:.8rem}}
dl.headlines dd{{margin:0 0 .35rem;font-weight:600;font-size:1rem}}
.none{{color:#59636e;font-style:italic;font-size:.85rem}}
.links{{font-size:.85rem;display:flex;flex-wrap:wrap;gap:.2rem .8rem;margin-top:auto}}
.pdf-failed{{color:#a40e26}}
details.error summary{{color:#a40e26;cursor:pointer;font-size:.85rem}}
pre{{white-space:pre-wrap;overflow-wrap:anywhere;margin:.3rem 0 0;font-size:.8rem;
background:#f6f8fa;padding:.4rem;border-radius:4px}}
details.provenance{{margin-top:2rem;color:#424a53;font-size:.85rem}}
details.provenance summary{{cursor:pointer;font-weight:600}}
details.provenance table{{border-collapse:collapse;margin-top:.4rem}}
details.provenance th,details.provenance td{{text-align:left;vertical-align:top;
padding:.2rem .8rem .2rem 0;border-bottom:1px solid #eaeef2}}
"""

#: The style block added to every report (the print CSS is appended).
_REPORT_STYLE = f"""
img{{max-width:100%;height:auto}}
.jp-RenderedHTMLCommon table,.jp-RenderedHTML table{{display:block;max-width:100%;
overflow-x:auto}}
.jp-OutputArea-output{{max-width:100%;overflow-x:auto}}
.pfps-nav{{font-family:{_FONT};font-size:14px;line-height:1.4;background:#f6f8fa;
border-bottom:1px solid #d0d7de;padding:.5rem 1rem;margin:0 0 1rem;color:#1f2328}}
.pfps-nav a{{color:#0550ae;text-decoration:none}}.pfps-nav a:hover{{text-decoration:underline}}
.pfps-nav .pfps-title{{font-weight:600;font-size:15px}}
.pfps-nav ul{{list-style:none;display:flex;flex-wrap:wrap;gap:.2rem 1rem;margin:.2rem 0;
padding:0}}
.pfps-nav .pfps-current{{font-weight:600}}
.pfps-nav .pfps-sep{{color:#59636e;border-left:1px solid #d0d7de;padding-left:1rem}}
.pfps-nav .pfps-toc summary{{cursor:pointer;color:#0550ae}}
.pfps-nav .pfps-toc ol{{margin:.3rem 0 .2rem;padding-left:1.4rem;columns:2 18rem}}
.pfps-nav .pfps-toc li.pfps-h3{{margin-left:1rem;list-style:circle}}
.pfps-provenance summary{{cursor:pointer;font-weight:600}}
.pfps-provenance th,.pfps-provenance td{{padding:.15rem .8rem .15rem 0;vertical-align:top;
border-bottom:1px solid #eaeef2;text-align:left}}
"""


def print_css() -> str:
    """The print CSS of the reports: :data:`pfps_stats.batch.pdf.PRINT_CSS`, or this module's
    fallback while that module is not installed."""
    try:
        from .pdf import PRINT_CSS
    except ImportError:
        return _FALLBACK_PRINT_CSS
    return PRINT_CSS


# -- what a record says ------------------------------------------------------------------------


def analysis_of(record: dict) -> str:
    """The analysis a job's report belongs to: its summary's ``analysis``, else its notebook's
    file name without the leading number (``02-risk-factors.ipynb`` -> ``"risk-factors"``)."""
    summary = record.get("summary")
    if isinstance(summary, dict) and isinstance(summary.get("analysis"), str):
        if summary["analysis"].strip():
            return summary["analysis"].strip()
    stem = Path(str(record.get("notebook") or record.get("name", "other"))).name
    stem = stem.removesuffix(".ipynb")
    return re.sub(r"^\d+[-_ ]*", "", stem) or stem


def subgroup_of(record: dict) -> str:
    """The subgroup a job reports on: its ``subgroup`` parameter, ``"all"`` when none."""
    parameters = record.get("parameters")
    value = parameters.get("subgroup") if isinstance(parameters, dict) else None
    return "all" if value in (None, "") else str(value)


def analysis_title(key: str) -> str:
    """The title of an analysis (``"risk-factors"`` -> ``"Risk factors"``)."""
    return ANALYSES.get(key) or key.replace("-", " ").replace("_", " ").strip().capitalize()


def _headlines(record: dict) -> list[tuple[str, str]]:
    summary = record.get("summary")
    if not isinstance(summary, dict) or not isinstance(summary.get("headlines"), list):
        return []
    shown = []
    for item in summary["headlines"]:
        if isinstance(item, dict) and "label" in item and "text" in item:
            shown.append((str(item["label"]), str(item["text"])))
    return shown[:MAX_HEADLINES]


def _synthetic(record: dict) -> bool:
    summary = record.get("summary")
    return isinstance(summary, dict) and summary.get("synthetic") is True


def _when(value: Any) -> str | None:
    """An ISO time as ``2025-01-31 14:05 UTC`` (None when absent or not a time)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _local(value: Any, suffix: str) -> str | None:
    """A link target from a record: a plain file name ending in ``suffix``, else None."""
    if isinstance(value, str) and value.endswith(suffix) and "/" not in value and value[:1] != ".":
        return value
    return None


def _groups(jobs: Sequence[dict]) -> list[tuple[str, list[dict]]]:
    """The records by analysis (known analyses first, in :data:`ANALYSES` order), each
    group's records by subgroup (:data:`SUBGROUP_ORDER` first), then in the jobs' order."""
    groups: dict[str, list[dict]] = {}
    for record in jobs:
        groups.setdefault(analysis_of(record), []).append(record)
    order = [k for k in ANALYSES if k in groups] + [k for k in groups if k not in ANALYSES]

    def rank(pair: tuple[int, dict]) -> tuple[int, int]:
        i, record = pair
        sub = subgroup_of(record)
        return (SUBGROUP_ORDER.index(sub) if sub in SUBGROUP_ORDER else len(SUBGROUP_ORDER), i)

    return [(k, [r for _, r in sorted(enumerate(groups[k]), key=rank)]) for k in order]


# -- the index ---------------------------------------------------------------------------------

_STATUS = {"success": "success", "cached": "up to date", "failed": "failed"}


def _card(record: dict) -> str:
    e = html.escape
    name = str(record.get("name", ""))
    status = record.get("status") if record.get("status") in _STATUS else "failed"
    sub = subgroup_of(record)
    output = _local(record.get("output"), ".html")
    pdf = _local(record.get("pdf"), ".pdf")
    title = sub.capitalize() if sub != "all" else "All runners"
    heading = f'<a href="{e(output)}">{e(title)}</a>' if output and status != "failed" else e(title)
    badges = [f'<span class="badge {status}">{e(_STATUS[status])}</span>']
    if _synthetic(record):
        badges.append('<span class="badge synthetic">SYNTHETIC</span>')
    changed = _when(record.get("changed"))
    when = f"Changed {changed}" if changed else "No report yet"
    parts = [
        f'<article class="card {status}" id="job-{e(name)}">',
        f"<h3>{heading}</h3>",
        f'<div class="job">{e(name)}</div>',
        f'<div class="badges">{"".join(badges)}</div>',
        f'<div class="when">{e(when)}</div>',
    ]
    headlines = _headlines(record)
    if headlines:
        items = "".join(f"<dt>{e(label)}</dt><dd>{e(text)}</dd>" for label, text in headlines)
        prefix = (
            '<div class="when">From the last good report:</div>'
            if status == "failed" and output
            else ""
        )
        parts.append(f'{prefix}<dl class="headlines">{items}</dl>')
    else:
        parts.append('<p class="none">no summary recorded</p>')
    if status == "failed":
        error = str(record.get("error") or "no error recorded")
        parts.append(
            f'<details class="error"><summary>What went wrong</summary><pre>{e(error)}</pre>'
            "</details>"
        )
    links = []
    if output:
        label = "Last good report" if status == "failed" else "Report"
        links.append(f'<a href="{e(output)}">{label}</a>')
    if pdf:
        links.append(f'<a href="{e(pdf)}">PDF</a>')
    if record.get("pdf_error"):
        links.append(f'<span class="pdf-failed">PDF failed: {e(str(record["pdf_error"]))}</span>')
    if links:
        parts.append(f'<div class="links">{"".join(links)}</div>')
    parts.append("</article>")
    return "".join(parts)


_WHY_INPUTS = {
    "data": "data",
    "notebook": "notebook",
    "parameters": "parameters",
    "versions": "pfps_stats/package versions",
}


def describe_changes(changes: Sequence[dict] | None, jobs: Sequence[dict]) -> str:
    """The "What changed since the last run" block as HTML.

    ``changes`` lists the jobs this run executed, each ``{"name", "why", "inputs"}``: ``why``
    one of ``"inputs"`` (with ``inputs`` naming what changed: data, notebook, parameters,
    versions), ``"forced"``, ``"new"``, ``"failed-before"``, ``"missing"``; the run's failures
    are read from ``jobs``. None: the line is left out (a page rendered without a run).
    """
    if changes is None:
        return ""
    e = html.escape
    by_name = {str(r.get("name")): r for r in jobs}
    ran = {str(c.get("name")) for c in changes}
    items: list[str] = []

    def names(entries: list[str]) -> str:
        return ", ".join(
            f'<a href="#job-{e(n)}">{e(n)}</a>' if n in by_name else e(n) for n in entries
        )

    causes: dict[str, list[str]] = {}
    for c in changes:
        if c.get("why") == "inputs":
            what = [_WHY_INPUTS.get(str(w), str(w)) for w in c.get("inputs") or []]
            cause = " and ".join(what) if what else "inputs"
            causes.setdefault(cause, []).append(str(c.get("name")))
    for cause, chosen in causes.items():
        items.append(f"Re-run because the {e(cause)} changed: {names(chosen)}")
    new = [str(c.get("name")) for c in changes if c.get("why") == "new"]
    if new and len(new) == len(jobs) == len(changes):
        items.append(f"First run: all {len(new)} reports are new")
        changes = []
    for why, label in (
        ("forced", "Re-run on request (--force)"),
        ("new", "New"),
        ("failed-before", "Re-run because the last run failed"),
        ("missing", "Re-run because the report was missing"),
    ):
        chosen = [str(c["name"]) for c in changes if c.get("why") == why]
        if chosen:
            items.append(f"{label}: {names(chosen)}")
    failed = [n for n in ran if by_name.get(n, {}).get("status") == "failed"]
    failed = [str(r.get("name")) for r in jobs if str(r.get("name")) in failed]
    if failed:
        items.append(f'<strong class="failed-label">Failed</strong>: {names(failed)}')
    if not items:
        n = len(jobs)
        bad = sum(r.get("status") not in ("success", "cached") for r in jobs)
        said = (
            f"Nothing changed: all {n} report{'s are' if n != 1 else ' is'} up to date."
            if not bad
            else f"Nothing changed; {bad} of {n} reports failed in an earlier run."
        )
        return (
            '<section class="changes"><strong>What changed since the last run.</strong> '
            f"{said}</section>"
        )
    body = "".join(f"<li>{item}</li>" for item in items)
    return (
        '<section class="changes"><strong>What changed since the last run</strong>'
        f"<ul>{body}</ul></section>"
    )


def _provenance_rows(provenance: dict) -> str:
    e = html.escape
    rows = []
    executor = provenance.get("executor")
    if isinstance(executor, dict):
        executor = ", ".join(f"{k}: {v}" for k, v in executor.items())
    versions = provenance.get("versions")
    if isinstance(versions, dict):
        versions = ", ".join(f"{k} {v}" for k, v in versions.items())
    for label, value in (
        ("Configuration", provenance.get("config")),
        ("Git commit", provenance.get("git_commit")),
        ("Python", provenance.get("python")),
        ("Package versions", versions),
        ("pfps_stats source SHA-256", provenance.get("package_sha256")),
        ("Executor", executor),
        ("Generated", _when(provenance.get("generated")) or provenance.get("generated")),
    ):
        if value not in (None, ""):
            rows.append(f"<tr><th>{e(label)}</th><td>{e(str(value))}</td></tr>")
    return "".join(rows)


def render_index(
    jobs: Sequence[dict],
    provenance: dict,
    title: str = "pfps_stats reports",
    *,
    changes: Sequence[dict] | None = None,
) -> str:
    """The landing page of the site, as HTML.

    Parameters
    ----------
    jobs : sequence of dict
        The manifest records, one per report (name, status, output, parameters, summary,
        changed, pdf, error, ...).
    provenance : dict
        The run's provenance: versions, git_commit, python, package_sha256, and optionally
        executor, config (the file name) and generated (an ISO time).
    title : str
        The page's title.
    changes : sequence of dict, optional
        What this run executed and why (:func:`describe_changes`); None leaves the line out.

    Returns
    -------
    str
        A self-contained page (no script, no external resource); every value taken from the
        records is HTML-escaped.
    """
    e = html.escape
    jobs = [j for j in jobs if isinstance(j, dict)]
    sections = []
    for key, records in _groups(jobs):
        cards = "".join(_card(r) for r in records)
        sections.append(
            f'<section class="analysis" id="analysis-{e(key)}"><h2>{e(analysis_title(key))}</h2>'
            f'<div class="grid">{cards}</div></section>'
        )
    counts = {s: sum(j.get("status") == s for j in jobs) for s in _STATUS}
    tally = ", ".join(f"{counts[s]} {_STATUS[s]}" for s in _STATUS if counts[s])
    built = _when(provenance.get("generated")) or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    plural = "s" if len(jobs) != 1 else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_INDEX_STYLE}</style>
</head><body>
<header><h1>{e(title)}</h1>
<p class="lead">{len(jobs)} report{plural}{": " + e(tally) if tally else ""}. Built {e(built)}.</p>
</header>
{describe_changes(changes, jobs)}
<main>{"".join(sections)}</main>
<details class="provenance"><summary>Provenance</summary>
<table>{_provenance_rows(provenance)}</table></details>
</body></html>
"""


# -- the reports' header ------------------------------------------------------------------------

_HEADING = re.compile(r"<h([23])\b([^>]*)>(.*?)</h\1\s*>", re.IGNORECASE | re.DOTALL)
_ID = re.compile(r"""\bid\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def table_of_contents(page: str) -> list[tuple[int, str, str]]:
    """The h2 and h3 headings of a report that have an id (nbconvert gives each markdown
    heading one), as ``(level, id, text)``, in order; headings of the injected header are
    left out. The heading's text is read with BeautifulSoup, without its "¶" anchor link."""
    from bs4 import BeautifulSoup

    page = _strip(page, NAV_START, NAV_END)
    found = []
    for match in _HEADING.finditer(page):
        ident = _ID.search(match.group(2))
        if ident is None:
            continue
        soup = BeautifulSoup(match.group(3), "html.parser")
        for anchor in soup.select("a.anchor-link"):
            anchor.decompose()
        text = " ".join(soup.get_text(" ").split())
        if text:
            found.append(
                (int(match.group(1)), html.unescape(ident.group(1) or ident.group(2)), text)
            )
    return found


def _strip(page: str, start: str, end: str) -> str:
    """``page`` without the block between the markers ``start`` and ``end`` (and them)."""
    while (i := page.find(start)) >= 0:
        j = page.find(end, i)
        if j < 0:
            break
        page = page[:i] + page[j + len(end) :]
    return page


def navigation(
    name: str,
    records: Sequence[dict],
    *,
    pdf: str | None = None,
    toc: Sequence[tuple[int, str, str]] = (),
    exists: Any = None,
) -> str:
    """The header of report ``name``, as HTML between :data:`NAV_START` and :data:`NAV_END`.

    ``records`` are the site's manifest records (to find the same analysis for the other
    subgroups); ``exists(file_name) -> bool`` says which reports are there to link (default:
    every record with an output). ``pdf`` is the report's PDF file name, ``toc`` its headings
    (:func:`table_of_contents`).
    """
    e = html.escape
    by_name = {str(r.get("name")): r for r in records if isinstance(r, dict)}
    me = by_name.get(name, {"name": name})
    key = analysis_of(me)
    siblings = []
    for _, group in _groups(list(by_name.values())):
        for record in group:
            if analysis_of(record) != key:
                continue
            output = _local(record.get("output"), ".html")
            label = subgroup_of(record)
            if [subgroup_of(r) for r in group].count(label) > 1:
                label = f"{label} ({record.get('name')})"
            if record.get("name") == name:
                siblings.append(f'<li class="pfps-current">{e(label)}</li>')
            elif output and (exists is None or exists(output)):
                siblings.append(f'<li><a href="{e(output)}">{e(label)}</a></li>')
    title = report_title(name, [me])
    links = ['<li><a href="index.html">&larr; All reports</a></li>']
    if pdf:
        links.append(f'<li><a href="{e(pdf)}">PDF</a></li>')
    if len(siblings) > 1:
        links.append(f'<li class="pfps-sep">{e(analysis_title(key))} for:</li>')
        links += siblings
    parts = [
        NAV_START,
        '<nav class="pfps-nav" aria-label="Report navigation">',
        f'<div class="pfps-title">{e(title)}</div>',
        f'<ul class="pfps-links">{"".join(links)}</ul>',
    ]
    if toc:
        items = "".join(
            f'<li class="pfps-h{level}"><a href="#{e(ident)}">{e(text)}</a></li>'
            for level, ident, text in toc
        )
        parts.append(
            f'<details class="pfps-toc"><summary>Contents ({len(toc)})</summary>'
            f"<ol>{items}</ol></details>"
        )
    parts += ["</nav>", NAV_END]
    return "".join(parts)


def style_block() -> str:
    """The style block added to every report: responsive figures and tables, the header's
    style and the print CSS, between :data:`STYLE_START` and :data:`STYLE_END`."""
    return f"{STYLE_START}<style>{_REPORT_STYLE}{print_css()}</style>{STYLE_END}"


_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_TITLE = re.compile(r"<title>.*?</title>", re.IGNORECASE | re.DOTALL)


def report_title(name: str, records: Sequence[dict]) -> str:
    """A report's title: its analysis and subgroup (``"Risk factors · military"``)."""
    me = next((r for r in records if isinstance(r, dict) and r.get("name") == name), None)
    if me is None:
        return name
    sub = subgroup_of(me)
    return f"{analysis_title(analysis_of(me))} · {'all runners' if sub == 'all' else sub}"


_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)


def add_navigation(
    page: str,
    name: str,
    records: Sequence[dict],
    *,
    pdf: str | None = None,
    exists: Any = None,
) -> str:
    """Report ``page`` (HTML) with its header and style block, replacing earlier ones.

    Returns
    -------
    str
        The page with :func:`style_block` before ``</head>`` and :func:`navigation` right
        after ``<body>``; the page unchanged when it has no ``<body>`` (not nbconvert's).
    """
    page = _strip(_strip(page, NAV_START, NAV_END), STYLE_START, STYLE_END)
    body = _BODY.search(page)
    if body is None:
        return page
    nav = navigation(name, records, pdf=pdf, toc=table_of_contents(page), exists=exists)
    page = page[: body.end()] + nav + page[body.end() :]
    page = _TITLE.sub(f"<title>{html.escape(report_title(name, records))}</title>", page, count=1)
    head = _HEAD_END.search(page)
    if head is not None:
        page = page[: head.start()] + style_block() + page[head.start() :]
    return page
