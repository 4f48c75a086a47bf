"""What report notebooks call: set-up, display, formatting and small-cell suppression.

>>> from pfps_stats import report
>>> rs = report.setup_report(data_path=None, subgroup="military")   # doctest: +SKIP
>>> report.show(rs.small(ps.incidence(rs.cohort)))                 # doctest: +SKIP
>>> tr = report.setup_training_report()   # the SYNTHETIC demo log    # doctest: +SKIP

Imports from every layer below it (cohort, models, plots, evidence); the batch imports it.
"""

from .comparison import comparison_summary
from .display import attempt, link, notes, quiet_warnings, show, synthetic_banner
from .figures import effects_figure, figure_html, performance_figures, side_by_side
from .formatting import (
    format_count,
    format_count_percent,
    format_estimate_ci,
    format_n_events,
    format_number,
    format_odds_ratio_table,
    format_p_value,
    suppress_odds_ratio_counts,
)
from .labels import STATISTIC_NAMES, human_name, human_value, readable
from .missing import (
    format_missing_comparison,
    imputation_diagnostics,
    imputation_provenance,
    imputation_settings,
    imputation_settings_table,
    missing_handling,
    suppress_missing_table,
)
from .setup import ReportSetup, setup_report
from .summary import (
    NOT_ESTIMATED,
    SUMMARY_MIMETYPE,
    data_quality_summary,
    evidence_summary,
    headline,
    notebook_summary,
    record_summary,
    risk_factors_summary,
    strongest_odds_ratio,
    study_planning_summary,
    training_load_summary,
)
from .suppression import SUPPRESSED, suppress_small_counts
from .training import (
    TrainingReportSetup,
    format_hazard_ratio_table,
    hazard_comparison_summary,
    hazard_ratio_rows,
    setup_training_report,
)

__all__ = [
    "NOT_ESTIMATED",
    "ReportSetup",
    "STATISTIC_NAMES",
    "SUMMARY_MIMETYPE",
    "SUPPRESSED",
    "TrainingReportSetup",
    "attempt",
    "comparison_summary",
    "data_quality_summary",
    "effects_figure",
    "evidence_summary",
    "figure_html",
    "format_count",
    "format_count_percent",
    "format_estimate_ci",
    "format_hazard_ratio_table",
    "format_missing_comparison",
    "format_n_events",
    "format_number",
    "format_odds_ratio_table",
    "format_p_value",
    "hazard_comparison_summary",
    "hazard_ratio_rows",
    "headline",
    "human_name",
    "human_value",
    "imputation_diagnostics",
    "imputation_provenance",
    "imputation_settings",
    "imputation_settings_table",
    "link",
    "missing_handling",
    "notebook_summary",
    "notes",
    "performance_figures",
    "quiet_warnings",
    "readable",
    "record_summary",
    "risk_factors_summary",
    "setup_report",
    "setup_training_report",
    "show",
    "side_by_side",
    "strongest_odds_ratio",
    "study_planning_summary",
    "suppress_missing_table",
    "suppress_odds_ratio_counts",
    "suppress_small_counts",
    "synthetic_banner",
    "training_load_summary",
]
