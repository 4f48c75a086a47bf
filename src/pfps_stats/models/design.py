"""The design of a logistic model: which rows and columns a formula uses, checked.

This is the one place where formulas are read. **The formula language** is patsy's, as in
statsmodels and R:

- ``pfp ~ bmi + q_angle_deg``: numeric columns enter as they are (per unit);
- ``C(sex)``: a category, one column per level against the first (the reference);
  ``C(subgroup, Treatment("military"))`` picks the reference;
- ``bs(weekly_km, df=4)``: a B-spline (as R's ``splines::bs``); ``cr(weekly_km, df=4,
  constraints="center")``: a natural cubic regression spline (as mgcv's ``cr``);
- ``a:b`` an interaction, ``a*b`` both main effects and their interaction;
- ``np.log(weekly_km)`` and other transforms of a column.

:func:`build_design` returns a :class:`Design`: the read-only model matrix and outcome of the
rows used, and what each column is. Rows with a missing value in a variable of the formula
are left out and counted (``n_dropped``, ``dropped``), never silently.

Why patsy and not formulaic (evaluated for 0.2 with formulaic 1.2.2, statsmodels 0.15.0):
formulaic builds the same matrices (``bs`` matches R's ``splines::bs``, ``cr`` with
``constraints="center"`` spans the same space) but names and orders spline columns
differently (``[1]..[k]``, terms sorted by degree) and has no ``te()``, so users' column names
would change; and it was not faster: on 1M rows, formulaic + Logit took 1.57-1.66x a Logit
on a prebuilt matrix, patsy + Logit 1.73x, patsy with a column-major copy 1.47x
(one side-by-side run; the project's own figure comes from ``make bench``). The switch was conditional on
reaching 1.3x; neither engine does.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import linalg

from .._exceptions import ModelError
from ..cohort.variables import VARIABLES, increment_label, label

#: Function names that make a spline term.
SPLINES = ("cr(", "bs(", "cc(", "te(")


@dataclass(frozen=True)
class ColumnInfo:
    """What one design column is.

    kind is "intercept", "numeric" (a column of the data, per unit), "level" (a category
    level against ``reference``), "spline", "interaction", "transform" or "other".
    """

    column: str
    term: str
    kind: str
    variable: str | None = None
    level: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class Design:
    """The rows and columns a model uses: read-only.

    Attributes
    ----------
    formula : str
    outcome : str
        The outcome column (left of ``~``).
    X : ndarray (n, p), read-only
        The model matrix of the rows used.
    y : ndarray (n,), read-only
        The 0/1 outcome of the rows used.
    columns : tuple of str
        The model matrix's column names (patsy's, e.g. ``C(sex)[T.M]``).
    info : tuple of ColumnInfo
        What each column is.
    variables : tuple of str
        The data columns the formula uses, the outcome included (in the data's order).
    rows : Index
        Index labels of the rows used.
    data : DataFrame
        A copy of the rows and columns used (outcome, formula variables, cluster column);
        changing the caller's frame later does not change it. Do not modify it.
    dropped : mapping
        Rows left out for missing values, per column.
    n_dropped : int
        Rows left out in all (a row missing in two columns counts once).
    """

    formula: str
    outcome: str
    X: np.ndarray
    y: np.ndarray
    columns: tuple[str, ...]
    info: tuple[ColumnInfo, ...]
    variables: tuple[str, ...]
    rows: pd.Index
    data: pd.DataFrame
    dropped: Mapping[str, int]
    n_dropped: int
    design_info: object  # patsy's DesignInfo: rebuilds the columns for new data

    @property
    def n_obs(self) -> int:
        return len(self.y)

    @property
    def n_events(self) -> int:
        return int(self.y.sum())

    def term_slices(self) -> dict[str, slice]:
        """Design columns of each term, by term name (``"Intercept"``, ``"bmi"``, ...)."""
        return dict(self.design_info.term_name_slices)

    def matrix_for(self, new_data: pd.DataFrame) -> pd.DataFrame:
        """The model matrix of new rows, built as for the fitted rows (same spline knots and
        category levels); rows with a missing predictor are left out.

        Raises
        ------
        ModelError
            When new_data lacks a column of the model or has an unseen category.
        """
        return matrix_for(self.design_info, new_data)

    def linearised(self) -> list[tuple[str, str, np.ndarray]]:
        """For each spline term: (term, variable, the model matrix with the spline replaced by
        the variable itself), the reduced model of a non-linearity test."""
        import patsy

        desc = patsy.ModelDesc.from_formula(self.formula)
        out = []
        for term in desc.rhs_termlist:
            codes = [f.code for f in term.factors]
            if len(codes) != 1 or not codes[0].startswith(SPLINES):
                continue
            variable = spline_variable(codes[0])
            linear = patsy.Term([patsy.EvalFactor(variable)])
            reduced = patsy.ModelDesc(
                desc.lhs_termlist, [linear if t == term else t for t in desc.rhs_termlist]
            )
            _, X = patsy.dmatrices(reduced, self.data, return_type="matrix")
            out.append((term.name(), variable, np.asarray(X, dtype=float)))
        return out


def used_columns(formula: str, data: pd.DataFrame) -> list[str]:
    """The columns of ``data`` that ``formula`` uses as variables, in the data's order.

    Read from the formula engine, not from the text: patsy parses the formula into terms and
    factors, each factor's code is parsed with Python's :mod:`ast`, and only the names in it
    that are columns count, as patsy looks names up in the data first. Keyword argument names
    (``df`` in ``bs(z, df=3)``) and string constants (``constraints='center'``,
    ``Treatment("military")``) are not variables; ``Q("a name")`` is the column ``a name``.

    Raises
    ------
    ModelError
        When patsy cannot parse the formula.
    """
    import patsy

    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as exc:
        raise ModelError(
            f"the formula {formula!r} could not be read: {' '.join(str(exc).split())}"
        ) from None
    names: set[str] = set()
    for term in [*desc.lhs_termlist, *desc.rhs_termlist]:
        for factor in term.factors:
            names |= _factor_names(factor.name())
    return [c for c in data.columns if isinstance(c, str) and c in names]


def _factor_names(code: str) -> set[str]:
    """The names a factor's Python code reads (``Q("x")`` reads ``x``), from its syntax tree."""
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:  # pragma: no cover - patsy has already tokenised the code as Python
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Q"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def check_outcome(data: pd.DataFrame, outcome: str) -> None:
    """Raise :class:`ModelError` unless ``outcome`` is a column holding only 0, 1 (or missing)."""
    if outcome not in data:
        raise ModelError(
            f"the outcome {outcome!r} is not a column of the data; columns: "
            f"{', '.join(map(str, data.columns))}"
        )
    column = data[outcome]
    if pd.api.types.is_bool_dtype(column):
        return
    if pd.api.types.is_numeric_dtype(column):  # fast path: one vectorised pass
        v = column.to_numpy(dtype=float, na_value=np.nan)
        if (((v == 0) | (v == 1)) | np.isnan(v)).all():
            return
    values = column.dropna()
    numeric = pd.to_numeric(values, errors="coerce")
    bad = values[numeric.isna() | ~numeric.isin([0, 1])]
    if len(bad):
        shown = ", ".join(map(repr, pd.unique(bad.astype(str))[:5]))
        raise ModelError(
            f"the outcome {outcome!r} must be 0/1 (a binary outcome); it also has "
            f"{shown} in {len(bad)} rows (first rows: "
            f"{', '.join(map(str, bad.index[:5]))}). Recode it, or load the data "
            f"with ps.load_cohort, which reads yes/no outcomes."
        )


def build_design(
    data: pd.DataFrame,
    formula: str,
    *,
    extra: Sequence[str] = (),
    both_classes: bool = True,
) -> Design:
    """Check ``data`` and ``formula`` and build the :class:`Design` of the complete rows.

    ``extra`` columns (a cluster, a Cox model's start and stop times) are kept in
    ``Design.data`` and their missing values drop rows too. ``both_classes=False`` skips the
    check that the outcome takes both values (a Cox model's event indicator may be 1 on every
    row, and it checks its events itself).

    Returns
    -------
    Design

    Raises
    ------
    ModelError
        A missing or non-0/1 outcome, an unknown column, no complete row, a single outcome
        class, a constant column or perfect collinearity (naming the terms involved).
    """
    import patsy

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    if "~" not in formula:
        raise ModelError(f"formula {formula!r} needs an outcome: 'pfp ~ bmi + q_angle_deg'")
    outcome = formula.split("~", 1)[0].strip()
    check_outcome(data, outcome)
    variables = used_columns(formula, data)
    used = list(dict.fromkeys([*variables, *extra]))
    missing = {c: data[c].isna().to_numpy() for c in used}
    incomplete = np.zeros(len(data), bool)
    for mask in missing.values():
        incomplete |= mask
    # A copy of the columns used, so that a fit never changes when the caller's frame does.
    sub = data.loc[~incomplete, used].copy() if incomplete.any() else data[used].copy()
    # patsy reads a bool outcome as a category (two columns, first = False) and a nullable
    # integer as objects: hand it 0/1 floats. Empty category levels (a subset of a cohort)
    # would become constant columns: drop them.
    fixes = {}
    if sub[outcome].dtype != np.float64:
        fixes[outcome] = sub[outcome].astype(float)
    for c in used:
        if isinstance(sub[c].dtype, pd.CategoricalDtype):
            observed = sub[c].cat.remove_unused_categories()
            if len(observed.cat.categories) < len(sub[c].cat.categories):
                fixes[c] = observed
    if fixes:
        sub = sub.assign(**fixes)
    dropped = {c: int(m.sum()) for c, m in missing.items() if m.any()}
    if len(sub) == 0:
        raise ModelError(
            f"no row is complete for {formula!r}; missing values per column: {dropped}"
        )
    try:
        y, X = patsy.dmatrices(formula, sub, return_type="matrix", NA_action="raise")
    except patsy.PatsyError as exc:
        text = " ".join(str(exc).split())
        name = re.search(r"name '(\w+)' is not defined", text)
        if name:
            raise ModelError(
                f"the formula names {name.group(1)!r}, which is not a column of "
                f"the data; columns: {', '.join(map(str, data.columns))}"
            ) from None
        raise ModelError(f"the formula {formula!r} could not be used: {text}") from None
    if y.shape[1] != 1:  # pragma: no cover - guarded by _check_outcome and the cast above
        raise ModelError(f"the outcome {outcome!r} must be a single 0/1 column")
    # Column-major: statsmodels and the engine multiply by X.T, which is faster this way
    # (1M rows, 5 predictors: 1.55 s -> 1.16 s; benchmarks/bench_models.py).
    X_ = np.asfortranarray(X, dtype=float)
    y_ = np.asarray(y, dtype=float)[:, 0]
    X_.flags.writeable = False
    y_.flags.writeable = False
    columns = list(X.design_info.column_names)
    design = Design(
        formula=formula,
        outcome=outcome,
        X=X_,
        y=y_,
        columns=tuple(columns),
        info=tuple(_column_info(X.design_info, columns, sub)),
        variables=tuple(variables),
        rows=sub.index,
        data=sub,
        dropped=MappingProxyType(dropped),
        n_dropped=int(incomplete.sum()),
        design_info=X.design_info,
    )
    _check_design(design, both_classes=both_classes)
    return design


def _check_design(d: Design, *, both_classes: bool = True) -> None:
    events = int(d.y.sum())
    if both_classes and events in (0, len(d.y)):
        raise ModelError(
            f"the outcome {d.outcome!r} is {int(d.y[0])} in all {len(d.y)} rows "
            f"used, so no odds ratio can be estimated"
        )
    X = d.X
    spread = np.ptp(X, axis=0)
    constant = [c for c, r in zip(d.columns, spread, strict=True) if c != "Intercept" and r == 0]
    if constant:
        raise ModelError(
            "constant column(s) in the rows used: "
            + ", ".join(f"{c!r} (every row = {X[0, d.columns.index(c)]:g})" for c in constant)
            + ". A category with no rows, or a variable that never varies, cannot be estimated;"
            " drop the term or the empty level."
        )
    # Fast screen on the scaled Gram matrix (p x p); only a suspect design pays for the QR.
    gram = X.T @ X
    norm = np.sqrt(np.diag(gram))
    eig = linalg.eigvalsh(gram / np.outer(norm, norm))
    if eig[0] > eig[-1] * 1e-12:
        return
    scale = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    _, R, perm = linalg.qr(X / scale, mode="economic", pivoting=True)
    diag = np.abs(np.diag(R))
    rank = int(np.sum(diag > diag[0] * 1e-10))
    if rank < X.shape[1]:
        independent = perm[:rank]
        parts = []
        for j in perm[rank:]:
            coef = linalg.lstsq(X[:, independent], X[:, j])[0]
            with_ = [
                d.columns[k]
                for k, c in zip(independent, coef, strict=True)
                if abs(c) > 1e-8 and d.columns[k] != "Intercept"
            ]
            parts.append(
                f"{d.columns[j]!r} is a linear combination of "
                f"{', '.join(map(repr, with_)) or 'the intercept'}"
            )
        hint = " Drop one of the terms involved."
        if any(c.startswith(("cr(", "cc(")) for c in d.columns) and "Intercept" in d.columns:
            hint += (
                " cr() and cc() splines span the intercept unless centred: write, e.g., "
                "cr(weekly_km, df=3, constraints='center')."
            )
        raise ModelError("perfect collinearity: " + "; ".join(parts) + "." + hint)


def _column_info(design_info, columns: list[str], data: pd.DataFrame) -> list[ColumnInfo]:
    """What each design column is: intercept, numeric variable, category level, spline, ..."""
    info = []
    for term, sl in design_info.term_name_slices.items():
        term_obj = design_info.terms[list(design_info.term_names).index(term)]
        factors = term_obj.factors
        for column in columns[sl]:
            entry = {
                "column": column,
                "term": term,
                "kind": "other",
                "variable": None,
                "level": None,
                "reference": None,
            }
            if not factors:
                entry["kind"] = "intercept"
            elif len(factors) > 1:
                entry["kind"] = "interaction"
            else:
                factor = factors[0]
                code = factor.code
                finfo = design_info.factor_infos[factor]
                if code.startswith(SPLINES):
                    entry.update(kind="spline", variable=spline_variable(code))
                elif finfo.type == "categorical":
                    level = re.search(r"\[(?:T\.)?(.*)\]$", column)
                    entry.update(
                        kind="level",
                        variable=_categorical_variable(code),
                        level=level.group(1) if level else column,
                        reference=str(finfo.categories[0]),
                    )
                elif code in data.columns:
                    entry.update(kind="numeric", variable=code)
                else:
                    entry.update(kind="transform")
            info.append(ColumnInfo(**entry))
    return info


def spline_variable(code: str) -> str | None:
    m = re.match(r"\w+\(\s*([\w.]+)", code)
    return m.group(1) if m else None


def _categorical_variable(code: str) -> str:
    m = re.match(r"C\(\s*([\w.]+)", code)
    return m.group(1) if m else code


def per_increments(design: Design, per) -> dict[str, float]:
    """The increment of each numeric main effect that an odds or hazard ratio is per.

    Parameters
    ----------
    design : Design
    per : None, "sd", "clinical" or dict
        None: per unit (empty dict); "sd": one SD in the model's rows; "clinical": the
        variable dictionary's clinical increment; a dict such as ``{"q_angle_deg": 5}``.

    Returns
    -------
    dict
        Variable -> increment, for the numeric main effects it applies to.

    Raises
    ------
    ModelError
        For a dict naming a variable that is not a numeric main effect, an increment that is
        not a positive number, or another value of ``per``.
    """
    numeric = {e.variable: e for e in design.info if e.kind == "numeric"}
    if per is None:
        return {}
    if per == "clinical":
        return {
            v: VARIABLES[v].increment for v in numeric if v in VARIABLES and VARIABLES[v].increment
        }
    if per == "sd":
        return {v: float(design.data[v].std()) for v in numeric}
    if isinstance(per, Mapping):
        unknown = set(per) - set(numeric)
        if unknown:
            raise ModelError(
                f"per names {', '.join(map(repr, sorted(unknown)))}, which "
                f"is not a numeric main effect of this model; those are "
                f"{', '.join(map(repr, numeric)) or 'none'}"
            )
        bad = {k: v for k, v in per.items() if not (isinstance(v, int | float) and v > 0)}
        if bad:
            raise ModelError(f"per increments must be positive numbers: {bad}")
        return {k: float(v) for k, v in per.items()}
    raise ModelError(f'per must be None, "sd", "clinical" or a dict, not {per!r}')


def column_label(entry: ColumnInfo, increment: float = 1.0) -> str:
    """A design column in words: "Q angle (per 5 deg)", "sex: M vs F", or its name."""
    if entry.kind == "numeric":
        return increment_label(entry.variable, increment)
    if entry.kind == "level":
        return f"{label(entry.variable, unit=False)}: {entry.level} vs {entry.reference}"
    return entry.column


def matrix_for(design_info, new_data: pd.DataFrame) -> pd.DataFrame:
    """The model matrix of ``new_data`` for patsy's ``design_info`` (same spline knots and
    category levels as the fitted rows); rows with a missing predictor are left out.

    Returns
    -------
    DataFrame
        Indexed like the rows of ``new_data`` that were kept.

    Raises
    ------
    ModelError
        When new_data lacks a column of the model or has an unseen category.
    """
    import patsy

    try:
        (X,) = patsy.build_design_matrices(
            [design_info], new_data, return_type="dataframe", NA_action="drop"
        )
    except patsy.PatsyError as exc:
        raise ModelError(
            f"new_data cannot be used with this model: {' '.join(str(exc).split())}"
        ) from None
    return X
