"""Power and sample size of a logistic model for one risk factor: :func:`power_logistic`
(give ``n`` to get power, or ``power`` to get the smallest ``n``) and :func:`power_curve`
(power at several sample sizes).

Two-sided test, at level ``alpha``, of the factor's coefficient in ``logit P(Y=1) = b0 + b X
(+ other covariates)``; ``z_q`` is the standard normal ``q`` quantile and ``P`` the overall
incidence (event rate) of the outcome. Two methods:

``method="lr"`` (default): the likelihood-ratio test
---------------------------------------------------
The power of the likelihood-ratio test (the test behind :func:`~pfps_stats.fit_logistic`'s
default profile-likelihood intervals) from the noncentrality of its chi-square statistic
(Self, Mauritsen & Ohara 1992; Shieh 2000), the method of SAS PROC POWER's ``LOGISTIC``
statement (``TEST=LRCHI``). Per runner analysed, the noncentrality is twice the expected
log-likelihood gain of the true model over the model without the factor::

    delta = 2 E_X[ KL( Bernoulli(p(X)) || Bernoulli(P) ) ]
          = 2 E_X[ p(X) (eta(X) - logit P) - log(1 + e^eta(X)) + log(1 + e^logit P) ]

with ``eta(X) = logit p(X)`` the true model and ``P = E[p(X)]`` the incidence (the limit of the
model without the factor); for one factor this is twice the mutual information of factor and
outcome. The expectation is over the factor's distribution, which each scale fixes (below):
a 121-point Gauss-Hermite quadrature per normal component, or a sum over the two levels of a
binary factor (SAS discretises the factor into bins instead). For ``n`` runners analysed and
an adjustment ``R^2``, ``lambda = n (1 - R^2) delta`` (the variance inflation of Hsieh 1989,
as SAS applies it) and::

    power = Phi(sqrt(lambda) - z_{1-alpha/2}) + Phi(-sqrt(lambda) - z_{1-alpha/2})

(the exact tail of a noncentral chi-square with 1 df). The smallest ``n`` for a target power
solves this for ``lambda`` and rounds ``lambda / (delta (1 - R^2))`` up. For small effects
``delta`` tends to ``P (1 - P) beta*^2`` and the method tends to Hsieh's; for large effects it
does not share eq. 1's optimism (below).

``method="hsieh"``: Hsieh, Bloch & Larsen (1998)
------------------------------------------------
*Continuous factor* (eq. 1; X normal), with ``beta*`` the log odds ratio per standard
deviation of X in the whole cohort::

    n = (z_{1-alpha/2} + z_{power})^2 / (P (1 - P) beta*^2)

*Binary factor* (eq. 2, after Whittemore 1981), with ``B`` the proportion exposed, ``P1`` and
``P2`` the incidence among the unexposed and the exposed and ``P = (1 - B) P1 + B P2``::

    n = (z_{1-alpha/2} sqrt(P (1 - P) / B) + z_{power} sqrt(P1 (1 - P1) + P2 (1 - P2) (1 - B) / B))^2
        / ((P1 - P2)^2 (1 - B))

*Adjustment* (section 3): ``n`` is multiplied by ``1 / (1 - R^2)``; power at ``n`` uses ``n (1 -
R^2)``. *Power at a given n* inverts the same formulas, counting both rejection regions::

    continuous: power = Phi(d - z_{1-alpha/2}) + Phi(-d - z_{1-alpha/2}),
                d = |beta*| sqrt(n (1 - R^2) P (1 - P))
    binary:     power = Phi((D - z_{1-alpha/2} s0) / s1) + Phi((-D - z_{1-alpha/2} s0) / s1),
                D = |P1 - P2| sqrt(n (1 - R^2) (1 - B)),
                s0 = sqrt(P (1 - P) / B),  s1 = sqrt(P1 (1 - P1) + P2 (1 - P2) (1 - B) / B)

The sample size for a target power is the closed form rounded up to whole runners, as Hsieh
et al. and R's powerMediation give it. Eq. 1 uses the variance of the estimate under no
effect for the alternative too, which Demidenko (2007) points out is inaccurate for large
effects: for a normal factor the variance under the alternative is the larger, so eq. 1
overestimates power as the effect grows (below). It is kept to reproduce published
calculations (R's powerMediation computes it).

*Drop-out* (both methods): the runners analysed are ``floor(n (1 - dropout))``; the runners to
recruit for a target power are ``ceil(n_analysed / (1 - dropout))``.

Effect scales
-------------
- ``"smd"``: the standardised mean difference of the factor between runners who develop PFP
  and those who do not (cases minus non-cases, in within-group SDs). If X is normal with the
  same SD in both outcome groups, ``logit P(Y=1 | X)`` is exactly linear in X with log odds
  ratio ``smd`` per within-group SD: ``eta(x) = logit P + smd x - smd^2 / 2`` for X | Y ~
  N(smd Y, 1), and X is the two-normal mixture. For eq. 1, ``beta*`` is per SD of X in the
  whole cohort, ``sqrt(1 + P (1 - P) smd^2)`` within-group SDs, so ``beta* = smd sqrt(1 + P
  (1 - P) smd^2)`` (:func:`log_or_per_marginal_sd`).
- ``"or_per_sd"``: the odds ratio per SD of X, X ~ N(0, 1); ``b0`` gives the incidence
  (:func:`intercept_for_incidence`).
- ``"or_binary"``: the odds ratio of an exposed runner (a proportion ``exposed`` of the
  cohort) against an unexposed one; ``P1`` and ``P2`` come from the intercept that makes the
  cohort's incidence ``incidence``.

Validity
--------
Checked against simulation with R's ``glm`` (``tests/models/reference/power_simulation.R``,
24 scenarios of 10,000 replicates, likelihood-ratio and Wald tests; tolerance 3 Monte Carlo
SE + 0.01, fixed before the simulation; ``docs/study-planning.md``):

- ``"lr"``: agreement in 23 of 24 scenarios, including all 19 with a continuous factor (SMD
  0.2-0.8, OR per SD 0.5-3, 5-300 expected cases): within 0.011 in the 18 planning scenarios,
  and 0.018 below the simulation in a probe of 40 runners with 8 cases. It overestimated the
  power of a binary factor with few cases in one exposure group (OR 3, 20% exposed, 5%
  incidence, 500 runners: about 10 expected cases among the exposed) by 0.029, and an outside
  review found 0.02 with 20 (OR 2.5, 10% exposed); a note flags binary designs with fewer
  than :data:`MIN_GROUP_EVENTS` expected cases in either group.
- Adjustment: for a normal factor the variance inflation ``1 - R^2`` was 0.1-1.8% below the
  exact noncentrality (conservative); for a binary factor with an unbalanced exposure it can
  be above it (the outside review: n understated by 3% at 30% exposed, OR 2, R^2 0.3, and by
  up to 24% at 10% exposed, OR 3, R^2 0.5). A note flags adjusted binary designs with less
  than 40% or more than 60% exposed.
- ``"hsieh"``: agreement for |log OR per SD| <= 0.51 (continuous) and binary |log OR| <= 0.69;
  beyond, it overestimated power in every continuous scenario, by 0.017-0.053 at |log OR|
  0.69-0.85 (0.09 at 1.1 with 40 runners), so the n it gives is too small; notes flag
  designs beyond :data:`VALID_LOG_OR`.
- For a continuous factor the Wald test (estimate / SE) has less power than the
  likelihood-ratio test with few cases: by 0.06 with 5 expected cases, 0.013-0.035 with
  10-15, 0.005-0.017 with 20-30; a note says so below :data:`WALD_EVENTS` expected cases. For a binary factor
  the two tests were within 0.03 of each other, in either direction. For Wald tests, or designs these
  formulas do not cover, use :func:`~pfps_stats.simulate_power`.

:func:`power_logistic` says so in ``attrs["notes"]``, and also when fewer than
:data:`MIN_EVENTS` cases are expected.

Validated against: the worked examples of Hsieh et al. (1998) Tables I and II as reproduced
in the documentation of R's powerMediation 0.3.4 (n = 1281 and n = 317, ``method="hsieh"``);
the noncentrality ``delta`` against R's ``integrate`` and a weighted ``glm`` fit to an
exemplary data set (``tests/models/reference/power_noncentrality.R``); and the 24 simulated
scenarios above (``tests/models/test_power.py``).

References
----------
Self SG, Mauritsen RH, Ohara J (1992). Power calculations for likelihood ratio tests in
generalized linear models. Biometrics 48:31-39.
Shieh G (2000). On power and sample size calculations for likelihood ratio tests in
generalized linear models. Biometrics 56:1192-1196.
Hsieh FY (1989). Sample size tables for logistic regression. Statistics in Medicine 8:795-802.
Hsieh FY, Bloch DA, Larsen MD (1998). A simple method of sample size calculation for linear
and logistic regression. Statistics in Medicine 17:1623-1634.
Whittemore AS (1981). Sample size for logistic regression with small response probability.
Journal of the American Statistical Association 76:27-32.
Demidenko E (2007). Sample size determination for logistic regression revisited. Statistics in
Medicine 26:3385-3397.
SAS Institute. SAS/STAT User's Guide, The POWER Procedure: "Likelihood Ratio Chi-Square Test
for One Predictor (TEST=LRCHI)".
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from .._format import fit_html, number

#: The effect scales :func:`power_logistic` accepts.
SCALES = ("smd", "or_per_sd", "or_binary")
#: The methods :func:`power_logistic` accepts: the likelihood-ratio test's noncentrality, or
#: Hsieh et al.'s (1998) formulas.
METHODS = ("lr", "hsieh")
#: Largest sample size solved for: beyond it the effect is too small to be worth planning for.
MAX_N = 1e8
#: How each method is described in the results, by kind of factor.
METHOD_DESCRIPTIONS = {
    ("lr", "continuous"): (
        "likelihood-ratio test, noncentral chi-square (Self, Mauritsen & Ohara 1992), "
        "normal covariate, variance inflation 1/(1 - R^2)"
    ),
    ("lr", "binary"): (
        "likelihood-ratio test, noncentral chi-square (Self, Mauritsen & Ohara 1992), "
        "binary covariate, variance inflation 1/(1 - R^2)"
    ),
    ("hsieh", "continuous"): (
        "Hsieh et al. 1998, eq. 1 (normal covariate), variance inflation 1/(1 - R^2)"
    ),
    ("hsieh", "binary"): (
        "Hsieh et al. 1998, eq. 2 (binary covariate, after Whittemore 1981), "
        "variance inflation 1/(1 - R^2)"
    ),
}

#: Below this many expected cases among the runners analysed, a note says that a
#: large-sample approximation is not to be trusted.
MIN_EVENTS = 20
#: Below this many expected cases among the exposed or the unexposed (binary factor,
#: ``method="lr"``), a note says the approximation may overestimate power: by 0.02-0.03 in
#: simulations with 10-20 (docs/study-planning.md).
MIN_GROUP_EVENTS = 30
#: With adjustment (``r2_other`` > 0), a binary factor whose exposed share is further than
#: this from one half gets a note: the variance inflation can overstate its power.
BALANCED_EXPOSURE = 0.1
#: Below this many expected cases (continuous factor), a note says that the Wald test has
#: less power than the likelihood-ratio test whose power is computed. For a binary factor
#: the two tests were within 0.03 of each other in simulation, in either direction.
WALD_EVENTS = 50

#: Largest |log OR per SD| (continuous) and |log OR| (binary) up to which Hsieh's formulas
#: agreed with simulation (docs/study-planning.md); above it a note says the formula
#: overestimates power (``method="hsieh"``).
VALID_LOG_OR = {"continuous": 0.55, "binary": 0.7}

_EXAMPLES = {"power": "0.8", "alpha": "0.05", "incidence": "0.1", "exposed": "0.3"}
#: Gauss-Hermite nodes and weights for E[f(Z)], Z ~ N(0, 1).
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(121)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


@dataclass(frozen=True)
class _Effect:
    """The design: the model's log odds ratio, the factor's distribution and the incidences."""

    kind: str  # "continuous" or "binary"
    scale: str
    log_or: float  # per within-group SD (smd), per SD (or_per_sd), exposed vs not (binary)
    incidence: float  # P
    exposed: float = math.nan  # B
    incidence_unexposed: float = math.nan  # P1
    incidence_exposed: float = math.nan  # P2
    intercept: float = math.nan  # b0 (or_per_sd, or_binary)

    @property
    def hsieh_log_or(self) -> float:
        """Hsieh's beta*: per SD of the factor in the whole cohort (continuous)."""
        if self.scale == "smd":
            return log_or_per_marginal_sd(self.log_or, self.incidence)
        return self.log_or


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
        return _Effect("continuous", scale, effect, incidence)
    beta = math.log(effect)
    if scale == "or_per_sd":
        b0 = intercept_for_incidence(beta, incidence)
        return _Effect("continuous", scale, beta, incidence, intercept=b0)
    b0 = intercept_for_incidence(beta, incidence, exposed=exposed)
    return _Effect(
        "binary",
        scale,
        beta,
        incidence,
        exposed,
        float(special.expit(b0)),
        float(special.expit(b0 + beta)),
        b0,
    )


