"""How results look in a notebook or report: tables without clutter, notes, the SYNTHETIC
banner. Every text is HTML-escaped."""

from __future__ import annotations

import html
import re
import sys
import warnings
from collections.abc import Mapping

import pandas as pd

from .._exceptions import PfpsError
from .._format import SUPPRESSED
from ..cohort.synthetic import is_synthetic


def synthetic_banner(data: pd.DataFrame) -> str:
    """HTML banner for reports: a loud SYNTHETIC notice when any row is simulated, else ''."""
    if not is_synthetic(data):
        return ""
    return (
        '<div style="border:3px solid #b00020;padding:0.6em 1em;margin:0.5em 0;'
        'background:#fff3f3;color:#b00020;font-weight:bold;font-size:1.15em">'
        + html.escape(
            "SYNTHETIC DATA: these runners are simulated by pfps_stats "
            "(the demo data card). No result here describes real people."
        )
        + "</div>"
    )


def attempt(what: str, func, /, *args, **kwargs):
    """Run ``func(*args, **kwargs)`` for a report; when the data cannot support it, say so.

    A small subgroup (few events, a category with no cases) makes some analyses impossible;
    the report should still show everything that can be estimated. A :class:`PfpsError` or
    ``ValueError`` from ``func`` is displayed as "Not estimated: <what>. <reason>" and None is
    returned; any other exception (a bug) propagates.

    Returns
    -------
    The result of ``func``, or None when it could not be estimated.
    """
    return run_or_explain(what, func, args, kwargs)


