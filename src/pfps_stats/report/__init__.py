"""What report notebooks call: set-up, display, formatting and small-cell suppression.

>>> from pfps_stats import report
>>> rs = report.setup_report(data_path=None, subgroup="military")   # doctest: +SKIP
>>> report.show(rs.small(ps.incidence(rs.cohort)))                 # doctest: +SKIP
>>> tr = report.setup_training_report()   # the SYNTHETIC demo log    # doctest: +SKIP

Imports from every layer below it (cohort, models, plots, evidence); the batch imports it.
"""

from .comparison import comparison_summary
from .display import attempt, link, notes, quiet_warnings, show, synthetic_banner
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
from .summary import SUMMARY_MIMETYPE, headline, notebook_summary, record_summary
from .suppression import SUPPRESSED, suppress_small_counts
from .training import (
    TrainingReportSetup,
    format_hazard_ratio_table,
    hazard_comparison_summary,
    hazard_ratio_rows,
    setup_training_report,
)

__all__ = [
    "SUMMARY_MIMETYPE",
    "SUPPRESSED",
    "ReportSetup",
    "TrainingReportSetup",
    "attempt",
    "comparison_summary",
    "format_count",
    "format_count_percent",
    "format_estimate_ci",
    "format_hazard_ratio_table",
    "format_missing_comparison",
    "format_n_events",
    "format_number",
    "format_odds_ratio_table",
    "format_p_value",
    "headline",
    "hazard_comparison_summary",
    "hazard_ratio_rows",
    "imputation_diagnostics",
    "imputation_provenance",
    "imputation_settings",
    "imputation_settings_table",
    "link",
    "missing_handling",
    "notebook_summary",
    "notes",
    "quiet_warnings",
    "record_summary",
    "setup_report",
    "setup_training_report",
    "show",
    "suppress_odds_ratio_counts",
    "suppress_missing_table",
    "suppress_small_counts",
    "synthetic_banner",
]
