"""Batch reports: parameterized notebooks run by papermill into an HTML site with provenance."""
