"""The house keeps its shape: one-way layers, one public API list, no reaching into another
subpackage's private names, every third-party import declared, one exception family."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import pfps_stats as ps

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "pfps_stats"
LAYERS = ["cohort", "exposures", "models", "plots", "evidence", "report", "batch"]
SHARED = {"_exceptions", "_format", "_checks"}  # leaf modules every layer may use


def _modules() -> dict[str, ast.Module]:
    return {
        ".".join(path.relative_to(SRC.parent).with_suffix("").parts): ast.parse(
            path.read_text(encoding="utf-8")
        )
        for path in sorted(SRC.rglob("*.py"))
    }


def _imports(module: str, tree: ast.Module) -> list[tuple[str, list[str], int]]:
    """(imported module, names, line) for every import, relative ones resolved."""
    package = module.split(".")[:-1]  # the package holding the module (or the __init__)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            found.append((target, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((a.name, [], node.lineno) for a in node.names)
    return found


def test_layers_are_imported_one_way_only():
    """import-linter's layers contract (pyproject.toml [tool.importlinter])."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = config["contracts"][0]["layers"]
    assert [x.removeprefix("pfps_stats.") for x in layers[1:-1]] == LAYERS[::-1]
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 kept, 0 broken" in out.stdout


def test_every_cross_layer_import_goes_downward():
    """A second check, independent of import-linter: our own scan finds the cross-layer
    imports (more than ten, so the scan sees them) and each one goes downward."""
    seen = 0
    for module, tree in _modules().items():
        parts = module.split(".")
        if len(parts) < 3 or parts[1] not in LAYERS:
            continue
        own = LAYERS.index(parts[1])
        for target, _, line in _imports(module, tree):
            tparts = target.split(".")
            if tparts[0] != "pfps_stats" or len(tparts) < 2 or tparts[1] not in LAYERS:
                continue
            if tparts[1] != parts[1]:
                seen += 1
                assert LAYERS.index(tparts[1]) < own, f"{module}:{line} imports {target} (upward)"
    assert seen > 10


def test_no_module_imports_a_private_name_of_another_subpackage():
    for module, tree in _modules().items():
        parts = module.split(".")
        for target, names, line in _imports(module, tree):
            tparts = target.split(".")
            if tparts[0] != "pfps_stats" or len(tparts) < 2:
                continue
            same = len(parts) > 2 and tparts[1] == parts[1]
            if same:
                continue
            private_module = [p for p in tparts[1:] if p.startswith("_") and p not in SHARED]
            assert not private_module, f"{module}:{line} imports private module {target}"
            private = [n for n in names if n.startswith("_")]
            assert not private, f"{module}:{line} imports private {private} from {target}"


def _stdlib_or_own(name: str) -> bool:
    return name in sys.stdlib_module_names or name in ("pfps_stats", "__future__")


def test_every_third_party_import_of_src_is_a_declared_dependency():
    declared = {
        re.match(r"[A-Za-z0-9_.\-]+", r).group(0).lower().replace("_", "-")
        for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    distributions = metadata.packages_distributions()
    imported = set()
    for module, tree in _modules().items():
        for target, _, _ in _imports(module, tree):
            top = target.split(".")[0]
            if top and not _stdlib_or_own(top):
                imported.add(top)
    assert {"numpy", "pandas", "statsmodels", "patsy", "papermill", "IPython"} <= imported
    undeclared = {}
    for top in sorted(imported):
        dists = {d.lower().replace("_", "-") for d in distributions.get(top, [top])}
        if not dists & declared:
            undeclared[top] = sorted(dists)
    assert not undeclared, f"imported by src/ but not in pyproject dependencies: {undeclared}"


def _type_checking_imports() -> dict[str, str]:
    tree = ast.parse((SRC / "__init__.py").read_text(encoding="utf-8"))
    block = next(
        n
        for n in tree.body
        if isinstance(n, ast.If) and getattr(n.test, "id", None) == "TYPE_CHECKING"
    )
    out = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        assert node.level == 1
        for alias in node.names:
            out[alias.asname or alias.name] = node.module
    return out


def test_public_api_is_one_list_that_the_lazy_and_typed_imports_agree_with():
    api = ps._API
    assert ps.__all__ == [*api, "__version__"]
    assert _type_checking_imports() == api
    for name, module in api.items():
        value = getattr(ps, name)
        assert getattr(importlib.import_module(f"pfps_stats.{module}"), name) is value, name
    assert sorted(dir(ps)) == sorted(ps.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = ps.nonsense


def test_every_error_and_warning_has_one_family():
    errors = [ps.DataValidationError, ps.ModelError, ps.EvidenceError, ps.ConfigError]
    for error in [*errors, ps.LockedError]:
        assert issubclass(error, ps.PfpsError)
    for error in errors:
        assert issubclass(error, ValueError), "bad input stays a ValueError"
    for warning in (ps.DataQualityWarning, ps.ModelWarning, ps.MetaWarning):
        assert issubclass(warning, ps.PfpsWarning)
        assert issubclass(warning, UserWarning)
    defined = [
        (module, node.name)
        for module, tree in _modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(getattr(b, "id", "").endswith(("Error", "Warning")) for b in node.bases)
    ]
    assert {m for m, _ in defined} == {"pfps_stats._exceptions"}, defined


def test_subgroups_and_outcome_come_from_the_dictionary():
    """No module spells out the subgroup list or the outcome name again."""
    for module, tree in _modules().items():
        if module == "pfps_stats.cohort.variables":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                words = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                assert len(words & set(ps.SUBGROUPS)) < 2, (
                    f"{module}:{node.lineno} spells out the subgroups; import SUBGROUPS"
                )
            if isinstance(node, ast.arg | ast.Assign | ast.AnnAssign):
                value = getattr(node, "value", None)
                assert not (isinstance(value, ast.Constant) and value.value == "pfp"), (
                    f"{module}:{node.lineno} spells out the outcome; import OUTCOME"
                )
        for node in ast.walk(tree):  # defaults of function arguments
            if isinstance(node, ast.FunctionDef):
                defaults = [*node.args.defaults, *node.args.kw_defaults]
                assert not any(
                    isinstance(d, ast.Constant) and d.value == "pfp" for d in defaults
                ), f"{module}:{node.lineno} {node.name}(outcome='pfp'): use OUTCOME"
    assert ps.SUBGROUPS == tuple(ps.VARIABLES["subgroup"].levels)
    assert ps.OUTCOME == "pfp"
    assert ps.VARIABLES[ps.OUTCOME].kind == "binary"
