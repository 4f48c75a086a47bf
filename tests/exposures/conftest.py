"""Shared fixture of the exposure tests: hand-made training logs in the loader's form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def _make_log(rows, unit: str = "us") -> pd.DataFrame:
    """A log in ps.load_training_log's form from (runner, start, km) tuples."""
    log = pd.DataFrame(rows, columns=["runner_id", "start", "distance_km"])
    log["start"] = pd.to_datetime(log["start"], format="ISO8601").astype(f"datetime64[{unit}]")
    log["duration_min"] = log["distance_km"] * 6.0
    log["activity_type"] = "Run"
    log["source_row"] = np.arange(1, len(log) + 1)
    return log


@pytest.fixture
def make_log():
    """``make_log([(runner, start, km), ...], unit="us")``: a log as the loader returns it
    (6 min/km durations, activity "Run", source_row 1, 2, ...)."""
    return _make_log
