"""Power of a logistic-regression test by simulation: :func:`power_scenario` and
:func:`simulate_power`.

A scenario says how SYNTHETIC studies are generated; :func:`simulate_power` draws ``n_sim``
studies of each size ``n``, fits the analysis model to all of them at once and counts how
often the two-sided test of the factor's coefficient rejects at ``alpha``.

Two kinds of scenario:

- **The planning DGPs** shared with :func:`pfps_stats.power_logistic` and with the R
  reference simulation (``tests/models/reference/power_simulation.R``): a factor X
  on the SMD, per-SD odds-ratio or binary odds-ratio scale, optionally with one covariate Z
  correlated with X (``r2_other``) and no effect of its own.
- **Cohort scenarios** built on :func:`pfps_stats.simulate_cohort`'s arguments (subgroup,
  incidence, odds ratios, missingness; several subgroups mixed by share), with the factor
  tested and the adjustment covariates, analysed as complete cases; optionally two knees per
  runner with a shared runner effect, tested by a cluster-robust Wald test.

Many studies, one fit, in two tiers:

- Every study first gets a vectorised Newton-Raphson on its own rows (:func:`_fast_ml`, in
  blocks of about ``FIT_ROWS`` rows; a start near the MLE from sums, then full steps, the
  linear predictor as one matrix product), which serves the studies whose ML estimates
  exist: almost all of them.
- The rest (separated studies, no cases, singular designs, Firth's method) go to the batched
  engine of bootstrap validation (:func:`pfps_stats.models.engine.batch_fit`), as all
  studies did before: their complete cases packed into one padded design (cases first,
  then non-cases; padding rows get weight 0), so the engine's shared outcome vector and
  frequency weights hold studies of different sizes.

Cohort runners are drawn as arrays (:func:`_runners`: simulate_cohort's model, with its
distributions and helpers from :mod:`pfps_stats.cohort.synthetic`, drawing only the analysed
covariates; checked against simulate_cohort column by column).
Validated against a loop of statsmodels fits on the same simulated studies (p-values to
1e-6) and against the R reference simulation (power within Monte Carlo error):
``tests/models/test_power_simulation.py``. Speed: ``benchmarks/bench_power.py``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from threadpoolctl import threadpool_limits

from .._format import fit_html, number
from ..cohort.synthetic import (
    EFFECT_FACTORS,
    HIP_ABD,
    INCIDENCE,
    KM_CHANGE,
    KNEE_EXT,
    MEASURED,
    PROFILES,
    Q_ANGLE,
    SYNTHETIC_LABEL,
    Normal,
    clip_plausible,
    default_odds_ratios,
    draw_gamma,
    draw_lognormal,
    simulate_cohort,
)
from ..cohort.variables import OUTCOME, label
from . import engine
from .logistic import FEW_CLUSTERS
from .power import effect_text, items_html

Scale = Literal["smd", "or_per_sd", "or_binary"]
Test = Literal["lr", "wald"]
Method = Literal["ml", "firth", "auto"]

SCALES = ("smd", "or_per_sd", "or_binary")
TESTS = ("lr", "wald")
METHODS = ("ml", "firth", "auto")
#: Keys of a cohort scenario: simulate_cohort's arguments, and the share of each subgroup.
COHORT_KEYS = ("subgroup", "incidence", "odds_ratios", "missing", "share")
#: Default SD of the runner effect (logit scale) shared by a runner's two knees. ASSUMPTION:
#: no published estimate for PFP; 1.5 is a latent-scale intraclass correlation of
#: 1.5^2 / (1.5^2 + pi^2 / 3) = 0.41.
RUNNER_SD = 1.5
#: Cluster-robust Wald tests use CR1 with normal quantiles, as fit_logistic does from this
#: many clusters up (fewer need CR2 and Satterthwaite degrees of freedom).
MIN_RUNNERS_KNEES = FEW_CLUSTERS
#: Studies are drawn and fitted in chunks of about this many rows (memory and cache).
CHUNK_ROWS = 100_000
#: simulate_cohort solves its intercept on the runners it draws; each call draws at least
#: this many, so the intercept is the population's (the incidence is the expected one).
MIN_COHORT_ROWS = 50_000
#: Separated studies (ML) are followed until the log-likelihood changes by at most this
#: fraction (glm's convergence criterion on the deviance, 1e-8, made stricter).
SEPARATED_TOL = 1e-10
#: Studies fitted together by Newton-Raphson (_fast_ml): about this many rows (fewer, larger
#: blocks spend less time per row on Python; measured best at a whole chunk on a 2-core VM).
FIT_ROWS = 100_000
#: _fast_ml stops once no coefficient moves by more than this; Newton-Raphson converges
#: quadratically, so the estimates are then within about its square of the maximum.
FAST_TOL = 1e-7
#: The same when only likelihood-ratio tests are asked for: the log-likelihood is then the
#: last iterate's plus the rise the quadratic model predicts, within about its cube.
FAST_TOL_LR = 1e-4
#: Newton-Raphson steps of _fast_ml before a study is left to engine.batch_fit.
FAST_MAX_ITER = 30
#: Smallest study size accepted.
MIN_N = 10
_DEFAULT_SUBGROUP = inspect.signature(simulate_cohort).parameters["subgroup"].default


# -- scenarios ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortPart:
    """One subgroup of a cohort scenario: :func:`simulate_cohort`'s arguments and its share."""

    subgroup: str
    incidence: float
    odds_ratios: tuple[tuple[str, float], ...]
    missing: float
    share: float

    @property
    def settings(self) -> dict:
        """Keyword arguments of :func:`simulate_cohort`."""
        return {
            "subgroup": self.subgroup,
            "incidence": self.incidence,
            "odds_ratios": dict(self.odds_ratios),
            "missing": self.missing,
        }


