"""The HTML index of all reports: one row per job with its status, duration, link and error."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:70em;
color:#222;padding:0 1em}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.4em .6em;
text-align:left;vertical-align:top}th{background:#f4f4f4}
.ok{color:#1b7837;font-weight:bold}.failed{color:#b00020;font-weight:bold}
pre{white-space:pre-wrap;margin:0;font-size:.85em}footer{margin-top:2em;color:#666;font-size:.85em}
"""


def render_index(jobs: Sequence[dict], provenance: dict, title: str = "pfps_stats reports") -> str:
    """Return the index page as HTML; every value from jobs or data is HTML-escaped."""
    e = html.escape
    rows = []
    for job in jobs:
        status = job.get("status", "")
        link = (
            f'<a href="{e(job["output"])}">{e(job["name"])}</a>'
            if job.get("output")
            else e(job["name"])
        )
        error = f"<pre>{e(job['error'])}</pre>" if job.get("error") else ""
        duration = f"{job['duration_s']:.1f} s" if job.get("duration_s") is not None else ""
        params = ", ".join(
            f"{e(str(k))}={e(repr(v))}" for k, v in job.get("parameters", {}).items()
        )
        rows.append(
            f'<tr><td>{link}</td><td class="{"ok" if status == "success" else "failed"}">'
            f"{e(status)}</td><td>{e(duration)}</td><td>{e(job.get('notebook', ''))}</td>"
            f"<td>{params}</td><td>{error}</td></tr>"
        )
    versions = ", ".join(f"{e(k)} {e(str(v))}" for k, v in provenance.get("versions", {}).items())
    built = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>
<body><h1>{e(title)}</h1>
<p>{len(jobs)} report(s); {sum(j.get("status") == "success" for j in jobs)} succeeded.</p>
<table><thead><tr><th>Report</th><th>Status</th><th>Duration</th><th>Notebook</th>
<th>Parameters</th><th>Error</th></tr></thead><tbody>
{"".join(rows)}
</tbody></table>
<footer>Built {e(built)} · git {e(str(provenance.get("git_commit")))} ·
Python {e(str(provenance.get("python")))} · {versions}</footer>
</body></html>
"""
