"""Power and sample size of a logistic model for one risk factor, by the formulas of Hsieh,
Bloch & Larsen (1998): :func:`power_logistic` (give ``n`` to get power, or ``power`` to get
the smallest ``n``) and :func:`power_curve` (power at several sample sizes).

Formulas
--------
Two-sided test, at level ``alpha``, of the factor's coefficient in ``logit P(Y=1) = b0 + b X
(+ other covariates)``; ``z_q`` is the standard normal ``q`` quantile and ``P`` the overall
incidence (event rate) of the outcome.

*Continuous factor* (Hsieh et al. 1998, eq. 1; X normal), with ``beta*`` the log odds ratio
per standard deviation of X::

    n = (z_{1-alpha/2} + z_{power})^2 / (P (1 - P) beta*^2)

*Binary factor* (Hsieh et al. 1998, eq. 2, after Whittemore 1981), with ``B`` the proportion
exposed, ``P1`` and ``P2`` the incidence among the unexposed and the exposed and
``P = (1 - B) P1 + B P2``::

    n = (z_{1-alpha/2} sqrt(P (1 - P) / B) + z_{power} sqrt(P1 (1 - P1) + P2 (1 - P2) (1 - B) / B))^2
        / ((P1 - P2)^2 (1 - B))

(the two-proportion formula with the null variance pooled, written per total n).

*Adjustment* (Hsieh et al. 1998, section 3): when the model also holds other covariates whose
regression on X has ``R^2 = r2_other``, ``n`` is multiplied by the variance inflation factor
``1 / (1 - R^2)``; power at ``n`` uses ``n (1 - R^2)``.

*Power at a given n* inverts the same formulas, counting both rejection regions::

    continuous: power = Phi(d - z_{1-alpha/2}) + Phi(-d - z_{1-alpha/2}),
                d = |beta*| sqrt(n (1 - R^2) P (1 - P))
    binary:     power = Phi((D - z_{1-alpha/2} s0) / s1) + Phi((-D - z_{1-alpha/2} s0) / s1),
                D = |P1 - P2| sqrt(n (1 - R^2) (1 - B)),
                s0 = sqrt(P (1 - P) / B),  s1 = sqrt(P1 (1 - P1) + P2 (1 - P2) (1 - B) / B)

so that power is ``alpha`` at no effect; the second term (rejecting in the wrong direction) is
below 1e-4 whenever power is above 0.5. The sample size for a target power is the closed form
above rounded up to whole runners, and the power reported is the power at that n (>= target).

*Drop-out*: the runners analysed are ``floor(n (1 - dropout))``; the runners to recruit for a
target power are ``ceil(n_analysed / (1 - dropout))``.

Effect scales
-------------
- ``"smd"``: the standardised mean difference of the factor between runners who develop PFP
  and those who do not (cases minus non-cases, in within-group SDs). If X is normal with the
  same SD in both outcome groups, ``logit P(Y=1 | X)`` is exactly linear in X with log odds
  ratio ``smd`` per within-group SD. Hsieh's ``beta*`` is per SD of X in the whole cohort
  (the marginal SD), which is larger than the within-group SD by the spread of the two group
  means: ``SD_marginal = sqrt(1 + P (1 - P) smd^2)``, so ``beta* = smd sqrt(1 + P (1 - P)
  smd^2)``. This is the mapping used here; it was checked against simulation (below).
- ``"or_per_sd"``: the odds ratio per SD of X (X normal); ``beta* = log(effect)``.
- ``"or_binary"``: the odds ratio of an exposed runner (a proportion ``exposed`` of the
  cohort) against an unexposed one; ``P1`` and ``P2`` come from the intercept that makes the
  cohort's incidence ``incidence`` (:func:`intercept_for_incidence`).

Validity
--------
The formulas are large-sample approximations. Eq. 1 uses the variance of the estimate under
the null hypothesis for the alternative too, which Demidenko (2007, Statistics in Medicine
26:3385-3397) points out is inaccurate for large effects; for a normal factor the variance
under the alternative is the larger one (by up to 46% in the 18 continuous planning
scenarios, from the Fisher information by quadrature), so eq. 1 overestimates power as the
effect grows. The
simulation with R's ``glm`` (``tests/models/reference/power_simulation.R``, 10,000 replicates
per scenario, likelihood-ratio test; ``docs/study-planning.md``) found:

- continuous factor, |log OR per SD| <= 0.51 (SMD up to 0.5; 10 scenarios, 25-300 expected
  cases): agreement within 3 Monte Carlo SE + 0.01;
- continuous factor, |log OR per SD| 0.69-0.85 (SMD 0.69-0.8, OR per SD 2-2.2 or 0.5; 8
  scenarios): the formula overestimates power in every one, by 0.017-0.053, beyond Monte Carlo
  error in 5; the n it gives is then too small. At log OR 1.1 with 40 runners, by 0.09;
- binary factor (eq. 2): agreement for |log OR| <= 0.69 (3 scenarios) and at OR 4 with 30%
  exposed; at OR 3 with 20% exposed and 5% incidence it overestimates likelihood-ratio power
  by 0.047;
- for a continuous factor the Wald test has less power than the likelihood-ratio test with
  fewer than about 50 cases (by up to 0.06 with 5 cases), so the formula overestimates Wald
  power more; for a binary factor the two tests were within 0.03 of each other.

:func:`power_logistic` says so in ``attrs["notes"]`` when a design lies beyond these limits
(:data:`VALID_LOG_OR`) or expects fewer than :data:`MIN_EVENTS` cases.

Validated against: the worked examples of Hsieh et al. (1998) Tables I and II as reproduced in
the documentation of R's powerMediation 0.3.4 (n = 1281 and n = 317), and the 24 simulated
scenarios above (``tests/models/test_power.py``).

References
----------
Hsieh FY, Bloch DA, Larsen MD (1998). A simple method of sample size calculation for linear
and logistic regression. Statistics in Medicine 17:1623-1634.
Whittemore AS (1981). Sample size for logistic regression with small response probability.
Journal of the American Statistical Association 76:27-32.
Demidenko E (2007). Sample size determination for logistic regression revisited. Statistics in
Medicine 26:3385-3397.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

#: The effect scales :func:`power_logistic` accepts.
SCALES = ("smd", "or_per_sd", "or_binary")

#: The method named in the results.
#: Largest sample size solved for: beyond it the effect is too small to be worth planning for.
MAX_N = 1e8
METHOD_CONTINUOUS = "Hsieh et al. 1998, eq. 1 (normal covariate), variance inflation 1/(1 - R^2)"
METHOD_BINARY = (
    "Hsieh et al. 1998, eq. 2 (binary covariate, after Whittemore 1981), "
    "variance inflation 1/(1 - R^2)"
)

#: Below this many expected cases among the runners analysed, a note says that the
#: large-sample formula is not to be trusted.
MIN_EVENTS = 20

#: Largest |log OR per SD| (continuous) and |log OR| (binary) up to which Hsieh's formulas
#: agreed with simulation (docs/study-planning.md); above it a note says the formula
#: overestimates power.
VALID_LOG_OR = {"continuous": 0.55, "binary": 0.7}

_EXAMPLES = {"power": "0.8", "alpha": "0.05", "incidence": "0.1", "exposed": "0.3"}


@dataclass(frozen=True)
class _Effect:
    """The effect in Hsieh's terms: ``log_or`` (beta*) and the incidences."""

    kind: str  # "continuous" or "binary"
    log_or: float  # per marginal SD (continuous) or exposed vs unexposed (binary)
    incidence: float  # P
    exposed: float = math.nan  # B
    incidence_unexposed: float = math.nan  # P1
    incidence_exposed: float = math.nan  # P2


