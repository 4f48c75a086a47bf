"""SYNTHETIC training logs and injuries with known hazard ratios, for the demo, the tests and
the simulation check of the Cox model.

:func:`simulate_training` writes a log in the output format of
:func:`~pfps_stats.cohort.training_log.load_training_log` and an injuries table in that of
:func:`~pfps_stats.cohort.injuries.load_injuries`, and draws PFP onsets from a hazard that
depends on the session state (``docs/training-load.md`` section 3) with known hazard ratios.
Every row carries ``data_source = "SYNTHETIC"`` and every runner id starts with ``SYN-``
(as :func:`~pfps_stats.cohort.synthetic.simulate_cohort`), so
:func:`~pfps_stats.cohort.synthetic.is_synthetic` recognises both frames.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..cohort.synthetic import INCIDENCE, PROFILES, SYNTHETIC_LABEL
from ..cohort.variables import SUBGROUPS
from .sessions import session_exposures
from .states import SPIKE_STATES

#: The session states with a true hazard ratio, against the reference ``"<=10%"``.
SPIKED = SPIKE_STATES[1:]
#: Frandsen et al. 2025 (BJSM 59:1203, doi 10.1136/bjsports-2024-109380): adjusted hazard rate
#: ratios of overuse injury for one session's distance against the longest run of the 30 days
#: before it, reference "<=10%". The default truth of :func:`simulate_training`.
FRANDSEN_2025_HAZARD_RATIOS = {">10-30%": 1.64, ">30-100%": 1.52, ">100%": 2.28}

#: Diagnoses of the non-PFP injuries that end a runner's time at risk (censoring).
OTHER_DIAGNOSES = (
    "medial tibial stress syndrome",
    "Achilles tendinopathy",
    "iliotibial band syndrome",
    "plantar fasciitis",
    "calf strain",
)
PFP_DIAGNOSIS = "patellofemoral pain"

# --- how the log is generated (ASSUMPTIONS unless a source is named) --------------------------
#: A runner's usual weekly distance is drawn gamma with the subgroup's mean and SD from
#: ``pfps_stats.cohort.synthetic.PROFILES`` (recreational 31.5 ± 21.1 km/week, half-marathon
#: runners, PMID 29387447, EVIDENCE.md; military 20 ± 8 and adolescent 15 ± 10 km/week are
#: ASSUMPTIONS: EVIDENCE.md gives no figure for them) and clipped to this range.
USUAL_WEEKLY_KM = (8.0, 120.0)
#: Week-to-week variation of the weekly distance: AR(1) on the log scale (ASSUMPTION).
VOLUME_AR, VOLUME_SD = 0.7, 0.15
#: Probability that a week after the first is a week off (no runs; holiday, illness).
WEEK_OFF = 0.03
#: The long run's share of the week: weight LONG_RUN_WEIGHT against 1 for each other run.
LONG_RUN_WEIGHT = 1.8
#: Spikes: in a fraction ``spike_rate`` of the weeks with no spike in the 4 weeks before, the
#: long run is made longer than the longest run of those 4 weeks by a ratio drawn uniformly
#: from the range of the spike state it is aimed at (chosen with probabilities
#: ``spike_sizes``, default :data:`SPIKE_SIZES`). With the defaults, about 2.8 %, 2.0 % and
#: 0.6 % of runs (4.3 %, 3.1 % and 1.0 % of the time at risk) are in the three spike states,
#: natural variation of the long run included: with Frandsen 2025's hazard ratios, about 7 %,
#: 4 % and 2 % of the onsets, the same order as the shares implied by the widths of Frandsen's
#: confidence intervals (about 4 %, 3 % and 1.5 % of 1,820 injuries). ASSUMPTION: the
#: abstract gives no session counts per state.
SPIKE_RANGES = {">10-30%": (0.12, 0.30), ">30-100%": (0.32, 1.0), ">100%": (1.05, 2.0)}
SPIKE_SIZES = {">10-30%": 0.45, ">30-100%": 0.35, ">100%": 0.20}
#: Shortest and longest run (km) and the pace range (min/km).
RUN_KM = (1.0, 60.0)
PACE_MIN_PER_KM = (4.5, 7.0)
_DAY_NS = 86_400 * 10**9


def _truth_defaults(subgroup: str) -> float:
    """Reference-state PFP rate per runner-day: the subgroup's incidence over its follow-up
    (``cohort.synthetic.INCIDENCE`` and ``PROFILES``) as a constant hazard."""
    weeks = PROFILES[subgroup].followup_weeks[0]
    return -math.log1p(-INCIDENCE[subgroup]) / (7 * weeks)


def _check_hazard_ratios(hazard_ratios: Mapping[str, float] | None) -> dict[str, float]:
    hrs = dict(FRANDSEN_2025_HAZARD_RATIOS)
    for key, value in (hazard_ratios or {}).items():
        if key not in SPIKED:
            raise ValueError(
                f"hazard_ratios has an unknown session state {key!r}; use "
                f"{', '.join(repr(s) for s in SPIKED)} (each against '<=10%')"
            )
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"hazard ratio for {key!r} must be a positive number, not {value!r}")
        hrs[key] = float(value)
    return hrs


def _check_spike_sizes(spike_sizes: Mapping[str, float] | None) -> dict[str, float]:
    if spike_sizes is None:
        return dict(SPIKE_SIZES)
    unknown = [k for k in spike_sizes if k not in SPIKED]
    if unknown:
        raise ValueError(
            f"spike_sizes has an unknown spike state {unknown[0]!r}; use "
            f"{', '.join(repr(s) for s in SPIKED)}"
        )
    sizes = {k: float(spike_sizes.get(k, 0.0)) for k in SPIKED}
    if not all(math.isfinite(v) and v >= 0 for v in sizes.values()) or not math.isclose(
        sum(sizes.values()), 1.0, abs_tol=1e-9
    ):
        raise ValueError(
            f"spike_sizes must be probabilities (zero or more) summing to 1, not {sizes}"
        )
    return sizes


def _rate(name: str, value: float, allow_zero: bool) -> float:
    ok = isinstance(value, int | float) and math.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = "zero or more" if allow_zero else "above zero"
        raise ValueError(f"{name} must be a rate per runner-day {bound}, not {value!r}")
    return float(value)


def _generate_log(
    rng: np.random.Generator,
    n: int,
    weeks: int,
    usual_km: np.ndarray,
    spike_rate: float,
    spike_sizes: Mapping[str, float],
) -> dict[str, np.ndarray]:
    """Runs of ``n`` runners over ``weeks`` weeks: arrays runner (int), day offset of the start
    (float, days since the first Monday 00:00), distance_km, duration_min; sorted by runner and
    start, at most one run per runner and day."""
    # weekly distance: the runner's usual distance times an AR(1) factor on the log scale
    log_factor = np.empty((n, weeks))
    x = rng.normal(0, VOLUME_SD / math.sqrt(1 - VOLUME_AR**2), n)
    for w in range(weeks):
        log_factor[:, w] = x
        x = VOLUME_AR * x + rng.normal(0, VOLUME_SD, n)
    weekly = usual_km[:, None] * np.exp(log_factor - VOLUME_SD**2 / (2 * (1 - VOLUME_AR**2)))

    # runs per week: 3, 4 or 5 by the runner's usual distance, sometimes one more or fewer
    usual_n = np.clip(np.round(2.5 + usual_km / 20) + rng.integers(-1, 2, n), 3, 5)
    jitter = rng.choice([-1, 0, 1], (n, weeks), p=[0.15, 0.7, 0.15])
    n_runs = np.clip(usual_n[:, None] + jitter, 3, 5).astype(int)
    off = rng.random((n, weeks)) < WEEK_OFF
    off[:, 0] = False
    n_runs[off] = 0

    # days: the long run on the runner's usual weekend day (85 %) or any day; others at random
    weekend = rng.integers(5, 7, n)
    long_day = np.where(
        rng.random((n, weeks)) < 0.85, weekend[:, None], rng.integers(0, 7, (n, weeks))
    )
    keys = rng.random((n, weeks, 7))
    # a rest day after the long run unless the week's runs need it (it is chosen last)
    rest = (long_day + 1).reshape(-1)  # day after, counted from the week's Monday
    flat = keys.reshape(n * weeks, 7)
    inside = rest < 7
    flat[np.flatnonzero(inside), rest[inside]] += 1.0
    monday = np.flatnonzero(~inside) + 1  # after a Sunday long run: next week's Monday
    monday = monday[monday % weeks != 0]  # not past the runner's last week
    flat[monday, 0] += 1.0
    np.put_along_axis(keys, long_day[..., None], -1.0, axis=2)
    rank = np.argsort(np.argsort(keys, axis=2), axis=2)
    active = rank < n_runs[..., None]
    is_long = (rank == 0) & active

    # distances: shares of the week, the long run LONG_RUN_WEIGHT times an ordinary run
    share = rng.lognormal(0.0, 0.25, (n, weeks, 7))
    share[is_long] = LONG_RUN_WEIGHT * rng.lognormal(0.0, 0.1, int(is_long.sum()))
    share[~active] = 0.0
    total = share.sum(axis=2, keepdims=True)
    share = np.divide(share, total, out=np.zeros_like(share), where=total > 0)
    distance = np.clip(weekly[..., None] * share, 0.0, RUN_KM[1])

    # spikes, week by week: against the longest run of the 4 weeks before (an approximation of
    # the 30-day window; the states themselves are computed exactly afterwards)
    ranges = np.array([SPIKE_RANGES[k] for k in SPIKED])
    which = rng.choice(len(SPIKED), (n, weeks), p=[spike_sizes[k] for k in SPIKED])
    ratio = rng.uniform(ranges[which, 0], ranges[which, 1])
    draw = rng.random((n, weeks))
    week_max = np.zeros((n, weeks))
    last_spike = np.full(n, -99)
    rows = np.arange(n)
    for w in range(weeks):
        if w > 0:
            bar = week_max[:, max(0, w - 4) : w].max(axis=1)
            spike = (draw[:, w] < spike_rate) & (w - last_spike > 4) & (bar > 0)
            spike &= n_runs[:, w] > 0
            base = distance[rows, w, long_day[:, w]]
            spiked = np.clip(np.maximum(base, bar * (1 + ratio[:, w])), 0.0, RUN_KM[1])
            distance[rows, w, long_day[:, w]] = np.where(spike, spiked, base)
            last_spike = np.where(spike, w, last_spike)
        week_max[:, w] = distance[:, w, :].max(axis=1)

    # start times: a morning or an evening runner, the other slot on 20 % of days; weekend
    # long runs mid-morning
    morning = rng.random(n) < 0.5
    slot_morning = np.where(
        rng.random((n, weeks, 7)) < 0.8, morning[:, None, None], ~morning[:, None, None]
    )
    hour = np.where(
        slot_morning, rng.normal(6.75, 0.5, (n, weeks, 7)), rng.normal(18.0, 0.75, (n, weeks, 7))
    )
    weekend_long = is_long & (np.arange(7) >= 5)
    hour = np.where(weekend_long, rng.normal(8.5, 1.0, (n, weeks, 7)), hour)
    hour = np.clip(hour, 5.0, 21.5)

    pace = rng.uniform(*PACE_MIN_PER_KM, n)[:, None, None] * rng.lognormal(0, 0.04, (n, weeks, 7))
    pace = np.clip(np.where(is_long, pace * 1.04, pace), *PACE_MIN_PER_KM)

    runner, week, day = np.nonzero(active)
    seconds = np.round(hour[runner, week, day] * 3600)
    km = np.round(np.clip(distance[runner, week, day], *RUN_KM), 2)
    return {
        "runner": runner,
        "day": (7 * week + day) + seconds / 86_400,
        "distance_km": km,
        "duration_min": np.round(km * pace[runner, week, day], 2),
    }


def _draw_first(
    rng: np.random.Generator,
    runner: np.ndarray,
    t0: np.ndarray,
    t1: np.ndarray,
    rate: np.ndarray,
    n: int,
) -> np.ndarray:
    """Time of the first event of a piecewise-constant hazard, per runner (inf if none).

    Rows are intervals ``[t0, t1)`` sorted by runner and time, with hazard ``rate``; each
    runner draws one unit exponential E and the event falls where the cumulative hazard
    reaches E (inversion, exact)."""
    cum = np.cumsum(rate * (t1 - t0))
    first = np.searchsorted(runner, np.arange(n), side="left")
    before = np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)
    target = before + rng.exponential(1.0, n)
    row = np.searchsorted(cum, target, side="left")
    last = np.searchsorted(runner, np.arange(n), side="right")
    hit = row < last
    row = np.minimum(row, len(cum) - 1)
    prior = np.where(row > 0, cum[np.maximum(row - 1, 0)], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = t0[row] + (target - prior) / rate[row]
    return np.where(hit, t, np.inf)


def simulate_training(
    n_runners: int,
    weeks: int,
    *,
    hazard_ratios: Mapping[str, float] | None = None,
    baseline_hazard: float | None = None,
    other_injury_hazard: float = 0.0,
    spike_rate: float = 0.2,
    spike_sizes: Mapping[str, float] | None = None,
    subgroup: str | None = None,
    start: str | pd.Timestamp = "2025-01-06",
    seed: int | np.random.Generator | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate SYNTHETIC training logs and injuries with known session-state hazard ratios.

    Parameters
    ----------
    n_runners, weeks : int
        Runners, and weeks of follow-up from ``start`` (every runner runs in the first week).
    hazard_ratios : dict, optional
        True hazard ratios of PFP onset for the session states ``">10-30%"``, ``">30-100%"``,
        ``">100%"`` against ``"<=10%"``; keys given override the default, Frandsen 2025's
        1.64, 1.52 and 2.28 (:data:`FRANDSEN_2025_HAZARD_RATIOS`).
    baseline_hazard : float, optional
        PFP onsets per runner-day in the ``"<=10%"`` state. Default: the subgroup's incidence
        (military 11 %, adolescent 11 %, recreational 6 %; Neal et al. 2019) over its
        follow-up (14, 52, 52 weeks) as a constant rate, e.g. 1.7e-4 for recreational runners.
    other_injury_hazard : float
        Non-PFP injuries per runner-day (constant; default 0). They end time at risk and are
        censoring in the analysis.
    spike_rate : float
        Fraction of runner-weeks (among those without a spike in the 4 weeks before) whose
        long run is a spike: longer than the runner's longest run of those 4 weeks.
    spike_sizes : dict, optional
        Probability that a spike is aimed at each spike state (keys as ``hazard_ratios``,
        summing to 1); default :data:`SPIKE_SIZES` (0.45, 0.35, 0.20). The size is then drawn
        uniformly in :data:`SPIKE_RANGES` (ratios 0.12-0.30, 0.32-1.0, 1.05-2.0).
    subgroup : {"recreational", "military", "adolescent"}, optional
        Sets the weekly distance and the default ``baseline_hazard``; runner ids are then
        ``SYN-MIL-0001`` ... as in :func:`~pfps_stats.cohort.synthetic.simulate_cohort`, so the
        same subgroup's SYNTHETIC cohort joins by ``runner_id``. ``None`` (default): the
        recreational profile with ids ``SYN-0001`` ...
    start : date
        First day of follow-up. Each simulated week starts on this day and its days 6 and 7
        are the weekend (long runs, later start times): give a Monday (default 2025-01-06).
    seed : int or numpy Generator, optional

    Returns
    -------
    log : DataFrame
        One row per run in the format of ``load_training_log``: ``runner_id``, ``start``
        (datetime64[ns]), ``distance_km``, ``duration_min``, ``activity_type`` ("Run"),
        ``source_row``; plus ``data_source = "SYNTHETIC"``.
    injuries : DataFrame
        One row per runner in the format of ``load_injuries``: ``runner_id``, ``onset``
        (midnight of the onset day; NaT for a runner without injury), ``diagnosis``, ``pfp``,
        ``follow_up_end`` (the last day of follow-up, ``start + 7 × weeks − 1`` days, for
        everybody), ``source_row``; plus ``data_source``.
        Both frames carry ``attrs["truth"]`` (``synthetic``, ``hazard_ratios``,
        ``baseline_hazard``, ...) and ``attrs["notes"]``.

    Notes
    -----
    The log: each runner has a usual weekly distance (gamma, by subgroup; see
    :data:`USUAL_WEEKLY_KM`), varying from week to week (AR(1) on the log scale, SD 0.15);
    3 to 5 runs a week on distinct days, one of them a long run (1.8 × an ordinary run,
    usually on the runner's weekend day) followed by a rest day when the week allows; 3 % of
    weeks off; morning (about 06:45) or evening (about 18:00) runners with jitter; pace 4.5 to
    7 min/km; in ``spike_rate`` of the weeks a spiked long run. Distances are rounded to
    0.01 km and the truth uses the rounded values. Vectorised over runners (a loop over
    weeks only): 10,000 runners over 52 weeks (about 2 million runs) take a few seconds.

    The truth: time runs from each runner's first run to the end of the last day of follow-up.
    The PFP hazard is ``baseline_hazard × HR[state]`` where the state is the ``session_state``
    of the runner's latest run (from that run's start to the next run's start); time with a
    missing state (no run in the 30 days before, e.g. after the first run) has the baseline
    hazard: it is not at risk in the analysis, and an onset there is not counted. The first
    onset time T is drawn exactly (inversion of the piecewise-constant cumulative hazard);
    the onset date is the calendar day of T, and the runner's log stops at T: runs later on
    that day are dropped (an injured runner stops) and earlier ones kept. The analysis places
    the onset at the *end* of its day (``docs/training-load.md``, "Time at risk"): the event
    lands on the row of the run before T, in the state that generated it, so no onset is
    attributed to the wrong state. What remains is the shift of the onset from T to the end
    of its day: the onset runner stays at risk (in the same state) until midnight, and the
    other runners are compared in their states up to a day later than T. Where the share of
    runners in a state drifts over that day (early follow-up, the weekend's long runs), the
    estimate moves a little. Measured against an analysis of the exact onset times on the same
    data (paired), the mean log hazard ratios moved by -0.014, -0.005 and -0.012 (SE 0.004;
    2,000 runners over 26 weeks, default spikes, 1e-3 onsets per day, 20 data sets) and by
    +0.04, +0.03 and -0.01 in the design of ``tests/exposures/test_cox_coverage.py`` (the
    first 4 weeks, 0.02 onsets per day), against standard errors of 0.15 to 0.4; with the
    exact times the estimates were unbiased within Monte Carlo error. Other injuries are drawn
    the same way (constant rate) and also end the log; only a runner's first injury is
    recorded.

    Checked by ``tests/exposures/test_synthetic.py`` (formats through the loaders, the states
    against a run-by-run computation of the definition, onsets per person-day in each state
    against the true rates) and ``tests/exposures/test_cox_coverage.py`` (95 % intervals of
    ``fit_cox`` cover the true hazard ratios in 94 % of 240 data sets).
    """
    if subgroup is not None and subgroup not in PROFILES:
        raise ValueError(
            f"subgroup must be one of {', '.join(SUBGROUPS)} or None, not {subgroup!r}"
        )
    for name, value in (("n_runners", n_runners), ("weeks", weeks)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive whole number, not {value!r}")
    if not (isinstance(spike_rate, int | float) and 0 <= spike_rate <= 1):
        raise ValueError(f"spike_rate must be a fraction of weeks in [0, 1], not {spike_rate!r}")
    profile = subgroup or "recreational"
    hrs = _check_hazard_ratios(hazard_ratios)
    sizes = _check_spike_sizes(spike_sizes)
    h0 = (
        _truth_defaults(profile)
        if baseline_hazard is None
        else _rate("baseline_hazard", baseline_hazard, allow_zero=False)
    )
    h_other = _rate("other_injury_hazard", other_injury_hazard, allow_zero=True)
    try:
        origin = pd.Timestamp(start).normalize()
    except (ValueError, TypeError) as err:
        raise ValueError(f"start must be a date like '2025-01-06', not {start!r}") from err
    if origin.tz is not None:
        raise ValueError(f"start must be a date without time zone (local time), not {start!r}")

    rng = np.random.default_rng(seed)
    n = int(n_runners)
    p = PROFILES[profile].weekly_km
    usual = np.clip(rng.gamma((p.mean / p.sd) ** 2, p.sd**2 / p.mean, n), *USUAL_WEEKLY_KM)
    runs = _generate_log(rng, n, int(weeks), usual, float(spike_rate), sizes)
    prefix = "SYN-" if subgroup is None else f"SYN-{subgroup[:3].upper()}-"
    width = max(4, len(str(n)))  # ids sort as numbers
    ids = np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)
    day_ns = np.round(runs["day"] * 86_400).astype("int64") * 10**9
    log = pd.DataFrame(
        {
            "runner_id": ids[runs["runner"]],
            "start": (origin + pd.to_timedelta(day_ns, unit="ns")).astype("datetime64[ns]"),
            "distance_km": runs["distance_km"],
            "duration_min": runs["duration_min"],
            "activity_type": "Run",
        }
    )

    # the truth: piecewise-constant hazard between consecutive runs of a runner
    runner = runs["runner"]
    t0 = day_ns / _DAY_NS
    end = 7.0 * weeks
    same = np.r_[runner[1:] == runner[:-1], False]
    t1 = np.where(same, np.r_[t0[1:], end], end)
    state = pd.Categorical(session_exposures(log)["session_state"])
    if list(state.categories) != list(SPIKE_STATES):  # pragma: no cover - invariant
        raise AssertionError(f"unexpected session states {list(state.categories)}")
    by_code = np.array([1.0, *(hrs[k] for k in SPIKED)])
    hr = np.where(state.codes >= 0, by_code[state.codes], 1.0)  # missing state: baseline
    t_pfp = _draw_first(rng, runner, t0, t1, h0 * hr, n)
    first_run = t0[np.searchsorted(runner, np.arange(n))]
    t_other = first_run + rng.exponential(1.0, n) / h_other if h_other > 0 else np.full(n, np.inf)
    t_end = np.minimum(t_pfp, t_other)
    injured = t_end < end
    is_pfp = injured & (t_pfp <= t_other)

    keep = t0 < t_end[runner]
    log = log.loc[keep].reset_index(drop=True)
    log["source_row"] = np.arange(1, len(log) + 1)
    log["data_source"] = SYNTHETIC_LABEL

    onset_day = np.floor(np.where(injured, t_end, 0.0))
    other = np.array(OTHER_DIAGNOSES, dtype=object)[rng.integers(0, len(OTHER_DIAGNOSES), n)]
    diagnosis = np.where(is_pfp, PFP_DIAGNOSIS, other)
    injuries = pd.DataFrame(
        {
            "runner_id": ids,
            "onset": pd.Series(origin + pd.to_timedelta(onset_day, unit="D"))
            .where(injured)
            .astype("datetime64[ns]"),
            "diagnosis": pd.Series(np.where(injured, diagnosis, None)),
            "pfp": is_pfp,
            "follow_up_end": pd.Series(
                np.full(n, origin + pd.Timedelta(days=7 * weeks - 1)), dtype="datetime64[ns]"
            ),
            "source_row": np.arange(1, n + 1),
            "data_source": SYNTHETIC_LABEL,
        }
    )
    truth = {
        "synthetic": True,
        "subgroup": profile,
        "hazard_ratios": hrs,
        "baseline_hazard": h0,
        "other_injury_hazard": h_other,
        "spike_rate": float(spike_rate),
        "spike_sizes": sizes,
        "note": "hazard ratios of PFP onset per session state against '<=10%'; rates per "
        "runner-day; time with a missing state has the baseline rate",
    }
    note = (
        f"SYNTHETIC: {n} simulated runners over {weeks} weeks from {origin.date()}; these "
        "runners do not exist."
    )
    for frame in (log, injuries):
        frame.attrs["truth"] = dict(truth)
        frame.attrs["notes"] = [note]
    return log, injuries


