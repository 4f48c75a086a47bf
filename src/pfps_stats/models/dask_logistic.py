"""Logistic models on data larger than memory: :func:`fit_dask_logistic` and the immutable
:class:`DaskLogisticFit`.

``ps.fit_logistic(ddf, formula)`` comes here when ``ddf`` is a Dask DataFrame, e.g.
``dask.dataframe.read_parquet("runner_weeks/*.parquet")``. No partition is ever gathered on
one machine: every step is a pass over the partitions that returns a few small numbers each,
summed by Dask (a tree reduction).

1. **Scan** (one pass): per partition, the rows, the missing values per model column (rows with
   one are dropped and counted, as in memory), the events, the levels of each categorical
   variable among the complete rows, the mean and spread of each numeric variable (for
   ``per="sd"``) and, for a clustered fit, the cluster ids.
2. **Design**: patsy's design is built once from a small prototype frame holding every level
   found, so every partition gets the **same columns, in the same order, with the same names**
   as the in-memory fit of the same rows (patsy sorts levels; a categorical dtype keeps its
   order, unused categories left out). Terms that learn from the data (splines' knots,
   ``center``, ``standardize``) are refused: their state would differ per partition.
3. **Newton-Raphson** (one pass per iteration), started from the fit of the largest
   partition alone (on its worker; else from the intercept-only fit): each partition returns
   ``X'WX``, ``X'(y - mu)`` and its log-likelihood (and for a clustered fit
   ``sum_g s_g s_g'``, the outer products of its clusters' score sums; in the first pass also
   ``X'X`` and column ranges, for the constant and collinear column checks); the step is
   halved while the log-likelihood falls, and the fit stops as
   :func:`pfps_stats.models.engine.newton` does (largest step below ``1e-10``), so the
   estimates agree with the in-memory fit to ``1e-8``.

Covariance: the inverse Fisher information, or with ``cluster=`` the cluster-robust CR1
covariance ``G/(G-1) (n-1)/(n-p) M (sum_g s_g s_g') M`` (``M`` the inverse information), as the
in-memory fit (statsmodels; ``sandwich::vcovCL``) uses from :data:`FEW_CLUSTERS` clusters up.
Each cluster's score sum is computed within one partition, so **no cluster may span
partitions**: the scan checks it (it says which cluster lies in which partitions) and the fix
is ``ddf.set_index("runner_id")`` or ``ddf.shuffle("runner_id")``. Fewer than 50 clusters are
refused: the in-memory fit then uses CR2 with Satterthwaite degrees of freedom, whose
per-cluster matrices are ``n_g x n_g`` (infeasible for clusters of big-data size; such data fit
in memory anyway).

In memory only (a clear :class:`~pfps_stats.ModelError` says so): Firth's penalised likelihood,
the exact separation check (linear programming), profile-likelihood intervals, likelihood-ratio
tests, GEE, CR2, predictions' performance, calibration and bootstrap validation. With
``method="auto"`` the Dask fit is the ML fit that "auto" chooses when there is no separation
and events per variable are at least 5; otherwise it raises, pointing to the in-memory fit.

Validated against the in-memory :func:`~pfps_stats.fit_logistic` (statsmodels Logit and GLM
cluster covariance) on the same rows: coefficients, standard errors (model-based and CR1),
Wald odds ratios and the counts of dropped rows agree to 1e-8
(``tests/models/test_dask_logistic.py``).
"""

from __future__ import annotations

import ast
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType, SimpleNamespace
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import linalg, special, stats

from .._checks import check_level
from .._exceptions import ModelError, ModelWarning
from .._format import FitDisplay
from . import engine
from .design import (
    SPLINES,
    _column_info,
    check_outcome,
    column_label,
    matrix_for,
    per_increments,
    used_columns,
)
from .engine import MAX_STEP
from .logistic import EPV_FIRTH, EPV_WARN, FEW_CLUSTERS, ODDS_RATIO_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    import dask.dataframe as dd

#: Newton-Raphson stops when no coefficient moves by this much (as engine.newton).
TOL = 1e-10
#: Newton-Raphson iterations (each one pass over the data) before giving up.
MAX_ITER = 50
#: Iterations in a row with a linear predictor beyond +-30 (fitted probabilities within 1e-13
#: of 0 or 1) while coefficients still move, after which the fit stops: the signature of
#: (quasi-)separation, where ML estimates are infinite and Newton-Raphson never converges.
SEPARATION_ITER = 4
#: Levels of one categorical variable, at most (more is almost surely an id in a C() term).
MAX_LEVELS = 10_000
#: Functions whose terms learn from the data (knots, means): refused on Dask data.
STATEFUL = ("bs", "cr", "cc", "te", "center", "standardize", "scale")
#: What a LogisticFit has and a fit on Dask data does not (they need the rows in memory).
_IN_MEMORY_ONLY = frozenset(
    {
        "design",
        "fitted_",
        "y_",
        "performance",
        "term_tests",
        "nonlinearity_test",
        "lr_test",
        "separated",
    }
)


def _in_memory(options: str = "") -> str:
    """How to fit in memory instead: the sentence every refusal ends with."""
    return (
        f"fit in memory on the data, or on a sample of it: ps.fit_logistic(ddf.compute(), "
        f"formula{options}) or ps.fit_logistic(ddf.sample(frac=0.05, random_state=1)"
        f".compute(), formula{options})"
    )


def _is_dask_frame(data) -> bool:
    return type(data).__module__.partition(".")[0] == "dask"


# ---------------------------------------------------------------------------------------------
# Fitting


