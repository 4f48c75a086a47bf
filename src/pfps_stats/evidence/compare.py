"""A local cohort beside the published evidence, on the same scale, and a living update.

For each risk factor the local cohort's result is expressed as the published meta-analyses
report it: the standardised mean difference (Hedges' g) between runners who developed PFP
and those who did not. The log odds ratio per unit and per SD is given too. Each is set
beside the matching verified, prospective, pooled SMD of the registry (same factor, nearest
subgroup), with a verdict on agreement, and pooled with it (a "living update").
"""

from __future__ import annotations

import html
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..variables import VARIABLES, label
from .effect_sizes import smd_by_outcome
from .meta import MetaWarning, meta_analysis
from .registry import load_claims, load_evidence

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

#: Order in which a registry subgroup stands in for the cohort's.
_NEAREST = {
    "military": ["military", "all", "adult"],
    "adolescent": ["adolescent", "all"],
    "recreational": ["recreational", "adult", "all"],
    "all": ["all", "adult", "military", "recreational", "adolescent"],
}


def _published(registry: pd.DataFrame, factor: str, subgroup: str) -> pd.Series | None:
    rows = registry[
        (registry["factor"] == factor)
        & (registry["measure"] == "SMD")
        & (registry["design"] == "prospective")
        & registry["verified"]
    ]
    for candidate in _NEAREST.get(subgroup, [subgroup, "all"]):
        match = rows[rows["subgroup"] == candidate]
        if len(match):
            return match.iloc[0]
    return None