# ---------------------------------------------------------------------------------------------
# The demo files shipped with the package

#: The SYNTHETIC demo training log and injuries shipped with the package (package data,
#: found with importlib.resources); made by :func:`write_demo_training`.
DEMO_TRAINING_LOG = Path(
    str(resources.files("pfps_stats").joinpath("data", "demo_training_log.csv"))
)
DEMO_INJURIES = Path(str(resources.files("pfps_stats").joinpath("data", "demo_injuries.csv")))
#: Runners per subgroup of the demo (ids ``SYN-MIL-0001`` ...: the first runners of each
#: subgroup of the demo cohort, so their covariates join by ``runner_id``), weeks and seed.
DEMO_TRAINING_RUNNERS = {"adolescent": 200, "military": 200, "recreational": 200}
DEMO_TRAINING_WEEKS = 26
DEMO_TRAINING_SEED = 20250826
#: The demo's truth: Frandsen 2025's hazard ratios; a PFP rate about 15 times the default for
#: recreational runners and frequent, large spikes, so that 600 runners over 26 weeks give
#: about 225 onsets with 7-20 in each spike state (seeds 1-3 checked), enough for the
#: training-load report to show its models with small-cell suppression on.
DEMO_TRAINING_SETTINGS = {
    "baseline_hazard": 2.5e-3,
    "other_injury_hazard": 4e-4,
    "spike_rate": 1.0,
    "spike_sizes": {">10-30%": 0.3, ">30-100%": 0.3, ">100%": 0.4},
}
#: Wordings of PFP in the demo's injury file, all recognised by ``load_injuries``.
DEMO_PFP_WORDINGS = ("patellofemoral pain", "Patellofemoral pain syndrome", "PFPS", "runner's knee")


