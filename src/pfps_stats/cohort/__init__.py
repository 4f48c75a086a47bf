"""The cohort layer: data in, checked, in canonical columns and units.

- ``variables``: the variable dictionary, the one source of truth (names, labels, units,
  plausible ranges, clinical increments, aliases, subgroups, the outcome);
- ``units``: exact unit conversions; ``columns``: header matching; ``readers``: CSV, Excel,
  Parquet, SPSS, Stata, REDCap;
- ``training_log``: :func:`load_training_log` (Strava and Garmin exports, long tables,
  folders of per-runner files); ``injuries``: :func:`load_injuries`; ``dates``: date parsing
  shared by both;
- ``load``: :func:`load_cohort` and :func:`check_cohort` (validation, quarantine);
  ``validation``: how problems are recorded;
- ``quality``: data-quality summaries; ``describe``: Table 1 and incidence;
- ``missing``: :func:`missing_table`; ``imputation``: :func:`impute` (statsmodels MICE,
  predictive mean matching) and :class:`ImputedCohort`;
- ``synthetic``: SYNTHETIC cohorts with known truth and the shipped demo cohort.

Imports nothing from the other layers.
"""
