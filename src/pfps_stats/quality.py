"""Data-quality views of a loaded cohort: a per-variable summary and the SYNTHETIC banner."""

from __future__ import annotations

import html
import re

import pandas as pd

from .synthetic import is_synthetic
from .variables import VARIABLES


def summarise_variables(data: pd.DataFrame) -> pd.DataFrame:
    """Summarise every canonical numeric variable of a cohort, in its unit.

    Returns
    -------
    DataFrame
        One row per numeric variable present: variable, label, unit, n, missing, mean, sd,
        min, median, max, plausible_low, plausible_high.
    """
    rows = []
    for name, var in VARIABLES.items():
        if var.kind != "numeric" or name not in data:
            continue
        x = pd.to_numeric(data[name], errors="coerce")
        rows.append(
            {
                "variable": name,
                "label": var.label,
                "unit": var.unit,
                "n": int(x.notna().sum()),
                "missing": int(x.isna().sum()),
                "mean": x.mean(),
                "sd": x.std(),
                "min": x.min(),
                "median": x.median(),
                "max": x.max(),
                "plausible_low": var.plausible[0] if var.plausible else None,
                "plausible_high": var.plausible[1] if var.plausible else None,
            }
        )
    return pd.DataFrame(rows)


def synthetic_banner(data: pd.DataFrame) -> str:
    """HTML banner for reports: a loud SYNTHETIC notice when any row is simulated, else ''."""
    if not is_synthetic(data):
        return ""
    return (
        '<div style="border:3px solid #b00020;padding:0.6em 1em;margin:0.5em 0;'
        'background:#fff3f3;color:#b00020;font-weight:bold;font-size:1.15em">'
        + html.escape(
            "SYNTHETIC DATA: these runners are simulated by pfps_stats "
            "(data/README.md). No result here describes real people."
        )
        + "</div>"
    )


def in_subgroup(data: pd.DataFrame, subgroup: str | None) -> pd.DataFrame:
    """Rows of one subgroup, or all rows when ``subgroup`` is None.

    Raises
    ------
    ValueError
        When the subgroup is unknown or has no rows, naming the subgroups present.
    """
    if subgroup is None:
        return data
    if "subgroup" not in data:
        raise ValueError(
            f"subgroup={subgroup!r} was asked for, but the data have no subgroup column"
        )
    present = sorted(data["subgroup"].dropna().astype(str).unique())
    if subgroup not in present:
        raise ValueError(
            f"subgroup {subgroup!r} has no rows; the data have: {', '.join(present) or 'none'}"
        )
    return data[data["subgroup"].astype(str) == subgroup]


def problem_counts(problems: pd.DataFrame) -> pd.DataFrame:
    """Problems counted by column and kind, without row values (no identifiers).

    Returns
    -------
    DataFrame
        column, fix, n_rows, example (the first problem's text, its value removed when the
        column holds identifiers).
    """
    if len(problems) == 0:
        return pd.DataFrame(columns=["column", "fix", "n_rows", "example"])
    grouped = problems.groupby([problems["column"].fillna("(file)"), "fix"], sort=False)
    return grouped.agg(n_rows=("row", "size"), example=("problem", "first")).reset_index()


def outcome_counts(data: pd.DataFrame, outcome: str = "pfp", by: str = "subgroup") -> pd.DataFrame:
    """Runners and cases by group, with the crude incidence in percent.

    Returns
    -------
    DataFrame
        by, runners, cases, incidence_pct; a final row ``all`` for the whole cohort.
    """
    if outcome not in data:
        raise ValueError(f"the data have no outcome column {outcome!r}")
    groups = data[by].astype(str) if by in data else pd.Series("all", index=data.index)
    table = data.groupby(groups)[outcome].agg(runners="size", cases="sum")
    table.loc["all"] = [len(data), int(data[outcome].sum())]
    table["incidence_pct"] = (100 * table["cases"] / table["runners"]).round(1)
    return table.rename_axis(by if by in data else "group").reset_index()


def suppress_small_counts(
    table: pd.DataFrame,
    min_count: int = 5,
    columns: tuple[str, ...] = ("n", "events", "runners", "cases", "k"),
) -> pd.DataFrame:
    """Hide counts below ``min_count`` (disclosure control for reports): counts in the named
    columns, and cells written "k (p%)" or "n (events)", become "<5". Returns a copy."""
    out = table.copy()
    marker = f"<{min_count}"

    def cell(v):
        if isinstance(v, str):
            m = re.match(r"^(\d+) \((\d+)\)$", v)  # "n (events)"
            if m and min(int(m.group(1)), int(m.group(2))) < min_count:
                return marker
            m = re.match(r"^(\d+) \([\d.]+%\)$", v)  # "k (p%)"
            if m and int(m.group(1)) < min_count:
                return marker
        return v

    for column in out.columns:
        if column in columns and pd.api.types.is_numeric_dtype(out[column]):
            small = out[column].notna() & (out[column] < min_count)
            if small.any():
                out[column] = out[column].astype(object).where(~small, marker)
        elif out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(cell)
    return out


def notes(items) -> object:
    """Notes of a fit (or any list of text) as a Markdown list for a report; '' when none."""
    from IPython.display import Markdown

    items = list(getattr(items, "notes", items))
    return Markdown("\n".join(f"- {html.escape(str(n))}" for n in items) if items else "")


def show(
    table: pd.DataFrame | pd.Series,
    precision: int = 2,
    empty: str = "None.",
    links: tuple[str, ...] = ("doi", "url", "source_url"),
):
    """Render a table for a report: no index column, ``precision`` decimals, blanks for missing,
    every text HTML-escaped, and DOI or URL columns as links.

    Returns a pandas Styler (HTML in Jupyter and nbconvert), or the text ``empty`` when the
    table has no rows.
    """
    if isinstance(table, pd.Series):
        table = table.rename_axis("item").reset_index()
    if len(table) == 0:
        from IPython.display import Markdown

        return Markdown(empty)
    shown = table.copy()
    for column in shown.columns:
        if shown[column].dtype == object or pd.api.types.is_string_dtype(shown[column]):
            if column in links:
                shown[column] = shown[column].map(_link)
            else:
                shown[column] = shown[column].map(
                    lambda v: html.escape(v) if isinstance(v, str) else v
                )
    return shown.style.hide(axis="index").format(precision=precision, na_rep="")


def _link(value) -> str:
    if not isinstance(value, str) or not value:
        return ""
    url = value if value.startswith("http") else f"https://doi.org/{value}"
    text = value.removeprefix("https://").removeprefix("http://")
    if len(text) > 40:
        text = text[:37] + "..."
    return f'<a href="{html.escape(url)}">{html.escape(text)}</a>'


def smd_by_group(
    data: pd.DataFrame, factor: str, by: str, outcome: str = "pfp"
) -> tuple[list[float], list[float]]:
    """Hedges' g (PFP minus no PFP) of ``factor`` and its variance in each group of ``by``,
    groups in sorted order: the (yi, vi) of a meta-analysis across groups."""
    from .evidence.effect_sizes import smd_by_outcome

    pairs = [
        smd_by_outcome(part, factor, outcome)
        for _, part in sorted(data.groupby(data[by].astype(str)), key=lambda kv: kv[0])
    ]
    return [p[0] for p in pairs], [p[1] for p in pairs]
