"""pfps_stats: evidence and risk-factor analysis for patellofemoral pain (runner's knee).

The public API is re-exported here; submodules load on first use so that ``import pfps_stats``
stays fast.

>>> import pfps_stats as ps
>>> cohort = ps.load_cohort("data/raw/demo_cohort.csv")   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "load_cohort": "data",
    "check_cohort": "data",
    "CohortCheck": "data",
    "DataValidationError": "validation",
    "DataQualityWarning": "validation",
    "VARIABLES": "variables",
    "Variable": "variables",
    "get_variable": "variables",
    "variable_table": "variables",
    "label": "variables",
    "simulate_cohort": "synthetic",
    "demo_cohort": "synthetic",
    "is_synthetic": "synthetic",
    "summarise_variables": "quality",
    "synthetic_banner": "quality",
    "DEMO_COHORT": "paths",
    "fit_logistic": "models",
    "LogisticFit": "models",
    "ModelError": "models",
    "ModelWarning": "models",
    "odds_ratio_table": "models",
    "format_odds_ratio_table": "models",
    "table_one": "describe",
    "incidence": "describe",
    "roc_auc": "performance",
    "validate_bootstrap": "performance",
    "calibrate_bootstrap": "performance",
    "hosmer_lemeshow": "performance",
    "effect_size": "evidence.effect_sizes",
    "convert_effect": "evidence.effect_sizes",
    "meta_analysis": "evidence.meta",
    "MetaResult": "evidence.meta",
    "MetaWarning": "evidence.meta",
    "load_evidence": "evidence.registry",
    "load_studies": "evidence.registry",
    "load_claims": "evidence.registry",
    "EvidenceError": "evidence.registry",
    "compare_with_evidence": "evidence.compare",
    "plot_comparison": "evidence.compare",
    "claims_html": "evidence.compare",
    "comparison_summary": "evidence.compare",
    "set_theme": "plots",
    "plot_forest": "plots",
    "plot_effect": "plots",
    "plot_calibration": "plots",
    "plot_roc": "plots",
    "plot_distributions": "plots",
    "plot_missing": "plots",
    "plot_correlations": "plots",
}

__all__ = [
    "load_cohort",
    "check_cohort",
    "CohortCheck",
    "DataValidationError",
    "DataQualityWarning",
    "VARIABLES",
    "Variable",
    "get_variable",
    "variable_table",
    "label",
    "simulate_cohort",
    "demo_cohort",
    "is_synthetic",
    "summarise_variables",
    "synthetic_banner",
    "DEMO_COHORT",
    "fit_logistic",
    "LogisticFit",
    "ModelError",
    "ModelWarning",
    "odds_ratio_table",
    "format_odds_ratio_table",
    "table_one",
    "incidence",
    "roc_auc",
    "validate_bootstrap",
    "calibrate_bootstrap",
    "hosmer_lemeshow",
    "effect_size",
    "convert_effect",
    "meta_analysis",
    "MetaResult",
    "MetaWarning",
    "load_evidence",
    "load_studies",
    "load_claims",
    "EvidenceError",
    "compare_with_evidence",
    "plot_comparison",
    "claims_html",
    "comparison_summary",
    "set_theme",
    "plot_forest",
    "plot_effect",
    "plot_calibration",
    "plot_roc",
    "plot_distributions",
    "plot_missing",
    "plot_correlations",
    "__version__",
]
assert set(__all__) == {*_EXPORTS, "__version__"}

if TYPE_CHECKING:  # pragma: no cover
    from .data import CohortCheck, check_cohort, load_cohort
    from .describe import incidence, table_one
    from .evidence.compare import (
        claims_html,
        compare_with_evidence,
        comparison_summary,
        plot_comparison,
    )
    from .evidence.effect_sizes import convert_effect, effect_size
    from .evidence.meta import MetaResult, MetaWarning, meta_analysis
    from .evidence.registry import EvidenceError, load_claims, load_evidence, load_studies
    from .models import (
        LogisticFit,
        ModelError,
        ModelWarning,
        fit_logistic,
        format_odds_ratio_table,
        odds_ratio_table,
    )
    from .paths import DEMO_COHORT
    from .performance import calibrate_bootstrap, hosmer_lemeshow, roc_auc, validate_bootstrap
    from .plots import (
        plot_calibration,
        plot_correlations,
        plot_distributions,
        plot_effect,
        plot_forest,
        plot_missing,
        plot_roc,
        set_theme,
    )
    from .quality import summarise_variables, synthetic_banner
    from .synthetic import demo_cohort, is_synthetic, simulate_cohort
    from .validation import DataQualityWarning, DataValidationError
    from .variables import VARIABLES, Variable, get_variable, label, variable_table


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pfps_stats' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