def fit_dask_logistic(
    data: dd.DataFrame,
    formula: str,
    *,
    method: Literal["ml", "auto"] = "ml",
    cluster: str | None = None,
    cluster_method: Literal["robust"] = "robust",
) -> DaskLogisticFit:
    """Fit a logistic regression to a Dask DataFrame by distributed Newton-Raphson.

    Called by :func:`~pfps_stats.fit_logistic` when its data are a Dask DataFrame; the
    arguments are fit_logistic's. Runs on the active ``dask.distributed`` client if there is
    one, else on Dask's default scheduler.

    Parameters
    ----------
    data : dask.dataframe.DataFrame
        Partitions of any size; a column (or the index, by name) for each variable of the
        formula. Divisions need not be known. Each Newton iteration reads the data once:
        ``data.persist()`` first if it fits in the cluster's memory.
    formula : str
        As fit_logistic: numeric columns, categories (``C(sex)``, text or categorical
        columns), interactions and transforms such as ``np.log(weekly_km)``. Splines,
        ``center`` and ``standardize`` learn from all rows and are refused.
    method : {"ml", "auto"}
        Maximum likelihood. "auto" is ML where fit_logistic's "auto" would choose it, and
        raises where it would choose Firth (events per variable below 5). "firth" raises.
    cluster : str, optional
        Column (or index name) of the clusters, e.g. ``"runner_id"``: cluster-robust (CR1)
        covariance with normal quantiles. Every cluster must lie in one partition (checked;
        the error names a cluster that does not and the fix). At least 50 clusters.
    cluster_method : {"robust"}
        "gee" raises (in memory only).

    Returns
    -------
    DaskLogisticFit

    Raises
    ------
    ModelError
        As the in-memory fit for bad formulas and outcomes (naming the partition), a column
        absent from some partitions, an outcome that is 0 (or 1) in every row used, constant or
        collinear columns, a cluster spanning partitions, fewer than 50 clusters, terms that
        learn from the data, Firth or GEE, and suspected separation (with what to do).

    Notes
    -----
    Checked against the in-memory fit on the same rows (tests/models/test_dask_logistic.py):
    coefficients and standard errors, plain and clustered, agree to 1e-8.
    """
    import dask.dataframe as dd

    if not isinstance(data, dd.DataFrame):
        raise TypeError(
            f"a Dask DataFrame is needed, not {type(data).__name__}; for a Dask Series, "
            f"make a frame with .to_frame()"
        )
    if method == "firth":
        raise ModelError(
            "Firth's penalised likelihood is fitted in memory only (its penalty needs each "
            "row's leverage at every step); a Dask DataFrame gets maximum likelihood "
            "(method='ml'). For Firth, " + _in_memory(", method='firth'")
        )
    if method not in ("ml", "auto"):
        raise ValueError(f'method must be "ml", "firth" or "auto", not {method!r}')
    if cluster_method != "robust":
        raise ModelError(
            f"cluster_method={cluster_method!r} is available in memory only; on a Dask "
            "DataFrame clustered fits use cluster_method='robust' (CR1). For GEE, "
            + _in_memory(f", cluster={cluster!r}, cluster_method={cluster_method!r}")
        )
    if "~" not in formula:
        raise ModelError(f"formula {formula!r} needs an outcome: 'pfp ~ bmi + q_angle_deg'")
    outcome = formula.split("~", 1)[0].strip()
    _refuse_stateful(formula)

    meta = data._meta
    index_name = meta.index.name
    frame_meta = meta
    if isinstance(index_name, str) and index_name not in meta.columns:
        frame_meta = meta.reset_index()  # the index can be a model variable or the cluster
    check_outcome(frame_meta, outcome)
    variables = used_columns(formula, frame_meta)
    _probe_names(formula, frame_meta)
    if cluster is not None and cluster not in frame_meta.columns:
        raise ModelError(
            f"the cluster column {cluster!r} is not a column (or the index) of the data; "
            f"columns: {', '.join(map(str, frame_meta.columns))}"
        )
    used = list(dict.fromkeys([*variables, *([cluster] if cluster else [])]))
    reset = any(c == index_name and c not in meta.columns for c in used)
    categorical = _categorical_variables(formula, frame_meta, variables)
    numeric = [
        c
        for c in variables
        if c not in categorical
        and pd.api.types.is_numeric_dtype(frame_meta[c])
        and not pd.api.types.is_bool_dtype(frame_meta[c])
    ]
    columns = [c for c in used if c in meta.columns]
    parts = data[columns].to_delayed() if columns else data.to_delayed()
    n_parts = len(parts)
    scan_spec = _ScanSpec(
        outcome=outcome,
        used=tuple(used),
        reset=reset,
        categorical=tuple(categorical),
        numeric=tuple(numeric),
        cluster=cluster,
        # always checked on the data: known divisions are not a guarantee (sorted files
        # whose boundaries split a cluster still report them)
        cluster_ids=bool(cluster),
        n_parts=n_parts,
    )
    try:
        scans = _compute([_delayed(_scan_partition)(p, k, scan_spec) for k, p in enumerate(parts)])
    except KeyError:
        # Selecting the model's columns (so Parquet reads only those) failed in a partition
        # without one of them: scan whole partitions to name it.
        whole = data.to_delayed()
        _compute([_delayed(_scan_partition)(p, k, scan_spec) for k, p in enumerate(whole)])
        raise
    scan = _combine_scans(scans, scan_spec, formula, frame_meta)

    notes: list[str] = []
    if scan["n_dropped"]:
        detail = ", ".join(f"{k}: {v}" for k, v in scan["dropped"].items())
        notes.append(
            f"dropped {scan['n_dropped']} of {scan['rows']} rows with missing values ({detail})"
        )
    spec = _design_spec(formula, outcome, scan, scan_spec, frame_meta)
    columns_x = spec.columns
    p = len(columns_x)
    n, events = scan["n"], scan["events"]
    n_params = p - ("Intercept" in columns_x)
    epv = min(events, n - events) / max(n_params, 1)
    if method == "auto" and epv < EPV_FIRTH:
        raise ModelError(
            f"events per variable {epv:.1f} < {EPV_FIRTH:g}: method='auto' would use Firth's "
            "penalised likelihood, which is fitted in memory only; " + _in_memory(", method='auto'")
        )
    if epv < EPV_WARN:
        notes.append(
            f"events per variable {epv:.1f} < {EPV_WARN:g}: estimates may be "
            f"unstable and optimistic"
        )
    n_clusters = None
    if cluster is not None:
        n_clusters = scan["n_clusters"]
        if n_clusters < 2:
            raise ModelError(
                f"clustered inference needs at least 2 clusters; {cluster!r} takes a single "
                f"value in all {n} rows used, so the variation between clusters cannot be "
                f"estimated. Fit without cluster=, or cluster by a column with several values"
            )
        if n_clusters < FEW_CLUSTERS:
            raise ModelError(
                f"only {n_clusters} clusters of {cluster} (fewer than {FEW_CLUSTERS}): the "
                f"in-memory fit then uses the CR2 covariance with Satterthwaite degrees of "
                f"freedom, whose per-cluster matrices are rows x rows of each cluster, not "
                f"computed on Dask data; " + _in_memory(f", cluster={cluster!r}")
            )

    beta, state, n_iter, passes = _newton(parts, spec, n, events, scan["sizes"])
    info = state["info"]
    model_cov = linalg.pinvh(info)
    record = None
    if cluster is None:
        cov = model_cov
        loglik = state["loglik"]
        df, test = np.full(p, np.inf), "Wald"
    else:
        correction = n_clusters / (n_clusters - 1) * (n - 1) / (n - p)
        cov = correction * model_cov @ state["meat"] @ model_cov
        cov = (cov + cov.T) / 2
        loglik = state["loglik"]
        df, test = np.full(p, np.inf), "Wald (CR1, normal)"
        record = {
            "column": cluster,
            "method": "robust",
            "n_clusters": n_clusters,
            "covariance": "CR1",
            "df_method": "normal",
            "df": df,
            "test": test,
            "partition_check": "cluster ids",
        }
    for note in notes:
        warnings.warn(note, ModelWarning, stacklevel=3)
    return DaskLogisticFit(
        spec=spec,
        beta=beta,
        cov=cov,
        loglik=loglik,
        n_obs=n,
        n_events=events,
        n_dropped=scan["n_dropped"],
        dropped=scan["dropped"],
        epv=epv,
        notes=notes,
        cluster=record,
        n_partitions=n_parts,
        n_iter=n_iter,
        n_passes=passes + 1,
        sd=scan["sd"],
        wald_test=test,
        df=df,
    )


