"""Multiple imputation by chained equations (MICE) with predictive mean matching.

:func:`impute` makes ``m`` completed copies of a cohort with statsmodels' ``MICEData`` (one
chain per copy, a seed per chain); :class:`ImputedCohort` holds them with the settings and
diagnostics, and :meth:`ImputedCohort.from_datasets` accepts completed datasets made elsewhere
(R's ``mice``). Pooling the fits (Rubin's rules) belongs to the models layer.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels
from statsmodels.imputation.mice import MICEData
from threadpoolctl import threadpool_limits

from .._exceptions import DataValidationError, ModelWarning, PfpsError
from .missing import _outcome_values, named_variables
from .validation import problem_frame
from .variables import OUTCOME, VARIABLES, label

#: Number of donors for predictive mean matching (R mice's default ``donors = 5``).
DONORS = 5
#: How statsmodels perturbs the imputation model's parameters before matching: a draw from
#: the normal approximation to their sampling distribution.
PERTURBATION = "gaussian"
METHODS = ("pmm",)
#: BMI derived from imputed height and mass, rounded as the loader rounds it.
BMI_FORMULA = "mass_kg / (height_cm / 100)², rounded to 2 decimals"


@dataclass(frozen=True, eq=False)
class ImputedCohort:
    """``m`` completed copies of a cohort, with how they were made.

    Attributes
    ----------
    datasets : tuple of DataFrame
        The completed datasets: same index and columns as the data imputed (less rows with a
        missing outcome), observed values untouched. One dataset (``m == 1``) when there was
        nothing to impute.
    settings : dict
        How the imputation was made (m, method, donors, max_iter, seed, variables imputed,
        predictors, n_missing per variable, BMI handling, statsmodels version, ...).
    notes : tuple of str
        Sentences about what was left out, excluded or inferred.
    missing : DataFrame
        True where a value was imputed: one bool column per imputed variable, the index of
        ``datasets``.
    """

    datasets: tuple[pd.DataFrame, ...]
    settings: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    missing: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def m(self) -> int:
        """The number of completed datasets."""
        return len(self.datasets)

    @property
    def variables(self) -> tuple[str, ...]:
        """The imputed variables (columns of :attr:`missing`)."""
        return tuple(self.missing.columns)

    def __repr__(self) -> str:
        n = len(self.datasets[0]) if self.datasets else 0
        shown = ", ".join(self.variables)
        return f"ImputedCohort(m={self.m}, n={n}, variables=[{shown}])"

    def values(self, variable: str) -> pd.DataFrame:
        """Observed and imputed values of one variable in long form, as R's
        ``complete(imp, "long", include = TRUE)``.

        Returns
        -------
        DataFrame
            Columns ``imputation`` (0 for the observed values, 1..m for the values imputed
            in each dataset), ``row`` (index label), ``value`` and ``imputed`` (bool).
        """
        if variable not in self.missing:
            raise ValueError(
                f"{variable!r} was not imputed; imputed variables: {', '.join(self.variables)}"
            )
        mask = self.missing[variable].to_numpy()
        first = self.datasets[0][variable]
        parts = [
            pd.DataFrame(
                {"imputation": 0, "row": first.index[~mask], "value": first[~mask].to_numpy()}
            )
        ]
        for i, data in enumerate(self.datasets, start=1):
            column = data[variable]
            parts.append(
                pd.DataFrame(
                    {"imputation": i, "row": column.index[mask], "value": column[mask].to_numpy()}
                )
            )
        long = pd.concat(parts, ignore_index=True)
        long["imputed"] = long["imputation"] > 0
        return long

    def diagnostics(self) -> pd.DataFrame:
        """Observed against imputed values, per imputed variable.

        Returns
        -------
        DataFrame
            One row per variable: ``variable``, ``label`` (with unit), ``coding`` (empty for
            numbers; ``"proportion <level>"`` for a two-level category, whose mean is then the
            proportion of that level), ``n_observed``, ``n_imputed`` (values imputed in each
            dataset), ``observed_mean``, ``observed_sd``, ``imputed_mean``, ``imputed_sd``
            (over the imputed values of all m datasets pooled). SDs have ``ddof=1``; NaN when
            there are fewer than two values.
        """
        rows = []
        for name in self.variables:
            long = self.values(name)
            value, coding = _as_numbers(long["value"], self.settings.get("coding", {}).get(name))
            observed, imputed = value[~long["imputed"]], value[long["imputed"]]
            rows.append(
                {
                    "variable": name,
                    "label": label(name),
                    "coding": coding,
                    "n_observed": int(len(observed)),
                    "n_imputed": int(self.missing[name].sum()),
                    "observed_mean": observed.mean(),
                    "observed_sd": observed.std(ddof=1),
                    "imputed_mean": imputed.mean(),
                    "imputed_sd": imputed.std(ddof=1),
                }
            )
        return pd.DataFrame(
            rows,
            columns=[
                "variable",
                "label",
                "coding",
                "n_observed",
                "n_imputed",
                "observed_mean",
                "observed_sd",
                "imputed_mean",
                "imputed_sd",
            ],
        )

    @classmethod
    def from_datasets(
        cls,
        datasets: Sequence[pd.DataFrame],
        *,
        settings: dict | None = None,
        original: pd.DataFrame | None = None,
    ) -> ImputedCohort:
        """Wrap completed datasets made elsewhere (e.g. R's ``mice::complete(imp, "all")``).

        Parameters
        ----------
        datasets : sequence of DataFrame
            At least two completed datasets with the same columns and index.
        settings : dict, optional
            How they were made; ``settings["variables"]`` names the imputed columns. Without
            it, the imputed columns are those whose values differ between datasets.
        original : DataFrame, optional
            The incomplete data (R's ``.imp == 0``), to mark exactly which values were
            imputed; its observed values must equal every dataset's. Without it, the imputed
            values are taken to be those that differ between datasets (an imputed value that
            happens to be equal in every dataset is then counted as observed).

        Raises
        ------
        ValueError
            When there are fewer than two datasets, when they differ in columns or index, when
            an imputed column (or a numeric column not declared as left unimputed) still has
            missing values, or when ``original`` disagrees with them.
        """
        if isinstance(datasets, pd.DataFrame) or not isinstance(datasets, Sequence):
            raise TypeError("datasets must be a list of completed DataFrames")
        frames = list(datasets)
        if len(frames) < 2:
            raise ValueError(
                f"multiple imputation needs at least 2 completed datasets, got {len(frames)}"
            )
        for i, frame in enumerate(frames, start=1):
            if not isinstance(frame, pd.DataFrame):
                raise TypeError(f"dataset {i} is a {type(frame).__name__}, not a DataFrame")
        first = frames[0]
        for i, frame in enumerate(frames[1:], start=2):
            if list(frame.columns) != list(first.columns):
                extra = [c for c in frame.columns if c not in first.columns]
                lacking = [c for c in first.columns if c not in frame.columns]
                raise ValueError(
                    f"dataset {i} does not have the columns of dataset 1 in the same order "
                    f"(extra: {extra or 'none'}; lacking: {lacking or 'none'}); give every "
                    f"dataset the same columns"
                )
            if not frame.index.equals(first.index):
                raise ValueError(
                    f"dataset {i} does not have the index (rows) of dataset 1; keep the same "
                    f"rows in the same order in every dataset"
                )
        if first.columns.duplicated().any():
            dup = sorted({str(c) for c in first.columns[first.columns.duplicated()]})
            raise ValueError(f"the datasets have more than one column named {dup}; rename them")
        if first.index.duplicated().any():
            raise ValueError(
                "the datasets have duplicated index labels, so rows cannot be matched to the "
                "original data; give each row its own label (e.g. frame.reset_index(drop=True) "
                "on every dataset and on original)"
            )
        settings = dict(settings or {})
        differ = pd.DataFrame(False, index=first.index, columns=first.columns)
        for frame in frames[1:]:
            differ |= ~((frame == first) | (frame.isna() & first.isna()))
        declared = "variables" in settings
        if declared:
            names = list(settings["variables"])
            absent = [v for v in names if v not in first.columns]
            if absent:
                raise ValueError(
                    f"settings['variables'] names columns not in the datasets: {absent}"
                )
            moved = [c for c in first.columns if c not in names and differ[c].any()]
            if moved:
                raise ValueError(
                    f"columns {moved} differ between datasets but are not in "
                    f"settings['variables']; name every imputed column there"
                )
        elif original is not None and isinstance(original, pd.DataFrame):
            # imputed: missing in the original and filled in the datasets (even when every
            # dataset filled it alike), or different between datasets
            names = [
                c
                for c in first.columns
                if differ[c].any()
                or (
                    c in original
                    and original[c].isna().any()
                    and not any(f[c][original[c].isna()].isna().any() for f in frames)
                )
            ]
        else:
            names = [c for c in first.columns if differ[c].any()]
        for i, frame in enumerate(frames, start=1):
            left = [c for c in names if frame[c].isna().any()]
            if not declared:
                left += [
                    c
                    for c in frame.columns
                    if c not in names
                    and pd.api.types.is_numeric_dtype(frame[c])
                    and frame[c].isna().any()
                ]
            if left:
                raise ValueError(
                    f"dataset {i} still has missing values in {left}; pass completed datasets "
                    f"(or, for columns deliberately left unimputed, name the imputed ones in "
                    f"settings={{'variables': [...]}})"
                )
        notes = list(settings.pop("notes", []))
        if original is not None:
            if not isinstance(original, pd.DataFrame) or not original.index.equals(first.index):
                raise ValueError("original must be a DataFrame with the index of the datasets")
            absent = [c for c in names if c not in original.columns]
            if absent:
                raise ValueError(f"original lacks the imputed columns {absent}")
            missing = original[names].isna()
            for i, frame in enumerate(frames, start=1):
                kept = (frame[names] == original[names]) | missing
                if not kept.all().all():
                    bad = [c for c in names if not kept[c].all()]
                    raise ValueError(
                        f"dataset {i} changes observed values of original in {bad}; observed "
                        f"values must be left as they were"
                    )
        else:
            missing = differ[names].copy()
            notes.append(
                "Imputed values were taken to be those that differ between datasets (no "
                "original data given); pass original= to mark them exactly."
            )
        settings.setdefault("method", "external")
        settings.update(
            m=len(frames),
            variables=names,
            n_missing={c: int(missing[c].sum()) for c in names},
        )
        return cls(
            datasets=tuple(f.copy() for f in frames),
            settings=settings,
            notes=tuple(notes),
            missing=missing.astype(bool),
        )


def impute(
    data: pd.DataFrame,
    *,
    m: int = 20,
    variables: Sequence[str] | None = None,
    outcome: str = OUTCOME,
    method: str = "pmm",
    max_iter: int = 10,
    seed: int | None,
    donors: int = DONORS,
) -> ImputedCohort:
    """Multiply impute missing values by chained equations with predictive mean matching.

    Parameters
    ----------
    data : DataFrame
        One row per runner (or knee), canonical columns (as :func:`~pfps_stats.load_cohort`
        returns them).
    m : int
        Number of completed datasets (at least 2; 20 by default).
    variables : list of str, optional
        Variables to impute. Default: every numeric variable of the dictionary with missing
        values, and ``sex``. Named variables without missing values become predictors.
    outcome : str
        The 0/1 outcome: a predictor in every imputation model, never imputed. Rows where it
        is missing are excluded (and counted in ``notes``).
    method : {"pmm"}
        Predictive mean matching, the only method for now.
    max_iter : int
        Iterations of each chain (burn-in) before its dataset is taken.
    seed : int or None
        Seeds the m chains (``numpy.random.SeedSequence(seed).spawn(m)``). With ``None`` fresh
        entropy is drawn and recorded in ``settings["seed"]``, so the run can be repeated.
    donors : int
        Number of nearest observed values from which each imputed value is drawn.

    Returns
    -------
    ImputedCohort
        ``m`` completed datasets with ``settings``, ``notes`` and ``diagnostics()``.

    Raises
    ------
    ValueError
        When ``m < 2``, ``method`` is not ``"pmm"``, the outcome is not a 0/1 column, a
        variable is not a column, is an identifier or text, or a category of more than two
        levels, or when a variable is missing in every row.

    Warns
    -----
    ModelWarning
        When nothing is missing: the result then holds one dataset, the data as they are
        (``m == 1``), and ``fit_logistic`` fits it once.
    DataValidationError
        When a numeric column holds text.

    Notes
    -----
    Each dataset is the state of its own chain after ``max_iter`` cycles of statsmodels'
    ``MICEData`` (version in ``settings``): for each variable in turn, an OLS model on all the
    other columns is fitted to the rows where it is observed, its parameters are drawn from
    their normal approximation (``perturbation_method="gaussian"``), and each missing value is
    replaced by the observed value of one of the ``donors`` rows whose predicted means are
    nearest (predictive mean matching), so imputed values are always observed values.

    Predictors: the outcome, the imputed variables, and the other variables of the dictionary
    observed in every row (numbers as they are; two-level categories such as ``sex`` coded
    0/1; fully observed categories of more levels, such as ``subgroup``, as indicator
    columns). Never predictors: the runner ID, text columns (``data_source``), columns outside
    the dictionary unless named in ``variables``, and variables with missing values that are
    not imputed (``notes`` names them). Categories of more than two levels are not imputed.

    BMI: when ``height_cm`` and ``mass_kg`` are both columns, BMI is not modelled: its missing
    values are derived from the completed height and mass (:data:`BMI_FORMULA`, as the loader
    does) in every dataset, and BMI is never a predictor (it is collinear with them). When
    either is absent, BMI is imputed as itself. ``settings["bmi"]`` says which.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a DataFrame, not {type(data).__name__}")
    _check_count(m, "m", 2, "multiple imputation needs at least 2 datasets (20 is usual)")
    _check_count(max_iter, "max_iter", 1, "each chain needs at least 1 iteration (10 is usual)")
    _check_count(donors, "donors", 1, "predictive mean matching needs at least 1 donor")
    if method not in METHODS:
        raise ValueError(
            f"method={method!r} is not supported; use method='pmm' (predictive mean matching)"
        )
    if data.columns.duplicated().any():
        dup = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
        raise ValueError(f"the data have more than one column named {dup}; rename them")
    y = _outcome_values(data, outcome)
    known = ~np.isnan(y)
    if not known.any():
        raise ValueError(f"every row's outcome {outcome!r} is missing; record 0 or 1")
    if len(np.unique(y[known])) < 2:
        raise ValueError(
            f"the outcome {outcome!r} has only one value ({int(y[known][0])}) among rows where "
            f"it is known: it cannot inform the imputation models, and no model of it can be "
            f"fitted. Check the outcome column (or the subgroup chosen)"
        )
    notes: list[str] = []
    n_excluded = int((~known).sum())
    if n_excluded:
        notes.append(
            f"{n_excluded} row{'s' if n_excluded != 1 else ''} with a missing outcome "
            f"({outcome!r}) {'were' if n_excluded != 1 else 'was'} excluded, not imputed."
        )
    frame = data.iloc[np.flatnonzero(known)]
    kinds = {c: _kind(frame, c, outcome) for c in frame.columns}
    _check_numbers(data, [c for c, k in kinds.items() if k == "numeric"], outcome)
    names = _chosen(frame, kinds, outcome, variables, notes)

    derive_bmi = "height_cm" in frame and "mass_kg" in frame and "bmi" in frame
    if derive_bmi:
        bmi_handling = f"derived from completed height and mass ({BMI_FORMULA}); not a predictor"
        if "bmi" in names:
            for part in ("height_cm", "mass_kg"):
                if part not in names and frame[part].isna().any():
                    names.append(part)
                    notes.append(f"{part} was imputed too, to derive the missing BMI values.")
    elif "bmi" in names:
        bmi_handling = "imputed as itself (height_cm or mass_kg is not a column)"
    else:
        bmi_handling = "not in the data"
    n_missing = {c: int(frame[c].isna().sum()) for c in names}
    modelled = [c for c in names if not (derive_bmi and c == "bmi")]
    empty = [c for c in modelled if n_missing[c] == len(frame)]
    if empty:
        raise ValueError(
            f"{', '.join(map(repr, empty))} {'is' if len(empty) == 1 else 'are'} missing in "
            f"every row (with a known outcome); nothing can be imputed from no observed values. "
            f"Leave {'it' if len(empty) == 1 else 'them'} out of variables= or drop the column."
        )
    if not any(n_missing.values()):
        nothing = (
            f"nothing to impute: no missing values in {', '.join(names) or 'the variables'} "
            f"among rows with a known outcome, so one dataset, the data as they are, is kept "
            f"instead of {m} identical ones; a model of it is fitted once"
        )
        warnings.warn(nothing, ModelWarning, stacklevel=2)
        return ImputedCohort(
            datasets=(frame.copy(),),
            settings={
                "m": 1,
                "m_requested": m,
                "method": "none (nothing to impute)",
                "outcome": outcome,
                "variables": names,
                "n_missing": n_missing,
                "n_excluded_outcome_missing": n_excluded,
            },
            notes=(*notes, nothing),
            missing=frame[names].isna(),
        )
    design, coding, predictors = _design(frame, kinds, outcome, modelled, derive_bmi, notes)
    imputed_cols = [c for c in modelled if n_missing[c]]
    too_few = [c for c in imputed_cols if len(frame) - n_missing[c] < design.shape[1] + 1]
    if too_few:
        raise ValueError(
            f"too few observed values in {too_few} to fit an imputation model with "
            f"{design.shape[1] - 1} predictors; impute fewer variables or collect more data"
        )

    sequence = np.random.SeedSequence(seed)
    datasets = []
    # The chains fit thousands of small OLS models: BLAS threads only contend for the cores
    # (measured 14x slower on a loaded 2-core machine), so the chains run single-threaded.
    with threadpool_limits(limits=1, user_api="blas"):
        for child in sequence.spawn(m):
            completed = frame.copy()
            if imputed_cols:
                chain = _chain(design, max_iter, donors, np.random.default_rng(child))
                for name in imputed_cols:
                    completed[name] = _decoded(
                        frame[name], chain[name].to_numpy(), coding.get(name)
                    )
            if derive_bmi and "bmi" in names:
                gap = frame["bmi"].isna().to_numpy()
                bmi = (completed["mass_kg"] / (completed["height_cm"] / 100) ** 2).round(2)
                completed["bmi"] = frame["bmi"].astype(float).where(~gap, bmi)
            datasets.append(completed)

    settings = {
        "m": m,
        "method": method,
        "donors": donors,
        "perturbation": PERTURBATION,
        "max_iter": max_iter,
        "seed": sequence.entropy,
        "outcome": outcome,
        "variables": names,
        "predictors": predictors,
        "n_missing": n_missing,
        "n_excluded_outcome_missing": n_excluded,
        "bmi": bmi_handling,
        "coding": {k: v for k, v in coding.items() if k in names},
        "engine": f"statsmodels {statsmodels.__version__} MICEData",
        "statsmodels_version": statsmodels.__version__,
    }
    return ImputedCohort(
        datasets=tuple(datasets),
        settings=settings,
        notes=tuple(notes),
        missing=frame[names].isna(),
    )


def _check_count(value, name: str, least: int, why: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
        raise ValueError(f"{name} must be a whole number of at least {least}, not {value!r}: {why}")


def _kind(frame: pd.DataFrame, name, outcome: str) -> str:
    """How a column can take part: numeric, binary (two-level category), category, or never."""
    if name == outcome:
        return "outcome"
    var = VARIABLES.get(name)
    column = frame[name]
    if var is not None:
        if var.kind in ("id", "text"):
            return "never"
        if var.kind == "numeric":
            return "numeric"
        if var.kind == "binary":
            return "binary"
        return "binary" if column.dropna().nunique() <= 2 else "category"
    if pd.api.types.is_bool_dtype(column):
        return "binary"
    if pd.api.types.is_numeric_dtype(column):
        return "numeric"
    return "never"


def _check_numbers(data: pd.DataFrame, columns: list, outcome: str) -> None:
    """Text in a numeric column: every such cell listed, as the loader lists them."""
    problems = []
    for name in columns:
        column = data[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            continue
        present = column.notna().to_numpy()
        numbers = pd.to_numeric(column.where(present), errors="coerce").notna().to_numpy()
        bad = np.flatnonzero(present & ~numbers)
        for pos in bad:
            problems.append(
                {
                    "row": int(pos) + 1,
                    "column": name,
                    "value": column.iloc[pos],
                    "problem": f"{column.iloc[pos]!r} is text in the numeric column {name!r}",
                    "fix": "correct the value (or leave it blank), then load the data with "
                    "ps.load_cohort, which reads numbers and reports text",
                }
            )
        if not len(bad):
            problems.append(
                {
                    "row": None,
                    "column": name,
                    "value": None,
                    "problem": f"the numeric column {name!r} is stored as text",
                    "fix": "load the data with ps.load_cohort, or convert the column with "
                    "pd.to_numeric",
                }
            )
    if problems:
        raise DataValidationError(problem_frame(problems), source="impute()")


def _chosen(
    frame: pd.DataFrame, kinds: dict, outcome: str, variables, notes: list[str]
) -> list[str]:
    """The variables to impute, checked."""
    if variables is None:
        names = [
            c
            for c in frame.columns
            if c in VARIABLES and kinds[c] in ("numeric", "binary") and frame[c].isna().any()
        ]
        left = [
            c
            for c in frame.columns
            if frame[c].isna().any() and c not in names and kinds[c] not in ("never", "outcome")
        ]
        if left:
            notes.append(
                f"not imputed (name them in variables= to impute them; categories of more than "
                f"two levels cannot be): {', '.join(map(str, left))}."
            )
        return names
    names = named_variables(
        frame,
        variables,
        outcome,
        f"{outcome!r} is the outcome: it is a predictor in every imputation model and is "
        f"never imputed (rows where it is missing are excluded); leave it out of variables=",
    )
    never = [v for v in names if kinds[v] == "never"]
    two = [v for v in never if v not in VARIABLES and frame[v].dropna().nunique() <= 2]
    if two:
        raise ValueError(
            f"{', '.join(map(repr, two))}: a yes/no column outside the variable dictionary is "
            f"read as text here; convert it to the nullable boolean dtype (e.g. "
            f"data[{two[0]!r}].astype('boolean')) or to 0/1 numbers, then impute it"
        )
    if never:
        raise ValueError(
            f"{', '.join(map(repr, never))}: identifiers and text columns are never imputed "
            f"nor used as predictors; leave them out of variables="
        )
    many = [v for v in names if kinds[v] == "category"]
    if many:
        raise ValueError(
            f"{', '.join(map(repr, many))} {'has' if len(many) == 1 else 'have'} more than two "
            f"levels; imputing categories of more levels (multinomial models) is not supported "
            f"yet; leave {'it' if len(many) == 1 else 'them'} out of variables="
        )
    return names


def _design(
    frame: pd.DataFrame,
    kinds: dict,
    outcome: str,
    modelled: list[str],
    derive_bmi: bool,
    notes: list[str],
) -> tuple[pd.DataFrame, dict, list[str]]:
    """The all-numeric frame the chains run on (columns renamed to safe names for patsy's
    formulas: the imputed variables keep their names as keys of the returned frame)."""
    columns: dict[str, pd.Series] = {}
    coding: dict[str, list] = {}
    predictors: list[str] = []
    unused = []
    for name in frame.columns:
        kind = kinds[name]
        if kind == "never" or (derive_bmi and name == "bmi"):
            continue
        if name not in modelled and name != outcome:
            if name not in VARIABLES:
                continue  # outside the dictionary: a predictor only when named in variables=
            if frame[name].isna().any():
                unused.append(str(name))
                continue
        column = frame[name]
        if kind == "binary" and not pd.api.types.is_numeric_dtype(column):
            levels = _levels(name, column)
            coding[name] = levels
            values = column.map({lv: float(i) for i, lv in enumerate(levels)}).astype(float)
            columns[name] = values
        elif kind == "category":
            dummies = pd.get_dummies(column, prefix=str(name), drop_first=True, dtype=float)
            for d in dummies:
                columns[d] = dummies[d]
        else:
            columns[name] = column.astype(float)
        predictors.append(str(name))
    if unused:
        notes.append(
            f"not used as predictors, because they have missing values and are not imputed: "
            f"{', '.join(unused)}."
        )
    design = pd.DataFrame(columns)
    constant = [c for c in design if c not in modelled and design[c].nunique() < 2]
    if constant:
        design = design.drop(columns=constant)
        predictors = [p for p in predictors if p not in constant]
        notes.append(f"constant columns left out of the predictors: {', '.join(constant)}.")
    kept: list[str] = []
    basis = np.ones((len(design), 1))
    for c in design:
        trial = np.column_stack([basis, design[c].to_numpy(dtype=float)])
        if c in modelled or np.linalg.matrix_rank(trial) == trial.shape[1]:
            basis = trial if c not in modelled else basis
            kept.append(c)
    redundant = [c for c in design if c not in kept]
    if redundant:
        design = design[kept]
        predictors = [
            p for p in predictors if p in kept or any(k.startswith(f"{p}_") for k in kept)
        ]
        notes.append(
            "left out of the predictors, as exact linear combinations of the other fully "
            f"observed columns: {', '.join(redundant)}."
        )
    return design, coding, predictors


def _levels(name, column: pd.Series) -> list:
    """Levels of a two-level category, in dictionary order when it has one, else sorted."""
    seen = list(pd.unique(column.dropna()))
    var = VARIABLES.get(name)
    order = list(var.levels) if var is not None and var.levels else []
    return sorted(seen, key=lambda v: (order.index(v) if v in order else len(order), str(v)))


class _FastMICEData(MICEData):
    """statsmodels' MICEData with the default imputation model (OLS on an intercept and every
    other column) built from arrays instead of a patsy formula at every step: the same
    matrices, several times faster. Perturbation and matching are statsmodels' own."""

    def _exog(self, vname: str) -> np.ndarray:
        others = self.data.drop(columns=vname).to_numpy(dtype=float)
        return np.column_stack([np.ones(len(others)), others])

    def get_fitting_data(self, vname):
        ix = self.ix_obs[vname]
        endog = self.data[vname].to_numpy(dtype=float)[ix]
        return endog, self._exog(vname)[ix], {}, {}

    def get_split_data(self, vname):
        exog = self._exog(vname)
        endog = self.data[vname].to_numpy(dtype=float)
        ixo, ixm = self.ix_obs[vname], self.ix_miss[vname]
        return endog[ixo], exog[ixo], exog[ixm], {}, {}


def _chain(design: pd.DataFrame, max_iter: int, donors: int, rng) -> pd.DataFrame:
    """One MICE chain: the design completed after ``max_iter`` cycles (original names)."""
    safe = design.set_axis([f"v{i}" for i in range(design.shape[1])], axis=1)
    safe = safe.reset_index(drop=True)
    try:
        mice = _FastMICEData(safe, perturbation_method=PERTURBATION, k_pmm=donors, rng=rng)
        mice.update_all(max_iter)
    except (ValueError, np.linalg.LinAlgError) as err:
        raise PfpsError(
            f"the imputation models could not be fitted ({err}); look for variables that are "
            f"(nearly) copies of one another and leave one out of variables="
        ) from err
    out = mice.data.copy()
    out.columns = design.columns
    return out


def _decoded(original: pd.Series, completed: np.ndarray, levels: list | None) -> pd.Series:
    """The column with its missing values filled from the chain; observed values untouched."""
    gap = original.isna().to_numpy()
    if levels is None:
        column = original.astype(float)
        column[gap] = completed[gap]
        return column
    filled = np.array([levels[int(round(v))] for v in completed[gap]], dtype=object)
    column = original.astype(object).copy()
    column[gap] = filled
    if isinstance(original.dtype, pd.CategoricalDtype):
        column = column.astype(original.dtype)
    return column


def _as_numbers(values: pd.Series, levels: list | None) -> tuple[pd.Series, str]:
    """Values as floats for means and SDs: two-level categories as 0/1 (the second level 1)."""
    if pd.api.types.is_numeric_dtype(values) and levels is None:
        return values.astype(float), ""
    if levels is None:
        levels = sorted(pd.unique(values.dropna()), key=str)
    if len(levels) == 2:
        return values.map({levels[0]: 0.0, levels[1]: 1.0}).astype(float), f"proportion {levels[1]}"
    try:
        return values.astype(float), ""
    except (TypeError, ValueError):
        return pd.Series(np.nan, index=values.index), "categorical"