def demo_training(seed: int = DEMO_TRAINING_SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The SYNTHETIC demo training log and injuries, made afresh from ``seed``.

    :func:`simulate_training` for each subgroup of :data:`DEMO_TRAINING_RUNNERS` over
    :data:`DEMO_TRAINING_WEEKS` weeks with :data:`DEMO_TRAINING_SETTINGS`; PFP diagnoses are
    written in the wordings of :data:`DEMO_PFP_WORDINGS`. Returns ``(log, injuries)`` in the
    loaders' formats (sorted by ``runner_id``; ``source_row`` numbered afresh), each with
    ``data_source = "SYNTHETIC"`` and ``attrs["truth"]`` per subgroup.
    """
    rng = np.random.default_rng(seed)
    logs, injuries, truth = [], [], {}
    for subgroup, size in DEMO_TRAINING_RUNNERS.items():
        log, inj = simulate_training(
            size, DEMO_TRAINING_WEEKS, subgroup=subgroup, seed=rng, **DEMO_TRAINING_SETTINGS
        )
        logs.append(log)
        injuries.append(inj)
        truth[subgroup] = log.attrs["truth"]
    log = pd.concat(logs, ignore_index=True).sort_values(["runner_id", "start"], ignore_index=True)
    inj = pd.concat(injuries, ignore_index=True).sort_values("runner_id", ignore_index=True)
    pfp = inj["pfp"].to_numpy()
    wording = np.array(DEMO_PFP_WORDINGS, dtype=object)[
        rng.integers(0, len(DEMO_PFP_WORDINGS), len(inj))
    ]
    inj["diagnosis"] = inj["diagnosis"].where(~pfp, wording)
    for frame in (log, inj):
        frame["source_row"] = np.arange(1, len(frame) + 1)
        frame.attrs = {
            "truth": truth,
            "notes": [
                f"SYNTHETIC demo: {len(inj)} simulated runners over {DEMO_TRAINING_WEEKS} weeks "
                "(pfps_stats.exposures.synthetic.demo_training); these runners do not exist."
            ],
        }
    return log, inj


def _demo_files(log: pd.DataFrame, injuries: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo frames as written to CSV: what a clinic's export would hold."""
    log_out = log[["runner_id", "start", "distance_km", "duration_min", "activity_type"]].assign(
        data_source=log["data_source"]
    )
    inj_out = injuries[["runner_id", "onset", "diagnosis", "follow_up_end", "data_source"]].copy()
    for column in ("onset", "follow_up_end"):
        inj_out[column] = inj_out[column].dt.strftime("%Y-%m-%d")
    return log_out, inj_out


def write_demo_training(
    log_path: str | Path = DEMO_TRAINING_LOG,
    injuries_path: str | Path = DEMO_INJURIES,
    seed: int = DEMO_TRAINING_SEED,
) -> tuple[Path, Path]:
    """Write :func:`demo_training` as two CSV files and return their paths.

    The log has columns ``runner_id``, ``start`` (ISO date and time), ``distance_km``,
    ``duration_min``, ``activity_type``, ``data_source``; the injuries ``runner_id``,
    ``onset`` (ISO date; empty for a runner without injury), ``diagnosis``, ``follow_up_end``,
    ``data_source``: PFP is recognised from the diagnosis by ``load_injuries``.
    """
    from ..cohort.validation import write_csv_atomic

    log_out, inj_out = _demo_files(*demo_training(seed))
    paths = Path(log_path), Path(injuries_path)
    write_csv_atomic(log_out, paths[0])
    write_csv_atomic(inj_out, paths[1])
    return paths


def load_demo_training() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The SYNTHETIC demo training log and injuries shipped with pfps_stats, loaded and
    validated like a user's files (``load_training_log``, ``load_injuries``).

    Returns
    -------
    (log, injuries) : tuple of DataFrame
        600 runners (200 per subgroup, ids of the demo cohort) over 26 weeks from 2025-01-06;
        see ``pfps_stats/data/README.md``. ``runner_id`` joins the demo cohort
        (``load_demo_cohort``) for runner-level covariates.
    """
    from ..cohort.injuries import load_injuries
    from ..cohort.training_log import load_training_log

    log, injuries = load_training_log(DEMO_TRAINING_LOG), load_injuries(DEMO_INJURIES)
    for frame in (log, injuries):
        if "data_source" not in frame:  # a loader that keeps only its own columns
            frame["data_source"] = SYNTHETIC_LABEL
            frame.attrs["notes"] = [
                *frame.attrs.get("notes", []),
                "Labelled SYNTHETIC (data_source), as every row of the file: the pfps_stats "
                "demo; these runners do not exist.",
            ]
    return log, injuries


#: The columns of a Strava bulk export's ``activities.csv`` that :func:`write_strava_exports`
#: fills (the real file has about 90; the reader needs only these). ``Elapsed Time`` and
#: ``Distance`` appear twice, as in Strava's file: first in seconds and the athlete's display
#: unit (km here), then in seconds and metres.
STRAVA_COLUMNS = (
    "Activity ID",
    "Activity Date",
    "Activity Name",
    "Activity Type",
    "Activity Description",
    "Elapsed Time",
    "Distance",
    "Max Heart Rate",
    "Relative Effort",
    "Commute",
    "Activity Private Note",
    "Activity Gear",
    "Filename",
    "Athlete Weight",
    "Bike Weight",
    "Elapsed Time",
    "Moving Time",
    "Distance",
    "Max Speed",
    "Average Speed",
)


def write_strava_exports(
    log: pd.DataFrame,
    folder: str | Path,
    *,
    rides_per_run: float = 0.1,
    seed: int | np.random.Generator | None = None,
) -> Path:
    """Write a SYNTHETIC log as Strava bulk exports: ``<folder>/<runner_id>/activities.csv``.

    Each runner's runs become Strava rows (``Activity Date`` like ``"Jul 1, 2025, 6:30:00
    AM"``; the first ``Distance`` in km with 2 decimals, the second in metres; elapsed and
    moving time in seconds), with some rides and walks mixed in (``rides_per_run`` of them per
    run) that the reader sets aside. For demos and tests of the whole path from an export:
    ``ps.load_training_log(folder)`` reads it back (runner ids from the folder names). Start
    times are written as they are in the log; Strava's own files are in UTC. A last column,
    ``data_source = "SYNTHETIC"`` (not in Strava's files), keeps the label on the runs read
    back.

    Parameters
    ----------
    log : DataFrame
        A log in the loader's form whose rows are labelled SYNTHETIC (``data_source``): only
        simulated runs are written out as if they were an export.
    folder : path
        Created if needed; one sub-folder per runner.
    rides_per_run : float
        Non-running activities per run, on average.
    seed : int or Generator, optional

    Returns
    -------
    Path
        ``folder``.
    """
    from ..cohort.synthetic import is_synthetic

    if not is_synthetic(log):
        raise ValueError(
            "write_strava_exports writes SYNTHETIC logs only (data_source = 'SYNTHETIC'): a "
            "real log written as Strava exports could be mistaken for the runners' own files"
        )
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    runs = pd.DataFrame(
        {
            "runner_id": log["runner_id"].astype(str).to_numpy(),
            "start": log["start"].to_numpy(),
            "km": log["distance_km"].to_numpy(dtype=float),
            "minutes": log["duration_min"].to_numpy(dtype=float),
            "type": "Run",
        }
    )
    n_other = rng.poisson(rides_per_run * len(runs))
    pick = rng.integers(0, len(runs), n_other)
    ride = rng.random(n_other) < 0.6
    others = pd.DataFrame(
        {
            "runner_id": runs["runner_id"].to_numpy()[pick],
            "start": runs["start"].to_numpy()[pick]
            + pd.to_timedelta(rng.integers(4, 10, n_other), "h"),
            "km": np.where(ride, rng.uniform(15, 60, n_other), rng.uniform(2, 6, n_other)).round(2),
            "type": np.where(ride, "Ride", "Walk"),
        }
    )
    others["minutes"] = others["km"] * np.where(ride, 2.5, 12.0)
    rows = pd.concat([runs, others], ignore_index=True).sort_values(["runner_id", "start"])
    moving = (rows["minutes"] * 60).round()
    elapsed = (moving * 1.03).round()  # stops at lights and the like
    when = pd.DatetimeIndex(rows["start"])
    hour = when.hour % 12
    date_text = (
        when.strftime("%b ")
        + when.day.astype(str)
        + when.strftime(", %Y, ")
        + np.where(hour == 0, 12, hour).astype(str)
        + when.strftime(":%M:%S %p")
    )
    part_of_day = np.select(
        [when.hour < 12, when.hour < 17], ["Morning", "Afternoon"], default="Evening"
    )
    ids = 10_000_000 + np.arange(len(rows))
    blank = np.full(len(rows), "", dtype=object)
    columns = [
        ids,
        date_text,
        part_of_day + " " + rows["type"].to_numpy().astype(str),
        rows["type"].to_numpy(),
        blank,
        elapsed.astype("int64").to_numpy(),
        rows["km"].round(2).to_numpy(),
        blank,
        blank,
        np.full(len(rows), "false", dtype=object),
        blank,
        blank,
        np.array([f"activities/{i}.fit.gz" for i in ids], dtype=object),
        blank,
        blank,
        elapsed.to_numpy(),
        moving.to_numpy(),
        (rows["km"] * 1000).round(1).to_numpy(),
        blank,
        blank,
    ]
    table = pd.DataFrame(dict(enumerate(columns)))
    table.columns = list(STRAVA_COLUMNS)
    # Not a Strava column: the label that keeps these simulated runs from passing for real
    # ones (load_training_log keeps it, and reports show the SYNTHETIC banner).
    table["data_source"] = SYNTHETIC_LABEL
    for runner, part in table.groupby(rows["runner_id"].to_numpy(), sort=True):
        target = folder / str(runner)
        target.mkdir(parents=True, exist_ok=True)
        part.to_csv(target / "activities.csv", index=False)
    return folder