def _delayed(func):
    import dask

    return dask.delayed(func, pure=True)


def _compute(tasks: list) -> list:
    import dask

    return list(dask.compute(*tasks))


def _tree_sum(tasks: list):
    """One delayed result summing the partitions' statistics pairwise (a tree reduction)."""
    import dask

    level = list(tasks)
    while len(level) > 1:
        level = [
            dask.delayed(_add, pure=True)(*level[i : i + 2]) if i + 1 < len(level) else level[i]
            for i in range(0, len(level), 2)
        ]
    return level[0]


def _add(a: dict, b: dict) -> dict:
    out = {}
    for key, value in a.items():
        if key == "max_abs_eta":
            out[key] = max(value, b[key])
        elif key == "xmin":
            out[key] = np.fmin(value, b[key])
        elif key == "xmax":
            out[key] = np.fmax(value, b[key])
        else:
            out[key] = value + b[key]
    return out


# ---------------------------------------------------------------------------------------------
# The formula


def _factor_codes(formula: str) -> list[str]:
    import patsy

    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as exc:
        raise ModelError(
            f"the formula {formula!r} could not be read: {' '.join(str(exc).split())}"
        ) from None
    return [f.code for t in [*desc.lhs_termlist, *desc.rhs_termlist] for f in t.factors]


def _called(code: str) -> set[str]:
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:  # pragma: no cover - patsy has tokenised it as Python
        return set()
    return {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


def _refuse_stateful(formula: str) -> None:
    learning = [code for code in _factor_codes(formula) if _called(code) & set(STATEFUL)]
    if learning:
        _stateful_error(learning)


def _stateful_error(codes: Sequence[str]) -> None:
    spline = any(c.startswith(SPLINES) for c in codes)
    raise ModelError(
        f"{', '.join(map(repr, codes))} learn{'s' if len(codes) == 1 else ''} from all rows "
        f"({'knots at quantiles' if spline else 'means and SDs'} of the data), which a fit on "
        "Dask partitions cannot do the same way in every partition. Use numeric columns, "
        "categories, interactions and plain transforms (np.log(x), I(x**2)) on Dask data; for "
        "splines, " + _in_memory()
    )


def _categorical_variables(formula: str, meta: pd.DataFrame, variables: Sequence[str]) -> list:
    """Variables patsy treats as categories: text, bool or categorical columns, and columns
    inside ``C(...)``."""
    in_c = set()
    for code in _factor_codes(formula):
        try:
            tree = ast.parse(code.strip(), mode="eval")
        except SyntaxError:  # pragma: no cover
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "C"
                and node.args
            ):
                in_c |= {n.id for n in ast.walk(node.args[0]) if isinstance(n, ast.Name)}
    out = []
    for c in variables:
        dtype = meta[c].dtype
        if (
            c in in_c
            or not pd.api.types.is_numeric_dtype(dtype)
            or pd.api.types.is_bool_dtype(dtype)
        ):
            out.append(c)
    return out


def _probe_names(formula: str, meta: pd.DataFrame) -> None:
    """Refuse, before reading any data, a formula naming something that is not a column."""
    import patsy

    probe = pd.DataFrame({c: [1.0] for c in meta.columns if isinstance(c, str)})
    try:
        patsy.dmatrices(formula, probe, return_type="matrix", NA_action="raise")
    except patsy.PatsyError as exc:
        _refuse_undefined_name(exc, meta)
    except Exception:  # a probe on dummy values; the build on the real levels reports
        pass


def _refuse_undefined_name(exc: Exception, meta: pd.DataFrame) -> None:
    """A ModelError naming the column when patsy's error is an undefined name; else None."""
    import re

    found = re.search(r"name '(\w+)' is not defined", " ".join(str(exc).split()))
    if found:
        raise ModelError(
            f"the formula names {found.group(1)!r}, which is not a column of the data; "
            f"columns: {', '.join(map(str, meta.columns))}"
        ) from None


# ---------------------------------------------------------------------------------------------
# Pass 0: the scan


@dataclass(frozen=True)
class _ScanSpec:
    outcome: str
    used: tuple[str, ...]
    reset: bool
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    cluster: str | None
    cluster_ids: bool
    n_parts: int