# -- the scales ------------------------------------------------------------------------------
def log_or_per_marginal_sd(smd: float, incidence: float) -> float:
    """Hsieh's ``beta*`` (log odds ratio per SD of the factor in the whole cohort) for a
    standardised mean difference ``smd`` between cases and non-cases.

    With X normal and SD 1 within each outcome group, the log odds ratio per within-group SD
    is ``smd`` and the marginal SD is ``sqrt(1 + P (1 - P) smd^2)``, so the log odds ratio per
    marginal SD is ``smd * sqrt(1 + P (1 - P) smd^2)``.

    Returns
    -------
    float
        ``smd * sqrt(1 + incidence (1 - incidence) smd^2)`` (same sign as ``smd``).
    """
    p = float(incidence)
    return float(smd) * math.sqrt(1.0 + p * (1.0 - p) * float(smd) ** 2)


def intercept_for_incidence(
    log_or: float, incidence: float, *, exposed: float | None = None
) -> float:
    """The intercept ``b0`` of ``logit P(Y=1 | X) = b0 + log_or * X`` that gives the cohort
    the incidence ``incidence``.

    Parameters
    ----------
    log_or : float
        The log odds ratio per unit of X.
    incidence : float
        The incidence in the cohort, ``E[P(Y=1 | X)]``, in (0, 1).
    exposed : float, optional
        For a binary X ~ Bernoulli(``exposed``): solves ``(1 - B) expit(b0) + B expit(b0 +
        log_or) = incidence``. When None, X ~ N(0, 1) and the expectation is a 101-point
        Gauss-Hermite quadrature (error below 1e-12 for |log_or| <= 3).

    Returns
    -------
    float
        ``b0``, found by Brent's method to 1e-13.
    """
    if exposed is None:
        nodes, weights = np.polynomial.hermite_e.hermegauss(101)
        weights = weights / weights.sum()

        def mean_risk(b0: float) -> float:
            return float(weights @ special.expit(b0 + log_or * nodes)) - incidence

    else:

        def mean_risk(b0: float) -> float:
            return (
                float((1 - exposed) * special.expit(b0) + exposed * special.expit(b0 + log_or))
                - incidence
            )

    start = special.logit(incidence)
    span = abs(log_or) * 10 + 10
    return float(optimize.brentq(mean_risk, start - span, start + span, xtol=1e-13))


