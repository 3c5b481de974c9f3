"""`tito source check`: a test that cannot fail is reported as a grading hole."""
from __future__ import annotations

import pytest

from tito.core.course import Course
from tito.instructor import integrity

from .helpers.course import REPO, exported, module_text, write_module


def test_sound_module_passes(adder_course):
    course = exported(adder_course)
    (report,) = integrity.check(course, course.modules, timeout=60)
    assert report.ok, (report.full.failures, report.holes)
    assert report.points == 2 and report.solution_regions == 1 and report.hidden_regions == 1


def test_test_that_asserts_nothing_is_a_grading_hole(course_dir):
    hollow = module_text().replace('assert add(2, 3) == 5, "add(2, 3) should be 5"', "print('looks fine')")
    hollow = hollow.replace("test_add()\n### BEGIN HIDDEN TESTS\nassert add(-1, 1) == 0\n### END HIDDEN TESTS\n",
                            "test_add()\n")
    write_module(course_dir, "01_adder", hollow)
    course = exported(course_dir)
    (report,) = integrity.check(course, course.modules, timeout=60)
    assert not report.ok
    assert [(h.grade_id, h.points) for h in report.holes] == [("test-add", 2.0)]


def test_failing_reference_is_reported_by_cell(course_dir):
    write_module(course_dir, "01_adder", module_text().replace("return a + b", "return a - b"))
    course = exported(course_dir)
    (report,) = integrity.check(course, course.modules, timeout=60)
    assert not report.ok and any("test-add" in f and "AssertionError" in f for f in report.full.failures)


def test_hanging_cell_is_stopped_and_named(course_dir):
    endless = "import time\n    while True: time.sleep(1)"
    write_module(course_dir, "01_adder", module_text().replace("return a + b", endless)
                 .replace("    ### BEGIN SOLUTION\n", "").replace("    ### END SOLUTION\n", "")
                 .replace('"solution": true', '"solution": false'))
    course = exported(course_dir)
    (report,) = integrity.check(course, course.modules, timeout=3)
    assert report.full.aborted and "test-add" in report.full.aborted and "timed out" in report.full.aborted


@pytest.mark.slow
def test_every_course_module_passes_on_the_reference_and_fails_on_the_stubs(reference_package, monkeypatch):
    """The whole course, as `tito source check --all` runs it: no failing reference, no grading hole.
    The kernels import earlier modules from the reference package, not from the checkout's tinytorch/."""
    monkeypatch.setenv("PYTHONPATH", str(reference_package))
    course = Course.load(REPO)
    reports = integrity.check(course, course.modules, timeout=120)
    problems = {r.module.slug: (r.full.failures, r.full.aborted, [h.grade_id for h in r.holes],
                                r.stub.aborted if r.stub else None) for r in reports if not r.ok}
    assert problems == {}
    assert all(r.points > 0 and r.solution_regions > 0 and r.hidden_regions > 0 for r in reports), \
        [(r.module.slug, r.points, r.solution_regions, r.hidden_regions) for r in reports]