def _where(k: int, n_parts: int) -> str:
    return f"partition {k} (of {n_parts}, counted from 0)"


def _columns_present(part: pd.DataFrame, used: Sequence[str], k: int, n_parts: int) -> None:
    absent = [c for c in used if c not in part.columns]
    if absent:
        raise ModelError(
            f"{_where(k, n_parts)} has no column {', '.join(map(repr, absent))}, which the "
            f"model uses (its columns: {', '.join(map(str, part.columns))}). Every partition "
            f"must have the model's columns: read the files with one schema (e.g. "
            f"dd.read_parquet(..., schema=...)), or add the column, with missing values where "
            f"it is unknown, to the files that lack it"
        )


def _scan_partition(part: pd.DataFrame, k: int, spec: _ScanSpec) -> dict:
    """Counts, levels, moments and cluster ids of one partition (small: sent to the client)."""
    if spec.reset:
        part = part.reset_index()
    _columns_present(part, spec.used, k, spec.n_parts)
    for c in spec.numeric:  # numbers in the frame's meta, but text (say) in this partition
        dtype = part[c].dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            raise ModelError(
                f"{_where(k, spec.n_parts)}: {c!r} is stored as {dtype} here, but as numbers "
                f"in the frame's description (its first partition); convert it in every "
                f"partition, e.g. ddf[{c!r}] = dd.to_numeric(ddf[{c!r}], errors='coerce') "
                f"(text that is not a number then counts as missing)"
            )
    try:
        check_outcome(part, spec.outcome)
    except ModelError as exc:
        raise ModelError(f"{_where(k, spec.n_parts)}: {exc}") from None
    missing = {c: part[c].isna().to_numpy() for c in spec.used}
    incomplete = np.zeros(len(part), bool)
    for mask in missing.values():
        incomplete |= mask
    sub = part.loc[~incomplete, list(spec.used)]
    y = sub[spec.outcome].to_numpy(dtype=float) if len(sub) else np.zeros(0)
    levels, categories = {}, {}
    for c in spec.categorical:
        column = sub[c]
        values = pd.unique(column.to_numpy(dtype=object))
        if len(values) > MAX_LEVELS:
            raise ModelError(
                f"{c!r} has more than {MAX_LEVELS} levels in {_where(k, spec.n_parts)}: as a "
                f"category it would give that many columns. Use it as a number, or as "
                f"cluster= if it identifies clusters"
            )
        levels[c] = list(values)
        if isinstance(column.dtype, pd.CategoricalDtype):
            categories[c] = list(column.cat.categories)
    moments = {}
    for c in spec.numeric:
        v = sub[c].to_numpy(dtype=float)
        mean = float(v.mean()) if len(v) else 0.0
        moments[c] = (len(v), mean, float(((v - mean) ** 2).sum()))
    out = {
        "rows": len(part),
        "missing": {c: int(m.sum()) for c, m in missing.items()},
        "n_dropped": int(incomplete.sum()),
        "n": len(sub),
        "events": int(y.sum()),
        "levels": levels,
        "categories": categories,
        "moments": moments,
        "example": sub.iloc[:1].copy(),
    }
    if spec.cluster is not None:
        ids = pd.unique(sub[spec.cluster].to_numpy())
        out["clusters"] = ids if spec.cluster_ids else len(ids)
    return out


def _combine_scans(scans: list[dict], spec: _ScanSpec, formula: str, meta) -> dict:
    rows = sum(s["rows"] for s in scans)
    missing = {c: sum(s["missing"][c] for s in scans) for c in spec.used}
    dropped = {c: v for c, v in missing.items() if v}
    n = sum(s["n"] for s in scans)
    events = sum(s["events"] for s in scans)
    if n == 0:
        raise ModelError(
            f"no row is complete for {formula!r}; missing values per column: {dropped}"
        )
    if events in (0, n):
        raise ModelError(
            f"the outcome {spec.outcome!r} is {int(events > 0)} in all {n} rows used (in all "
            f"{len(scans)} partitions), so no odds ratio can be estimated"
        )
    levels = {}
    for c in spec.categorical:
        seen = list(dict.fromkeys(v for s in scans for v in s["levels"][c]))
        with_dtype = [s["categories"].get(c) for s in scans if s["n"]]
        if with_dtype and all(d is not None and d == with_dtype[0] for d in with_dtype):
            # one categorical dtype in every partition: its order, unused levels left out
            # (as the in-memory fit of the concatenated partitions)
            order = {v: i for i, v in enumerate(with_dtype[0])}
            levels[c] = ("categorical", sorted(seen, key=order.__getitem__))
        else:
            levels[c] = ("values", seen)
    sd = {}
    for c in spec.numeric:
        count, mean, m2 = 0, 0.0, 0.0
        for s in scans:  # Chan et al.'s pairwise update of the mean and sum of squares
            nb, mb, m2b = s["moments"][c]
            if not nb:
                continue
            delta = mb - mean
            total = count + nb
            mean += delta * nb / total
            m2 += m2b + delta**2 * count * nb / total
            count = total
        sd[c] = float(np.sqrt(m2 / (count - 1))) if count > 1 else float("nan")
    out = {
        "rows": rows,
        "dropped": dropped,
        "n_dropped": sum(s["n_dropped"] for s in scans),
        "n": n,
        "events": events,
        "levels": levels,
        "sd": sd,
        "example": next(s["example"] for s in scans if s["n"]),
        "sizes": [s["n"] for s in scans],
    }
    if spec.cluster is not None:
        if spec.cluster_ids:
            out["n_clusters"] = _check_clusters(scans, spec)
        else:
            out["n_clusters"] = sum(s["clusters"] for s in scans)
    return out