def _two_sided(root_lambda: float, z: float) -> float:
    """P(|N(root_lambda, 1)| > z): the power of a 1-df chi-square test at noncentrality
    ``root_lambda^2``, both rejection regions."""
    return float(stats.norm.cdf(root_lambda - z) + stats.norm.cdf(-root_lambda - z))


# -- the likelihood-ratio test's noncentrality -----------------------------------------------
def _factor_distribution(e: _Effect) -> tuple[np.ndarray, np.ndarray]:
    """(eta, weights): the true linear predictor at the quadrature points (or the two levels)
    of the factor's distribution, and their probabilities."""
    if e.scale == "smd":
        d, p = e.log_or, e.incidence
        # X | Y ~ N(d Y, 1): the mixture's two components, and the exact logit (Bayes' rule)
        x = np.concatenate([_NODES + d, _NODES])
        w = np.concatenate([p * _WEIGHTS, (1 - p) * _WEIGHTS])
        return special.logit(p) + d * x - d * d / 2, w
    if e.scale == "or_per_sd":
        return e.intercept + e.log_or * _NODES, _WEIGHTS
    return np.array([e.intercept, e.intercept + e.log_or]), np.array([1 - e.exposed, e.exposed])


def lr_noncentrality(
    effect: float, *, scale: str = "smd", incidence: float, exposed: float | None = None
) -> float:
    """Noncentrality per runner analysed of the likelihood-ratio test of one factor in a
    logistic model (Self, Mauritsen & Ohara 1992): twice the expected Kullback-Leibler
    divergence of the outcome's distribution given the factor from its distribution without.

    Parameters
    ----------
    effect, scale, incidence, exposed
        As :func:`power_logistic`.

    Returns
    -------
    float
        ``delta`` (>= 0): the likelihood-ratio statistic of ``n`` runners is approximately
        noncentral chi-square with 1 df and noncentrality ``n (1 - R^2) delta``. It tends to
        ``P (1 - P) beta*^2`` for small effects.

    Notes
    -----
    Validated against R's ``integrate`` and a weighted ``glm`` on an exemplary data set
    (``tests/models/reference/power_noncentrality.R``) to 1e-8 relative.
    """
    effect, scale, incidence, _, exposed, _, _ = _check(
        effect, scale, incidence, 0.05, exposed, 0.0, 0.0
    )
    return _noncentrality(_effect(effect, scale, incidence, exposed))


