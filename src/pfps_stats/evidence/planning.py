"""Study planning from the published evidence: how many runners a prospective cohort needs.

:func:`plan_study` reads the registry's pooled estimate for a risk factor in a subgroup (an
SMD between runners who developed PFP and those who did not, or an odds ratio of a two-level
factor) and the subgroup's PFP incidence, and turns them into the runners to recruit and the
cases to expect with :func:`~pfps_stats.power_logistic` (the likelihood-ratio test's power,
Self, Mauritsen & Ohara 1992; or Hsieh, Bloch & Larsen 1998). For a factor that is normal with
equal variances in both outcome groups, the log odds ratio per within-group SD equals the SMD,
which links the registry to the logistic model.

The assumptions (incidence over the follow-up, a normal factor, drop-out at random) are
written out in ``docs/study-planning.md``.
"""

from __future__ import annotations

import difflib
import html

import pandas as pd

from .._exceptions import EvidenceError
from .._format import fit_html
from ..cohort.synthetic import INCIDENCE, PROFILES
from ..cohort.variables import VARIABLES
from ..models.power import METHODS, MIN_EVENTS, design_items, items_html, power_logistic
from .registry import SUBGROUPS, load_evidence

#: Where :data:`pfps_stats.cohort.synthetic.INCIDENCE` (PFP incidence by subgroup, over each
#: study's follow-up) comes from; see docs/evidence-sources.md ("neal2019, incidence").
INCIDENCE_SOURCE = (
    "Neal et al. 2019, conference abstract, Br J Sports Med 52 Suppl 1 A3.2 "
    "(https://bjsm.bmj.com/content/52/Suppl_1/A3.2)"
)
#: How each way of planning picks the effect.
USES = ("estimate", "conservative")
#: The registry row preferred when several are usable: Neal et al. 2019, the meta-analysis of
#: prospective studies the registry is built on.
PREFERRED_STUDY = "neal2019"
#: Two-level factors an odds ratio may be planned for: the level counted as exposed, the
#: attribute of :data:`pfps_stats.cohort.synthetic.PROFILES` that holds its share, and the
#: comparison in words.
BINARY_FACTORS = {"sex": ("F", "female", "women against men")}
#: Readers' names of the subgroups, for the sentence.
POPULATION = {
    "military": "military recruits",
    "adolescent": "adolescents",
    "recreational": "recreational runners",
    "adult": "adult runners",
    "all": "runners",
}
_SCALE = {"SMD": "smd", "OR": "or_binary"}


def _unusable(row: pd.Series) -> str | None:
    """Why a registry row cannot be planned from, or None when it can."""
    if not row["verified"]:
        return "not verified against its source"
    if row["design"] != "prospective":
        return f"{row['design']} design (measured once PFP had begun, not before)"
    if str(row.get("level", "")).strip():
        return f"for one level ({row['level']}) of a categorical exposure"
    if row["measure"] == "SMD":
        return None
    if row["measure"] == "OR":
        if row["factor"] in BINARY_FACTORS:
            return None
        return (
            "an odds ratio of a numeric factor whose increment (unit, SD) the registry does "
            "not give"
        )
    return f"measure {row['measure']} is neither an SMD nor an odds ratio"


def _usable(registry: pd.DataFrame) -> pd.DataFrame:
    keep = [_unusable(row) is None for _, row in registry.iterrows()]
    return registry[keep]


def _pairs(registry: pd.DataFrame) -> str:
    usable = _usable(registry)
    pairs = dict.fromkeys(zip(usable["factor"], usable["subgroup"], strict=True))
    return ", ".join(f"{f} ({s})" for f, s in pairs) or "none"


def _pick(rows: pd.DataFrame) -> pd.DataFrame:
    """Usable rows, the preferred first: Neal et al. 2019, then most studies, participants."""
    order = rows.assign(
        _neal=rows["study"] != PREFERRED_STUDY,
        _k=-rows["n_studies"].fillna(0),
        _n=-rows["n_participants"].fillna(0),
    )
    return order.sort_values(["_neal", "_k", "_n"], kind="stable").drop(
        columns=["_neal", "_k", "_n"]
    )


def _did_you_mean(value, allowed) -> str:
    close = difflib.get_close_matches(str(value), list(allowed), n=2)
    return f"; did you mean {' or '.join(map(repr, close))}?" if close else ""