def _check_clusters(scans: list[dict], spec: _ScanSpec) -> int:
    ids = [s["clusters"] for s in scans]
    where = np.repeat(np.arange(len(ids)), [len(i) for i in ids])
    index = pd.Index(np.concatenate([np.asarray(i, dtype=object) for i in ids]) if ids else [])
    spanning = index.duplicated(keep=False)
    if spanning.any():
        first = index[spanning][0]
        partitions = sorted(set(where[np.asarray(index == first)].tolist()))
        n_span = int(pd.Index(index[spanning]).nunique())
        c = spec.cluster
        raise ModelError(
            f"cluster {first!r} of {c!r} has rows in partitions "
            f"{', '.join(map(str, partitions))} (counted from 0), and "
            f"{n_span} cluster{'s' if n_span > 1 else ''} in all span partitions. A clustered "
            f"fit sums each cluster's scores within one partition, so each cluster must lie "
            f"in one partition (checked on the data, whatever the frame's divisions say). "
            f"Partition by cluster first: ddf = ddf.set_index({c!r}) (sorts by {c}), or "
            f"ddf = ddf.shuffle({c!r}); or write the files one set of clusters per file"
        )
    return len(index)


# ---------------------------------------------------------------------------------------------
# The design: built once from a prototype, rebuilt the same way on every worker


@dataclass(frozen=True)
class _DesignSpec:
    key: str
    formula: str
    outcome: str
    used: tuple[str, ...]
    reset: bool
    cluster: str | None
    prototype: pd.DataFrame = field(repr=False)
    convert: Mapping[str, tuple]  # variable -> the design's levels (as a pandas Categorical)
    columns: tuple[str, ...]
    n_parts: int


def _prototype(scan: dict, spec: _ScanSpec) -> pd.DataFrame:
    """One row per level of the most-levelled category: every level appears, so patsy's
    design (levels sorted as it sorts them, or in a categorical dtype's order) is the one it
    would build on all rows."""
    example = scan["example"].reset_index(drop=True)
    size = max([len(v) for _, v in scan["levels"].values()] or [1])
    proto = example.iloc[np.zeros(size, dtype=int)].reset_index(drop=True)
    for c, (kind, values) in scan["levels"].items():
        cycled = [values[i % len(values)] for i in range(size)]
        if kind == "categorical":
            proto[c] = pd.Categorical(cycled, categories=values)
        elif isinstance(example[c].dtype, pd.CategoricalDtype):
            # partitions with different categories concatenate to plain values
            proto[c] = pd.Series(cycled, dtype=object)
        else:
            proto[c] = pd.Series(cycled, dtype=example[c].dtype)
    proto[spec.outcome] = proto[spec.outcome].astype(float)
    return proto


def _build_infos(formula: str, proto: pd.DataFrame):
    import patsy

    y, X = patsy.dmatrices(formula, proto, return_type="matrix", NA_action="raise")
    return y.design_info, X.design_info


def _design_spec(formula, outcome, scan, scan_spec: _ScanSpec, meta) -> _DesignSpec:
    import patsy

    proto = _prototype(scan, scan_spec)
    try:
        y_info, x_info = _build_infos(formula, proto)
    except patsy.PatsyError as exc:
        _refuse_undefined_name(exc, meta)
        text = " ".join(str(exc).split())
        raise ModelError(f"the formula {formula!r} could not be used: {text}") from None
    if len(y_info.column_names) != 1:  # pragma: no cover - guarded by check_outcome
        raise ModelError(f"the outcome {outcome!r} must be a single 0/1 column")
    learning = [f.code for f, fi in x_info.factor_infos.items() if fi.state.get("transforms")]
    if learning:
        _stateful_error(learning)
    convert: dict[str, tuple] = {}
    clash = set()
    for factor, finfo in x_info.factor_infos.items():
        if finfo.type != "categorical":
            continue
        names = _names(factor.code) & set(scan_spec.categorical)
        if len(names) != 1:
            continue
        (name,) = names
        if convert.get(name, finfo.categories) != finfo.categories:
            clash.add(name)
        convert[name] = finfo.categories
    for name in clash:
        convert.pop(name)
    return _DesignSpec(
        key=uuid.uuid4().hex,
        formula=formula,
        outcome=outcome,
        used=scan_spec.used,
        reset=scan_spec.reset,
        cluster=scan_spec.cluster,
        prototype=proto,
        convert=MappingProxyType(convert),
        columns=tuple(x_info.column_names),
        n_parts=scan_spec.n_parts,
    )


def _names(code: str) -> set[str]:
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:  # pragma: no cover
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


#: Each worker rebuilds a fit's design (patsy's DesignInfo cannot be pickled) once, by key.
_INFOS: OrderedDict = OrderedDict()


def _infos(spec: _DesignSpec):
    if spec.key not in _INFOS:
        _INFOS[spec.key] = _build_infos(spec.formula, spec.prototype)
        while len(_INFOS) > 8:
            _INFOS.popitem(last=False)
    return _INFOS[spec.key]


def _matrices(part: pd.DataFrame, k: int, spec: _DesignSpec):
    """y, X (and the cluster labels) of a partition's complete rows; None when it has none."""
    import patsy

    if spec.reset:
        part = part.reset_index()
    _columns_present(part, spec.used, k, spec.n_parts)
    sub = part[list(spec.used)]
    incomplete = sub.isna().any(axis=1).to_numpy()
    if incomplete.any():
        sub = sub.loc[~incomplete]
    if not len(sub):
        return None
    fixes = {spec.outcome: sub[spec.outcome].astype(float)}
    for c, levels in spec.convert.items():
        coded = pd.Categorical(sub[c], categories=list(levels))
        unseen = np.asarray(pd.isna(coded)) & sub[c].notna().to_numpy()
        if unseen.any():
            value = sub[c].to_numpy(dtype=object)[unseen][0]
            raise ModelError(
                f"{_where(k, spec.n_parts)}: {c!r} has the level {value!r}, which was not "
                f"there when the levels were learned (the data changed between passes?); "
                f"levels: {', '.join(map(repr, levels))}. Make the data stable (e.g. "
                f"ddf.persist()) and fit again"
            )
        fixes[c] = coded
    sub = sub.assign(**fixes)
    y_info, x_info = _infos(spec)
    # patsy looks names up in the data first: C() of a column already coded as a categorical
    # with the design's levels passes the codes on (patsy's own C() would map each row's value
    # in a Python loop, ~2 s per million rows); the design's levels and contrasts are unchanged
    data = {c: sub[c] for c in sub.columns}
    if "C" not in data:
        data["C"] = _coded_c
    try:
        y, X = patsy.build_design_matrices(
            [y_info, x_info], data, NA_action="raise", return_type="matrix"
        )
    except patsy.PatsyError as exc:
        raise ModelError(
            f"{_where(k, spec.n_parts)} cannot be used with the model: {' '.join(str(exc).split())}"
        ) from None
    groups = sub[spec.cluster].to_numpy() if spec.cluster else None
    return np.asarray(y, dtype=float)[:, 0], np.asfortranarray(X, dtype=float), groups


