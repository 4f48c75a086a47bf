"""Power of a logistic-regression test by simulation: :func:`power_scenario` and
:func:`simulate_power`.

A scenario says how SYNTHETIC studies are generated; :func:`simulate_power` draws ``n_sim``
studies of each size ``n``, fits the analysis model to all of them at once with the batched
engine of bootstrap validation (:func:`pfps_stats.models.engine.batch_fit`) and counts how
often the two-sided test of the factor's coefficient rejects at ``alpha``.

Two kinds of scenario:

- **The planning DGPs** shared with :func:`pfps_stats.power_logistic` (Hsieh et al. 1998) and
  with the R reference simulation (``tests/models/reference/power_simulation.R``): a factor X
  on the SMD, per-SD odds-ratio or binary odds-ratio scale, optionally with one covariate Z
  correlated with X (``r2_other``) and no effect of its own.
- **Cohort scenarios** built on :func:`pfps_stats.simulate_cohort`'s arguments (subgroup,
  incidence, odds ratios, missingness; several subgroups mixed by share), with the factor
  tested and the adjustment covariates, analysed as complete cases; optionally two knees per
  runner with a shared runner effect, tested by a cluster-robust Wald test.

Many studies, one fit: each study's complete cases are packed into one padded design
(cases first, then non-cases; padding rows get weight 0), so the engine's shared outcome
vector and frequency weights hold studies of different sizes. Validated against a loop of
statsmodels fits on the same simulated studies (p-values to 1e-6) and against the R reference
simulation (power within Monte Carlo error): ``tests/models/test_power_simulation.py``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from threadpoolctl import threadpool_limits

from ..cohort.synthetic import (
    EFFECT_FACTORS,
    INCIDENCE,
    SYNTHETIC_LABEL,
    default_odds_ratios,
    simulate_cohort,
)
from ..cohort.variables import OUTCOME
from . import engine
from .logistic import FEW_CLUSTERS

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

    def simulate(self, n: int, *, n_sim: int = 1, seed: int | None = None) -> pd.DataFrame:
        """The SYNTHETIC studies :func:`simulate_power` fits for this ``n`` and ``seed``.

        Returns
        -------
        DataFrame
            One row per runner (per knee with ``knees``): ``study`` (0 to n_sim - 1),
            ``runner`` (and ``knee``), the outcome, the design columns (:attr:`columns`, as
            analysed: centred for cohort scenarios, ``sex`` as 1 = female, subgroup
            indicators), ``analysed`` (complete case) and ``data_source = "SYNTHETIC"``.
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
        effect = _number(effect, "effect (an odds ratio)", low=0, high=math.inf)
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
    """B simulated studies of m rows: design (B, m, p) with the intercept first and the
    factor second, outcome (B, m), complete cases (B, m), runner of each row (knees)."""

    X: np.ndarray
    y: np.ndarray
    keep: np.ndarray
    cluster: np.ndarray | None = None


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
    if s.scale == "smd":
        y = rng.random((B, n)) < s.incidence
        x = rng.standard_normal((B, n)) + s.effect * y
        mean = s.effect * s.incidence
        sd = math.sqrt(1 + s.effect**2 * s.incidence * (1 - s.incidence))
    else:
        beta = math.log(s.effect)
        if s.scale == "or_per_sd":
            x = rng.standard_normal((B, n))
            mean, sd = 0.0, 1.0
        else:
            x = (rng.random((B, n)) < s.exposed).astype(float)
            mean, sd = s.exposed, math.sqrt(s.exposed * (1 - s.exposed))
        y = rng.random((B, n)) < special.expit(s._intercept + beta * x)
    columns = [np.ones((B, n)), x]
    if s.r2_other > 0:
        noise = rng.standard_normal((B, n))
        columns.append(math.sqrt(s.r2_other) * (x - mean) / sd + math.sqrt(1 - s.r2_other) * noise)
    X = np.stack(columns, axis=2)
    return _Chunk(X, y.astype(float), np.ones((B, n), bool))


def _split(total: int, shares: Sequence[float]) -> list[int]:
    """Largest-remainder apportionment of ``total`` runners by ``shares``."""
    raw = np.asarray(shares) * total
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return counts.tolist()


