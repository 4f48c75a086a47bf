"""A local cohort beside the published evidence, on the same scale, and a living update.

For each risk factor the local cohort's result is expressed as the published meta-analyses
report it: the standardised mean difference (Hedges' g) between runners who developed PFP
and those who did not. The log odds ratio per unit and per SD is given too. Each is set
beside the matching verified, prospective, pooled SMD of the registry (same factor, nearest
subgroup), tested against it (the difference local - published with its 95% CI and a z
test from both standard errors; overlapping CIs are not a test), and pooled with it by
inverse variance (a "living update" that assumes both estimate the same true effect).
"""

from __future__ import annotations

import html
import math
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import check_frame
from .._exceptions import PfpsError
from .._format import estimate_ci, fit_html, n_events, p_value
from ..cohort.quality import in_subgroup
from ..cohort.synthetic import is_synthetic
from ..cohort.variables import OUTCOME, SUBGROUPS, VARIABLES, label
from ..models.logistic import fit_logistic
from ..plots.forest import draw_forest
from .effect_sizes import smd_by_outcome
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


#: z quantile of a two-sided 95% interval (R's qnorm(0.975)): a published 95% CI spans
#: 2 · 1.959964 standard errors.
_Z95 = float(stats.norm.ppf(0.975))
#: How the "updated" estimate pools the local and the published SMD.
_UPDATED_METHOD = "common-effect (inverse variance)"