def _coded_c(data, contrast=None, levels=None):
    """patsy's ``C()``, except that a column already coded as a categorical is returned as it
    is, so that patsy takes its codes (it checks that its categories are the design's)."""
    import patsy

    if isinstance(getattr(data, "dtype", None), pd.CategoricalDtype):
        return data
    return patsy.builtins.C(data, contrast, levels)


def _pass_partition(
    part: pd.DataFrame, k: int, spec: _DesignSpec, beta: np.ndarray, first: bool
) -> dict:
    """One partition's share of a Newton-Raphson step at ``beta``."""
    from threadpoolctl import threadpool_limits

    p = len(spec.columns)
    built = _matrices(part, k, spec)
    if built is None:
        empty = np.zeros((0, p))
        built = np.zeros(0), empty, np.zeros(0)
    y, X, groups = built
    with threadpool_limits(limits=1, user_api="blas"):  # workers are the parallelism
        eta = X @ beta
        mu = special.expit(eta)
        w = mu * (1 - mu)
        out = {
            "info": X.T @ (X * w[:, None]),
            "score": X.T @ (y - mu),
            "loglik": float(np.sum(y * eta - np.logaddexp(0.0, eta))),
            "max_abs_eta": float(np.max(np.abs(eta), initial=0.0)),
        }
        if spec.cluster is not None:
            codes, uniques = pd.factorize(groups)
            resid = y - mu
            sums = np.empty((len(uniques), p))
            for j in range(p):
                sums[:, j] = np.bincount(codes, weights=X[:, j] * resid, minlength=len(uniques))
            out["meat"] = sums.T @ sums
    if first:
        out["gram"] = X.T @ X
        out["xmin"] = X.min(axis=0) if len(y) else np.full(p, np.inf)
        out["xmax"] = X.max(axis=0) if len(y) else np.full(p, -np.inf)
    return out


# ---------------------------------------------------------------------------------------------
# Newton-Raphson


def _warm_start(part: pd.DataFrame, k: int, spec: _DesignSpec) -> np.ndarray | None:
    """The ML fit of one partition alone (on its worker), or None when it has no usable one
    (one outcome class, separation, a column constant in it)."""
    from threadpoolctl import threadpool_limits

    built = _matrices(part, k, spec)
    if built is None:
        return None
    y, X, _ = built
    if y.sum() in (0, len(y)):
        return None
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = engine.newton(X, y, max_iter=30, tol=1e-8)
    if not fit.converged or not np.all(np.isfinite(fit.beta)):
        return None
    if np.max(np.abs(X @ fit.beta), initial=0.0) > 30:
        return None
    return fit.beta


def _newton(parts, spec: _DesignSpec, n: int, events: int, sizes: Sequence[int]):
    """Distributed Newton-Raphson with step halving; returns beta, the state at beta (summed
    statistics), iterations and passes.

    It starts from the fit of the largest partition alone (computed on its worker: a few
    Newton passes over all the data fewer), or where that fails from the intercept-only fit
    (as rms's lrm.fit); the start changes the number of passes, not the estimates."""
    import dask

    columns = spec.columns
    p = len(columns)
    beta = np.zeros(p)
    if "Intercept" in columns:
        beta[columns.index("Intercept")] = np.log(events / (n - events))
    if len(parts) > 1:
        largest = int(np.argmax(sizes))
        start = dask.delayed(_warm_start, pure=True)(parts[largest], largest, spec).compute()
        if start is not None:
            beta = np.array(start, dtype=float)

    def run(b: np.ndarray, first: bool = False) -> dict:
        tasks = [
            dask.delayed(_pass_partition, pure=True)(part, k, spec, b, first)
            for k, part in enumerate(parts)
        ]
        summed = _tree_sum(tasks).compute()
        # arrays arriving from workers can be unaligned in memory, which LAPACK refuses
        return {
            k: np.array(v, dtype=float) if isinstance(v, np.ndarray) else v
            for k, v in summed.items()
        }

    state = run(beta, first=True)
    passes = 1
    _check_columns(state, columns)
    span = state["xmax"] - state["xmin"]
    extreme = 0
    for it in range(1, MAX_ITER + 1):
        try:
            step = linalg.solve(state["info"], state["score"], assume_a="pos")
        except (linalg.LinAlgError, ValueError):
            step = linalg.lstsq(state["info"], state["score"])[0]
        largest = np.max(np.abs(step), initial=0.0)
        if largest > MAX_STEP:
            step *= MAX_STEP / largest
        objective = state["loglik"]
        for _ in range(40):  # step halving until the log-likelihood does not fall
            trial = beta + step
            new = run(trial)
            passes += 1
            if new["loglik"] >= objective - 1e-12 * max(1.0, abs(objective)):
                break
            step /= 2
        beta, state = trial, new
        moved = np.max(np.abs(step), initial=0.0)
        if moved < TOL and np.max(np.abs(state["score"]), initial=0.0) < 1e-6 * max(1.0, n):
            return beta, state, it, passes
        extreme = extreme + 1 if state["max_abs_eta"] > 30 and moved > 1e-4 else 0
        if extreme >= SEPARATION_ITER:
            break
    # the terms moving most on the scale of their columns (a step in a column of large values
    # moves the intercept a long way too)
    spread = np.where(np.isfinite(span) & (span > 0), span, 1.0)
    change = np.abs(step) * spread
    change[[c == "Intercept" for c in columns]] = 0.0
    growing = [c for c, d in zip(columns, change, strict=True) if d >= 0.1 * change.max()]
    growing = growing if change.max() > 0 else ["Intercept"]
    raise ModelError(
        f"maximum likelihood did not converge on the Dask data (after {it} iterations the "
        f"coefficients of {', '.join(map(repr, growing))} still grow, with fitted "
        f"probabilities of 0 or 1): the outcome is probably perfectly predicted along them "
        f"(separation), so their odds ratios do not exist (are infinite). Combine sparse "
        f"categories or drop the term. The exact check and Firth's penalised likelihood run in "
        "memory: " + _in_memory(", method='firth'")
    )


