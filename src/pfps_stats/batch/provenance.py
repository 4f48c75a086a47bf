"""Provenance of a report: input hashes, package versions, git commit, Python version."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "pfps_stats",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
)


def sha256(path: str | Path) -> str | None:
    """SHA-256 of a file's bytes, or None when it does not exist."""
    path = Path(path)
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages a report depends on."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(folder: str | Path) -> str | None:
    """The checked-out commit of the repository holding ``folder`` (``+dirty`` if changed)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty.strip() else "")


def python_version() -> str:
    return platform.python_version()


def package_source_sha256() -> str:
    """SHA-256 over pfps_stats's own source and package data (the registry, the demo cohort):
    it changes whenever the package's code or data do, even while its version number stays
    the same."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    files = [p for p in root.rglob("*") if p.suffix in (".py", ".csv") and p.is_file()]
    for path in sorted(files):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