def _noncentrality(e: _Effect) -> float:
    eta, w = _factor_distribution(e)
    eta0 = special.logit(e.incidence)
    # KL(Bernoulli(p) || Bernoulli(P)) in terms of the logits, without forming log(p / P)
    kl = special.expit(eta) * (eta - eta0) - (np.logaddexp(0, eta) - np.logaddexp(0, eta0))
    return max(2.0 * float(w @ kl), 0.0)


# -- Hsieh's formulas ------------------------------------------------------------------------
def _binary_parts(e: _Effect) -> tuple[float, float, float]:
    """(|P1 - P2| sqrt(1 - B), s0, s1) of eq. 2."""
    p, b, p1, p2 = e.incidence, e.exposed, e.incidence_unexposed, e.incidence_exposed
    s0 = math.sqrt(p * (1 - p) / b)
    s1 = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) * (1 - b) / b)
    return abs(p1 - p2) * math.sqrt(1 - b), s0, s1


def _hsieh_power(e: _Effect, n_effective: float, alpha: float) -> float:
    """Hsieh's power at ``n_effective`` = n (1 - R^2) runners analysed, both regions."""
    z = stats.norm.ppf(1 - alpha / 2)
    if e.kind == "continuous":
        p = e.incidence
        return _two_sided(abs(e.hsieh_log_or) * math.sqrt(n_effective * p * (1 - p)), z)
    delta, s0, s1 = _binary_parts(e)
    d = delta * math.sqrt(n_effective)
    return float(stats.norm.cdf((d - z * s0) / s1) + stats.norm.cdf((-d - z * s0) / s1))