def _check_columns(state: dict, columns: Sequence[str]) -> None:
    """Constant and collinear design columns, as the in-memory design check names them, from
    the first pass's column ranges and ``X'X``."""
    xmin, xmax = state["xmin"], state["xmax"]
    constant = [j for j, c in enumerate(columns) if c != "Intercept" and xmin[j] == xmax[j]]
    if constant:
        raise ModelError(
            "constant column(s) in the rows used: "
            + ", ".join(f"{columns[j]!r} (every row = {xmin[j]:g})" for j in constant)
            + ". A category with no rows, or a variable that never varies, cannot be estimated;"
            " drop the term or the empty level."
        )
    gram = state["gram"]
    norm = np.sqrt(np.diag(gram))
    eig = linalg.eigvalsh(gram / np.outer(norm, norm))
    if eig[0] > eig[-1] * 1e-12:
        return
    # A p x p matrix with the same X'X (so the same least-squares fits) as the rows.
    values, vectors = linalg.eigh((gram + gram.T) / 2)
    pseudo = (vectors * np.sqrt(np.clip(values, 0, None))).T
    _, R, perm = linalg.qr(pseudo / norm, mode="economic", pivoting=True)
    diag = np.abs(np.diag(R))
    # X'X squares the rounding errors: a dependent column leaves ~1e-8, not ~1e-16, of the
    # largest singular value, so the cut-off is the square root of the screen's 1e-12
    rank = min(int(np.sum(diag > diag[0] * 1e-6)), len(columns) - 1)
    parts = []
    for j in perm[rank:]:
        independent = perm[:rank]
        coef = linalg.lstsq(pseudo[:, independent], pseudo[:, j])[0]
        with_ = [
            columns[k]
            for k, c in zip(independent, coef, strict=True)
            if abs(c) > 1e-8 and columns[k] != "Intercept"
        ]
        parts.append(
            f"{columns[j]!r} is a linear combination of "
            f"{', '.join(map(repr, with_)) or 'the intercept'}"
        )
    raise ModelError(
        "perfect collinearity: " + "; ".join(parts) + ". Drop one of the terms involved."
    )


# ---------------------------------------------------------------------------------------------
# The fit


