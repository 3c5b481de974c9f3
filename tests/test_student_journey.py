"""The foundation tier as a student lives it: complete 01-07 with `tito module complete`, then run
milestones 01-03 with `tito milestone run` on the package those completions exported.

The simulated student writes the reference solutions into the released notebooks and tags module 01's
Tensor with a marker, so the milestones provably ran on the student's exports, not on the reference.
"""
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
from tito.core.render.package import origin_of
from tito.instructor.export import plan, write

from .helpers.course import REPO
from .helpers.notebooks import load
from .helpers.student import progress, solve

FOUNDATION = ["01_tensor", "02_activations", "03_layers", "04_losses", "05_autograd", "06_optimizers", "07_training"]
MILESTONES = ["01_perceptron", "02_xor", "03_mlp"]
MARKER = '\nTensor.written_by = "the student"'


def foundation_course(root: Path) -> Path:
    for name in ("pyproject.toml", "nbgrader_config.py"):
        shutil.copy(REPO / name, root / name)
    for slug in FOUNDATION:
        shutil.copytree(REPO / "src" / slug, root / "src" / slug)
        tests = REPO / "tests" / "modules" / f"test_{slug}.py"
        (root / "tests" / "modules").mkdir(parents=True, exist_ok=True)
        shutil.copy(tests, root / "tests" / "modules" / tests.name)
    for name in MILESTONES:
        shutil.copytree(REPO / "milestones" / name, root / "milestones" / name)
    for helper in ("_data.py", "_ui.py"):
        shutil.copy(REPO / "milestones" / helper, root / "milestones" / helper)
    shutil.copytree(REPO / "datasets", root / "datasets")
    course = Course.load(root)
    write(course, plan(course, course.modules), course.modules)
    return root


def in_course(root: Path, *args: str) -> subprocess.CompletedProcess:
    """A real `tito` process whose `tinytorch` is the course copy's package (what the student exported)."""
    env = dict(os.environ, TINYTORCH_ROOT=str(root), PYTHONPATH=str(root), NO_COLOR="1", COLUMNS="160")
    return subprocess.run([sys.executable, "-m", "tito", *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_completing_the_foundation_tier_unlocks_milestones_that_run_on_the_students_code(tmp_path, monkeypatch):
    root = foundation_course(tmp_path)
    monkeypatch.setenv("TINYTORCH_ROOT", str(root))
    monkeypatch.delenv("TINYTORCH_WORKSPACE", raising=False)
    monkeypatch.setenv("COLUMNS", "160")

    locked = in_course(root, "milestone", "run", "03")
    assert locked.returncode == 1 and "locked" in locked.stderr, locked.stdout + locked.stderr

    for slug in FOUNDATION:
        started = CliRunner().invoke(main, ["module", "start", slug[:2], "--no-launch"])
        assert started.exit_code == 0, started.output
        path = solve(root, slug)
        if slug == "01_tensor":
            notebook = load(path)
            cell = [c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("solution")][-1]
            cell["source"] = "".join(cell["source"]) + MARKER
            path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
        done = CliRunner().invoke(main, ["module", "complete", slug[:2]])
        assert done.exit_code == 0, f"{slug}:\n{done.output}"
        module = Course.load(root).resolve(slug)
        origin = origin_of((root / module.package_file).read_text(encoding="utf-8"))
        assert origin and origin.startswith("workspace"), f"{slug}: the package file was not the student's export"

    state = progress(root)["modules"]
    assert all(state[slug]["status"] == "completed" for slug in FOUNDATION)

    for number in ("01", "02", "03"):
        run = in_course(root, "milestone", "run", number, "--quick")
        assert run.returncode == 0, f"milestone {number}:\n{run.stdout}\n{run.stderr}"
        assert "goal reached" in run.stdout

    probe = in_course(root, "system", "info")
    assert probe.returncode == 0
    marker = subprocess.run([sys.executable, "-c", "from tinytorch import Tensor; print(Tensor.written_by)"],
                            cwd=root, env=dict(os.environ, PYTHONPATH=str(root)), capture_output=True, text=True)
    assert marker.stdout.strip() == "the student", marker.stderr
    recorded = progress(root).get("milestones", {})
    # quick runs are kept apart from a milestone's (full) result
    assert all(recorded[name]["quick"]["passed"] and "passed" not in recorded[name] for name in MILESTONES), recorded
