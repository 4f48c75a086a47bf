"""The headline numbers of a report, recorded for the report site.

A report notebook ends with ``display(report.record_summary(...))``: readers of the report see
the numbers as one line ("In brief: ..."), and the report batch finds the same numbers as JSON
under the MIME type :data:`SUMMARY_MIMETYPE` in the executed notebook and shows them on the
index's card for that report (:func:`pfps_stats.batch.site.render_index`), so the index never
scrapes HTML.

The record::

    {"version": 1, "analysis": "risk-factors", "subgroup": "military" or None,
     "synthetic": True, "headlines": [{"label": "Runners", "text": "1,200", "value": 1200},
                                      ...]}

``text`` is what is shown (formatted, and small-cell suppressed by the notebook); ``value`` is
the number for machines, or None when it is suppressed or not a number.
"""

from __future__ import annotations

import html
import math
from numbers import Real

SUMMARY_MIMETYPE = "application/vnd.pfps-stats.summary+json"

#: Version of the record's shape, for readers of older manifests.
SUMMARY_VERSION = 1


def headline(label: str, text: str, value: float | None = None) -> dict:
    """One headline number: ``label`` ("Cases"), the ``text`` shown ("120 (10.0%)"), and the
    raw ``value`` (None when suppressed or not a number).

    Returns
    -------
    dict
        ``{"label", "text", "value"}``, JSON-ready (a NaN value becomes None).

    Raises
    ------
    TypeError
        When ``label`` or ``text`` is not text, or ``value`` is not a real number or None.
    """
    if not isinstance(label, str) or not label.strip():
        raise TypeError(f"a headline's label must be non-empty text, got {label!r}")
    if not isinstance(text, str):
        raise TypeError(f"the headline {label!r} must be shown as text, got {text!r}")
    if value is not None and (isinstance(value, bool) or not isinstance(value, Real)):
        raise TypeError(f"the headline {label!r} has a value that is not a number: {value!r}")
    if value is not None:
        value = float(value)
        if math.isnan(value):
            value = None
        elif value.is_integer() and abs(value) < 2**53:
            value = int(value)
    return {"label": label, "text": text, "value": value}


class ReportSummary:
    """The headline numbers of one report: shown as one line, carried as JSON
    (``_repr_mimebundle_``: text/html, text/plain and :data:`SUMMARY_MIMETYPE`)."""

    def __init__(self, record: dict):
        self.record = record

    def _line(self) -> str:
        return " · ".join(f"{h['label']}: {h['text']}" for h in self.record["headlines"])

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        items = " · ".join(
            f"{html.escape(h['label'])}: <strong>{html.escape(h['text'])}</strong>"
            for h in self.record["headlines"]
        )
        return {
            "text/html": f'<p class="pfps-summary">In brief: {items}</p>',
            "text/plain": f"In brief: {self._line()}",
            SUMMARY_MIMETYPE: self.record,
        }

    def __repr__(self) -> str:
        return f"ReportSummary({self._line()})"


def record_summary(
    analysis: str,
    headlines: list[dict],
    *,
    subgroup: str | None = None,
    synthetic: bool = False,
) -> ReportSummary:
    """The headline numbers of a report, to ``display`` as its last output.

    Parameters
    ----------
    analysis : str
        The report's analysis, in the words of the index ("data-quality", "risk-factors",
        "evidence", "training-load", "study-planning").
    headlines : list of dict
        Two or three :func:`headline` items, in the order the index shows them.
    subgroup : str, optional
        The subgroup analysed (None: all runners).
    synthetic : bool
        Whether the data are SYNTHETIC (the index then says so on the card).

    Returns
    -------
    ReportSummary
        Displays as "In brief: ..." and carries the record for the batch.

    Raises
    ------
    TypeError
        When ``headlines`` is not a list of :func:`headline` items.
    """
    if not isinstance(headlines, list | tuple) or not all(
        isinstance(h, dict) and set(h) == {"label", "text", "value"} for h in headlines
    ):
        raise TypeError("headlines must be a list of report.headline(label, text, value) items")
    return ReportSummary(
        {
            "version": SUMMARY_VERSION,
            "analysis": str(analysis),
            "subgroup": None if subgroup is None else str(subgroup),
            "synthetic": bool(synthetic),
            "headlines": list(headlines),
        }
    )


def notebook_summary(nb) -> dict | None:
    """The last summary an executed notebook displayed under :data:`SUMMARY_MIMETYPE`, or
    None when it displayed none (an older notebook, or one that failed before its end)."""
    found = None
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            record = output.get("data", {}).get(SUMMARY_MIMETYPE)
            if isinstance(record, dict) and isinstance(record.get("headlines"), list):
                found = record
    return found