@dataclass(frozen=True)
class PowerScenario:
    """How SYNTHETIC studies are generated and analysed; made by :func:`power_scenario`.
    Read-only.

    Attributes
    ----------
    kind : {"dgp", "cohort"}
        The planning DGPs of :func:`power_logistic`, or a cohort from :func:`simulate_cohort`.
    effect, scale, incidence, r2_other, exposed
        The planning DGP (kind "dgp"); see :func:`power_scenario`.
    parts : tuple of CohortPart
        The subgroups of a cohort scenario and their shares.
    factor : str
        The factor whose coefficient is tested ("x" for the planning DGPs).
    adjust : tuple of str
        The adjustment covariates ("z" for the planning DGPs with ``r2_other > 0``).
    knees : bool
        Two knees per runner, with a runner effect of SD ``runner_sd`` (logit scale).
    """

    kind: Literal["dgp", "cohort"]
    factor: str
    adjust: tuple[str, ...] = ()
    effect: float | None = None
    scale: Scale | None = None
    incidence: float | None = None
    r2_other: float = 0.0
    exposed: float | None = None
    parts: tuple[CohortPart, ...] = ()
    knees: bool = False
    runner_sd: float = RUNNER_SD
    _intercept: float = field(default=0.0, repr=False)

    @property
    def log_or(self) -> float | dict[str, float]:
        """The true log odds ratio of the factor: per SD (smd, or_per_sd), exposed vs not
        (or_binary), or per canonical unit for each subgroup of a cohort scenario (``sex``:
        female vs male)."""
        if self.kind == "dgp":
            return float(self.effect if self.scale == "smd" else math.log(self.effect))
        return {p.subgroup: math.log(dict(p.odds_ratios)[self.factor]) for p in self.parts}

    @property
    def terms(self) -> tuple[str, ...]:
        """Terms of the analysis model after the intercept: the factor, then adjustment."""
        return (self.factor, *self.adjust)

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns of the analysis model's design after the intercept, the factor first;
        ``subgroup`` becomes an indicator of each subgroup after the first."""
        out = []
        for term in self.terms:
            if term == "subgroup":
                out.extend(f"subgroup_{p.subgroup}" for p in self.parts[1:])
            else:
                out.append(term)
        return tuple(out)

    def describe(self) -> str:
        """One sentence saying what is simulated and tested."""
        adjust = f", adjusted for {', '.join(self.adjust)}" if self.adjust else ""
        if self.kind == "dgp":
            if self.scale == "smd":
                what = f"a normal factor whose cases are {self.effect:g} SD apart"
            elif self.scale == "or_per_sd":
                what = f"a normal factor with odds ratio {self.effect:g} per SD"
            else:
                what = f"a binary factor (exposed {self.exposed:g}) with odds ratio {self.effect:g}"
            extra = f" and a covariate z with R² {self.r2_other:g} on it" if self.r2_other else ""
            return f"SYNTHETIC studies of {what}{extra}, incidence {self.incidence:g}{adjust}"
        groups = "; ".join(
            f"{p.subgroup} ({p.share:.0%}, incidence {p.incidence:g}, odds ratio "
            f"{dict(p.odds_ratios)[self.factor]:.3g} per unit, {p.missing:.0%} missing)"
            for p in self.parts
        )
        knees = (
            f", two knees per runner (runner effect SD {self.runner_sd:g})" if self.knees else ""
        )
        return f"SYNTHETIC cohorts testing {self.factor}{adjust}: {groups}{knees}"

    def _repr_html_(self) -> str:
        """The scenario as HTML for JupyterLab: what is simulated (SYNTHETIC studies), the
        factor tested, the adjustment and, for a cohort scenario, its subgroups. Every text
        is escaped."""
        items = [("Simulated", self.describe())]
        if self.kind == "dgp":
            items += [
                ("Effect", effect_text(self.effect, self.scale, self.exposed)),
                ("PFP incidence", f"{100 * float(self.incidence):.3g}%"),
            ]
            if self.r2_other:
                items.append(("Covariate z: R² on the factor", f"{self.r2_other:g}"))
        else:
            items.append(("Factor tested", f"{label(self.factor)} ({self.factor})"))
        items.append(("Adjusted for", ", ".join(self.adjust) or "nothing"))
        if self.knees:
            items.append(
                ("Two knees per runner", f"yes, runner effect SD {self.runner_sd:g} (logit scale)")
            )
        extra = ""
        if self.parts:
            parts = pd.DataFrame(
                [
                    {
                        "Subgroup": p.subgroup,
                        "Share": f"{p.share:.0%}",
                        "PFP incidence": f"{100 * p.incidence:.3g}%",
                        "Odds ratio per unit": f"{dict(p.odds_ratios)[self.factor]:.3g}",
                        "Missing per covariate": f"{p.missing:.0%}",
                    }
                    for p in self.parts
                ]
            )
            extra = parts.to_html(index=False, escape=True)
        header = "Power scenario: how SYNTHETIC studies are simulated and analysed"
        return fit_html(header, [], items_html(items), extra)

    def simulate(self, n: int, *, n_sim: int = 1, seed: int | None = None) -> pd.DataFrame:
        """The SYNTHETIC studies :func:`simulate_power` fits for this ``n`` and ``seed``.

        Returns
        -------
        DataFrame
            One row per runner (per knee with ``knees``): ``study`` (0 to n_sim - 1),
            ``runner`` (and ``knee``), the outcome, the design columns (:attr:`columns`, as
            analysed: centred on the analysed runners and 0 for the others for cohort
            scenarios, ``sex`` as 1 = female, subgroup indicators), ``analysed`` (complete
            case: runners are exchangeable, so a study's complete cases are drawn as the
            first runners of each subgroup) and ``data_source = "SYNTHETIC"``.
        """
        n = _check_n(n)[0]
        n_sim = _check_n_sim(n_sim)
        seed = _check_seed(seed)
        frames = []
        start = 0
        for chunk in _chunks(self, n, n_sim, seed):
            B, m, p = chunk.X.shape
            frame = pd.DataFrame(
                {
                    "study": np.repeat(np.arange(start, start + B), m),
                    "runner": (chunk.cluster if self.knees else np.tile(np.arange(m), (B, 1)))
                    .ravel()
                    .astype(int),
                }
            )
            if self.knees:
                frame["knee"] = np.tile(np.array(["L", "R"] * (m // 2)), B)
            frame[_outcome(self)] = chunk.y.ravel().astype(int)
            for k, name in enumerate(self.columns, start=1):
                frame[name] = chunk.X[:, :, k].ravel()
            frame["analysed"] = chunk.keep.ravel()
            frame["data_source"] = SYNTHETIC_LABEL
            frames.append(frame)
            start += B
        return pd.concat(frames, ignore_index=True)


class SimulatedPower(pd.DataFrame):
    """The table of :func:`simulate_power`: a DataFrame that renders in JupyterLab with
    readable column names under a header giving the scenario (``attrs["scenario"]``, which
    says the studies are SYNTHETIC). Derived frames are plain DataFrames (``_constructor``
    is left as DataFrame's)."""

    def _repr_html_(self) -> str:
        """The simulated power as HTML: the scenario, then per n (and test) the power with its
        Monte Carlo SE, the studies simulated, the runners and cases analysed per study, and
        the shares of separated, Firth and failed fits. Every text is escaped."""
        tests = {"lr": "likelihood ratio", "wald": "Wald"}
        names = {
            "n": "Runners per study",
            "test": "Test",
            "power": "Power",
            "mc_se": "Monte Carlo SE",
            "n_sim": "Studies simulated",
            "n_analysed": "Runners analysed (mean)",
            "events": "Cases (mean)",
            "share_separated": "Separated (%)",
            "share_firth": "Firth fits (%)",
            "share_failed": "Failed fits (%)",
        }
        formats = {
            "test": lambda v: tests.get(v, v),
            "power": lambda v: number(v, 3),
            "mc_se": lambda v: number(v, 3),
            "n_analysed": lambda v: number(v, 1),
            "events": lambda v: number(v, 1),
            "share_separated": lambda v: number(100 * v, 1),
            "share_firth": lambda v: number(100 * v, 1),
            "share_failed": lambda v: number(100 * v, 1),
        }
        shown = pd.DataFrame(
            {
                name: self[c].map(formats[c]) if c in formats else self[c]
                for c, name in names.items()
                if c in self
            }
        )
        scenario = self.attrs.get("scenario", "scenario not recorded")
        header = f"Power by simulation\n{scenario}"
        notes = []
        if {"method", "alpha"} <= set(self.columns) and len(self):
            fits = {"ml": "maximum likelihood", "firth": "Firth", "auto": "ML, Firth if separated"}
            method = self["method"].iloc[0]
            notes.append(
                f"Fits: {fits.get(method, method)}; two-sided alpha "
                f"{float(self['alpha'].iloc[0]):g}. Power is the share of studies whose test "
                f"rejects; failed fits count as not rejecting."
            )
        return fit_html(header, notes, shown.to_html(index=False, escape=True))


def _outcome(scenario: PowerScenario) -> str:
    return OUTCOME if scenario.kind == "cohort" else "y"


def _number(value, name: str, *, low: float, high: float, closed: str = "neither") -> float:
    """``value`` as a float inside (low, high) (``closed``: "left", "right", "both")."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {value!r}") from None
    left = x >= low if closed in ("left", "both") else x > low
    right = x <= high if closed in ("right", "both") else x < high
    if not (math.isfinite(x) and left and right):
        lo = "[" if closed in ("left", "both") else "("
        hi = "]" if closed in ("right", "both") else ")"
        raise ValueError(f"{name} must be in {lo}{low:g}, {high:g}{hi}, not {value!r}")
    return x


def power_scenario(
    effect: float | None = None,
    *,
    scale: Scale = "smd",
    incidence: float | None = None,
    r2_other: float = 0.0,
    exposed: float | None = None,
    cohort: Mapping | Sequence[Mapping] | None = None,
    factor: str | None = None,
    adjust: Sequence[str] = (),
    knees: bool = False,
    runner_sd: float = RUNNER_SD,
) -> PowerScenario:
    """Describe the SYNTHETIC studies whose power :func:`simulate_power` estimates.

    Give either a planning DGP (``effect``, ``scale``, ``incidence``, ``r2_other``,
    ``exposed``) or a cohort (``cohort``, ``factor``, ``adjust``, ``knees``, ``runner_sd``).

    Parameters
    ----------
    effect : float
        Planning DGP: the effect of the factor X on ``scale``. 0 (smd) or 1 (odds ratios)
        simulates the null hypothesis, for the type-I error.
    scale : {"smd", "or_per_sd", "or_binary"}
        "smd": Y ~ Bernoulli(incidence), then X | Y ~ N(effect * Y, 1): cases are ``effect``
        within-group SDs above non-cases, and the true log odds ratio per within-group SD is
        exactly ``effect``. "or_per_sd": X ~ N(0, 1), logit P(Y = 1 | X) = b0 + log(effect) X.
        "or_binary": X ~ Bernoulli(exposed), logit P = b0 + log(effect) X. For the odds-ratio
        scales b0 is solved so that P(Y = 1) = incidence.
    incidence : float
        Planning DGP: the expected share of cases, in (0, 1).
    r2_other : float
        Planning DGP: R² of X on one adjustment covariate Z ~ N(0, 1) with corr(X, Z)² =
        r2_other and no effect on Y (Z = sqrt(r2) standardised X + sqrt(1 - r2) noise,
        standardised with X's population mean and SD); the analysis model is then Y ~ X + Z.
        In [0, 1); 0 (default) fits Y ~ X.
    exposed : float
        Planning DGP, "or_binary" only: the share exposed, in (0, 1) (None or NaN for the
        other scales, as :func:`power_logistic` reports it).
    cohort : dict or list of dicts
        A cohort scenario: :func:`simulate_cohort`'s arguments ``subgroup``, ``incidence``,
        ``odds_ratios``, ``missing`` (missing completely at random per covariate; complete
        cases are analysed). Several subgroups: a list of such dicts, each with a ``share`` of
        the runners (shares sum to 1; each study has that many of each subgroup).
    factor : str
        Cohort scenario: the factor tested, one of ``EFFECT_FACTORS`` (``"sex"`` is female vs
        male). Its true odds ratio comes from ``odds_ratios`` or simulate_cohort's defaults
        (the published SMDs of Neal et al. 2019).
    adjust : list of str
        Cohort scenario: adjustment covariates (``EFFECT_FACTORS``, and ``"subgroup"`` with
        several subgroups).
    knees : bool
        Cohort scenario: each runner contributes two knees. A knee's outcome is drawn from
        the cohort's logistic model plus a runner effect u ~ N(0, runner_sd²) shared by the
        two knees (odds ratios are conditional on u; ``incidence`` is per knee; covariates
        are the runner's). Tested by the cluster-robust (CR1) Wald test, clustered by runner.
    runner_sd : float
        SD of the runner effect on the logit scale (default 1.5, an ASSUMPTION; latent
        intraclass correlation 0.41).

    Returns
    -------
    PowerScenario

    Raises
    ------
    ValueError
        Naming the argument: both or neither kind given, an unknown scale, factor or
        covariate, incidence, exposed or r2_other out of range, a non-positive odds ratio.
    """
    if exposed is not None and pd.isna(exposed):  # a missing value, as power_logistic gives
        exposed = None
    if (effect is None) == (cohort is None):
        raise ValueError(
            "give either effect= (with scale=, incidence=: a planning DGP) or cohort= (with "
            "factor=: a simulate_cohort scenario), not "
            + ("both" if cohort is not None else "neither")
        )
    if effect is not None:
        dgp_only = {"factor": factor, "adjust": tuple(adjust) or None, "knees": knees or None}
        extra = [k for k, v in dgp_only.items() if v is not None]
        if extra or runner_sd != RUNNER_SD:
            extra = extra or ["runner_sd"]
            raise ValueError(
                f"{', '.join(extra)} belong to cohort scenarios (cohort=...); a planning DGP "
                "tests its factor x, adjusted for z when r2_other > 0"
            )
        return _dgp_scenario(effect, scale, incidence, r2_other, exposed)
    given = {"scale": scale != "smd", "incidence": incidence is not None}
    given |= {"r2_other": r2_other != 0.0, "exposed": exposed is not None}
    extra = [k for k, v in given.items() if v]
    if extra:
        raise ValueError(
            f"{', '.join(extra)} belong to planning DGPs (effect=...); for a cohort scenario "
            "put incidence, odds_ratios and missing in the cohort dict"
        )
    return _cohort_scenario(cohort, factor, adjust, knees, runner_sd)


def _dgp_scenario(effect, scale, incidence, r2_other, exposed) -> PowerScenario:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
    if incidence is None:
        raise ValueError("incidence is required: the expected share of cases, e.g. 0.1")
    incidence = _number(incidence, "incidence", low=0, high=1)
    if scale == "smd":
        effect = _number(effect, "effect (an SMD)", low=-20, high=20)
    else:
        effect = _number(effect, "effect (an odds ratio)", low=1e-6, high=1e6)
    r2_other = _number(r2_other, "r2_other", low=0, high=1, closed="left")
    if scale == "or_binary":
        if exposed is None:
            raise ValueError('exposed is required for scale="or_binary": the share exposed')
        exposed = _number(exposed, "exposed", low=0, high=1)
    elif exposed is not None:
        raise ValueError(f'exposed applies only to scale="or_binary", not {scale!r}')
    intercept = 0.0
    if scale != "smd":
        intercept = _solve_intercept(math.log(effect), scale, incidence, exposed)
    return PowerScenario(
        kind="dgp",
        factor="x",
        adjust=("z",) if r2_other > 0 else (),
        effect=effect,
        scale=scale,
        incidence=incidence,
        r2_other=r2_other,
        exposed=exposed,
        _intercept=intercept,
    )


def _solve_intercept(beta: float, scale: str, incidence: float, exposed: float | None) -> float:
    """b0 with E[expit(b0 + beta X)] = incidence, X ~ N(0, 1) (Gauss-Hermite, 80 nodes) or
    X ~ Bernoulli(exposed)."""
    if scale == "or_per_sd":
        nodes, weights = special.roots_hermitenorm(80)
        weights = weights / weights.sum()

        def mean_risk(b0):
            return weights @ special.expit(b0 + beta * nodes)
    else:

        def mean_risk(b0):
            return (1 - exposed) * special.expit(b0) + exposed * special.expit(b0 + beta)

    return optimize.brentq(lambda b0: mean_risk(b0) - incidence, -60, 60, xtol=1e-13)


def _cohort_scenario(cohort, factor, adjust, knees, runner_sd) -> PowerScenario:
    dicts = [cohort] if isinstance(cohort, Mapping) else list(cohort)
    if not dicts or not all(isinstance(d, Mapping) for d in dicts):
        raise ValueError(
            "cohort must be a dict of simulate_cohort's arguments, e.g. {'subgroup': "
            "'military', 'missing': 0.1}, or a list of such dicts each with a 'share'"
        )
    parts = []
    for i, d in enumerate(dicts):
        where = "cohort" if len(dicts) == 1 else f"cohort[{i}]"
        unknown = sorted(set(d) - set(COHORT_KEYS))
        if unknown:
            raise ValueError(f"{where} has unknown keys {unknown}; use {', '.join(COHORT_KEYS)}")
        if len(dicts) > 1 and "share" not in d:
            raise ValueError(f"{where} needs a 'share': the fraction of runners in it")
        settings = {k: v for k, v in d.items() if k != "share"}
        given = settings.get("odds_ratios") or {}
        if not isinstance(given, Mapping) or not all(
            isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0
            for v in given.values()
        ):
            raise ValueError(
                f"{where}['odds_ratios'] must map factors to odds ratios > 0 per unit, e.g. "
                f"{{'knee_ext_strength_nmkg': 0.6}}, not {given!r}"
            )
        try:  # simulate_cohort checks its own arguments; say where they came from
            simulate_cohort(MIN_N, seed=0, **settings)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        subgroup = settings.get("subgroup", _DEFAULT_SUBGROUP)
        ors = default_odds_ratios(subgroup)
        ors.update({k: float(v) for k, v in (settings.get("odds_ratios") or {}).items()})
        share = _number(d.get("share", 1.0), f"{where}['share']", low=0, high=1, closed="right")
        parts.append(
            CohortPart(
                subgroup=subgroup,
                incidence=float(settings.get("incidence") or INCIDENCE[subgroup]),
                odds_ratios=tuple(ors.items()),
                missing=float(settings.get("missing", 0.0)),
                share=share,
            )
        )
    if abs(sum(p.share for p in parts) - 1) > 1e-9:
        raise ValueError(f"cohort shares must sum to 1, not {sum(p.share for p in parts):g}")
    names = [p.subgroup for p in parts]
    if len(set(names)) < len(names):
        raise ValueError(f"cohort lists a subgroup twice: {names}; merge them")
    if factor not in EFFECT_FACTORS:
        raise ValueError(
            f"factor must be one of {', '.join(EFFECT_FACTORS)} for a cohort scenario, "
            f"not {factor!r}"
        )
    if isinstance(adjust, str):
        adjust = [adjust]
    adjust = tuple(adjust)
    allowed = (*EFFECT_FACTORS, "subgroup")
    for name in adjust:
        if name not in allowed:
            raise ValueError(f"adjust has an unknown covariate {name!r}; use {', '.join(allowed)}")
    if factor in adjust or len(set(adjust)) < len(adjust):
        raise ValueError(f"adjust must not repeat a covariate or the factor {factor!r}: {adjust}")
    if "subgroup" in adjust and len(parts) == 1:
        raise ValueError(
            "adjust includes 'subgroup' but the cohort has one subgroup; drop it, or give "
            "cohort as a list of subgroups with shares"
        )
    if not isinstance(knees, bool | np.bool_):
        raise ValueError(f"knees must be True or False, not {knees!r}")
    runner_sd = _number(runner_sd, "runner_sd", low=0, high=20, closed="left")
    return PowerScenario(
        kind="cohort",
        factor=factor,
        adjust=adjust,
        parts=tuple(parts),
        knees=bool(knees),
        runner_sd=runner_sd,
    )


# -- simulated studies ---------------------------------------------------------------------------


@dataclass
class _Chunk:
    """B simulated studies of m rows: design columns (p, B, m), the intercept first and the
    factor second; outcome (B, m); complete cases (B, m); runner of each row (knees)."""

    cols: np.ndarray
    y: np.ndarray
    keep: np.ndarray
    cluster: np.ndarray | None = None

    @property
    def X(self) -> np.ndarray:
        """The design of each study, (B, m, p) (a view of ``cols``)."""
        return self.cols.transpose(1, 2, 0)

    def take(self, idx: np.ndarray | slice) -> _Chunk:
        """The studies ``idx``."""
        cluster = None if self.cluster is None else self.cluster[idx]
        return _Chunk(self.cols[:, idx], self.y[idx], self.keep[idx], cluster)

    def rows(self, width: int) -> _Chunk:
        """The first ``width`` rows of every study (views)."""
        if width == self.y.shape[1]:
            return self
        cluster = None if self.cluster is None else self.cluster[:, :width]
        return _Chunk(self.cols[:, :, :width], self.y[:, :width], self.keep[:, :width], cluster)


def _check_seed(seed) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0 (or None), not {seed!r}")
    return int(seed)


def _seed_sequence(seed: int | None, n: int) -> np.random.SeedSequence:
    """The seeds of the studies of size n: independent of which other sizes are run."""
    base = np.random.SeedSequence(seed)
    return np.random.SeedSequence(base.entropy, spawn_key=(int(n),))


def _chunks(scenario: PowerScenario, n: int, n_sim: int, seed: int | None) -> Iterator[_Chunk]:
    rows = 2 * n if scenario.knees else n
    size = max(1, min(n_sim, math.ceil(CHUNK_ROWS / rows)))
    counts = [size] * (n_sim // size) + ([n_sim % size] if n_sim % size else [])
    for B, child in zip(counts, _seed_sequence(seed, n).spawn(len(counts)), strict=True):
        rng = np.random.default_rng(child)
        if scenario.kind == "dgp":
            yield _draw_dgp(scenario, n, B, rng)
        else:
            yield _draw_cohort(scenario, n, B, rng)


def _draw_dgp(s: PowerScenario, n: int, B: int, rng: np.random.Generator) -> _Chunk:
    cols = np.empty((3 if s.r2_other > 0 else 2, B, n))
    cols[0] = 1.0
    x = cols[1]
    if s.scale == "smd":
        y = rng.random((B, n)) < s.incidence
        rng.standard_normal((B, n), out=x)
        x += s.effect * y
        mean = s.effect * s.incidence
        sd = math.sqrt(1 + s.effect**2 * s.incidence * (1 - s.incidence))
    else:
        beta = math.log(s.effect)
        if s.scale == "or_per_sd":
            rng.standard_normal((B, n), out=x)
            mean, sd = 0.0, 1.0
        else:
            x[:] = rng.random((B, n)) < s.exposed
            mean, sd = s.exposed, math.sqrt(s.exposed * (1 - s.exposed))
        y = rng.random((B, n)) < special.expit(s._intercept + beta * x)
    if s.r2_other > 0:
        noise = rng.standard_normal((B, n))
        cols[2] = math.sqrt(s.r2_other) * (x - mean) / sd + math.sqrt(1 - s.r2_other) * noise
    return _Chunk(cols, y.astype(float), np.ones((B, n), bool))


def _split(total: int, shares: Sequence[float]) -> list[int]:
    """Largest-remainder apportionment of ``total`` runners by ``shares``."""
    raw = np.asarray(shares) * total
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return counts.tolist()


def _draw_cohort(s: PowerScenario, n: int, B: int, rng: np.random.Generator) -> _Chunk:
    sizes = _split(n, [p.share for p in s.parts])
    names = [t for t in s.terms if t != "subgroup"]
    blocks = []
    for g, (part, size) in enumerate(zip(s.parts, sizes, strict=True)):
        if size == 0:
            continue
        need = size * B
        rows = max(need, MIN_COHORT_ROWS)
        if s.knees:  # knee outcomes drawn below
            columns, lp = _runners(part, rows, rng, names, outcome=False)
            y = _knee_outcomes(s, part, lp, rng)
        else:
            columns, y = _runners(part, rows, rng, names)
        arrays = [columns[name] for name in names]
        if len(s.parts) > 1:
            arrays.append(np.full(rows, g))
        arrays.append(y)
        block = [a[:need].reshape(B, size, *a.shape[1:]) for a in arrays]
        # Complete cases: each measured covariate is missing completely at random, so a
        # runner is complete with probability (1 - missing)^k (k measured columns, bmi's
        # two), independently of its data; the runners are exchangeable, so a study's
        # complete cases are its first K ~ Binomial(size, (1 - missing)^k) runners.
        complete = rng.binomial(size, (1 - part.missing) ** _measured(names), B)
        block.append(np.arange(size) < complete[:, None])
        blocks.append(block)
    *values, y, keep = (
        a[0] if len(a) == 1 else np.concatenate(a, axis=1) for a in zip(*blocks, strict=True)
    )
    if len(s.parts) > 1:
        *values, group = values
    cols = np.zeros((1 + len(s.columns), B, n))
    cols[0] = 1.0
    k = 1
    values = iter(values)
    analysed = keep.sum()
    for term in s.terms:
        if term == "subgroup":  # indicators of the subgroups after the first
            for g in range(1, len(s.parts)):
                cols[k] = group == g
                k += 1
            continue
        column = next(values)
        # centred on the analysed runners' mean (the tests of slopes do not change); 0 for
        # the runners not analysed
        centre = np.vecdot(column.ravel(), keep.ravel()) / analysed if analysed else 0.0
        np.subtract(column, centre, out=cols[k], where=keep)
        k += 1
    if not s.knees:
        return _Chunk(cols, y, keep)
    # two knees per runner: rows (runner 0 L, runner 0 R, runner 1 L, ...)
    runner = np.tile(np.repeat(np.arange(n), 2), (B, 1))
    return _Chunk(
        np.repeat(cols, 2, axis=2), y.reshape(B, 2 * n), np.repeat(keep, 2, axis=1), runner
    )


#: The measured columns a covariate comes from, when not itself (sex and subgroup: none).
_MEASURED_AS = {"bmi": ("height_cm", "mass_kg"), "sex": (), "subgroup": ()}


def _by_sex(rng, female: np.ndarray, f: Normal, m: Normal, every: bool) -> np.ndarray:
    """Normal draws with the sex-specific mean and SD: as simulate_cohort draws them (a draw
    per runner for each sex, ``every``), or one draw per runner (the same distribution)."""
    n = len(female)
    if every:
        return np.where(female, rng.normal(f.mean, f.sd, n), rng.normal(m.mean, m.sd, n))
    out = rng.standard_normal(n)
    out *= f.sd if f.sd == m.sd else np.where(female, f.sd, m.sd)
    out += np.where(female, f.mean, m.mean)
    return out


def _runners(
    part: CohortPart,
    n: int,
    rng: np.random.Generator,
    names: Sequence[str],
    *,
    outcome: bool = True,
    every: bool = False,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``n`` runners of :func:`simulate_cohort`'s model as arrays, drawing only what the
    analysis needs: the covariates ``names`` (``sex`` as 1 = female) and those with an
    effect on the outcome, then the outcome (missingness: see :func:`_draw_cohort`).

    simulate_cohort builds a DataFrame of every covariate (runner ids, categoricals), which
    costs several times the draws; here each covariate is drawn from the same distribution,
    rounded and clipped alike, only when needed, and the intercept is solved on the ``n``
    runners drawn, as simulate_cohort solves it. With ``every``, every covariate is drawn
    in simulate_cohort's order, and then the missing values (NaN), so the arrays equal
    simulate_cohort's columns for the same generator: the tests check this, which keeps
    this copy of the model faithful to simulate_cohort.

    Returns
    -------
    columns : dict of (n,) arrays
        The covariates drawn (complete, except with ``every``); with ``bmi`` also
        ``height_cm`` and ``mass_kg``.
    y or lp : (n,) array
        The outcome (0/1), or with ``outcome=False`` the linear predictor without the
        intercept (centred covariates; for :func:`_knee_outcomes`).
    """
    profile = PROFILES[part.subgroup]
    effects = {k: math.log(v) for k, v in part.odds_ratios if v != 1.0}
    wanted = set(EFFECT_FACTORS) if every else {*names, *effects}
    female = rng.random(n) < profile.female[0]
    columns = {"sex": female.astype(float)}
    if "bmi" in wanted:
        height = _by_sex(rng, female, profile.height_f, profile.height_m, every)
        height = np.round(clip_plausible("height_cm", height), 1)
        bmi_draw = clip_plausible("bmi", draw_lognormal(rng, profile.bmi, n))
        columns["mass_kg"] = np.round(clip_plausible("mass_kg", bmi_draw * (height / 100) ** 2), 1)
        columns["bmi"] = np.round(columns["mass_kg"] / (height / 100) ** 2, 1)
        columns["height_cm"] = height
    if "q_angle_deg" in wanted:
        q = _by_sex(rng, female, Q_ANGLE["F"], Q_ANGLE["M"], every)
    if "knee_ext_strength_nmkg" in wanted:
        knee = _by_sex(rng, female, KNEE_EXT["F"], KNEE_EXT["M"], every)
    if "age_years" in wanted:
        age = rng.normal(profile.age_years.mean, profile.age_years.sd, n)
        columns["age_years"] = np.round(clip_plausible("age_years", age), 0)
    if "q_angle_deg" in wanted:
        columns["q_angle_deg"] = np.round(clip_plausible("q_angle_deg", q), 1)
    if "weekly_km" in wanted:
        columns["weekly_km"] = np.round(
            clip_plausible("weekly_km", draw_gamma(rng, profile.weekly_km, n)), 1
        )
    if "weekly_km_change_pct" in wanted:
        change = rng.normal(KM_CHANGE.mean, KM_CHANGE.sd, n)
        columns["weekly_km_change_pct"] = np.round(
            clip_plausible("weekly_km_change_pct", change), 0
        )
    if "hip_abd_strength_nkg" in wanted:
        hip = rng.normal(HIP_ABD.mean, HIP_ABD.sd, n)
        columns["hip_abd_strength_nkg"] = np.round(clip_plausible("hip_abd_strength_nkg", hip), 2)
    if "knee_ext_strength_nmkg" in wanted:
        columns["knee_ext_strength_nmkg"] = np.round(
            clip_plausible("knee_ext_strength_nmkg", knee), 2
        )
    lp = np.zeros(n)
    for key, log_or in effects.items():
        x = columns[key]
        lp += log_or * (x if key == "sex" else x - x.mean())
    out = lp
    if outcome:
        intercept = _intercept_for(lp, part.incidence)
        out = (rng.random(n) < _expit(intercept + lp)).astype(float)
    if every and part.missing:  # one draw per column, in simulate_cohort's order
        for column in MEASURED:
            columns[column][rng.random(n) < part.missing] = np.nan
        columns["bmi"][np.isnan(columns["height_cm"]) | np.isnan(columns["mass_kg"])] = np.nan
    return columns, out


def _intercept_for(lp: np.ndarray, incidence: float) -> float:
    """The intercept b with mean(expit(b + lp)) = incidence, to 1e-12 as simulate_cohort's
    brentq: Newton-Raphson (the mean risk rises with b) kept inside a bisection bracket; a
    step below 1e-7 is the last (the error after it is of the order of its square)."""
    low, high = -40.0, 40.0
    # start: E expit(b + lp) ~ expit((b + mean lp) / sqrt(1 + pi var(lp) / 8)) (probit)
    spread = math.sqrt(1 + math.pi * float(lp.var()) / 8)
    b = math.log(incidence / (1 - incidence)) * spread - float(lp.mean())
    for _ in range(100):
        risk = _expit(b + lp)
        gap = float(risk.mean()) - incidence
        if gap > 0:
            high = min(high, b)
        else:
            low = max(low, b)
        slope = float(np.vecdot(risk, 1 - risk)) / len(lp)
        step = gap / slope if slope > 0 else math.inf
        if abs(step) < 1e-7 or high - low < 1e-12:
            return b - step if abs(step) < 1e-7 else b
        b = b - step if low < b - step < high else 0.5 * (low + high)
    return b


def _knee_outcomes(s: PowerScenario, part: CohortPart, lp: np.ndarray, rng) -> np.ndarray:
    """Outcomes of two knees per runner, (runners, 2), given the runners' linear predictor
    ``lp`` and a runner effect u ~ N(0, runner_sd^2) shared by the two knees, with the
    intercept solved so that the mean risk per knee is the part's incidence."""
    lp = lp + s.runner_sd * rng.standard_normal(len(lp))
    b0 = _intercept_for(lp, part.incidence)
    return (rng.random((len(lp), 2)) < special.expit(b0 + lp)[:, None]).astype(float)


def _measured(names: Sequence[str]) -> int:
    """How many measured columns (each missing at random alike) the covariates come from."""
    return len({c for name in names for c in _MEASURED_AS.get(name, (name,))})


# -- most studies: Newton-Raphson on the studies' own rows ------------------------------------------


@dataclass
class _MLFit:
    """Maximum-likelihood fits by :func:`_fast_ml`: coefficients (B, p), log-likelihood (B,),
    Fisher information (B, p, p), and which fits are clean (``ok``); the others are NaN."""

    beta: np.ndarray
    loglik: np.ndarray
    info: np.ndarray
    ok: np.ndarray


def _solve_steps(info: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Newton steps info^-1 score of each study, and which are finite (a singular information
    gives no step)."""
    try:
        step = np.linalg.solve(info, score[..., None])[..., 0]
    except np.linalg.LinAlgError:  # some exactly singular (rare): one at a time
        step = np.full_like(score, np.nan)
        for b in range(len(score)):
            try:
                step[b] = np.linalg.solve(info[b], score[b])
            except np.linalg.LinAlgError:
                pass
    return step, np.isfinite(step).all(axis=1)


def _regular(info: np.ndarray) -> np.ndarray:
    """Which information matrices (B, p, p) are not singular by engine.batch_fit's criterion
    (the smallest eigenvalue of the correlation-scaled matrix at least 1e-11), checked
    cheaply first: the p eigenvalues of a correlation matrix sum to p, so the smallest is at
    least its determinant times ((p - 1) / p)^(p - 1)."""
    p = info.shape[1]
    d = np.sqrt(np.einsum("bii->bi", info))
    with np.errstate(divide="ignore", invalid="ignore"):
        det = np.linalg.det(info / d[:, :, None] / d[:, None, :])
        out = det * ((p - 1) / p) ** (p - 1) >= 1e-11
    unclear = ~out
    if unclear.any():
        out[unclear] = ~engine._singular(info[unclear])
    return out


def _first_step(Z, W, yz, events, total, ones) -> tuple[np.ndarray, np.ndarray]:
    """A start for :func:`_fast_ml` near the MLE, from sums only, and which studies have one.

    The first Newton step from the intercept-only fit (its fitted risk is the share of
    events p on every row) has slopes b solving p(1 - p) Cov(Z) b = Cov(Z, y); with
    Cov(Z) = S + p(1 - p) d d' (S within outcome groups, d the difference of their means)
    they are the discriminant-analysis slopes S^-1 d (the logistic slopes when the
    covariates are normal with a common covariance) divided by 1 + p(1 - p) d'S^-1 d, i.e.
    times 1 - r, r = score'b / n: those are taken. Then the intercept: the MLE's fitted
    risks average to p, and the mean of expit(b0 + lp) exceeds expit(b0) by about
    (1 - 2p) var(lp) / 2 of its slope (second order).
    """
    q, B = len(Z), len(events)
    p = q + 1
    share = events / total
    WZ = Z if W is None else [z * W for z in Z]
    info = np.empty((B, p, p))
    score = np.zeros((B, p))
    info[:, 0, 0] = total
    for k in range(q):
        info[:, 0, k + 1] = info[:, k + 1, 0] = WZ[k] @ ones
        score[:, k + 1] = yz[:, k] - share * info[:, 0, k + 1]
        for j in range(k, q):
            info[:, k + 1, j + 1] = info[:, j + 1, k + 1] = np.vecdot(WZ[k], Z[j])
    sums = info.copy()
    info *= (share * (1 - share))[:, None, None]
    step, active = _solve_steps(info, score)
    slopes = np.where(active[:, None], step[:, 1:], 0.0)
    r = np.vecdot(score[:, 1:], slopes) / total
    slopes /= np.where((r >= 0) & (r < 0.5), 1 - r, 1.0)[:, None]  # else: as stepped
    mean = sums[:, 0, 1:] / total[:, None]
    spread = sums[:, 1:, 1:] / total[:, None, None] - mean[:, :, None] * mean[:, None, :]
    var_lp = np.einsum("bi,bij,bj->b", slopes, spread, slopes)
    beta = np.empty((B, p))
    beta[:, 1:] = slopes
    beta[:, 0] = np.log(share / (1 - share)) - np.vecdot(mean, slopes)
    beta[:, 0] -= 0.5 * (1 - 2 * share) * var_lp
    return beta, active


def _fast_ml(
    cols: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    W: np.ndarray | None,
    terms: Sequence[int],
    *,
    loglik: bool,
    tol: float = FAST_TOL,
) -> _MLFit:
    """Maximum-likelihood logistic fits of many studies at once, each on its own rows.

    Plain Newton-Raphson (no step halving, as glm and statsmodels' Newton) from a start
    computed from sums (:func:`_first_step`), full steps until the next step moves no
    coefficient by ``tol``; that last step is taken without another iteration (Newton-Raphson
    converges quadratically: the error is then of the order of its square), and the
    log-likelihood is its value at the last iterate plus the rise the Newton step's
    quadratic model predicts, step' score / 2 (exact to the cube of the step). A study is
    ``ok`` when it converged within ``FAST_MAX_ITER`` steps to a non-singular information
    (engine.batch_fit's criterion) with every analysed |linear predictor| below
    engine.RMS_CLAMP; the MLE is unique, so such a fit is the one engine.batch_fit finds
    (the tests check p-values against statsmodels to 1e-6). The rest (no cases or no
    non-cases, separation, a singular design, divergence) are left to engine.batch_fit.

    Parameters
    ----------
    cols : (P, B, m) array
        The design columns of B studies, the intercept first.
    X : (B, m, P) array
        The same design, C-contiguous (the linear predictor is one matrix product).
    y : (B, m) array of 0/1
    W : (B, m) array of 0/1, or None
        Which rows are analysed (None: all).
    terms : sequence of int
        The columns in the model, 0 (the intercept) first.
    loglik : bool
        Compute the log-likelihood at the estimates.
    tol : float
        The largest step taken without a further iteration: FAST_TOL for Wald tests (whose
        information is the last iterate's, ``tol`` away from the estimates), FAST_TOL_LR
        when only the log-likelihood is used.

    Returns
    -------
    _MLFit
        Coefficients of ``terms``, and the information at the last iterate.
    """
    terms = list(terms)
    B, m, P = X.shape
    p, q = len(terms), len(terms) - 1
    Z = [cols[k] for k in terms[1:]]
    ones = np.ones(m)
    yw = y if W is None else y * W
    total = np.full(B, float(m)) if W is None else W @ ones
    events = yw @ ones
    yz = np.stack([np.vecdot(yw, z) for z in Z], axis=1)  # score: yz - sum mu z
    nonevent = 1.0 - y if W is None else W - yw  # the log-likelihood is -sum nonevent eta - ...
    nan = np.nan
    out = _MLFit(np.full((B, p), nan), np.full(B, nan), np.full((B, p, p), nan), np.zeros(B, bool))
    held = np.flatnonzero((events > 0) & (events < total))  # the others: no cases or no controls
    if not held.size:
        return out
    if held.size < B:
        Z, X, y = [z[held] for z in Z], X[held], y[held]
        W, nonevent = (None, nonevent[held]) if W is None else (W[held], nonevent[held])
    yz, events, total = yz[held], events[held], total[held]
    beta, active = _first_step(Z, W, yz, events, total, ones)
    full = np.zeros((held.size, P, 1))  # minus the coefficients of every column, for X
    wz = np.empty((held.size, m))
    for _ in range(FAST_MAX_ITER):
        if not active.any():
            break
        if active.sum() < 0.8 * active.size:  # drop the studies done, when worth the copy
            held, beta, yz, events = held[active], beta[active], yz[active], events[active]
            Z, X, y, nonevent = [z[active] for z in Z], X[active], y[active], nonevent[active]
            W = None if W is None else W[active]
            full, wz = full[active], wz[active]
            active = np.ones(held.size, bool)
        full[:, terms, 0] = -beta
        neta = np.matmul(X, full)[:, :, 0]  # minus the linear predictor
        with np.errstate(over="ignore", invalid="ignore"):  # diverging studies: not ok
            e = np.exp(neta)
            mu = np.add(e, 1.0)
            np.reciprocal(mu, out=mu)  # expit(eta)
            w = np.multiply(e, mu, out=e)
            w *= mu  # mu (1 - mu), as 1 - mu = e mu
        if W is not None:
            w *= W
            mu *= W
        info = np.empty((held.size, p, p))
        score = np.empty((held.size, p))
        info[:, 0, 0] = w @ ones
        score[:, 0] = events - mu @ ones
        for k in range(q):
            score[:, k + 1] = yz[:, k] - np.vecdot(mu, Z[k])
            np.multiply(w, Z[k], out=wz)
            info[:, 0, k + 1] = info[:, k + 1, 0] = wz @ ones
            for j in range(k, q):
                info[:, k + 1, j + 1] = info[:, j + 1, k + 1] = np.vecdot(wz, Z[j])
        step, solved = _solve_steps(info, score)
        with np.errstate(invalid="ignore"):
            done = active & solved & (np.abs(step).max(axis=1) < tol)
        if done.any():
            local = np.flatnonzero(done)
            idx = held[local]
            out.beta[idx] = beta[local] + step[local]
            out.info[idx] = info[local]
            far = np.abs(neta[local])
            if W is not None:
                far *= W[local]
            out.ok[idx] = (far.max(axis=1) < engine.RMS_CLAMP) & _regular(info[local])
            if loglik:  # sum of W (y eta - log(1 + exp(eta))), with -eta = neta
                soft = _log1pexp(neta[local])
                if W is not None:
                    soft *= W[local]
                rise = 0.5 * np.vecdot(step[local], score[local])  # to the maximum
                out.loglik[idx] = np.vecdot(nonevent[local], neta[local]) - soft @ ones + rise
        active &= solved & ~done
        beta[active] += step[active]
    out.beta[~out.ok] = np.nan
    out.loglik[~out.ok] = np.nan
    return out


def _fast_tests(chunk: _Chunk, tests: Sequence[str]) -> dict[str, np.ndarray]:
    """p-values of the factor's coefficient (column 1) from :func:`_fast_ml` fits, and
    ``ok``: the studies tested here (the rest need engine.batch_fit)."""
    j = 1
    cols, y = chunk.cols, chunk.y
    W = None if chunk.keep.all() else chunk.keep.astype(float)
    X = np.empty((y.shape[0], y.shape[1], cols.shape[0]))
    for k, column in enumerate(cols):
        X[:, :, k] = column
    p = cols.shape[0]
    tol = FAST_TOL if "wald" in tests else FAST_TOL_LR
    fit = _fast_ml(cols, X, y, W, range(p), loglik="lr" in tests, tol=tol)
    ok = fit.ok.copy()
    out = {}
    if "lr" in tests:
        if p == 2:  # the null model is the intercept alone: closed form
            total = chunk.keep.sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):  # a study with no runner
                share = (y * chunk.keep).sum(axis=1) / total
                null = total * (special.xlogy(share, share) + special.xlog1py(1 - share, -share))
        else:
            terms = [k for k in range(p) if k != j]
            reduced = _fast_ml(cols, X, y, W, terms, loglik=True, tol=tol)
            ok &= reduced.ok
            null = reduced.loglik
        with np.errstate(invalid="ignore"):
            stat = np.maximum(2 * (fit.loglik - null), 0.0)
        out["p_lr"] = np.where(ok, stats.chi2.sf(stat, 1), np.nan)
    if "wald" in tests:
        p_wald = np.full(y.shape[0], np.nan)
        idx = np.flatnonzero(ok)
        if idx.size:
            beta = fit.beta[idx]
            inv = np.linalg.inv(fit.info[idx])
            if chunk.cluster is not None:
                cov = _cluster_covariance(chunk.take(idx), beta, inv)
            else:
                cov = inv
            p_wald[idx] = stats.chi2.sf(beta[:, j] ** 2 / cov[:, j, j], 1)
        out["p_wald"] = p_wald
    out["ok"] = ok
    return out


def _cluster_covariance(chunk: _Chunk, beta: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """CR1 cluster-robust covariance of each study's fit (statsmodels' cov_type="cluster"
    with its small-sample correction; sandwich::vcovCL), from the inverse information."""
    cols, W = chunk.cols, chunk.keep.astype(float)
    resid = W * (chunk.y - _expit(np.einsum("kbm,bk->bm", cols, beta)))
    return _cr1(inv, [c * resid for c in cols], chunk.cluster, W)


def _cr1(inv: np.ndarray, scores: list, cluster: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """CR1 sandwich of each study (B, p, p) from its inverse information ``inv``, the score
    contributions of each coefficient (p arrays of shape (B, rows)), each row's cluster
    (B, rows; small whole numbers) and weight (B, rows; 0 for rows not analysed), with
    statsmodels' small-sample factor G/(G - 1) (n - 1)/(n - p)."""
    B, p = len(inv), len(scores)
    G = int(cluster.max()) + 1
    flat = (np.arange(B)[:, None] * G + cluster).ravel()
    sums = np.stack(
        [np.bincount(flat, score.ravel(), minlength=B * G) for score in scores], axis=1
    ).reshape(B, G, p)
    meat = np.einsum("bgi,bgj->bij", sums, sums)
    used = np.bincount(flat, weights.ravel(), minlength=B * G).reshape(B, G)
    n_clusters = (used > 0).sum(axis=1)
    nobs = weights.sum(axis=1)
    factor = n_clusters / (n_clusters - 1) * (nobs - 1) / (nobs - p)
    return factor[:, None, None] * inv @ meat @ inv


def _fit_and_test(chunk: _Chunk, tests: Sequence[str], method: str) -> dict[str, np.ndarray]:
    """p-values of the factor's coefficient (column 1) in each study of ``chunk``, by each of
    ``tests`` ("lr", "wald"; the fits are shared).

    ML fits go to :func:`_fast_ml` in blocks of about ``FIT_ROWS`` rows; the studies it
    leaves (and every study with ``method="firth"``) go to :func:`_fit_and_test_packed`
    (engine.batch_fit, which says which are separated, and Firth's fits).

    Returns
    -------
    dict of (B,) arrays
        ``p_lr`` and/or ``p_wald`` (NaN where no test was possible: no cases or no
        non-cases, a singular design, no convergence), ``separated`` (the ML fit), ``firth``
        (tested with Firth's fit), ``n_analysed`` (runners), ``events``.
    """
    B, m = chunk.y.shape
    out = {f"p_{t}": np.full(B, np.nan) for t in tests}
    done = np.zeros(B, bool)
    if method != "firth":
        size = max(1, FIT_ROWS // m)
        for start in range(0, B, size):
            block = slice(start, start + size)
            studies = chunk.take(block)
            # the analysed runners come first (_draw_cohort): leave out the rows after them
            width = np.flatnonzero(studies.keep.any(axis=0))
            if not width.size:
                continue
            fast = _fast_tests(studies.rows(width[-1] + 1), tests)
            for t in tests:
                out[f"p_{t}"][block] = fast[f"p_{t}"]
            done[block] = fast["ok"]
    separated = np.zeros(B, bool)
    firth = np.zeros(B, bool)
    # studies with no runner analysed (all with a missing value) cannot be fitted: their
    # p-values stay NaN
    rest = np.flatnonzero(~done & chunk.keep.any(axis=1))
    if rest.size:
        slow = _fit_and_test_packed(chunk.take(rest), tests, method)
        for t in tests:
            out[f"p_{t}"][rest] = slow[f"p_{t}"]
        separated[rest] = slow["separated"]
        firth[rest] = slow["firth"]
    if chunk.cluster is not None:  # runners (each has two rows, both kept or neither)
        n_analysed = chunk.keep[:, ::2].sum(axis=1).astype(float)
    else:
        n_analysed = chunk.keep.sum(axis=1).astype(float)
    out |= {
        "separated": separated,
        "firth": firth,
        "n_analysed": n_analysed,
        "events": (chunk.y * chunk.keep).sum(axis=1),
    }
    return out


# -- the other studies: engine.batch_fit on a packed design -----------------------------------------


# -- packing many studies into one weighted design -------------------------------------------------


@dataclass
class _Packed:
    """Studies packed for :func:`engine.batch_fit`: design (N, B, p), shared outcome (N,)
    (the first ``cases`` rows 1, the rest 0), 0/1 weights (N, B), runner of each row."""

    X: np.ndarray
    y: np.ndarray
    W: np.ndarray
    cases: int
    cluster: np.ndarray | None


def _pack(chunk: _Chunk) -> _Packed:
    """Each study's analysed cases in the first slots, its analysed non-cases after the
    largest number of cases in the chunk; slots a study does not fill get weight 0 (and a
    copy of one of its rows, so every design value stays finite)."""
    B, m, _ = chunk.X.shape
    category = np.where(chunk.keep, np.where(chunk.y == 1, 0, 1), 2)
    order = np.argsort(category, axis=1, kind="stable")
    k1 = (category == 0).sum(axis=1)
    k0 = (category == 1).sum(axis=1)
    M1, M0 = int(k1.max()), int(k0.max())
    s1, s0 = np.arange(M1)[None, :], np.arange(M0)[None, :]
    filled = np.concatenate([s1 < k1[:, None], s0 < k0[:, None]], axis=1)  # (B, N)
    position = np.concatenate([np.broadcast_to(s1, (B, M1)), k1[:, None] + s0], axis=1)
    position = np.where(filled, position, 0)
    rows = np.take_along_axis(order, position, axis=1).T  # (N, B)
    flat = rows + np.arange(B) * m  # into the (B * m) rows of the chunk
    X = np.empty((M1 + M0, B, chunk.X.shape[2]))
    for k in range(X.shape[2]):
        X[:, :, k] = chunk.X[:, :, k].ravel()[flat]
    cluster = None if chunk.cluster is None else chunk.cluster.ravel()[flat]
    y = np.r_[np.ones(M1), np.zeros(M0)]
    return _Packed(X, y, filled.T.astype(float), M1, cluster)


# -- fits and tests --------------------------------------------------------------------------------


def _eta(X: np.ndarray, beta: np.ndarray) -> np.ndarray:
    out = X[:, :, 0] * beta[:, 0]
    for i in range(1, X.shape[2]):
        out += X[:, :, i] * beta[:, i]
    return out


def _expit(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)): as scipy's expit, several times faster on large arrays."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _log1pexp(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) without overflow (np.logaddexp(0, x), several times faster)."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _information(X: np.ndarray, Wt: np.ndarray) -> np.ndarray:
    """X' diag(Wt) X of each study, (B, p, p); one pass per pair of columns (p is small)."""
    p = X.shape[2]
    info = np.empty((X.shape[1], p, p))
    for i in range(p):
        weighted = X[:, :, i] * Wt
        for k in range(i, p):
            info[:, i, k] = info[:, k, i] = np.einsum("nb,nb->b", weighted, X[:, :, k])
    return info


def _loglik(X, y, W, beta) -> np.ndarray:
    eta = _eta(X, beta)
    return np.sum(W * (y[:, None] * eta - _log1pexp(eta)), axis=0)


def _objective(X, y, W, beta, firth: bool) -> np.ndarray:
    """Log-likelihood of each study; Firth: plus 1/2 log|I|."""
    loglik = _loglik(X, y, W, beta)
    if not firth:
        return loglik
    prob = _expit(_eta(X, beta))
    sign, logdet = np.linalg.slogdet(_information(X, W * prob * (1 - prob)))
    return np.where(sign > 0, loglik + 0.5 * logdet, -np.inf)


def _invertible(info: np.ndarray) -> np.ndarray:
    """Which information matrices (B, p, p) are finite and well conditioned."""
    ok = np.isfinite(info).all(axis=(1, 2))
    if ok.any():
        ok[ok] = np.linalg.cond(info[ok]) < 1e14
    return ok


def _invert(info: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of each information matrix (NaN where singular), and which were invertible."""
    ok = _invertible(info)
    inv = np.full_like(info, np.nan)
    if ok.any():
        inv[ok] = np.linalg.inv(info[ok])
    return inv, ok


def _solve(info: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solutions of info x = rhs for each study (0 where singular), and which were solved."""
    ok = _invertible(info) & np.isfinite(rhs).all(axis=1)
    out = np.zeros_like(rhs)
    if ok.any():
        out[ok] = np.linalg.solve(info[ok], rhs[ok][..., None])[..., 0]
    return out, ok


def _newton_fixed(
    X, y, W, beta, fixed: int | None, *, firth: bool, max_iter: int, tol=1e-8, rel_tol=0.0
):
    """Newton-Raphson with step halving for many studies at once, coefficient ``fixed`` held
    at its start value (0). Firth's penalty uses the full design, as logistf's profile
    penalised likelihood and engine.profile_objective. Used where engine.batch_fit cannot
    serve: restricted Firth fits (batch_fit holds no coefficient fixed) and the supremum of
    the log-likelihood of separated studies (batch_fit stops where rms's lrm.fit does).
    A study has converged when no coefficient moves by ``tol`` or, with ``rel_tol``, when
    the objective changes by at most rel_tol (|objective| + 0.1), glm's criterion on the
    deviance, which ends the otherwise endless steps of a separated study.

    Returns
    -------
    beta, objective, converged : (B, p), (B,), (B,) arrays
    """
    B, p = beta.shape
    free = np.ones(p, bool)
    if fixed is not None:
        free[fixed] = False
    Xf = X[:, :, free]
    beta = beta.copy()
    objective = _objective(X, y, W, beta, firth)
    converged = np.zeros(B, bool)
    stuck = np.zeros(B, bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(~converged & ~stuck)
        if not idx.size:
            break
        Xs, Xfs, w = X[:, idx], Xf[:, idx], W[:, idx]
        prob = _expit(_eta(Xs, beta[idx]))
        Wt = w * prob * (1 - prob)
        resid = w * (y[:, None] - prob)
        if firth:  # hat values of the full design
            inv, ok_full = _invert(_information(Xs, Wt))
            inv = np.nan_to_num(inv)
            h = np.einsum("nbi,bij,nbj->nb", Xs, inv, Xs, optimize=True) * Wt
            resid = resid + h * (0.5 - prob)
        score = np.einsum("nbi,nb->bi", Xfs, resid)
        step, ok = _solve(_information(Xfs, Wt), score)
        if firth:
            ok &= ok_full
        stuck[idx[~ok]] = True
        idx, step = idx[ok], step[ok]
        if not idx.size:
            continue
        largest = np.max(np.abs(step), axis=1, keepdims=True)
        step = np.where(largest > engine.MAX_STEP, step * engine.MAX_STEP / largest, step)
        trial = beta[idx].copy()
        trial[:, free] += step
        new = _objective(X[:, idx], y, W[:, idx], trial, firth)
        for _ in range(40):  # step halving until the objective does not fall
            old = objective[idx]
            worse = ~(new >= old - 1e-12 * np.maximum(1.0, np.abs(old)))
            if not worse.any():
                break
            step[worse] /= 2
            trial[worse] = beta[idx[worse]]
            trial[np.ix_(worse, free)] += step[worse]
            new[worse] = _objective(X[:, idx[worse]], y, W[:, idx[worse]], trial[worse], firth)
        change = np.abs(new - objective[idx])
        beta[idx] = trial
        objective[idx] = new
        converged[idx] = (np.max(np.abs(step), axis=1) < tol) | (
            change <= rel_tol * (np.abs(new) + 0.1)
        )
    return beta, objective, converged


def _wald_p(X, y, W, beta, j: int) -> np.ndarray:
    """Two-sided Wald p-value of coefficient j, model-based (inverse Fisher information)."""
    prob = _expit(_eta(X, beta))
    inv, _ = _invert(_information(X, W * prob * (1 - prob)))
    var = inv[:, j, j]
    with np.errstate(invalid="ignore", divide="ignore"):
        return stats.chi2.sf(beta[:, j] ** 2 / var, 1)


def _robust_wald_p(X, y, W, beta, cluster, j: int) -> np.ndarray:
    """Two-sided Wald p-value of coefficient j with the CR1 cluster-robust covariance
    (statsmodels' cov_type="cluster" with its small-sample correction; sandwich::vcovCL)."""
    p = beta.shape[1]
    prob = _expit(_eta(X, beta))
    inv, _ = _invert(_information(X, W * prob * (1 - prob)))
    resid = W * (y[:, None] - prob)  # (N, B): rows by study
    scores = [(X[:, :, k] * resid).T for k in range(p)]
    cov = _cr1(inv, scores, cluster.T, W.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        return stats.chi2.sf(beta[:, j] ** 2 / cov[:, j, j], 1)


def _restricted_loglik(reduced, y, W) -> tuple[np.ndarray, np.ndarray]:
    """Maximised log-likelihood of the model without the factor, and whether it was found:
    in closed form when only the intercept is left, else by :func:`engine.batch_fit`."""
    if reduced.shape[2] == 1:
        total = W.sum(axis=0)
        share = (W.T @ y) / total
        with np.errstate(divide="ignore", invalid="ignore"):
            loglik = total * (special.xlogy(share, share) + special.xlog1py(1 - share, -share))
        return loglik, (share > 0) & (share < 1)
    fit = engine.batch_fit(reduced, y, W)
    return _loglik(reduced, y, W, np.nan_to_num(fit.beta)), fit.status == "converged"


def _fit_and_test_packed(chunk: _Chunk, tests: Sequence[str], method: str) -> dict[str, np.ndarray]:
    """p-values of the factor's coefficient (column 1) in each study of ``chunk``, by each of
    ``tests`` ("lr", "wald"; the fits are shared).

    Returns
    -------
    dict of (B,) arrays
        ``p_lr`` and/or ``p_wald`` (NaN where no test was possible: no cases or no
        non-cases, a singular design, no convergence), ``separated`` (the ML fit), ``firth``
        (tested with Firth's fit), ``n_analysed`` (runners), ``events``.
    """
    j = 1
    P = _pack(chunk)
    X, y, W = P.X, P.y, P.W
    B, p = X.shape[1], X.shape[2]
    out = {f"p_{t}": np.full(B, np.nan) for t in tests}
    reduced = np.delete(X, j, axis=2)
    ml = engine.batch_fit(X, y, W)
    separated = ml.status == "separated"
    use_firth = np.full(B, method == "firth") | (separated & (method == "auto"))
    idx = np.flatnonzero((ml.status == "converged") & ~use_firth)
    if idx.size:
        Xs, Ws, beta = X[:, idx], W[:, idx], ml.beta[idx]
        if "wald" in tests and chunk.cluster is not None:
            out["p_wald"][idx] = _robust_wald_p(Xs, y, Ws, beta, P.cluster[:, idx], j)
        elif "wald" in tests:
            out["p_wald"][idx] = _wald_p(Xs, y, Ws, beta, j)
        if "lr" in tests:
            null, good = _restricted_loglik(reduced[:, idx], y, Ws)
            stat = 2 * (_loglik(Xs, y, Ws, beta) - null)
            out["p_lr"][idx] = np.where(good, stats.chi2.sf(np.maximum(stat, 0.0), 1), np.nan)
    idx = np.flatnonzero(separated & ~use_firth)
    if idx.size:  # ML estimates infinite: follow the likelihood to where it stops rising
        Xs, Ws = X[:, idx], W[:, idx]
        beta, full, _ = _newton_fixed(
            Xs, y, Ws, ml.beta[idx], None, firth=False, max_iter=100, rel_tol=SEPARATED_TOL
        )
        if "wald" in tests and chunk.cluster is not None:
            out["p_wald"][idx] = _robust_wald_p(Xs, y, Ws, beta, P.cluster[:, idx], j)
        elif "wald" in tests:
            out["p_wald"][idx] = _wald_p(Xs, y, Ws, beta, j)
        if "lr" in tests:
            if p == 2:
                null, _ = _restricted_loglik(reduced[:, idx], y, Ws)
            else:  # the restricted model may be separated too: fitted from its own start
                # (from the full fit's coefficients with the factor's set to 0 the information
                # can be singular at once, and the supremum never reached), then followed
                restricted = engine.batch_fit(reduced[:, idx], y, Ws)
                start = np.insert(np.nan_to_num(restricted.beta), j, 0.0, axis=1)
                _, null, _ = _newton_fixed(
                    Xs, y, Ws, start, j, firth=False, max_iter=100, rel_tol=SEPARATED_TOL
                )
                null = np.where(restricted.kept, null, np.nan)
            out["p_lr"][idx] = stats.chi2.sf(np.maximum(2 * (full - null), 0.0), 1)
    idx = np.flatnonzero(use_firth)
    if idx.size:
        Xs, Ws = X[:, idx], W[:, idx]
        fit = engine.batch_fit(Xs, y, Ws, firth=True)
        good = fit.status == "converged"
        beta = np.nan_to_num(fit.beta)
        if "wald" in tests:
            out["p_wald"][idx] = np.where(good, _wald_p(Xs, y, Ws, beta, j), np.nan)
        if "lr" in tests:  # penalised LR, the penalty from the full design (as logistf)
            full = _objective(Xs, y, Ws, beta, True)
            start = beta.copy()
            start[:, j] = 0.0
            _, null, ok = _newton_fixed(Xs, y, Ws, start, j, firth=True, max_iter=200)
            with np.errstate(invalid="ignore"):  # -inf - -inf (singular): NaN, a failed fit
                stat = np.maximum(2 * (full - null), 0.0)
            out["p_lr"][idx] = np.where(good & ok, stats.chi2.sf(stat, 1), np.nan)
    if chunk.cluster is not None:  # runners (each has two rows, both kept or neither)
        n_analysed = chunk.keep[:, ::2].sum(axis=1).astype(float)
    else:
        n_analysed = W.sum(axis=0)
    out |= {
        "separated": separated,
        "firth": use_firth,
        "n_analysed": n_analysed,
        "events": W[: P.cases].sum(axis=0),
    }
    return out


# -- the public entry point --------------------------------------------------------------------------


def _check_n(n) -> list[int]:
    values = np.atleast_1d(np.asarray(n, dtype=object))
    out = []
    for value in values:
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
            if isinstance(value, float | np.floating) and float(value).is_integer():
                value = int(value)
            else:
                raise ValueError(f"n must be whole numbers of runners, not {value!r}")
        if value < MIN_N:
            raise ValueError(f"n must be at least {MIN_N} runners, not {value}")
        out.append(int(value))
    if not out:
        raise ValueError("n is empty: give one study size or a list of them")
    twice = sorted({v for v in out if out.count(v) > 1})
    if twice:
        raise ValueError(f"n lists {twice} more than once: give each study size once")
    return out


def _check_n_sim(n_sim) -> int:
    if isinstance(n_sim, bool | np.bool_) or not isinstance(n_sim, int | np.integer) or n_sim < 1:
        raise ValueError(
            f"n_sim must be a positive whole number of simulated studies, not {n_sim!r}"
        )
    return int(n_sim)


def simulate_power(
    scenario: PowerScenario,
    n: int | Sequence[int],
    *,
    n_sim: int = 1000,
    test: Test | Sequence[Test] = "lr",
    method: Method = "ml",
    alpha: float = 0.05,
    seed: int | None = None,
) -> SimulatedPower:
    """Power of the two-sided test of the factor's coefficient, by simulation.

    For each study size ``n``, ``n_sim`` SYNTHETIC studies are drawn from ``scenario``, the
    analysis model (logit of the outcome on the factor and the adjustment covariates) is
    fitted to each study's complete cases, and the power is the share of studies whose test
    rejects at ``alpha``.

    Parameters
    ----------
    scenario : PowerScenario
        From :func:`power_scenario`.
    n : int or sequence of int
        Runners per study (the analysed n for a planning DGP; before missing covariates for
        a cohort scenario). A sequence gives a power curve.
    n_sim : int
        Studies per n. The Monte Carlo SE of the power is sqrt(power (1 - power) / n_sim):
        at most 0.016 for 1,000.
    test : {"lr", "wald"} or list of them
        Likelihood ratio (penalised likelihood ratio for Firth fits, the penalty from the
        full design as logistf) or Wald; a list gives one row per n and test from the same
        fits. Two-knee scenarios need "wald": the cluster-robust Wald test. That test is
        somewhat liberal with 100-150 runners (an outside review measured a size of 0.069 at
        100 runners and 0.062 at 150 for a nominal 0.05, 4,000 simulations each; 0.056 at
        400), so the power of small two-knee designs is a little overstated.
    method : {"ml", "firth", "auto"}
        Maximum likelihood; Firth's penalised likelihood for every study; or ML with Firth
        for the studies whose data are separated (ML estimate infinite).
    alpha : float
        Two-sided significance level.
    seed : int, optional
        Seeds the studies; each n has its own stream (the studies of one n do not depend on
        the other n asked for).

    Returns
    -------
    SimulatedPower
        A DataFrame (shown in JupyterLab with readable names and the scenario,
        :class:`SimulatedPower`), one row per n (and test): ``n``, ``power``, ``mc_se``, ``n_sim``, ``share_separated`` (studies
        whose ML fit separated), ``share_firth`` (tested with Firth's fit), ``test``,
        ``method``, ``alpha``, ``share_failed`` (no test possible: no cases, a constant
        factor, no convergence; counted as not rejecting), ``n_analysed`` and ``events``
        (means per study; knees: runners analysed, knee cases).

    Notes
    -----
    Under ML, a separated study (some estimate infinite) is followed by Newton-Raphson
    until its log-likelihood stops rising (relative change below 1e-10), as R's glm does
    (1e-8): the likelihood-ratio test uses these suprema, and the Wald test that fit, so it
    cannot reject when the factor's own estimate is infinite (p near 1, the Hauck-Donner
    effect) and tests it as usual when only an adjustment covariate separates. Fits: a
    vectorised Newton-Raphson on each study's rows for every study whose ML estimates
    exist (converged to 1e-7 for Wald tests; for likelihood-ratio tests to 1e-4 plus the
    rise of the log-likelihood that the quadratic model predicts, within about 1e-12);
    :func:`pfps_stats.models.engine.batch_fit` for the others, all at once (ML as rms's
    lrm.fit then polished to 1e-8; Firth), plus a batched Newton-Raphson for restricted
    Firth fits and separated studies. Checked against a loop of statsmodels
    ``Logit`` fits on the same studies (p-values within 1e-6; CR1 against statsmodels'
    ``cov_type="cluster"``) and against R's glm on the planning DGPs
    (``tests/models/reference/power_simulation.R``) within Monte Carlo error.

    Examples
    --------
    >>> import pfps_stats as ps
    >>> s = ps.power_scenario(-0.69, scale="smd", incidence=0.11)
    >>> ps.simulate_power(s, [100, 200], n_sim=200, seed=1)  # doctest: +SKIP
    """
    if not isinstance(scenario, PowerScenario):
        raise ValueError(
            f"scenario must be a PowerScenario from ps.power_scenario(...), not "
            f"{type(scenario).__name__}"
        )
    sizes = _check_n(n)
    n_sim = _check_n_sim(n_sim)
    seed = _check_seed(seed)
    tests = [test] if isinstance(test, str) else list(test)
    if not tests or any(t not in TESTS for t in tests) or len(set(tests)) < len(tests):
        raise ValueError(
            f"test must be one of {', '.join(TESTS)} (or a list of them), not {test!r}"
        )
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    alpha = _number(alpha, "alpha", low=0, high=1)
    if scenario.knees:
        if tests != ["wald"]:
            raise ValueError(
                "two-knee scenarios are tested by the cluster-robust Wald test (knees of a "
                "runner are not independent, so no likelihood-ratio test); pass test='wald'"
            )
        if method != "ml":
            raise ValueError(
                "two-knee scenarios are fitted by ML, as fit_logistic does clustered data; "
                "pass method='ml'"
            )
        small = [m for m in sizes if m < MIN_RUNNERS_KNEES]
        if small:
            raise ValueError(
                f"n must be at least {MIN_RUNNERS_KNEES} runners for two-knee scenarios (the "
                f"CR1 Wald test with normal quantiles needs many clusters), not {small}"
            )
    rows = []
    with threadpool_limits(limits=1, user_api="blas"):  # small matrices: threads only contend
        for size in sizes:
            parts = [_fit_and_test(c, tests, method) for c in _chunks(scenario, size, n_sim, seed)]
            result = {k: np.concatenate([r[k] for r in parts]) for k in parts[0]}
            for name in tests:
                p_value = result[f"p_{name}"]
                power = float((np.nan_to_num(p_value, nan=1.0) < alpha).mean())
                rows.append(
                    {
                        "n": size,
                        "power": power,
                        "mc_se": math.sqrt(power * (1 - power) / n_sim),
                        "n_sim": n_sim,
                        "share_separated": float(result["separated"].mean()),
                        "share_firth": float(result["firth"].mean()),
                        "test": name,
                        "method": method,
                        "alpha": alpha,
                        "share_failed": float(np.isnan(p_value).mean()),
                        "n_analysed": float(result["n_analysed"].mean()),
                        "events": float(result["events"].mean()),
                    }
                )
    out = SimulatedPower(rows)
    out.attrs["scenario"] = scenario.describe()
    return out