def _effect(effect: float, scale: str, incidence: float, exposed: float | None) -> _Effect:
    if scale == "smd":
        return _Effect("continuous", log_or_per_marginal_sd(effect, incidence), incidence)
    if scale == "or_per_sd":
        return _Effect("continuous", math.log(effect), incidence)
    beta = math.log(effect)
    b0 = intercept_for_incidence(beta, incidence, exposed=exposed)
    return _Effect(
        "binary",
        beta,
        incidence,
        exposed,
        float(special.expit(b0)),
        float(special.expit(b0 + beta)),
    )


# -- Hsieh's formulas ------------------------------------------------------------------------
def _binary_parts(e: _Effect) -> tuple[float, float, float]:
    """(|P1 - P2| sqrt(1 - B), s0, s1) of eq. 2."""
    p, b, p1, p2 = e.incidence, e.exposed, e.incidence_unexposed, e.incidence_exposed
    s0 = math.sqrt(p * (1 - p) / b)
    s1 = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) * (1 - b) / b)
    return abs(p1 - p2) * math.sqrt(1 - b), s0, s1


def _power(e: _Effect, n_effective: float, alpha: float) -> float:
    """Power at ``n_effective`` = n (1 - R^2) runners analysed, both rejection regions."""
    z = stats.norm.ppf(1 - alpha / 2)
    if e.kind == "continuous":
        d = abs(e.log_or) * math.sqrt(n_effective * e.incidence * (1 - e.incidence))
        return float(stats.norm.cdf(d - z) + stats.norm.cdf(-d - z))
    delta, s0, s1 = _binary_parts(e)
    d = delta * math.sqrt(n_effective)
    return float(stats.norm.cdf((d - z * s0) / s1) + stats.norm.cdf((-d - z * s0) / s1))


def _n_effective(e: _Effect, power: float, alpha: float) -> float:
    """Hsieh's closed-form n (before the variance inflation), not rounded."""
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    if e.kind == "continuous":
        return (za + zb) ** 2 / (e.incidence * (1 - e.incidence) * e.log_or**2)
    delta, s0, s1 = _binary_parts(e)
    return (za * s0 + zb * s1) ** 2 / delta**2


