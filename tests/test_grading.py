"""nbgrader round trip on the real module 01 and on a fixture: release, autograde, feedback, bad input."""
from __future__ import annotations

import json
import shutil

import pytest

from tito.core import leaks
from tito.core.errors import TitoError, UsageError
from tito.instructor import nbgrader as grading
from tito.instructor.classgrade.batch import grade_one
from tito.instructor.classgrade.feedback import class_feedback

from .helpers.course import REPO, exported
from .helpers.notebooks import edit_cell, fill_solutions, grade_id, load, save, source_of


@pytest.fixture(scope="module")
def tensor_course(tmp_path_factory):
    """A copy of the real course holding module 01 only, exported and released by nbgrader."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "pyproject.toml", root)
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(REPO / "src" / "01_tensor", root / "src" / "01_tensor")
    course = exported(root)
    module = course.resolve("01")
    report = grading.generate_release(course, module)
    assert report.ok, report.leaks + report.bad_checksums
    return course, module


def test_release_strips_solutions_and_hidden_tests(tensor_course):
    course, module = tensor_course
    release = load(course.root / module.release_file)
    text = "\n".join(source_of(c) for c in release["cells"])
    assert "### BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "raise NotImplementedError()" in text
    assert leaks.find_leaks(course, module, (course.root / module.release_file).parent) == []
    assert sorted((course.root / module.release_file).parent.iterdir()) == [course.root / module.release_file]


def test_full_marks_for_reference_solution_and_zero_for_stubs(tensor_course, tmp_path):
    course, module = tensor_course
    release = load(course.root / module.release_file)
    reference = load(course.root / module.notebook_file)
    solved = save(fill_solutions(json.loads(json.dumps(release)), reference), tmp_path / "solved.ipynb")
    report = grade_one(course, module, "ada", solved)
    assert report.rows and report.score == report.max_score > 0, [(r.grade_id, r.score) for r in report.rows]
    assert report.edited_cells == []

    untouched = save(release, tmp_path / "untouched.ipynb")
    report = grade_one(course, module, "bob", untouched)
    tests = [r for r in report.rows if r.kind == "autograded"]
    assert tests and all(r.score == 0 for r in tests), [(r.grade_id, r.score) for r in tests]

    (feedback,) = class_feedback(course, module, "ada")
    assert feedback.exists() and feedback.suffix == ".html"


def test_edited_locked_test_is_flagged_and_graded_with_the_original(tensor_course, tmp_path):
    course, module = tensor_course
    release = load(course.root / module.release_file)
    test_cell = next(c for c in release["cells"] if c["metadata"].get("nbgrader", {}).get("grade"))
    cheat = edit_cell(json.loads(json.dumps(release)), grade_id(test_cell), "pass  # tests deleted\n")
    report = grade_one(course, module, "mallory", save(cheat, tmp_path / "cheat.ipynb"))
    assert grade_id(test_cell) in report.edited_cells
    row = next(r for r in report.rows if r.grade_id == grade_id(test_cell))
    assert row.score == 0, "the restored original test must fail on the unimplemented stubs"


def test_bad_student_ids_and_notebooks_are_rejected(tensor_course, tmp_path):
    course, module = tensor_course
    for bad in ("../x", "a/b", ".hidden", ""):
        with pytest.raises(UsageError):
            grade_one(course, module, bad, tmp_path / "x.ipynb")
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    with pytest.raises(UsageError, match="not a valid notebook"):
        grade_one(course, module, "carol", broken)
    assert not (course.root / "grading/submitted/carol").exists()


def test_release_refuses_to_overwrite_newer_submissions(tensor_course, tmp_path):
    course, module = tensor_course
    submitted = course.root / "grading/submitted/dave" / module.slug / f"{module.slug}.ipynb"
    submitted.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(course.root / module.release_file, submitted)
    try:
        with pytest.raises(TitoError, match="submitted after the current release"):
            grading.generate_release(course, module)
        assert grading.generate_release(course, module, allow_newer_submissions=True).ok
    finally:
        shutil.rmtree(submitted.parent.parent)


def test_grading_a_new_notebook_for_a_student_keeps_a_copy_of_the_one_it_replaces(tensor_course, tmp_path):
    course, module = tensor_course
    release = load(course.root / module.release_file)
    first = save(release, tmp_path / "first.ipynb")
    grade_one(course, module, "erin", first)
    submitted = course.root / "grading/submitted/erin" / module.slug / f"{module.slug}.ipynb"
    collected = submitted.read_text()
    second = save(fill_solutions(json.loads(json.dumps(release)), load(course.root / module.notebook_file)),
                  tmp_path / "second.ipynb")
    grade_one(course, module, "erin", second)
    copies = list((course.root / ".tito" / "backups").glob(f"*/grading/submitted/erin/{module.slug}/*.ipynb"))
    assert [c.read_text() for c in copies] == [collected]
    assert submitted.read_text() != collected