class DaskLogisticFit(FitDisplay):
    """A logistic model fitted to a Dask DataFrame (made by ``ps.fit_logistic(ddf, formula)``);
    immutable.

    Attributes
    ----------
    formula : str
    method : {"ml"}
    columns : list of str
        Design-matrix column names, as the in-memory fit names them.
    column_info : tuple of ColumnInfo
        What each column is (:class:`~pfps_stats.models.design.ColumnInfo`).
    params_, bse_ : Series
        Log odds ratios and their standard errors (CR1 when clustered).
    cov_ : DataFrame
    loglik_ : float
    n_obs, n_events, n_dropped : int
        Rows used, their events, rows dropped for missing values.
    dropped : mapping
        Rows dropped per column (a row missing in two columns counts in both).
    epv : float
    notes : tuple of str
    cluster : mapping or None
        column, method ("robust"), n_clusters, covariance ("CR1"), df_method ("normal"), df,
        test, and partition_check (how clusters were seen to lie in one partition each).
    n_partitions, n_iter, n_passes : int
        Partitions of the data, Newton-Raphson iterations, and passes over the data (scan
        included; the start, a fit of the largest partition alone, not counted).
    """

    def __init__(
        self,
        *,
        spec: _DesignSpec,
        beta,
        cov,
        loglik: float,
        n_obs: int,
        n_events: int,
        n_dropped: int,
        dropped: Mapping[str, int],
        epv: float,
        notes: Sequence[str],
        cluster: Mapping | None,
        n_partitions: int,
        n_iter: int,
        n_passes: int,
        sd: Mapping[str, float],
        wald_test: str,
        df,
    ):
        set_ = object.__setattr__
        _, x_info = _build_infos(spec.formula, spec.prototype)
        info = tuple(_column_info(x_info, list(spec.columns), spec.prototype))
        for name, value in (("beta", beta), ("cov", cov), ("df", df)):
            array = np.array(value, dtype=float)
            array.flags.writeable = False
            set_(self, f"_{name}", array)
        set_(self, "_spec", spec)
        set_(self, "_x_info", x_info)
        set_(self, "_sd", MappingProxyType(dict(sd)))
        set_(self, "_wald_test", wald_test)
        set_(self, "formula", spec.formula)
        set_(self, "method", "ml")
        set_(self, "column_info", info)
        set_(self, "loglik_", float(loglik))
        set_(self, "n_obs", int(n_obs))
        set_(self, "n_events", int(n_events))
        set_(self, "n_dropped", int(n_dropped))
        set_(self, "dropped", MappingProxyType(dict(dropped)))
        set_(self, "epv", float(epv))
        set_(self, "notes", tuple(notes))
        set_(self, "cluster", MappingProxyType(dict(cluster)) if cluster else None)
        set_(self, "n_partitions", int(n_partitions))
        set_(self, "n_iter", int(n_iter))
        set_(self, "n_passes", int(n_passes))

    def __setattr__(self, name, value):
        raise AttributeError(f"a DaskLogisticFit is immutable: {name!r} cannot be set")

    def __delattr__(self, name):
        raise AttributeError(f"a DaskLogisticFit is immutable: {name!r} cannot be deleted")

    def __getattr__(self, name):
        if name in _IN_MEMORY_ONLY:
            raise AttributeError(
                f"a fit on a Dask DataFrame has no {name!r}: it keeps no rows in memory, and "
                f"likelihood-ratio tests, performance, calibration, effect curves and bootstrap "
                f"validation refit or re-read every row. For them, {_in_memory()}"
            )
        raise AttributeError(f"'DaskLogisticFit' object has no attribute {name!r}")

    @property
    def columns(self) -> list[str]:
        """Design-matrix column names (patsy's)."""
        return list(self._spec.columns)

    @property
    def params_(self) -> pd.Series:
        """Log odds ratios (a copy)."""
        return pd.Series(self._beta, index=self.columns, name="estimate")

    @property
    def bse_(self) -> pd.Series:
        """Standard errors of the log odds ratios (CR1 when clustered)."""
        return pd.Series(np.sqrt(np.diag(self._cov)), index=self.columns, name="std_error")

    @property
    def cov_(self) -> pd.DataFrame:
        """Covariance of the log odds ratios (a copy)."""
        return pd.DataFrame(self._cov, index=self.columns, columns=self.columns)

    def _increments(self, per) -> dict[str, float]:
        if per == "sd":
            numeric = [e.variable for e in self.column_info if e.kind == "numeric"]
            return {v: float(self._sd[v]) for v in numeric if v in self._sd}
        return per_increments(SimpleNamespace(info=self.column_info, data=None), per)

    def odds_ratios(
        self,
        ci: Literal["wald"] = "wald",
        per=None,
        *,
        level: float = 0.95,
        intercept: bool = False,
    ) -> pd.DataFrame:
        """Odds ratios with Wald confidence intervals and p-values.

        Parameters
        ----------
        ci : {"wald"}
            estimate ± q·SE with normal quantiles and the Wald p-value of the same statistic
            (CR1 SE when clustered), as :meth:`LogisticFit.odds_ratios` with ``ci="wald"``.
            "profile" raises: profile intervals refit the model on every row many times.
        per : None, "sd", "clinical" or dict
            As :meth:`LogisticFit.odds_ratios`; "sd" is the SD in the model's rows.
        level : float
        intercept : bool

        Returns
        -------
        DataFrame
            term, label, increment, odds_ratio, ci_low, ci_high, p_value, test, df (the
            in-memory fit's columns); ``attrs`` hold ci, test and level.
        """
        if ci == "profile":
            raise ModelError(
                "profile-likelihood intervals refit the model on all rows for every limit, "
                "which is done in memory only; a fit on Dask data gives Wald intervals: use "
                "ci='wald'. For profile intervals, " + _in_memory()
            )
        if ci != "wald":
            raise ValueError(f'ci must be "wald" (or "profile" in memory), not {ci!r}')
        level = check_level(level)
        increments = self._increments(per)
        q = float(stats.norm.ppf(0.5 + level / 2))
        rows = []
        se_all = np.sqrt(np.diag(self._cov))
        for j, entry in enumerate(self.column_info):
            if entry.kind == "intercept" and not intercept:
                continue
            c = increments.get(entry.variable, 1.0) if entry.kind == "numeric" else 1.0
            beta, se = self._beta[j], se_all[j]
            rows.append(
                {
                    "term": entry.column,
                    "label": column_label(entry, c),
                    "increment": c,
                    "odds_ratio": np.exp(c * beta),
                    "ci_low": np.exp(c * (beta - q * se)),
                    "ci_high": np.exp(c * (beta + q * se)),
                    "p_value": float(2 * stats.norm.sf(abs(beta / se))),
                    "test": self._wald_test,
                    "df": float(self._df[j]),
                }
            )
        table = pd.DataFrame(rows, columns=ODDS_RATIO_COLUMNS)
        table.attrs.update(ci="wald", test=self._wald_test, level=level)
        return table

    def summary_frame(self, ci: Literal["wald"] | None = None) -> pd.DataFrame:
        """Every coefficient: term, estimate (log OR), std_error, odds_ratio, ci_low, ci_high,
        p_value, test, df (Wald; see :meth:`odds_ratios`)."""
        table = self.odds_ratios(ci=ci or "wald", intercept=True)
        table.insert(1, "estimate", self._beta.copy())
        table.insert(2, "std_error", np.sqrt(np.diag(self._cov)))
        return table.drop(columns=["label", "increment"])

    def predict_proba(
        self, new_data: pd.DataFrame, *, ci: bool = True, level: float = 0.95
    ) -> pd.DataFrame:
        """Predicted probability for new rows (a pandas DataFrame), with a Wald CI on the logit
        scale (normal quantiles; CR1 covariance when clustered), as
        :meth:`LogisticFit.predict_proba`.

        Returns
        -------
        DataFrame
            prob, and ci_low, ci_high when ``ci``; indexed like ``new_data``; rows with a
            missing predictor get NaN.
        """

        level = check_level(level)
        if _is_dask_frame(new_data):
            raise TypeError(
                "predict_proba takes a pandas DataFrame; for a Dask DataFrame use "
                "ddf.map_partitions(fit.predict_proba, ci=False)"
            )
        X = matrix_for(self._x_info, new_data)
        x = X.to_numpy(float)
        eta = x @ self._beta
        out = pd.DataFrame({"prob": special.expit(eta)}, index=X.index)
        if ci:
            se = np.sqrt(np.einsum("ij,jk,ik->i", x, self._cov, x))
            q = float(stats.norm.ppf(0.5 + level / 2))
            out["ci_low"] = special.expit(eta - q * se)
            out["ci_high"] = special.expit(eta + q * se)
        return out.reindex(new_data.index)

    def _header(self) -> str:
        text = (
            f"Logistic regression (maximum likelihood, Dask: {self.n_partitions} partitions, "
            f"{self.n_iter} Newton iterations): {self.formula}\n"
            f"n = {self.n_obs}, events = {self.n_events}, dropped (missing) = "
            f"{self.n_dropped}, EPV = {self.epv:.1f}, log-likelihood = {self.loglik_:.3f}"
        )
        if self.cluster:
            text += (
                f"\nclustered by {self.cluster['column']} ({self.cluster['n_clusters']} "
                f"clusters, robust): intervals and p-values {self.cluster['test']}"
            )
        return text