# -- argument checks -------------------------------------------------------------------------
def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number, not {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return value


def _open_unit(value, name: str) -> float:
    """A proportion strictly between 0 and 1, with a hint for percentages."""
    v = _number(value, name)
    if not 0 < v < 1:
        hint = f"; did you mean {v / 100:g}?" if 2 <= v < 100 else ""
        raise ValueError(
            f"{name} must be strictly between 0 and 1 (e.g. {_EXAMPLES[name]}), not {value!r}{hint}"
        )
    return v


def _half_open_unit(value, name: str, what: str) -> float:
    """A proportion in [0, 1)."""
    v = _number(value, name)
    if not 0 <= v < 1:
        hint = f"; did you mean {v / 100:g}?" if 2 <= v < 100 else ""
        raise ValueError(f"{name} ({what}) must be in [0, 1), not {value!r}{hint}")
    return v


def _check(
    effect, scale, incidence, alpha, exposed, r2_other, dropout
) -> tuple[float, str, float, float, float | None, float, float]:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(map(repr, SCALES))}, not {scale!r}")
    effect = _number(effect, "effect")
    incidence = _open_unit(incidence, "incidence")
    alpha = _open_unit(alpha, "alpha")
    r2_other = _half_open_unit(
        r2_other, "r2_other", "the R^2 of the factor regressed on the other covariates"
    )
    dropout = _half_open_unit(dropout, "dropout", "the proportion of recruits not analysed")
    if isinstance(exposed, Real) and not isinstance(exposed, bool) and math.isnan(exposed):
        exposed = None  # as power_logistic returns it for a continuous factor
    if scale != "smd" and effect <= 0:
        raise ValueError(
            f"effect must be an odds ratio > 0 with scale={scale!r}, not {effect!r}; a "
            f"protective factor has an odds ratio below 1 (e.g. 0.5)"
        )
    if scale == "or_binary":
        if exposed is None:
            raise ValueError(
                "exposed (the proportion of runners exposed, e.g. 0.3) is needed with "
                "scale='or_binary'"
            )
        exposed = _open_unit(exposed, "exposed")
    elif exposed is not None:
        raise ValueError(
            f"exposed is used only with scale='or_binary' (a binary factor); with "
            f"scale={scale!r} leave it out"
        )
    return effect, scale, incidence, alpha, exposed, r2_other, dropout


def _check_n(n, dropout: float) -> tuple[int, int]:
    """(runners recruited, runners analysed)."""
    if isinstance(n, bool) or not isinstance(n, Real) or not float(n).is_integer():
        raise ValueError(f"n (the runners recruited) must be a whole number, not {n!r}")
    n = int(n)
    analysed = math.floor(n * (1 - dropout) + 1e-9)
    if n < 1 or analysed < 2:
        raise ValueError(
            f"n (the runners recruited) must leave at least 2 runners to analyse after "
            f"dropout={dropout:g}, not {n!r}"
        )
    return n, analysed


def _is_null(effect: float, scale: str) -> bool:
    return effect == 0 if scale == "smd" else effect == 1


def _notes(e: _Effect, analysed: int) -> list[str]:
    notes = []
    events = analysed * e.incidence
    if events < MIN_EVENTS:
        notes.append(
            f"{events:.1f} expected cases among the {analysed} runners analysed: with fewer "
            f"than {MIN_EVENTS} cases a large-sample formula is least reliable and the odds "
            f"ratio will be imprecise whatever the power; check the design by simulation "
            f"(ps.simulate_power)"
        )
    limit = VALID_LOG_OR[e.kind]
    if abs(e.log_or) > limit:
        if e.kind == "continuous":
            what = "log odds ratio per SD"
            found = "by 0.02-0.05 at 0.69-0.85, as it uses the variance under no effect"
        else:
            what = "log odds ratio"
            found = "by 0.05 at OR 3 with 20% exposed and 5% incidence"
        notes.append(
            f"|{what}| is {abs(e.log_or):.2f}, above {limit}: in simulation Hsieh's formula "
            f"overestimated the power of such large effects ({found}; Demidenko 2007), so "
            f"the n is optimistic; recruit a margin more or check by simulation "
            f"(ps.simulate_power)"
        )
    return notes