def _hsieh_n(e: _Effect, power: float, alpha: float) -> float:
    """Hsieh's closed-form n (before the variance inflation), not rounded."""
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    if e.kind == "continuous":
        return (za + zb) ** 2 / (e.incidence * (1 - e.incidence) * e.hsieh_log_or**2)
    delta, s0, s1 = _binary_parts(e)
    return (za * s0 + zb * s1) ** 2 / delta**2


# -- both methods ----------------------------------------------------------------------------
def _power(e: _Effect, method: str, n_effective: float, alpha: float) -> tuple[float, float]:
    """(power, noncentrality) at ``n_effective`` = n (1 - R^2) runners analysed. For Hsieh's
    continuous formula the noncentrality is ``d^2``; for the binary one it is NaN."""
    if method == "hsieh":
        ncp = n_effective * e.incidence * (1 - e.incidence) * e.hsieh_log_or**2
        return _hsieh_power(e, n_effective, alpha), ncp if e.kind == "continuous" else math.nan
    ncp = n_effective * _noncentrality(e)
    return _two_sided(math.sqrt(ncp), stats.norm.ppf(1 - alpha / 2)), ncp


def _n_effective(e: _Effect, method: str, power: float, alpha: float) -> float:
    """Runners analysed, times (1 - R^2), for the target power; not rounded (inf when the
    effect is too small to compute)."""
    if method == "hsieh":
        return _hsieh_n(e, power, alpha)
    delta = _noncentrality(e)
    if delta <= 0:
        return math.inf
    z = stats.norm.ppf(1 - alpha / 2)
    guess = z + stats.norm.ppf(power)  # sqrt(lambda) without the far rejection region
    root = optimize.brentq(lambda r: _two_sided(r, z) - power, 0.0, guess, xtol=1e-12)
    return root**2 / delta


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


