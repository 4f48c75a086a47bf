"""Project paths, defined once. They hold for a source checkout (``pip install -e .``)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data"
#: The bundled SYNTHETIC demo cohort (see data/README.md).
DEMO_COHORT = DATA_DIR / "raw" / "demo_cohort.csv"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
REPORTS_DIR = PROJECT_ROOT / "reports"