def compare_with_evidence(
    cohort: pd.DataFrame,
    outcome: str = "pfp",
    factors: list[str] | None = None,
    *,
    subgroup: str | None = None,
    registry: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The cohort's risk factors beside the published pooled estimates.

    Parameters
    ----------
    cohort : DataFrame
        Canonical columns (``ps.load_cohort``).
    outcome : str
    factors : list of str, optional
        Numeric factors; default: those with a verified prospective SMD in the registry.
    subgroup : str, optional
        Restrict the cohort to one subgroup and match published estimates to it; default:
        the cohort's only subgroup, or "all".
    registry : DataFrame, optional
        Default :func:`~pfps_stats.load_evidence`.

    Returns
    -------
    DataFrame
        One row per factor: factor, label, subgroup, n, events; smd, smd_low, smd_high
        (Hedges' g, PFP minus no PFP, 95% CI); or_per_unit, or_per_sd with their profile
        CIs (univariable logistic regression); published_study, published_subgroup,
        published_smd, published_low, published_high; agrees (the two CIs overlap; a
        pooled SMD from the registry reports no prediction interval); updated_smd,
        updated_low, updated_high, updated_tau2 (the published and local SMDs pooled by
        DerSimonian-Laird: indicative only with two estimates); note.
    """
    from ..models import fit_logistic
    from ..quality import in_subgroup

    registry = load_evidence() if registry is None else registry
    if subgroup is None and "subgroup" in cohort and cohort["subgroup"].nunique() == 1:
        subgroup = str(cohort["subgroup"].dropna().iloc[0])
    data = in_subgroup(cohort, subgroup) if subgroup not in (None, "all") else cohort
    subgroup = subgroup or "all"
    if factors is None:
        candidates = registry[(registry["measure"] == "SMD") & registry["verified"]]["factor"]
        factors = [f for f in dict.fromkeys(candidates) if f in data]
    unknown = [f for f in factors if f not in data]
    if unknown:
        raise ValueError(f"not columns of the cohort: {', '.join(map(repr, unknown))}")
    z = stats.norm.ppf(0.975)
    rows = []
    for factor in factors:
        x = data[[factor, outcome]].dropna()
        row = {
            "factor": factor,
            "label": label(factor),
            "subgroup": subgroup,
            "n": len(x),
            "events": int((x[outcome] == 1).sum()),
        }
        yi, vi = smd_by_outcome(data, factor, outcome)
        row.update(smd=yi, smd_low=yi - z * np.sqrt(vi), smd_high=yi + z * np.sqrt(vi))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_logistic(x, f"{outcome} ~ {factor}", method="auto")
        for name, per in (("unit", None), ("sd", "sd")):
            ors = fit.odds_ratios(per=per).iloc[0]
            row.update(
                {
                    f"or_per_{name}": ors["odds_ratio"],
                    f"or_per_{name}_low": ors["ci_low"],
                    f"or_per_{name}_high": ors["ci_high"],
                }
            )
        pub = _published(registry, factor, subgroup)
        if pub is None:
            row.update(note="no verified prospective SMD in the registry")
            rows.append(row)
            continue
        row.update(
            published_study=pub["study"],
            published_subgroup=pub["subgroup"],
            published_smd=pub["estimate"],
            published_low=pub["ci_low"],
            published_high=pub["ci_high"],
            agrees=bool(row["smd_low"] <= pub["ci_high"] and pub["ci_low"] <= row["smd_high"]),
        )
        pub_vi = ((pub["ci_high"] - pub["ci_low"]) / (2 * z)) ** 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetaWarning)
            pooled = meta_analysis([pub["estimate"], yi], [pub_vi, vi], method="DL")
        row.update(
            updated_smd=pooled.estimate,
            updated_low=pooled.ci_low,
            updated_high=pooled.ci_high,
            updated_tau2=pooled.tau2,
            note=("agrees with" if row["agrees"] else "differs from")
            + f" {pub['study']} ({pub['subgroup']})",
        )
        rows.append(row)
    return pd.DataFrame(rows)


def plot_comparison(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Local, published and updated SMDs per factor, with 95% CIs and a line at 0.

    Returns
    -------
    Axes
    """
    import matplotlib.pyplot as plt

    ax = plt.gca() if ax is None else ax
    n = len(table)
    y = np.arange(n)[::-1].astype(float)
    series = [
        ("smd", "local cohort", "o", "C0", 0.2),
        ("published_smd", "published", "D", "C2", 0.0),
        ("updated_smd", "updated (pooled)", "s", "C1", -0.2),
    ]
    for column, name, marker, colour, offset in series:
        if column not in table:
            continue
        base = column.replace("_smd", "") if column != "smd" else "smd"
        low = table[f"{base}_low"]
        high = table[f"{base}_high"]
        ok = table[column].notna().to_numpy()
        if not ok.any():
            continue
        ax.errorbar(
            table[column][ok],
            y[ok] + offset,
            xerr=[(table[column] - low)[ok], (high - table[column])[ok]],
            fmt=marker,
            color=colour,
            ms=6,
            capsize=2.5,
            lw=1.4,
            label=name,
        )
    if "published_study" in table:
        for yi, (_, row) in zip(y, table.iterrows(), strict=True):
            if isinstance(row.get("published_study"), str):
                ax.annotate(
                    f" {row['published_study']} ({row['published_subgroup']})",
                    (row["published_high"], yi),
                    va="center",
                    fontsize="x-small",
                    color="C2",
                )
    ax.axvline(0, color="0.4", lw=1, ls="--")
    names = [VARIABLES[f].label if f in VARIABLES else f for f in table["factor"]]
    ax.set_yticks(y, labels=names)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlabel("Standardised mean difference, PFP minus no PFP (95% CI)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


def claims_html(claims: pd.DataFrame | None = None) -> str:
    """The claims check as an HTML table: each claim, its verdict, the evidence and links to
    the sources. Every text is HTML-escaped."""
    claims = load_claims() if claims is None else claims
    e = html.escape
    rows = []
    for _, row in claims.iterrows():
        links = ", ".join(
            f'<a href="{e(u)}">{e(u.replace("https://", ""))}</a>' for u in row["links"]
        )
        rows.append(
            f"<tr><td>{e(row['claim'])}</td><td><b>{e(row['verdict'])}</b></td>"
            f"<td>{e(row['evidence'])}</td><td>{links}</td></tr>"
        )
    return (
        "<table><thead><tr><th>Claim</th><th>Verdict</th><th>What the evidence says</th>"
        "<th>Sources</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def comparison_summary(table: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """:func:`compare_with_evidence` as a compact table for a report.

    Returns
    -------
    DataFrame
        factor (label), n_events, local_smd, local_or_per_sd, published, agrees, updated_smd;
        estimates read "-0.32 (-0.47, -0.17)".
    """
    f = f"{{:.{digits}f}}"

    def ci(row, est, lo, hi):
        if est not in row or pd.isna(row.get(est)):
            return "-"
        return f"{f.format(row[est])} ({f.format(row[lo])}, {f.format(row[hi])})"

    rows = []
    for _, row in table.iterrows():
        published = ci(row, "published_smd", "published_low", "published_high")
        if published != "-":
            published += f" {row['published_study']} ({row['published_subgroup']})"
        agrees = row.get("agrees")
        rows.append(
            {
                "factor": row["label"],
                "n_events": f"{row['n']} ({row['events']})",
                "local_smd": ci(row, "smd", "smd_low", "smd_high"),
                "local_or_per_sd": ci(row, "or_per_sd", "or_per_sd_low", "or_per_sd_high"),
                "published": published,
                "agrees": "-" if pd.isna(agrees) else ("yes" if agrees else "no"),
                "updated_smd": ci(row, "updated_smd", "updated_low", "updated_high"),
            }
        )
    return pd.DataFrame(rows)