def _notes(e: _Effect, method: str, analysed: int, r2_other: float) -> list[str]:
    notes = []
    events = analysed * e.incidence
    if events < MIN_EVENTS:
        notes.append(
            f"{events:.1f} expected cases among the {analysed} runners analysed: with fewer "
            f"than {MIN_EVENTS} cases a large-sample approximation is least reliable and the "
            f"odds ratio will be imprecise whatever the power; check the design by simulation "
            f"(ps.simulate_power)"
        )
    if method == "hsieh":
        beta = e.hsieh_log_or
        limit = VALID_LOG_OR[e.kind]
        if abs(beta) > limit:
            if e.kind == "continuous":
                what = "log odds ratio per SD"
                found = "by 0.02-0.05 at 0.69-0.85, as it uses the variance under no effect"
            else:
                what = "log odds ratio"
                found = "by 0.05 at OR 3 with 20% exposed and 5% incidence"
            notes.append(
                f"|{what}| is {abs(beta):.2f}, above {limit}: in simulation Hsieh's formula "
                f"overestimated the power of such large effects ({found}; Demidenko 2007), so "
                f"the n is optimistic; use method='lr', or check by simulation "
                f"(ps.simulate_power)"
            )
        return notes
    if e.kind == "binary":
        groups = {
            "exposed": analysed * e.exposed * e.incidence_exposed,
            "unexposed": analysed * (1 - e.exposed) * e.incidence_unexposed,
        }
        group, fewest = min(groups.items(), key=lambda item: item[1])
        if fewest < MIN_GROUP_EVENTS:
            notes.append(
                f"{fewest:.1f} expected cases among the {group}: with fewer than "
                f"{MIN_GROUP_EVENTS} in an exposure group the approximation may overestimate "
                f"power (by 0.02-0.03 in simulations with 10-20); check by simulation "
                f"(ps.simulate_power)"
            )
        if r2_other > 0 and abs(e.exposed - 0.5) > BALANCED_EXPOSURE:
            notes.append(
                f"{e.exposed:.0%} exposed, adjusted (r2_other {r2_other:g}): for an unbalanced "
                f"binary factor the variance inflation 1/(1 - R^2) can overstate power (in an "
                f"outside check, n too small by 3-24% with 10-30% exposed); check by "
                f"simulation (ps.simulate_power with the same r2_other)"
            )
    if e.kind == "continuous" and events < WALD_EVENTS and e.log_or != 0:
        notes.append(
            f"this is the power of the likelihood-ratio test (fit_logistic's profile-likelihood "
            f"intervals and p-values); with {events:.0f} expected cases a Wald test (estimate / "
            f"SE) has less power (in simulation by 0.005-0.035 with 10-30 cases, 0.06 with 5); "
            f"for a Wald analysis use ps.simulate_power(..., test='wald')"
        )
    return notes