def _versus(
    local: float, local_vi: float, published: float, low: float, high: float
) -> dict[str, float]:
    """The local SMD against a published one reported as estimate (low, high), 95% CI.

    The published standard error is (high - low) / (2 · 1.959964). The difference local -
    published has se √(se_local² + se_published²), a 95% CI and a two-sided z test; the
    common-effect pool weights each estimate by its inverse variance.
    """
    pub_vi = ((high - low) / (2 * _Z95)) ** 2
    diff = local - published
    se = math.sqrt(local_vi + pub_vi)
    z = diff / se
    w_pub, w_local = 1 / pub_vi, 1 / local_vi
    pooled = (w_pub * published + w_local * local) / (w_pub + w_local)
    pooled_se = math.sqrt(1 / (w_pub + w_local))
    return {
        "difference": diff,
        "difference_low": diff - _Z95 * se,
        "difference_high": diff + _Z95 * se,
        "difference_z": z,
        "difference_p": float(2 * stats.norm.sf(abs(z))),
        "updated_smd": pooled,
        "updated_low": pooled - _Z95 * pooled_se,
        "updated_high": pooled + _Z95 * pooled_se,
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


class EvidenceComparison(pd.DataFrame):
    """The table of :func:`compare_with_evidence`: a DataFrame that renders in JupyterLab as
    a readable table (factor, n (cases), this cohort's and the published SMD with 95% CIs,
    the difference with its 95% CI and p-value, the verdict, the updated SMD).

    It is a DataFrame in every other way. pandas' subclass rules: ``_constructor`` is left
    as DataFrame's, so every frame derived from it (a filter, ``set_index``, ``copy``, a
    column) is a plain DataFrame or Series, with pandas' own display; no ``_metadata`` is
    kept. ``attrs["synthetic"]`` says whether the cohort was SYNTHETIC.
    """

    def _repr_html_(self) -> str:
        """The comparison as HTML: a header (subgroup, factors, SYNTHETIC when the cohort
        is), the readable table and what its columns mean. Every text is escaped."""
        return comparison_html(self)


def _ci_text(row: pd.Series, est: str, low: str, high: str) -> str:
    value = row.get(est)
    if value is None or pd.isna(value):
        return "-"
    return estimate_ci(value, row[low], row[high])


def _verdict_text(row: pd.Series) -> str:
    verdict = row.get("verdict")
    if isinstance(verdict, str):
        same = row.get("same_population")
        if same is not None and not pd.isna(same) and not same:
            return f"{verdict} (another population)"
        return verdict
    note = row.get("note")
    if isinstance(note, str) and note.startswith("not estimable"):
        return "not estimable in these data"
    if isinstance(note, str) and note.startswith("no verified"):
        return "no published estimate"
    return "-"


def comparison_html(table: pd.DataFrame) -> str:
    """:func:`compare_with_evidence`'s table as HTML for a notebook (what
    :class:`EvidenceComparison` shows): one row per factor with readable names, p-values
    as journals print them (:func:`pfps_stats._format.p_value`), and notes saying what
    the difference, the verdict and the updated SMD are. No small-cell suppression: for a
    report use :func:`~pfps_stats.comparison_summary` with ``min_cell``."""
    rows = []
    for _, row in table.iterrows():
        study = row.get("published_study")
        source = f"{study} ({row['published_subgroup']})" if isinstance(study, str) else "-"
        rows.append(
            {
                "Factor": row.get("label", row.get("factor", "-")),
                "n (cases)": n_events(row.get("n"), row.get("events")),
                "This cohort: SMD (95% CI)": _ci_text(row, "smd", "smd_low", "smd_high"),
                "Published SMD (95% CI)": _ci_text(
                    row, "published_smd", "published_low", "published_high"
                ),
                "Published study": source,
                "Difference (95% CI)": _ci_text(
                    row, "difference", "difference_low", "difference_high"
                ),
                "p": p_value(row.get("difference_p")),
                "Verdict": _verdict_text(row),
                "Updated SMD (95% CI)": _ci_text(row, "updated_smd", "updated_low", "updated_high"),
                "Odds ratio per SD (95% CI)": _ci_text(
                    row, "or_per_sd", "or_per_sd_low", "or_per_sd_high"
                ),
            }
        )
    subgroups = sorted({str(s) for s in table.get("subgroup", pd.Series(dtype=object)).dropna()})
    k = len(table)
    header = (
        f"This cohort beside the published evidence ({', '.join(subgroups) or 'all'}): "
        f"{k} factor{'' if k == 1 else 's'}, standardised mean differences, PFP minus no PFP"
    )
    if table.attrs.get("synthetic"):
        header += "\nSYNTHETIC data: simulated runners, not a real cohort"
    notes = [
        "Difference: this cohort's SMD minus the published one, with its 95% CI and the "
        "p-value of a z test from both standard errors (overlapping CIs are not a test).",
        "Verdict: differs when p < 0.05; consistent means no evidence of a difference, not "
        "evidence that the effects are equal (read the CI of the difference). Another "
        "population: the published estimate is for another subgroup.",
        "Updated SMD: this cohort and the published estimate pooled by inverse variance "
        "(common effect), which assumes both estimate the same true effect.",
    ]
    if not rows:
        return fit_html(header, ["No factor to compare."], "")
    explained = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return fit_html(
        header, [], pd.DataFrame(rows).to_html(index=False, escape=True), f"<ul>{explained}</ul>"
    )


def compare_with_evidence(
    cohort: pd.DataFrame,
    outcome: str = OUTCOME,
    factors: list[str] | None = None,
    *,
    subgroup: str | None = None,
    registry: pd.DataFrame | None = None,
) -> EvidenceComparison:
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
    EvidenceComparison
        A DataFrame (in JupyterLab it shows as a readable table: :class:`EvidenceComparison`;
        frames derived from it are plain DataFrames), ``attrs["synthetic"]`` True when the
        cohort is SYNTHETIC, and one row per factor:

        - factor, label, subgroup, n, events;
        - smd, smd_low, smd_high: Hedges' g, PFP minus no PFP, with its 95% CI;
        - or_per_unit, or_per_sd with their profile CIs (univariable logistic regression);
        - published_study, published_subgroup, published_smd, published_low, published_high:
          the matched registry estimate and its 95% CI;
        - difference, difference_low, difference_high, difference_z, difference_p: local
          minus published SMD, its 95% CI and two-sided z test, with se √(se_local² +
          se_published²) and se_published = (published_high - published_low) / (2 · 1.959964);
        - verdict: "differs" when difference_p < 0.05, else "consistent" (no evidence of a
          difference at the 5% level, which is not evidence that the effects are equal: the CI
          of the difference shows which differences the data cannot rule out);
        - same_population (nullable bool): the published estimate is for this cohort's
          subgroup; False when another population stands in (e.g. "adult" for "all"), which
          the note says;
        - updated_smd, updated_low, updated_high, updated_method: the published and local
          SMDs pooled by inverse variance (``updated_method`` = "common-effect (inverse
          variance)", 95% z interval). This assumes both estimate the same true effect; it
          carries no between-study variance, so with a "differs" verdict or another
          population it is doubtful, and the note says so;
        - note: the verdict in words.

        Factors without a matching published estimate have only the local columns and a note.
        A factor that cannot be estimated here (fewer than two runners with or without PFP)
        has only its counts and a note saying why.
        A published estimate reported with an asymmetric CI (e.g. back-transformed) is read
        as symmetric here.

    Notes
    -----
    The difference test, its CI and the common-effect pool were validated against R
    (``escalc`` and ``rma(method = "EE")`` of metafor 3.8.1) for BMI on the SYNTHETIC demo
    cohort: tests/evidence/reference/metafor_edge_cases.R. There, local -0.14 (-0.29, 0.00)
    and Hart 2017's 0.34 (-0.04, 0.71) have overlapping CIs, yet differ: z = -2.35,
    p = 0.019.
    """
    check_frame(cohort, "cohort")

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
    z = _Z95
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
        try:
            yi, vi = smd_by_outcome(data, factor, outcome)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = fit_logistic(x, f"{outcome} ~ {factor}", method="auto")
        except (PfpsError, ValueError) as exc:  # too few runners with (or without) PFP
            row.update(note=f"not estimable in these data: {' '.join(str(exc).split())}")
            rows.append(row)
            continue
        row.update(smd=yi, smd_low=yi - z * np.sqrt(vi), smd_high=yi + z * np.sqrt(vi))
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
        )
        versus = _versus(yi, vi, pub["estimate"], pub["ci_low"], pub["ci_high"])
        differs = versus["difference_p"] < 0.05
        same = pub["subgroup"] == subgroup
        row.update(
            difference=versus["difference"],
            difference_low=versus["difference_low"],
            difference_high=versus["difference_high"],
            difference_z=versus["difference_z"],
            difference_p=versus["difference_p"],
            verdict="differs" if differs else "consistent",
            same_population=same,
            updated_smd=versus["updated_smd"],
            updated_low=versus["updated_low"],
            updated_high=versus["updated_high"],
            updated_method=_UPDATED_METHOD,
            note=_note(row, versus, pub, differs=differs, same=same),
        )
        rows.append(row)
    table = pd.DataFrame(rows)
    if "same_population" in table:
        table["same_population"] = table["same_population"].astype("boolean")
    table = EvidenceComparison(table)
    table.attrs["synthetic"] = bool(is_synthetic(cohort))
    return table


def _note(row: dict, versus: dict, pub: pd.Series, *, differs: bool, same: bool) -> str:
    """The verdict in words: what was compared, the difference and its p-value, the
    population, and the assumption of the updated estimate."""
    source = f"{pub['study']} ({pub['subgroup']})"
    difference = estimate_ci(
        versus["difference"], versus["difference_low"], versus["difference_high"]
    )
    p = p_value(versus["difference_p"], prefix=True)
    verdict = "differs from" if differs else "no evidence of a difference from"
    text = f"{verdict} {source}: difference {difference}, {p}"
    if not same:
        text += (
            f". The published estimate is from another population ({pub['subgroup']}) than "
            f"this cohort ({row['subgroup']}): a difference may reflect the populations"
        )
    text += (
        ". Updated: a common-effect (inverse-variance) pool, which assumes both estimate the "
        "same true effect"
    )
    if differs or not same:
        text += " (doubtful here)"
    return text


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
    if not parts:
        raise ValueError("nothing to draw: no factor has a local SMD (see the table's notes)")
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
            f"<tr><td{_LEFT}>{e(row['claim'])}</td><td{_LEFT}><b>{e(row['verdict'])}</b></td>"
            f"<td{_LEFT}>{e(row['evidence'])}</td><td{_SOURCES}>{links}</td></tr>"
        )
    head = "".join(
        f"<th{_LEFT}>{name}</th>"
        for name in ("Claim", "Verdict", "What the evidence says", "Sources")
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


#: Text cells read from the left (notebooks and nbconvert right-align table cells), wrapping
#: between words, at least 8em wide so that narrow pages do not stack one word per line.
_LEFT = ' style="text-align:left;vertical-align:top;min-width:8em"'
#: Sources: long addresses break anywhere rather than widen their column.
_SOURCES = ' style="text-align:left;vertical-align:top;min-width:8em;overflow-wrap:anywhere"'