def run_or_explain(what: str, func, args: tuple, kwargs: dict, clean=None):
    """:func:`attempt`, with ``clean(reason)`` applied to the reason before it is shown (a
    report that must not name runners passes a function that hides them)."""
    from IPython.display import Markdown, display

    try:
        return func(*args, **kwargs)
    except (PfpsError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        if clean is not None:
            reason = clean(reason)
        display(Markdown(f"**Not estimated: {html.escape(what)}.** {html.escape(reason)}"))
        return None


def notes(items, *, min_cell: int | None = None) -> object:
    """Notes of a fit (or any list of text) as a Markdown list for a report; '' when none.

    With ``min_cell``, row counts of the fit's notes below it ("dropped 3 of 80 rows with
    missing values (bmi: 3)") read ``"<5"``; counts of 0 stay."""
    from IPython.display import Markdown

    items = [str(n) for n in getattr(items, "notes", items)]
    if min_cell is not None:

        def small(m: re.Match) -> str:
            value = int(m.group(2))
            return m.group(1) + (f"<{min_cell}" if 0 < value < min_cell else m.group(2))

        items = [_ROW_COUNT.sub(small, n) for n in items]
    return Markdown("\n".join(f"- {html.escape(n)}" for n in items) if items else "")


#: Counts of rows in a fit's notes: "dropped 3 of", "(bmi: 3, sex: 12)".
_ROW_COUNT = re.compile(r"(\bdropped |: )(\d+)(?= of \d|[,)])")


def show(
    table: pd.DataFrame | pd.Series,
    precision: int = 2,
    empty: str = "None.",
    links: tuple[str, ...] = ("doi", "url", "source_url"),
    *,
    names: Mapping[str, str] | None = None,
    human: bool = True,
):
    """Render a table for a report: human column names, p-values as journals print them,
    intervals in one column, no index column, ``precision`` decimals, blanks for missing,
    every text HTML-escaped and text columns left-aligned, and DOI or URL columns as links.

    Parameters
    ----------
    table : DataFrame or Series
        A Series is shown as two columns (its index and its values).
    precision : int
        Decimals of the numbers (p-values follow their own rule: ``"<0.001"``, two
        significant digits, ``">0.99"``).
    empty : str
        Shown instead of a table with no rows.
    links : tuple of str
        Columns of DOIs or URLs, shown as links.
    names : mapping, optional
        Human names of columns, over those of :func:`~pfps_stats.report.readable`
        (``table.attrs["names"]``, the statistics' names and the dictionary's labels).
    human : bool
        False shows the field names and raw numbers (for analysts).

    Returns
    -------
    Styler or Markdown
        A pandas Styler (HTML in Jupyter and nbconvert), or the text ``empty`` when the
        table has no rows.
    """
    if isinstance(table, pd.Series):
        table = table.rename_axis("item").reset_index()
    if len(table) == 0:
        from IPython.display import Markdown

        return Markdown(empty)
    link_columns = [c for c in table.columns if c in links]
    if human:
        from .labels import human_name, readable

        shown_links = [(names or {}).get(c, human_name(c)) for c in link_columns]
        table = readable(table, precision, names)
        link_columns = [c for c in shown_links if c in table.columns]
    shown = table.copy()
    text = []
    for column in shown.columns:
        if shown[column].dtype == object or pd.api.types.is_string_dtype(shown[column]):
            if column in link_columns:
                shown[column] = shown[column].map(link)
            else:
                shown[column] = shown[column].map(
                    lambda v: html.escape(v) if isinstance(v, str) else v
                )
            if any(_is_words(v) for v in table[column]):
                text.append(column)  # words read from the left; "12 (5.0%)", "<5" stay right
    styler = shown.style.hide(axis="index").format(precision=precision, na_rep="")
    if text:
        styler = styler.set_properties(subset=text, **{"text-align": "left"})
        positions = [i for i, c in enumerate(shown.columns) if c in text]
        styler = styler.set_table_styles(  # their headers too
            [
                {"selector": f"th.col_heading.col{i}", "props": "text-align: left"}
                for i in positions
            ],
            overwrite=False,
        )
    prose = [
        c for c in text if table[c].map(lambda v: len(v) if isinstance(v, str) else 0).max() > 40
    ]
    if prose:  # long text keeps a readable width on a narrow page (the table scrolls instead)
        styler = styler.set_properties(subset=prose, **{"min-width": "14em"})
    figures = [c for c in shown.columns if c not in text]
    if figures:  # "1107 (46.1%)" and "0.53 (0.44, 0.64)" on one line; words may wrap
        styler = styler.set_properties(subset=figures, **{"white-space": "nowrap"})
    return styler


def _is_words(value) -> bool:
    """Text that is not a number written out ("12 (5.0%)", "0.53 (0.44-0.64)", "<5", "-",
    or the marker of a suppressed cell)."""
    if not isinstance(value, str) or not value.strip() or value == SUPPRESSED:
        return False
    return not re.match(r"[\d<>≥≤+\-.]", value.strip())


def link(value) -> str:
    """A DOI or URL as an HTML link (DOIs through doi.org), its text shortened to 40 characters;
    '' for an empty value."""
    if not isinstance(value, str) or not value:
        return ""
    url = value if value.startswith("http") else f"https://doi.org/{value}"
    text = value.removeprefix("https://").removeprefix("http://")
    if len(text) > 40:
        text = text[:37] + "..."
    return f'<a href="{html.escape(url)}">{html.escape(text)}</a>'


#: A file path with at least one folder (``/srv/a/b.csv``, ``~/b.csv``, ``C:\\a\\b.csv``), not
#: preceded by a letter or digit (so "kg/m²" and "0/1" are no paths): the folders go.
_PATH = re.compile(
    r"(?<![\w.])(?:[A-Za-z]:|~|\.{1,2})?(?:[\\/][^\\/\s'\"():;,]+)+[\\/]([^\\/\s'\"():;,]+)"
)


def _without_folders(text: str) -> str:
    return _PATH.sub(r"\1", text)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    stream = sys.stderr if file is None else file
    try:
        stream.write(f"{category.__name__}: {_without_folders(str(message))}\n")
    except (AttributeError, OSError):  # pragma: no cover - no stream to write to
        pass


def quiet_warnings() -> None:
    """Show warnings in a report as ``"RuntimeWarning: message"``: without the file, line
    and source of the code that warned (a path on the server), and with any folder path in
    the message cut to its file name. :func:`~pfps_stats.report.setup_report` calls it, so
    every report notebook has it; warnings still show, once per place as usual."""
    warnings.showwarning = _show_warning
