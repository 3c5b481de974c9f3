"""pyproject.toml declares what tito imports, what a student needs, and bounds what tito relies on."""
from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
BOUNDED = ("nbgrader", "jupyter-book", "nbclient", "jupytext")


def requirements(*extras: str) -> dict[str, Requirement]:
    listed = PROJECT["dependencies"] + [r for e in extras for r in PROJECT["optional-dependencies"][e]]
    reqs = [Requirement(r) for r in listed]
    return {canonicalize_name(r.name): r for r in reqs if r.name != "tinytorch"}


def third_party_imports(folder) -> dict[str, str]:
    """Top-level module imported anywhere under `folder` (function-level imports too) -> first file:line."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("tito", "tinytorch"):
                    found.setdefault(top, f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def distribution(module: str) -> str:
    dists = packages_distributions().get(module)
    assert dists, f"`{module}` is imported but not installed"
    return canonicalize_name(dists[0])


def test_every_import_of_tito_is_declared():
    declared = requirements(*PROJECT["optional-dependencies"])
    missing = {m: where for m, where in third_party_imports(REPO / "tito").items()
               if distribution(m) not in declared}
    assert not missing, f"imported but not in pyproject.toml: {missing}"


def test_the_student_extra_covers_module_start_test_and_complete():
    student = requirements("student")
    used = third_party_imports(REPO / "tito" / "student")
    assert {distribution(m) for m in used} <= set(student), used
    # Run as programs, not imported: pytest runs the package tests, JupyterLab opens the notebook.
    assert {"pytest", "jupyterlab", "nbgrader"} <= set(student)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert re.search(r"pip install -e \"\.\[student\]\"", readme), "the README tells students what to install"


def test_libraries_whose_internals_tito_uses_have_upper_bounds_and_tested_pins():
    declared = requirements(*PROJECT["optional-dependencies"])
    pins = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            req = Requirement(line)
            pins[canonicalize_name(req.name)] = next(iter(req.specifier)).version
    for name in BOUNDED:
        spec = declared[name].specifier
        assert any(s.operator in ("<", "<=", "~=", "==") for s in spec), f"{name} has no upper bound: {spec}"
    for name, req in declared.items():
        if name in pins:
            assert req.specifier.contains(pins[name], prereleases=True), \
                f"constraints.txt pins {name}=={pins[name]}, outside pyproject's {req.specifier}"
    assert set(BOUNDED) <= set(pins), "every bounded library has a tested version"
