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
    """SHA-256 of a file's bytes, or of a folder's files (their relative paths and bytes, in
    sorted order; hidden files skipped); None when it does not exist."""
    path = Path(path)
    if path.is_dir():
        digest = hashlib.sha256()
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            relative = file.relative_to(path)
            if any(part.startswith(".") for part in relative.parts):
                continue
            digest.update(relative.as_posix().encode() + b"\0")
            digest.update((sha256(file) or "").encode())
        return digest.hexdigest()
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


#: The installed package's folder: its code and its package data (the evidence registry in
#: ``data/evidence/``, the SYNTHETIC demo cohort in ``data/``).
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def package_source_sha256(root: str | Path | None = None) -> str:
    """SHA-256 over every file of pfps_stats (``root``, default :data:`PACKAGE_ROOT`): its code
    and its package data, the evidence registry and the demo cohort included, so it changes
    whenever either does, even while the version number stays the same. Bytecode
    (``__pycache__``, ``.pyc``) is left out: it changes when nothing else has."""
    root = Path(PACKAGE_ROOT if root is None else root)
    digest = hashlib.sha256()
    files = [
        p
        for p in root.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.relative_to(root).parts
        and p.suffix not in (".pyc", ".pyo")
    ]
    for path in sorted(files):
        digest.update(str(path.relative_to(root).as_posix()).encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def notebook_provenance(nb) -> dict:
    """What an executed notebook declares about its own run: every output it displayed under
    :data:`pfps_stats.report.missing.PROVENANCE_MIMETYPE` (a JSON object, e.g.
    ``{"imputation": {...}}`` from :func:`pfps_stats.report.imputation_provenance`), merged in
    order; {} when there is none."""
    from ..report.missing import PROVENANCE_MIMETYPE

    found: dict = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            record = output.get("data", {}).get(PROVENANCE_MIMETYPE)
            if isinstance(record, dict):
                found.update(record)
    return found