# -- public ----------------------------------------------------------------------------------
def power_logistic(
    effect: float,
    *,
    scale: str = "smd",
    incidence: float,
    n: int | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    exposed: float | None = None,
    r2_other: float = 0.0,
    dropout: float = 0.0,
) -> pd.Series:
    """Power of a logistic model to detect one factor's effect, or the runners needed for a
    target power (Hsieh, Bloch & Larsen 1998).

    Give ``n`` to get the power, or ``power`` to get the smallest number of runners to
    recruit; exactly one of the two.

    Parameters
    ----------
    effect : float
        The effect to detect, on ``scale``: a standardised mean difference (cases minus
        non-cases, e.g. -0.69 for weaker quadriceps in cases), or an odds ratio.
    scale : {"smd", "or_per_sd", "or_binary"}
        ``"smd"``: SMD of a normally distributed factor between runners who develop PFP and
        those who do not (equal SDs); ``"or_per_sd"``: odds ratio per SD of a normal factor;
        ``"or_binary"``: odds ratio of a binary factor (exposed vs unexposed).
    incidence : float
        Expected proportion of runners who develop PFP, in (0, 1).
    n : int, optional
        Runners recruited (before drop-out).
    power : float, optional
        Target power, in (0, 1).
    alpha : float
        Two-sided significance level (default 0.05).
    exposed : float, optional
        Proportion of runners exposed; needed with ``scale="or_binary"`` only (NaN, as in
        the result for a continuous factor, counts as not given).
    r2_other : float
        R^2 of the factor regressed on the other covariates of the model (0 when the model
        has no others); n is inflated by ``1 / (1 - r2_other)``. In [0, 1).
    dropout : float
        Proportion of recruits who will not be analysed (lost, no outcome, missing factor);
        in [0, 1). Runners analysed = ``floor(n (1 - dropout))``.

    Returns
    -------
    Series
        ``power`` (at ``n``; with a target, the power reached at the n returned, >= target),
        ``n`` (runners to recruit), ``n_analysed``, ``events`` (expected cases among the
        runners analysed, ``n_analysed * incidence``), ``effect``, ``scale``, ``log_or``
        (Hsieh's beta*: the log odds ratio per SD of the factor in the cohort, or exposed vs
        unexposed; for ``"smd"`` it is ``smd sqrt(1 + P (1 - P) smd^2)``), ``odds_ratio``
        (``exp(log_or)``), ``incidence``, ``incidence_unexposed`` and
        ``incidence_exposed`` (binary factor; NaN otherwise), ``alpha``, ``exposed`` (NaN
        unless binary), ``r2_other``, ``dropout``, ``power_target`` (NaN when ``n`` was
        given), ``method``. ``attrs["notes"]`` lists caveats: few expected cases, or an
        effect larger than any that was checked against simulation.

    Raises
    ------
    ValueError
        Naming the argument: power or alpha outside (0, 1); incidence or exposed outside
        (0, 1) (0 and 1 included); an effect of no effect (SMD 0, odds ratio 1) when solving
        for n; an odds ratio <= 0; ``n`` and ``power`` both given or both absent; ``exposed``
        missing with ``"or_binary"`` (or given with another scale); r2_other or dropout
        outside [0, 1); an unknown scale; n not a whole number or leaving < 2 runners.

    Notes
    -----
    The formulas, their assumptions and when they fail are in this module's docstring and in
    ``docs/study-planning.md``. Validated against the worked examples of Hsieh et al. (1998)
    Tables I and II (n = 1281 and 317, as reproduced in R's powerMediation documentation) and
    against simulation with R's ``glm`` (likelihood-ratio and Wald tests, 24 scenarios of
    10,000 replicates; ``tests/models/test_power.py``): within Monte Carlo error for
    |log OR per SD| <= 0.51; above about 0.55 the formula overestimates power (by up to 0.05
    at 0.85), and a note says so.

    Examples
    --------
    >>> import pfps_stats as ps
    >>> plan = ps.power_logistic(-0.69, scale="smd", incidence=0.1, power=0.8)
    >>> int(plan["n"]), round(plan["events"], 1)
    (176, 17.6)
    """
    effect, scale, incidence, alpha, exposed, r2_other, dropout = _check(
        effect, scale, incidence, alpha, exposed, r2_other, dropout
    )
    if (n is None) == (power is None):
        raise ValueError(
            "give exactly one of n (runners recruited: returns the power) and power (the "
            "target: returns the runners needed); "
            + ("both were given" if n is not None else "neither was given")
        )
    target = math.nan
    if power is not None:
        target = _open_unit(power, "power")
        if _is_null(effect, scale):
            null = "an SMD of 0" if scale == "smd" else "an odds ratio of 1"
            raise ValueError(
                f"effect is {null} (no effect): no sample size reaches power {target:g}; give "
                f"the smallest effect worth detecting"
            )
    e = _effect(effect, scale, incidence, exposed)
    if power is not None:
        n_raw = _n_effective(e, target, alpha) / (1 - r2_other)
        if n_raw > MAX_N:
            raise ValueError(
                f"effect {effect!r} is so small that {n_raw:.3g} runners would be needed for "
                f"power {target:g}; give the smallest effect worth detecting (e.g. SMD 0.2, or "
                f"an odds ratio of 1.2)"
            )
        analysed = max(math.ceil(n_raw - 1e-9), 2)
        recruited = math.ceil(analysed / (1 - dropout) - 1e-9)
        while math.floor(recruited * (1 - dropout) + 1e-9) < analysed:
            recruited += 1
    else:
        recruited, analysed = _check_n(n, dropout)
    value = _power(e, analysed * (1 - r2_other), alpha)
    out = pd.Series(
        {
            "power": value,
            "n": recruited,
            "n_analysed": analysed,
            "events": analysed * incidence,
            "effect": effect,
            "scale": scale,
            "log_or": e.log_or,
            "odds_ratio": math.exp(e.log_or),
            "incidence": incidence,
            "incidence_unexposed": e.incidence_unexposed,
            "incidence_exposed": e.incidence_exposed,
            "alpha": alpha,
            "exposed": e.exposed,
            "r2_other": r2_other,
            "dropout": dropout,
            "power_target": target,
            "method": METHOD_CONTINUOUS if e.kind == "continuous" else METHOD_BINARY,
        },
        dtype=object,
    )
    out.attrs["notes"] = _notes(e, analysed)
    return out