# -- display -------------------------------------------------------------------------------
def items_html(items: Sequence[tuple[str, str]]) -> str:
    """A two-column HTML table of (what, value) pairs, every text escaped: how the power
    results and study plans show in JupyterLab."""
    e = html.escape
    rows = "".join(
        f'<tr><th style="text-align: left">{e(str(k))}</th>'
        f'<td style="text-align: left">{e(str(v))}</td></tr>'
        for k, v in items
    )
    return f"<table><tbody>{rows}</tbody></table>"


def _given(value) -> bool:
    try:
        return value is not None and not math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _percent(value) -> str:
    return f"{100 * float(value):.3g}%" if _given(value) else "-"


def effect_text(effect, scale: str, exposed=None) -> str:
    """The effect in words: "SMD -0.69 (cases minus non-cases)", "odds ratio 1.5 per SD",
    "odds ratio 2 (exposed vs unexposed, 30% exposed)"."""
    if scale == "smd":
        return f"SMD {float(effect):g} (runners who develop PFP minus those who do not)"
    if scale == "or_per_sd":
        return f"odds ratio {float(effect):g} per SD of the factor"
    share = f", {_percent(exposed)} exposed" if _given(exposed) else ""
    return f"odds ratio {float(effect):g} (exposed vs unexposed{share})"


def design_items(result: pd.Series) -> list[tuple[str, str]]:
    """The (what, value) rows shared by :class:`PowerResult` and the study plan: effect,
    incidence, runners recruited and analysed, expected cases, power, alpha, adjustment."""
    items = [("Effect", effect_text(result["effect"], result["scale"], result.get("exposed")))]
    if result["scale"] == "smd":
        items.append(
            (
                "Odds ratio in the model",
                f"{number(result['odds_ratio'])} per within-group SD (normal factor, equal SDs)",
            )
        )
    incidence = _percent(result["incidence"])
    if _given(result.get("incidence_exposed")):
        incidence += (
            f" (unexposed {_percent(result['incidence_unexposed'])}, exposed "
            f"{_percent(result['incidence_exposed'])})"
        )
    analysed = f"{int(result['n_analysed'])}"
    if _given(result.get("dropout")) and float(result["dropout"]) > 0:
        analysed += f" (after {_percent(result['dropout'])} drop-out)"
    power = f"{float(result['power']):.3f}"
    if _given(result.get("power_target")):
        power += f" (target {float(result['power_target']):g})"
    return [
        *items,
        ("PFP incidence over follow-up", incidence),
        ("Runners to recruit", f"{int(result['n'])}"),
        ("Runners analysed", analysed),
        ("Expected cases", number(result["events"], 1)),
        ("Power", power),
        ("Significance level (two-sided alpha)", f"{float(result['alpha']):g}"),
        ("Adjustment R² (factor on other covariates)", f"{float(result['r2_other']):g}"),
        ("Method", str(result["method_description"])),
    ]


class PowerResult(pd.Series):
    """The result of :func:`power_logistic`: a Series that renders in JupyterLab as a short
    table with readable names (effect, incidence, runners to recruit and analysed, expected
    cases, power, method) and the caveats of ``attrs["notes"]``.

    It is a Series in every other way; ``_constructor`` is left as Series's, so a selection
    (``result[["n", "power"]]``) or any other derived object is a plain Series or DataFrame.
    """

    def _repr_html_(self) -> str:
        """The result as HTML: a header saying what was computed, the readable table and the
        notes. Every text is escaped."""
        if _given(self.get("power_target")):
            header = (
                f"Sample size of a logistic model for one risk factor: "
                f"{int(self['n'])} runners to recruit for {float(self['power_target']):.0%} power"
            )
        else:
            header = (
                f"Power of a logistic model for one risk factor: {float(self['power']):.2f} "
                f"with {int(self['n'])} runners recruited"
            )
        return fit_html(header, self.attrs.get("notes", []), items_html(design_items(self)))