def _check_choice(name: str, value, allowed) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(
            f"{name}={value!r} is not one of {', '.join(allowed)}{_did_you_mean(value, allowed)}"
        )


def _registry_row(registry: pd.DataFrame, factor: str, subgroup: str) -> tuple[pd.Series, str]:
    """The registry row to plan from, and the other usable rows (text, '' when none)."""
    rows = registry[(registry["factor"] == factor) & (registry["subgroup"] == subgroup)]
    reasons = {i: _unusable(row) for i, row in rows.iterrows()}
    usable = rows.loc[[i for i, why in reasons.items() if why is None]]
    if usable.empty:
        found = "; ".join(
            f"{rows.at[i, 'study']} {rows.at[i, 'measure']} {rows.at[i, 'estimate']:g}: {why}"
            for i, why in reasons.items()
        )
        raise EvidenceError(
            f"the evidence registry has no usable estimate for factor={factor!r} in "
            f"subgroup={subgroup!r}"
            + (f" (its rows: {found})" if found else "")
            + f". Usable (factor, subgroup) pairs: {_pairs(registry)}. Planning needs a "
            "verified, prospective SMD, or odds ratio of a two-level factor; for another "
            "effect call ps.power_logistic(effect, scale=..., incidence=..., power=...)."
        )
    ordered = _pick(usable)
    others = [
        f"{r['study']} {r['measure']} {r['estimate']:g} ({r['ci_low']:g}, {r['ci_high']:g})"
        for _, r in ordered.iloc[1:].iterrows()
    ]
    return ordered.iloc[0], "; ".join(others)


def _short_citation(row: pd.Series) -> str:
    """'Neal et al. 2019' from the study key ('neal2019': a surname and a year)."""
    key = str(row["study"])
    name = key.rstrip("0123456789")
    year = key[len(name) :]
    return f"{name[:1].upper()}{name[1:]} et al. {year}".strip()


def _effect_text(value: float, measure: str) -> str:
    return f"{measure} {value:.2f}".replace("-", "\N{MINUS SIGN}")


def _sentence(plan: dict, row: pd.Series, factor: str, subgroup: str) -> str:
    minus = "\N{MINUS SIGN}"
    what = VARIABLES[factor].label.lower() if factor in VARIABLES else factor
    people = POPULATION.get(subgroup, subgroup)
    measure = row["measure"]
    cite = _short_citation(row)
    ci = f"95% CI {row['ci_low']:.2f} to {row['ci_high']:.2f}".replace("-", minus)
    if measure == "SMD":
        effect = (
            f"a difference in {what} of {_effect_text(plan['effect'], 'SMD')} between "
            f"{people} who develop PFP and those who do not"
        )
    else:
        _, _, comparison = BINARY_FACTORS[factor]
        effect = f"an odds ratio of {plan['effect']:.2f} for {comparison}"
    if plan["use"] == "conservative":
        basis = (
            f"conservative: the end of the 95% CI nearest no effect; the published estimate "
            f"of {cite} is {_effect_text(row['estimate'], measure)}, {ci}"
        )
    else:
        basis = f"the published estimate of {cite}, {ci}"
    assume = f"a PFP incidence of {plan['incidence']:.0%} over follow-up"
    if plan["dropout"] > 0:
        assume += f" and {plan['dropout']:.0%} drop-out"
    if plan["r2_other"] > 0:
        assume += (
            f", adjusting for covariates that explain {plan['r2_other']:.0%} of the "
            f"factor's variance"
        )
    if plan["r2_other"] > 0:
        model = "a logistic regression adjusted for the other covariates"
    else:
        model = "an unadjusted logistic regression"
    if measure == "SMD":
        model += (
            f" (odds ratio {plan['odds_ratio']:.2f} per within-group SD, for a normally "
            "distributed factor with the same SD in both groups)"
        )
    whom = f"of whom about {plan['events']:.0f} are expected to develop PFP"
    if plan["dropout"] > 0:
        whom = f"of whom {plan['n_analysed']} are analysed and about {plan['events']:.0f} are "
        whom += "expected to develop PFP"
    method = (
        "likelihood-ratio test, Self et al. 1992" if plan["method"] == "lr" else "Hsieh et al. 1998"
    )
    sources = f"{method}; effect from {cite}"
    if plan["incidence_source"] == INCIDENCE_SOURCE:
        sources += (
            "; incidence from Neal et al. 2019's conference abstract, pooled over its studies' "
            "follow-up"
        )
    sentence = (
        f"To detect {effect} ({basis}) with {plan['power_target']:.0%} power at two-sided "
        f"alpha {plan['alpha']:g} in {model}, assuming {assume}, the cohort needs "
        f"{plan['n']} {people}, {whom} ({sources})."
    )
    if plan["events"] < MIN_EVENTS:
        sentence += (
            f" With about {plan['events']:.0f} expected cases the odds ratio will be estimated "
            "imprecisely whatever the power."
        )
    return sentence


