"""pfps_stats: evidence and risk-factor analysis for patellofemoral pain (runner's knee).

The public API is the one list ``_API`` below (name -> module); ``__all__`` is made from it,
and each name is imported on first use so that ``import pfps_stats`` stays fast. The
``TYPE_CHECKING`` imports repeat it for editors and type checkers; a test checks that the
three agree.

>>> import pfps_stats as ps
>>> cohort = ps.load_demo_cohort()   # doctest: +SKIP

Layers, imported one way only (a test with import-linter enforces it):
``cohort -> exposures -> models -> plots -> evidence -> report -> batch``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.2.0"

#: The public API: each name and the module that defines it.
_API: dict[str, str] = {
    # errors and warnings
    "PfpsError": "_exceptions",
    "PfpsWarning": "_exceptions",
    "DataValidationError": "_exceptions",
    "DataQualityWarning": "_exceptions",
    "ModelError": "_exceptions",
    "ModelWarning": "_exceptions",
    "EvidenceError": "_exceptions",
    "MetaWarning": "_exceptions",
    "ConfigError": "_exceptions",
    "ClusterError": "_exceptions",
    "LockedError": "_exceptions",
    "PdfError": "_exceptions",
    # cohort
    "load_cohort": "cohort.load",
    "check_cohort": "cohort.load",
    "CohortCheck": "cohort.load",
    "VARIABLES": "cohort.variables",
    "SUBGROUPS": "cohort.variables",
    "OUTCOME": "cohort.variables",
    "Variable": "cohort.variables",
    "get_variable": "cohort.variables",
    "variable_table": "cohort.variables",
    "label": "cohort.variables",
    "increment_label": "cohort.variables",
    "simulate_cohort": "cohort.synthetic",
    "demo_cohort": "cohort.synthetic",
    "load_demo_cohort": "cohort.synthetic",
    "is_synthetic": "cohort.synthetic",
    "DEMO_COHORT": "cohort.synthetic",
    "summarise_variables": "cohort.quality",
    "table_one": "cohort.describe",
    "incidence": "cohort.describe",
    "missing_table": "cohort.missing",
    "impute": "cohort.imputation",
    "ImputedCohort": "cohort.imputation",
    "load_training_log": "cohort.training_log",
    "check_training_log": "cohort.training_log",
    "TrainingLogCheck": "cohort.training_log",
    "load_injuries": "cohort.injuries",
    "check_injuries": "cohort.injuries",
    "InjuriesCheck": "cohort.injuries",
    # exposures
    "session_exposures": "exposures.sessions",
    "DaskExposures": "exposures.dask_exposures",
    "weekly_exposures": "exposures.weeks",
    "spike_state": "exposures.states",
    "SPIKE_STATES": "exposures.states",
    "simulate_training": "exposures.synthetic",
    "load_demo_training": "exposures.synthetic",
    "write_strava_exports": "exposures.synthetic",
    "DEMO_TRAINING_LOG": "exposures.synthetic",
    "DEMO_INJURIES": "exposures.synthetic",
    # models
    "Design": "models.design",
    "fit_logistic": "models.logistic",
    "LogisticFit": "models.logistic",
    "odds_ratio_table": "models.tables",
    "additive_formula": "models.tables",
    "roc_auc": "models.performance",
    "roc_curve": "models.performance",
    "validate_bootstrap": "models.performance",
    "calibrate_bootstrap": "models.performance",
    "hosmer_lemeshow": "models.performance",
    "fit_cox": "models.cox",
    "CoxFit": "models.cox",
    "injury_rates": "models.rates",
    "pool": "models.pooling",
    "pool_coefficients": "models.pooling",
    "PooledLogisticFit": "models.pooled",
    "DaskLogisticFit": "models.dask_logistic",
    "power_logistic": "models.power",
    "power_curve": "models.power",
    "PowerResult": "models.power",
    "PowerCurve": "models.power",
    "power_scenario": "models.power_simulation",
    "PowerScenario": "models.power_simulation",
    "simulate_power": "models.power_simulation",
    "SimulatedPower": "models.power_simulation",
    # plots
    "set_theme": "plots.theme",
    "draw_forest": "plots.forest",
    "plot_forest": "plots.forest",
    "plot_effect": "plots.effects",
    "plot_calibration": "plots.performance",
    "plot_roc": "plots.performance",
    "plot_distributions": "plots.distributions",
    "plot_missing": "plots.distributions",
    "plot_correlations": "plots.distributions",
    "plot_imputed": "plots.imputation",
    "plot_imputation_diagnostics": "plots.imputation",
    "plot_weeks_before_onset": "plots.training",
    "plot_injury_rates": "plots.training",
    "plot_power_curve": "plots.power",
    # evidence
    "effect_size": "evidence.effect_sizes",
    "convert_effect": "evidence.effect_sizes",
    "smd_by_group": "evidence.effect_sizes",
    "meta_analysis": "evidence.meta",
    "MetaResult": "evidence.meta",
    "load_evidence": "evidence.registry",
    "load_studies": "evidence.registry",
    "load_claims": "evidence.registry",
    "compare_with_evidence": "evidence.compare",
    "EvidenceComparison": "evidence.compare",
    "plot_comparison": "evidence.compare",
    "claims_html": "evidence.compare",
    "compare_hazard_ratios": "evidence.hazards",
    "plot_hazard_comparison": "evidence.hazards",
    "plan_study": "evidence.planning",
    "StudyPlan": "evidence.planning",
    # report
    "format_odds_ratio_table": "report.formatting",
    "comparison_summary": "report.comparison",
    "synthetic_banner": "report.display",
}

__all__ = [*_API, "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from ._exceptions import (
        ClusterError,
        ConfigError,
        DataQualityWarning,
        DataValidationError,
        EvidenceError,
        LockedError,
        MetaWarning,
        ModelError,
        ModelWarning,
        PdfError,
        PfpsError,
        PfpsWarning,
    )
    from .cohort.describe import incidence, table_one
    from .cohort.imputation import ImputedCohort, impute
    from .cohort.injuries import InjuriesCheck, check_injuries, load_injuries
    from .cohort.load import CohortCheck, check_cohort, load_cohort
    from .cohort.missing import missing_table
    from .cohort.quality import summarise_variables
    from .cohort.synthetic import (
        DEMO_COHORT,
        demo_cohort,
        is_synthetic,
        load_demo_cohort,
        simulate_cohort,
    )
    from .cohort.training_log import TrainingLogCheck, check_training_log, load_training_log
    from .cohort.variables import (
        OUTCOME,
        SUBGROUPS,
        VARIABLES,
        Variable,
        get_variable,
        increment_label,
        label,
        variable_table,
    )
    from .evidence.compare import (
        EvidenceComparison,
        claims_html,
        compare_with_evidence,
        plot_comparison,
    )
    from .evidence.effect_sizes import convert_effect, effect_size, smd_by_group
    from .evidence.hazards import compare_hazard_ratios, plot_hazard_comparison
    from .evidence.meta import MetaResult, meta_analysis
    from .evidence.planning import StudyPlan, plan_study
    from .evidence.registry import load_claims, load_evidence, load_studies
    from .exposures.dask_exposures import DaskExposures
    from .exposures.sessions import session_exposures
    from .exposures.states import SPIKE_STATES, spike_state
    from .exposures.synthetic import (
        DEMO_INJURIES,
        DEMO_TRAINING_LOG,
        load_demo_training,
        simulate_training,
        write_strava_exports,
    )
    from .exposures.weeks import weekly_exposures
    from .models.cox import CoxFit, fit_cox
    from .models.dask_logistic import DaskLogisticFit
    from .models.design import Design
    from .models.logistic import LogisticFit, fit_logistic
    from .models.performance import (
        calibrate_bootstrap,
        hosmer_lemeshow,
        roc_auc,
        roc_curve,
        validate_bootstrap,
    )
    from .models.pooled import PooledLogisticFit
    from .models.pooling import pool, pool_coefficients
    from .models.power import PowerCurve, PowerResult, power_curve, power_logistic
    from .models.power_simulation import (
        PowerScenario,
        SimulatedPower,
        power_scenario,
        simulate_power,
    )
    from .models.rates import injury_rates
    from .models.tables import additive_formula, odds_ratio_table
    from .plots.distributions import plot_correlations, plot_distributions, plot_missing
    from .plots.effects import plot_effect
    from .plots.forest import draw_forest, plot_forest
    from .plots.imputation import plot_imputation_diagnostics, plot_imputed
    from .plots.performance import plot_calibration, plot_roc
    from .plots.power import plot_power_curve
    from .plots.theme import set_theme
    from .plots.training import plot_injury_rates, plot_weeks_before_onset
    from .report.comparison import comparison_summary
    from .report.display import synthetic_banner
    from .report.formatting import format_odds_ratio_table


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'pfps_stats' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
