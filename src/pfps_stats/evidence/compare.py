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

from .._exceptions import MetaWarning
from ..cohort.quality import in_subgroup
from ..cohort.variables import OUTCOME, SUBGROUPS, VARIABLES, label
from ..models.logistic import fit_logistic
from ..plots.forest import draw_forest
from .effect_sizes import smd_by_outcome
from .meta import meta_analysis
from .registry import load_claims, load_evidence

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

#: Order in which a registry subgroup stands in for the cohort's.
_NEAREST = {
    "military": ["military", "all", "adult"],
    "adolescent": ["adolescent", "all"],
    "recreational": ["recreational", "adult", "all"],
    "all": ["all", "adult", *SUBGROUPS],
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
    outcome: str = OUTCOME,
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
    """Local, published and updated SMDs per factor, with 95% CIs and a line at 0, drawn by
    the toolkit's one forest renderer; the published study is named at the right.

    Returns
    -------
    Axes
    """
    series = [
        ("smd", "smd_low", "smd_high", "local cohort"),
        ("published_smd", "published_low", "published_high", "published"),
        ("updated_smd", "updated_low", "updated_high", "updated (pooled)"),
    ]
    names = [VARIABLES[f].label if f in VARIABLES else f for f in table["factor"]]
    study = (
        [
            f"{s} ({g})" if isinstance(s, str) else ""
            for s, g in zip(table["published_study"], table["published_subgroup"], strict=True)
        ]
        if "published_study" in table
        else [""] * len(table)
    )
    parts = [
        pd.DataFrame(
            {
                "label": names,
                "estimate": table[est].to_numpy(float),
                "ci_low": table[lo].to_numpy(float),
                "ci_high": table[hi].to_numpy(float),
                "series": name,
                "annotation": study,
            }
        )
        for est, lo, hi, name in series
        if est in table and table[est].notna().any()
    ]
    return draw_forest(
        pd.concat(parts, ignore_index=True),
        ax,
        null=0.0,
        xlabel="Standardised mean difference, PFP minus no PFP (95% CI)",
        annotation_title="published study",
    )


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