def _link(plan: pd.Series) -> str:
    """An escaped link to the planned estimate's source: its DOI, else its web address, or
    '' when neither is an address."""
    doi = str(plan.get("doi") or "").strip()
    url = f"https://doi.org/{doi}" if doi.startswith("10.") else str(plan.get("source_url") or "")
    if not url.startswith(("https://", "http://")):
        return ""
    e = html.escape
    return f'<p>Source: <a href="{e(url, quote=True)}">{e(url)}</a></p>'


class StudyPlan(pd.Series):
    """The result of :func:`plan_study`: a Series that renders in JupyterLab as the plan
    (runners to recruit and analysed, expected cases, power, the published effect with its
    95% CI and source, incidence, method), the sentence for the protocol and the caveats.

    It is a Series in every other way; ``_constructor`` is left as Series's, so a selection
    (``plan[["n", "events"]]``) or any derived object is a plain Series or DataFrame.
    """

    def _repr_html_(self) -> str:
        """The plan as HTML: a header (factor, population, runners to recruit), the readable
        table, a link to the source, the sentence and the notes. Every text is escaped."""
        what = VARIABLES[self["factor"]].label if self["factor"] in VARIABLES else self["factor"]
        people = POPULATION.get(self["subgroup"], self["subgroup"])
        header = (
            f"Study plan: {what} in {people}: {int(self['n'])} runners to recruit for "
            f"{float(self['power_target']):.0%} power"
        )
        basis = "the published estimate"
        if self["use"] == "conservative":
            basis = "the end of the published 95% CI nearest no effect (conservative)"
        items = [
            ("Planned for", basis),
            *design_items(self),
            (
                "Published estimate (95% CI)",
                f"{self['measure']} {float(self['estimate']):g} ({float(self['ci_low']):g} to "
                f"{float(self['ci_high']):g}), {_short_citation(self)}, {self['design']}, "
                f"evidence level {self['evidence_level'] or '-'}",
            ),
            ("Incidence from", str(self["incidence_source"])),
        ]
        if self["method"] != "hsieh":
            items.append(
                (
                    "Runners by Hsieh et al. 1998",
                    f"{int(self['n_hsieh'])} (as R's powerMediation; optimistic for large effects)",
                )
            )
        if self["other_rows"]:
            items.append(("Other usable registry rows", str(self["other_rows"])))
        sentence = f"<blockquote>{html.escape(str(self['sentence']))}</blockquote>"
        return fit_html(
            header, self.attrs.get("notes", []), items_html(items), _link(self) + sentence
        )


