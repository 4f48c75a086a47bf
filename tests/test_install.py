"""pfps_stats works when installed as a wheel (not editable), run from outside the checkout.

The wheel is built from a copy of the sources and installed into a new virtual environment.
To run offline and in seconds, that environment borrows the third-party dependencies of the
test environment through a ``.pth`` file; pfps_stats itself comes only from the wheel (the
checkout's ``src/`` is on no path). That every dependency is declared is checked in
``test_architecture.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHECK = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import pfps_stats as ps
    here = Path(ps.__file__).resolve()
    demo = ps.load_demo_cohort()
    registry = ps.load_evidence()
    log, injuries = ps.load_demo_training()
    print(json.dumps({
        "file": str(here),
        "demo_rows": len(demo),
        "synthetic": bool(ps.is_synthetic(demo)),
        "registry_rows": len(registry),
        "demo_path": str(ps.DEMO_COHORT),
        "log_rows": len(log),
        "log_synthetic": bool(ps.is_synthetic(log)),
        "injuries_rows": len(injuries),
        "log_path": str(ps.DEMO_TRAINING_LOG),
    }))
    """
)


@pytest.mark.slow
def test_wheel_install_outside_the_checkout_loads_data_and_builds_a_report(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--wheel-dir", str(dist), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("pfps_stats-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    fresh_site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (fresh_site / "borrowed_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )

    work = tmp_path / "elsewhere"
    work.mkdir()
    out = subprocess.run(
        [str(python), "-c", CHECK],
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    found = json.loads(out.stdout)
    assert Path(found["file"]).is_relative_to(fresh_site), found["file"]
    assert not Path(found["file"]).is_relative_to(ROOT)
    assert Path(found["demo_path"]).is_relative_to(fresh_site)
    assert found["demo_rows"] > 2000
    assert found["synthetic"]
    assert found["registry_rows"] >= 10
    assert found["log_rows"] > 40_000
    assert found["log_synthetic"]
    assert found["injuries_rows"] == 600
    assert Path(found["log_path"]).is_relative_to(fresh_site)

    shutil.copy(ROOT / "notebooks" / "01-data-quality.ipynb", work / "dq.ipynb")
    (work / "reports.yml").write_text(
        "output_dir: site\njobs:\n  - {name: dq, notebook: dq.ipynb, parameters: {subgroup: military}}\n"
    )
    # The borrowed packages' data files (nbconvert's templates) stay in the test environment.
    env = {**os.environ, "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}
    run = subprocess.run(
        [str(venv / "bin" / "pfps-stats"), "report", "run", "reports.yml"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    manifest = json.loads((work / "site" / "manifest.json").read_text())
    assert [j["status"] for j in manifest["jobs"]] == ["success"]
    html = (work / "site" / "dq.html").read_text()
    assert "SYNTHETIC" in html
    assert "military" in html