class PowerCurve(pd.DataFrame):
    """The table of :func:`power_curve`: a DataFrame that renders in JupyterLab with readable
    column names under a header giving the design (from ``attrs``). Derived frames are plain
    DataFrames (``_constructor`` is left as DataFrame's)."""

    def _repr_html_(self) -> str:
        """The curve as HTML: the design, then runners recruited and analysed, expected cases
        and power per row. Every text is escaped."""
        a = self.attrs
        if {"effect", "scale", "incidence", "alpha"} <= set(a):
            design = (
                f"{effect_text(a['effect'], a['scale'], a.get('exposed'))}, incidence "
                f"{_percent(a['incidence'])}, two-sided alpha {float(a['alpha']):g}"
            )
            if _given(a.get("dropout")) and float(a["dropout"]) > 0:
                design += f", {_percent(a['dropout'])} drop-out"
            if _given(a.get("r2_other")) and float(a["r2_other"]) > 0:
                design += f", adjustment R² {float(a['r2_other']):g}"
        else:
            design = "design not recorded"
        header = f"Power curve of a logistic model for one risk factor\n{design}"
        notes = [f"Method: {a['method_description']}"] if "method_description" in a else []
        names = {
            "n": "Runners recruited",
            "n_analysed": "Runners analysed",
            "events": "Expected cases",
            "power": "Power",
        }
        shown = pd.DataFrame(
            {
                names[c]: self[c].map(lambda v, c=c: number(v, 1 if c == "events" else 3))
                if c in ("events", "power")
                else self[c]
                for c in names
                if c in self
            }
        )
        return fit_html(header, notes, shown.to_html(index=False, escape=True))


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
    method: str = "lr",
) -> PowerResult:
    """Power of a logistic model to detect one factor's effect, or the runners needed for a
    target power.

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
        Target power, in (alpha, 1).
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
    method : {"lr", "hsieh"}
        ``"lr"`` (default): power of the likelihood-ratio test from its noncentral
        chi-square (Self, Mauritsen & Ohara 1992), which agreed with simulation across the
        planning range. ``"hsieh"``: Hsieh, Bloch & Larsen's (1998) eq. 1 or 2, as R's
        powerMediation computes them; it overestimates the power of large effects.

    Returns
    -------
    PowerResult
        A Series (shown in JupyterLab as a readable table, :class:`PowerResult`): ``power``
        (at ``n``; with a target, the power reached at the n returned, >= target),
        ``n`` (runners to recruit), ``n_analysed``, ``events`` (expected cases among the
        runners analysed, ``n_analysed * incidence``), ``effect``, ``scale``, ``log_or`` (the
        model's log odds ratio: per within-group SD for ``"smd"``, where it equals the SMD;
        per SD; or exposed vs unexposed), ``odds_ratio`` (``exp(log_or)``),
        ``noncentrality`` (of the test statistic at ``n_analysed``; NaN for Hsieh's binary
        formula), ``incidence``, ``incidence_unexposed`` and ``incidence_exposed`` (binary
        factor; NaN otherwise), ``alpha``, ``exposed`` (NaN unless binary), ``r2_other``,
        ``dropout``, ``power_target`` (NaN when ``n`` was given), ``method`` (the keyword) and
        ``method_description``. ``attrs["notes"]`` lists caveats: few expected cases, the
        Wald test's lower power, and (``"hsieh"``) an effect beyond those the formula agreed
        with simulation for.

    Raises
    ------
    ValueError
        Naming the argument: power or alpha outside (0, 1), or power not above alpha;
        incidence or exposed outside (0, 1) (0 and 1 included); an effect of no effect (SMD
        0, odds ratio 1) when solving for n; an odds ratio <= 0; ``n`` and ``power`` both
        given or both absent; ``exposed`` missing with ``"or_binary"`` (or given with another
        scale); r2_other or dropout outside [0, 1); an unknown scale or method; n not a whole
        number or leaving < 2 runners.

    Notes
    -----
    The formulas, their assumptions and when they fail are in this module's docstring and in
    ``docs/study-planning.md``. Validated against simulation with R's ``glm`` (24 scenarios
    of 10,000 replicates, ``tests/models/test_power.py``): ``"lr"`` agrees with the
    likelihood-ratio test within 3 Monte Carlo SE + 0.01 in all continuous scenarios (SMD
    0.2-0.8) and overestimates one sparse binary design by 0.029 (a note flags such
    designs); ``"hsieh"`` reproduces Hsieh et al.'s Tables I and II (n = 1281 and 317, as
    R's powerMediation documents them) and overestimates power above |log OR per SD| 0.55.

    Examples
    --------
    >>> import pfps_stats as ps
    >>> plan = ps.power_logistic(-0.69, scale="smd", incidence=0.1, power=0.8)
    >>> int(plan["n"]), round(plan["events"], 1)
    (188, 18.8)
    """
    effect, scale, incidence, alpha, exposed, r2_other, dropout = _check(
        effect, scale, incidence, alpha, exposed, r2_other, dropout
    )
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(
            f"method must be one of {', '.join(map(repr, METHODS))} (the likelihood-ratio "
            f"test, or Hsieh et al. 1998), not {method!r}"
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
        if target <= alpha:
            raise ValueError(
                f"power ({target:g}) must be above alpha ({alpha:g}): a test rejects with "
                f"probability alpha when there is no effect at all, whatever n"
            )
        if _is_null(effect, scale):
            null = "an SMD of 0" if scale == "smd" else "an odds ratio of 1"
            raise ValueError(
                f"effect is {null} (no effect): no sample size reaches power {target:g}; give "
                f"the smallest effect worth detecting"
            )
    e = _effect(effect, scale, incidence, exposed)
    if power is not None:
        n_raw = _n_effective(e, method, target, alpha) / (1 - r2_other)
        if n_raw > MAX_N:
            raise ValueError(
                f"this design (effect {effect!r}, incidence {incidence:g}, r2_other "
                f"{r2_other:g}) needs more than {MAX_N:.0e} runners for power {target:g}; give "
                f"the smallest effect worth detecting (e.g. SMD 0.2, or an odds ratio of 1.2) "
                f"and check the incidence"
            )
        analysed = max(math.ceil(n_raw - 1e-9), 2)
        recruited = math.ceil(analysed / (1 - dropout) - 1e-9)
        while math.floor(recruited * (1 - dropout) + 1e-9) < analysed:
            recruited += 1
    else:
        recruited, analysed = _check_n(n, dropout)
    value, ncp = _power(e, method, analysed * (1 - r2_other), alpha)
    out = PowerResult(
        {
            "power": value,
            "n": recruited,
            "n_analysed": analysed,
            "events": analysed * incidence,
            "effect": effect,
            "scale": scale,
            "log_or": e.log_or,
            "odds_ratio": math.exp(e.log_or),
            "noncentrality": ncp,
            "incidence": incidence,
            "incidence_unexposed": e.incidence_unexposed,
            "incidence_exposed": e.incidence_exposed,
            "alpha": alpha,
            "exposed": e.exposed,
            "r2_other": r2_other,
            "dropout": dropout,
            "power_target": target,
            "method": method,
            "method_description": METHOD_DESCRIPTIONS[method, e.kind],
        },
        dtype=object,
    )
    out.attrs["notes"] = _notes(e, method, analysed, r2_other)
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
    method: str = "lr",
) -> PowerCurve:
    """Power at each of several numbers of runners recruited (:func:`power_logistic`).

    Parameters
    ----------
    effect, scale, incidence, alpha, exposed, r2_other, dropout, method
        As :func:`power_logistic`.
    n : sequence of int
        Runners recruited (before drop-out), one row each.

    Returns
    -------
    PowerCurve
        A DataFrame (shown in JupyterLab with readable names, :class:`PowerCurve`), one row
        per n, in the order given: ``n``, ``n_analysed``, ``events`` (expected cases
        among the runners analysed), ``power``. ``attrs`` holds the arguments and ``method``.
    """
    if isinstance(n, Integral):
        sizes = [n]
    elif isinstance(n, str) or not isinstance(n, Iterable):
        raise ValueError(
            f"n must be a list of numbers of runners recruited, e.g. [100, 200, 400], not {n!r}"
        )
    else:
        sizes = list(n)
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
            method=method,
        )
        for size in sizes
    ]
    table = PowerCurve(
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
                "method_description",
            ]
        }
    )
    return table
