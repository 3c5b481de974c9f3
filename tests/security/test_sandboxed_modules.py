"""Honest work scores the same in the sandbox: later modules build on the package of the earlier ones and on
the datasets, which are all the sandbox gets of the course (never the graded module's own answers)."""
from __future__ import annotations

import json
import shutil

import pytest

from tito.core.course import Course
from tito.instructor.classgrade.batch import grade_class
from tito.instructor.classgrade.sandbox_files import sandbox_files

from ..helpers.course import REPO
from ..helpers.notebooks import fill_solutions, load

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    for name in ("pyproject.toml", "nbgrader_config.py", "src", "modules", "release", "datasets"):
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, root / name)
    return Course.load(root)


def test_the_sandbox_gets_the_earlier_modules_and_the_data_but_not_the_graded_module(course):
    files = sandbox_files(course, course.resolve("08"))
    packaged = {m.package_file.as_posix() for m in course.modules}
    assert {m.package_file.as_posix() for m in course.modules if m.number < 8} <= set(files)
    assert not (packaged - {m.package_file.as_posix() for m in course.modules if m.number < 8}) & set(files)
    assert "datasets/digits.npz" in files
    assert not [f for f in files if f.startswith(("src/", "modules/", "release/")) or f.endswith(".ipynb")]


@pytest.mark.parametrize("module_id", ["05", "08"])
def test_a_perfect_submission_gets_full_marks_sandboxed_and_bare(course, module_id):
    module = course.resolve(module_id)
    release, reference = load(course.root / module.release_file), load(course.root / module.notebook_file)
    folder = course.root / "grading" / "submitted" / "ada" / module.slug
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module.slug}.ipynb").write_text(json.dumps(fill_solutions(json.loads(json.dumps(release)), reference)))
    for sandbox in (True, False):
        (result,) = grade_class(course, module, workers=1, force=True, sandbox=sandbox).results
        assert result.ok and result.score == result.max_score > 0, (sandbox, result.flags, result.error[-500:])
        assert result.flags == [], (sandbox, result.flags)