def plan_study(
    factor: str,
    subgroup: str,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
    use: str = "estimate",
    dropout: float = 0.0,
    r2_other: float = 0.0,
    incidence: float | None = None,
    method: str = "lr",
    registry: pd.DataFrame | None = None,
) -> StudyPlan:
    """Runners and cases a prospective cohort needs to detect a published effect.

    Reads the evidence registry's estimate for ``factor`` in ``subgroup`` (a verified,
    prospective SMD, PFP minus no PFP; or the odds ratio of a two-level factor, e.g. sex) and
    the subgroup's PFP incidence, and solves :func:`~pfps_stats.power_logistic` for the
    smallest cohort with the target power. When several registry rows are usable, the pooled
    estimate of Neal et al. 2019 is preferred, then the row pooling most studies; the result
    names the row used and the others.

    Parameters
    ----------
    factor : str
        A canonical variable name, e.g. ``"knee_ext_strength_nmkg"``.
    subgroup : {"military", "adolescent", "recreational", "adult", "all"}
        The population to be recruited; the registry's estimate must be for it. For "adult"
        and "all" (no published incidence) give ``incidence``.
    power : float
        Target power, in (0, 1).
    alpha : float
        Two-sided significance level, in (0, 1).
    use : {"estimate", "conservative"}
        Plan for the published estimate, or for the end of its 95% CI nearest no effect (SMD
        0, OR 1): a larger cohort that still has the target power if the true effect is as
        small as the data allow.
    dropout : float
        Share of recruited runners expected to be lost before the outcome, in [0, 1); the
        required number is inflated to ``n_analysed / (1 - dropout)``.
    r2_other : float
        R² of the factor on the other covariates of the analysis model, in [0, 1) (0: an
        unadjusted model); inflates n by 1 / (1 - R²).
    incidence : float, optional
        PFP incidence over the planned follow-up, in (0, 1); default the subgroup's
        published incidence (:data:`pfps_stats.cohort.synthetic.INCIDENCE`, Neal et al.
        2019: military 11%, adolescent 11%, recreational 6%).
    method : {"lr", "hsieh"}
        As :func:`~pfps_stats.power_logistic`: the likelihood-ratio test's power (default),
        or Hsieh et al.'s (1998) formulas, which give too few runners for large effects.
    registry : DataFrame, optional
        The registry as :func:`~pfps_stats.load_evidence` returns it (default: the shipped
        registry).

    Returns
    -------
    StudyPlan
        A Series (shown in JupyterLab as the plan and its sentence, :class:`StudyPlan`):
        ``factor``, ``subgroup``; ``n`` (runners to recruit), ``n_analysed`` (after drop-out),
        ``events`` (expected cases among them); ``power`` (at ``n``, at least the target),
        ``power_target``, ``alpha``, ``dropout``, ``r2_other``; ``use``; ``effect`` (the value
        planned for), ``scale`` ("smd" or "or_binary"), ``log_or`` (per SD, or exposed vs
        not), ``exposed`` (share exposed, for an odds ratio), ``measure``, ``estimate``,
        ``ci_low``, ``ci_high`` (the registry row); ``study``, ``citation``, ``doi``,
        ``source_url``, ``evidence_level``, ``design``, ``registry_note`` (the row's source and
        note); ``incidence``,
        ``incidence_source``; ``method`` and ``method_description``; ``n_hsieh`` (the runners
        Hsieh et al.'s formula, as R's powerMediation, would give, for comparison); ``other_rows`` (the
        other usable registry rows, '' when none); ``sentence``, a sentence a protocol can
        quote. ``attrs["notes"]``: power_logistic's caveats (few expected cases, the Wald
        test's lower power, an effect beyond those checked by simulation).

    Raises
    ------
    ValueError
        Naming the argument: an unknown factor, subgroup or ``use``; a conservative plan
        whose CI includes no effect; ``power``, ``alpha``, ``dropout``, ``r2_other`` or
        ``incidence`` out of range (from :func:`~pfps_stats.power_logistic`).
    EvidenceError
        The registry has no usable estimate for the pair; lists the pairs that have one.

    Notes
    -----
    The numbers are those of :func:`~pfps_stats.power_logistic` on the registry's values
    (checked in ``tests/evidence/test_planning.py``), whose agreement with simulation is
    checked in ``tests/models``. An SMD is planned as :func:`~pfps_stats.power_logistic`
    plans it (a normal factor with the same SD in both outcome groups, whose log odds ratio
    per within-group SD is the SMD; docs/study-planning.md); its sign does not change the
    sample size. An odds ratio of sex uses the subgroup's share of women in
    :data:`pfps_stats.cohort.synthetic.PROFILES` as ``exposed``.

    Examples
    --------
    >>> plan = ps.plan_study("knee_ext_strength_nmkg", "military", dropout=0.1)  # doctest: +SKIP
    >>> plan["n"], plan["sentence"]                                               # doctest: +SKIP
    """
    registry = load_evidence() if registry is None else registry
    needed = {"study", "factor", "subgroup", "measure", "estimate", "ci_low", "ci_high"}
    if not isinstance(registry, pd.DataFrame) or not needed <= set(registry.columns):
        raise ValueError(
            "registry must be the registry as ps.load_evidence() returns it (a DataFrame with "
            f"columns {', '.join(sorted(needed))}, ...), not {type(registry).__name__}; leave "
            "it out for the shipped registry"
        )
    _check_choice("use", use, USES)
    _check_choice("method", method, METHODS)
    known = {*VARIABLES, *registry["factor"]}
    if not isinstance(factor, str) or factor not in known:
        raise ValueError(
            f"factor={factor!r} is not a canonical variable name{_did_you_mean(factor, known)} "
            f"(`pfps-stats variables` lists them). The registry has usable estimates for: "
            f"{_pairs(registry)}"
        )
    _check_choice("subgroup", subgroup, SUBGROUPS)
    row, other_rows = _registry_row(registry, factor, subgroup)
    measure = row["measure"]
    scale = _SCALE[measure]
    null = 0.0 if measure == "SMD" else 1.0
    if use == "conservative":
        low, high = float(row["ci_low"]), float(row["ci_high"])
        if low <= null <= high:
            raise ValueError(
                f"use='conservative': the 95% CI of {row['study']}'s {measure} for {factor} "
                f"in {subgroup} ({low:g}, {high:g}) includes no effect ({measure} {null:g}), "
                "so no cohort has the target power for its end nearest no effect. Plan with "
                "use='estimate', or for the smallest effect that matters with ps.power_logistic"
            )
        effect = high if float(row["estimate"]) < null else low
    else:
        effect = float(row["estimate"])
    exposed = None
    if scale == "or_binary":
        level, attribute, _ = BINARY_FACTORS[factor]
        if subgroup not in PROFILES:
            raise ValueError(
                f"subgroup={subgroup!r}: the share of runners with {factor} {level} is known only "
                f"for {', '.join(PROFILES)}; plan with ps.power_logistic(..., exposed=...)"
            )
        exposed = float(getattr(PROFILES[subgroup], attribute)[0])
    if incidence is None:
        if subgroup not in INCIDENCE:
            published = ", ".join(f"{k} {v:.0%}" for k, v in INCIDENCE.items())
            raise ValueError(
                f"incidence: no published PFP incidence for subgroup={subgroup!r} (Neal et al. "
                f"2019 gives {published}); give incidence= (--incidence on the command line), the expected share of "
                "runners "
                "who develop PFP over the follow-up"
            )
        incidence_used, incidence_source = INCIDENCE[subgroup], INCIDENCE_SOURCE
    else:
        incidence_used, incidence_source = incidence, "given (incidence=), not from the registry"
    if power is None:
        raise ValueError(
            "power must be the target power, strictly between 0 and 1 (e.g. 0.8); plan_study "
            "returns the runners needed for it (for the power of a given n, use "
            "ps.power_logistic(effect, ..., n=...))"
        )
    design = {
        "scale": scale,
        "incidence": incidence_used,
        "power": power,
        "alpha": alpha,
        "exposed": exposed,
        "r2_other": r2_other,
        "dropout": dropout,
    }
    result = power_logistic(effect, **design, method=method)
    hsieh = result if method == "hsieh" else power_logistic(effect, **design, method="hsieh")
    plan = {
        "factor": factor,
        "subgroup": subgroup,
        "n": int(result["n"]),
        "n_analysed": int(result["n_analysed"]),
        "events": float(result["events"]),
        "power": float(result["power"]),
        "power_target": float(power),
        "alpha": float(alpha),
        "dropout": float(dropout),
        "r2_other": float(r2_other),
        "use": use,
        "effect": float(effect),
        "scale": scale,
        "log_or": float(result["log_or"]),
        "odds_ratio": float(result["odds_ratio"]),
        "exposed": exposed,
        "measure": measure,
        "estimate": float(row["estimate"]),
        "ci_low": float(row["ci_low"]),
        "ci_high": float(row["ci_high"]),
        "study": row["study"],
        "citation": row["citation"],
        "doi": row["doi"],
        "source_url": row["source_url"],
        "evidence_level": row["evidence_level"],
        "design": row["design"],
        "registry_note": row["note"],
        "incidence": float(incidence_used),
        "incidence_source": incidence_source,
        "method": result["method"],
        "method_description": result["method_description"],
        "n_hsieh": int(hsieh["n"]),
        "other_rows": other_rows,
    }
    plan["sentence"] = _sentence(plan, row, factor, subgroup)
    if any("overestimated" in note for note in result.attrs.get("notes", [])):
        plan["sentence"] += (
            " For an effect this large Hsieh's formula overestimates power, so this is a lower "
            "bound on the cohort needed; check it by simulation before fixing the sample size."
        )
    out = StudyPlan(plan, name=f"{factor} ({subgroup})", dtype=object)
    out.attrs["notes"] = list(result.attrs.get("notes", []))
    return out
