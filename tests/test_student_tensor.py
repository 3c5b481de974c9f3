"""The student lifecycle on the real module 01 (Tensor): start -> solve -> complete -> import the student's Tensor."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tito.cli import main
from tito.core.course import Course
from tito.instructor.export import plan, write

from .helpers.course import REPO
from .helpers.notebooks import load
from .helpers.student import package_snapshot as snapshot
from .helpers.student import progress, solve

MARKER = '\nTensor.student_marker = "my own Tensor"'


@pytest.fixture(scope="module")
def tensor_release(tmp_path_factory) -> Path:
    from tito.instructor.nbgrader import ensure_release

    root = tmp_path_factory.mktemp("tensor")
    for name in ("pyproject.toml", "nbgrader_config.py"):
        shutil.copy(REPO / name, root)
    shutil.copytree(REPO / "src" / "01_tensor", root / "src" / "01_tensor")
    tests = REPO / "tests" / "modules" / "test_01_tensor.py"
    (root / "tests" / "modules").mkdir(parents=True)
    shutil.copy(tests, root / "tests" / "modules")
    course = Course.load(root)
    write(course, plan(course, course.modules), course.modules)
    ensure_release(course, course.resolve("01"))
    shutil.rmtree(root / ".tito", ignore_errors=True)
    (root / "gradebook.db").unlink(missing_ok=True)
    return root


@pytest.fixture
def tensor_course(tensor_release, tmp_path, monkeypatch) -> Path:
    root = tmp_path / "course"
    shutil.copytree(tensor_release, root)
    monkeypatch.setenv("TINYTORCH_ROOT", str(root))
    monkeypatch.delenv("TINYTORCH_WORKSPACE", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return root


def last_solution_cell(notebook: dict) -> dict:
    return [c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("solution")][-1]


def test_complete_01_puts_the_students_tensor_in_the_package(tensor_course):
    assert CliRunner().invoke(main, ["module", "start", "01", "--no-launch"]).exit_code == 0
    path = solve(tensor_course, "01_tensor")
    notebook = load(path)
    cell = last_solution_cell(notebook)
    assert "#| export" in "".join(cell["source"]), "the marker must land in an exported cell"
    cell["source"] = "".join(cell["source"]) + MARKER
    path.write_text(json.dumps(notebook, indent=1))

    out = CliRunner().invoke(main, ["module", "complete", "01"])
    assert out.exit_code == 0, out.output
    assert "FAIL" not in out.output and "from tinytorch" in out.output
    env = dict(os.environ, PYTHONPATH=str(tensor_course))
    run = subprocess.run([sys.executable, "-c", "from tinytorch import Tensor; print(Tensor.student_marker, "
                          "(Tensor([1.0, 2.0]) + 1).numpy().tolist())"],
                         cwd=tensor_course, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "my own Tensor [2.0, 3.0]"
    entry = progress(tensor_course)["modules"]["01_tensor"]
    assert entry["status"] == "completed" and entry["score"] == entry["max_score"] > 0


def test_unsolved_01_fails_and_changes_nothing(tensor_course):
    assert CliRunner().invoke(main, ["module", "start", "01", "--no-launch"]).exit_code == 0
    before = snapshot(tensor_course)
    out = CliRunner().invoke(main, ["module", "complete", "01"])
    assert out.exit_code == 1 and "NotImplementedError" in out.output
    assert snapshot(tensor_course) == before
