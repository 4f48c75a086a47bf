"""The exposures layer: training load from GPS-watch logs, against each runner's own past.

- ``sessions``: :func:`session_exposures` (one run against the longest run of the 30 days
  before it);
- ``weeks``: :func:`weekly_exposures` (calendar weeks: week-to-week ratio and the
  acute:chronic workload ratio);
- ``states``: the spike states (Frandsen 2025's categories) shared by both;
- ``follow_up``: time at risk from an injuries table (where it starts and ends, and why),
  used by both for their counting-process rows (``start_day``, ``stop_day``, ``event``),
  and the checks of the log and injuries frames both apply;
- ``synthetic``: SYNTHETIC training logs and PFP onsets with known hazard ratios.

Imports only from the cohort layer.
"""