def power_curve(
    effect: float,
    *,
    n: Sequence[int],
    scale: str = "smd",
    incidence: float,
    alpha: float = 0.05,
    exposed: float | None = None,
    r2_other: float = 0.0,
    dropout: float = 0.0,
) -> pd.DataFrame:
    """Power at each of several numbers of runners recruited (:func:`power_logistic`).

    Parameters
    ----------
    effect, scale, incidence, alpha, exposed, r2_other, dropout
        As :func:`power_logistic`.
    n : sequence of int
        Runners recruited (before drop-out), one row each.

    Returns
    -------
    DataFrame
        One row per n, in the order given: ``n``, ``n_analysed``, ``events`` (expected cases
        among the runners analysed), ``power``. ``attrs`` holds the arguments and ``method``.
    """
    sizes = [n] if isinstance(n, Integral) else list(n)
    if not sizes:
        raise ValueError("n must hold at least one number of runners")
    rows = [
        power_logistic(
            effect,
            scale=scale,
            incidence=incidence,
            n=size,
            alpha=alpha,
            exposed=exposed,
            r2_other=r2_other,
            dropout=dropout,
        )
        for size in sizes
    ]
    table = pd.DataFrame(
        {
            "n": [int(r["n"]) for r in rows],
            "n_analysed": [int(r["n_analysed"]) for r in rows],
            "events": [float(r["events"]) for r in rows],
            "power": [float(r["power"]) for r in rows],
        }
    )
    first = rows[0]
    table.attrs.update(
        {
            key: first[key]
            for key in [
                "effect",
                "scale",
                "log_or",
                "incidence",
                "alpha",
                "exposed",
                "r2_other",
                "dropout",
                "method",
            ]
        }
    )
    return table