def _draw_cohort(s: PowerScenario, n: int, B: int, rng: np.random.Generator) -> _Chunk:
    sizes = _split(n, [p.share for p in s.parts])
    blocks = []
    for g, (part, size) in enumerate(zip(s.parts, sizes, strict=True)):
        if size == 0:
            continue
        need = size * B
        settings = part.settings
        if s.knees:  # covariates complete; knee outcomes and missingness drawn below
            settings["missing"] = 0.0
        frame = simulate_cohort(max(need, MIN_COHORT_ROWS), seed=rng, **settings)
        columns = {}
        for name in s.terms:
            if name == "subgroup":
                continue
            values = frame[name]
            columns[name] = (values == "F").to_numpy(float) if name == "sex" else values
        values = pd.DataFrame(columns).to_numpy(float)
        if s.knees:
            y, observed = _knee_outcomes(s, part, frame, rng)
        else:
            y = frame[OUTCOME].to_numpy(float)
            observed = ~np.isnan(values).any(axis=1)
        block = {"values": values, "y": y, "keep": observed, "group": np.full(len(frame), g)}
        blocks.append({k: v[:need].reshape(B, size, *v.shape[1:]) for k, v in block.items()})
    values = np.concatenate([b["values"] for b in blocks], axis=1)
    keep = np.concatenate([b["keep"] for b in blocks], axis=1)
    group = np.concatenate([b["group"] for b in blocks], axis=1)
    y = np.concatenate([b["y"] for b in blocks], axis=1)
    columns = [np.ones((B, n))]
    for k in range(values.shape[2]):
        column = values[:, :, k]
        centre = np.nanmean(column)  # centred: the tests of slopes do not change
        columns.append(np.where(keep, column - centre, 0.0))
    if "subgroup" in s.adjust:  # indicators of the subgroups after the first
        position = 1 + s.terms.index("subgroup")
        dummies = [(group == g).astype(float) for g in range(1, len(s.parts))]
        columns[position:position] = dummies
    X = np.stack(columns, axis=2)
    if not s.knees:
        return _Chunk(X, y, keep)
    # two knees per runner: rows (runner 0 L, runner 0 R, runner 1 L, ...)
    runner = np.tile(np.repeat(np.arange(n), 2), (B, 1))
    return _Chunk(np.repeat(X, 2, axis=1), y.reshape(B, 2 * n), np.repeat(keep, 2, axis=1), runner)


def _knee_outcomes(s: PowerScenario, part: CohortPart, frame: pd.DataFrame, rng):
    """Outcomes of two knees per runner, (runners, 2), given a shared runner effect, and
    which runners have every analysed covariate (missing completely at random with
    probability ``part.missing`` per measured covariate, as simulate_cohort; bmi is missing
    when height or mass is; sex is never missing)."""
    truth = frame.attrs["truth"]
    female = (frame["sex"] == "F").to_numpy(float)
    lp = np.zeros(len(frame))
    for key, ratio in truth["odds_ratios"].items():
        x = female if key == "sex" else frame[key].to_numpy() - truth["centre"][key]
        lp += math.log(ratio) * x
    lp += s.runner_sd * rng.standard_normal(len(frame))
    b0 = optimize.brentq(
        lambda b: special.expit(b + lp).mean() - part.incidence, -40, 40, xtol=1e-12
    )
    y = (rng.random((len(frame), 2)) < special.expit(b0 + lp)[:, None]).astype(float)
    observed = np.ones(len(frame), bool)
    for name in s.terms:
        if name in ("sex", "subgroup"):
            continue
        draws = 2 if name == "bmi" else 1  # height and mass
        for _ in range(draws):
            observed &= rng.random(len(frame)) >= part.missing
    return y, observed


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
    B, p = beta.shape
    prob = _expit(_eta(X, beta))
    inv, _ = _invert(_information(X, W * prob * (1 - prob)))
    contrib = X * (W * (y[:, None] - prob))[:, :, None]  # (N, B, p)
    G = int(cluster.max()) + 1
    flat = (np.arange(B)[None, :] * G + cluster).ravel()
    sums = np.stack(
        [np.bincount(flat, contrib[:, :, k].ravel(), minlength=B * G) for k in range(p)], axis=1
    ).reshape(B, G, p)
    meat = np.einsum("bgi,bgj->bij", sums, sums)
    used = np.bincount(flat, W.ravel(), minlength=B * G).reshape(B, G)
    n_clusters = (used > 0).sum(axis=1)
    nobs = W.sum(axis=0)
    factor = n_clusters / (n_clusters - 1) * (nobs - 1) / (nobs - p)
    cov = factor[:, None, None] * inv @ meat @ inv
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


def _fit_and_test(chunk: _Chunk, tests: Sequence[str], method: str) -> dict[str, np.ndarray]:
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
            else:  # the restricted model may be separated too
                start = beta.copy()
                start[:, j] = 0.0
                _, null, _ = _newton_fixed(
                    Xs, y, Ws, start, j, firth=False, max_iter=100, rel_tol=SEPARATED_TOL
                )
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
) -> pd.DataFrame:
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
    DataFrame
        One row per n (and test): ``n``, ``power``, ``mc_se``, ``n_sim``, ``share_separated`` (studies
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
    effect) and tests it as usual when only an adjustment covariate separates. Fits: :func:`pfps_stats.models.engine.batch_fit` for
    every study at once (ML as rms's lrm.fit then polished to 1e-8; Firth), plus a batched
    Newton-Raphson for restricted Firth fits. Checked against a loop of statsmodels
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
    out = pd.DataFrame(rows)
    out.attrs["scenario"] = scenario.describe()
    return out
