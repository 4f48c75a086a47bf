"""The README's code runs as written (blocks that need a user's own file are left out)."""

import os
import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NEEDS_USER_FILES = ("clinic_export.csv", "DataValidationError as err")


@pytest.mark.slow
def test_readme_python_blocks_run(monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    runnable = [b for b in blocks if not any(k in b for k in NEEDS_USER_FILES)]
    assert len(runnable) >= 6
    monkeypatch.chdir(ROOT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile("\n".join(runnable), "README.md", "exec"), {"__name__": "readme"})
    assert os.getcwd() == str(ROOT)
