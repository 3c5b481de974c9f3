"""The linter: every error kind is reported at its file:line, all at once, before anything is written."""
from __future__ import annotations

import pytest

from tito.core.course import Course
from tito.core.errors import LintError, UsageError
from tito.core.source import parse_text
from tito.instructor.export import lint, plan

from .helpers.course import module_text, write_module

PATH = "src/01_adder/01_adder.py"


def problems_of(text: str) -> list[tuple[int, str]]:
    parsed = parse_text(text, PATH)
    return [(p.line, p.message) for p in parsed.problems]


def line_of(text: str, needle: str, nth: int = 1) -> int:
    hits = [i + 1 for i, line in enumerate(text.split("\n")) if needle in line]
    return hits[nth - 1]


def one_problem(text: str, fragment: str, needle: str, nth: int = 1) -> None:
    found = problems_of(text)
    assert [m for _, m in found if fragment in m], f"expected a problem containing {fragment!r}, got {found}"
    lines = [line for line, m in found if fragment in m]
    assert line_of(text, needle, nth) in lines, f"{fragment!r} reported at {lines}, expected line of {needle!r}"


def test_valid_module_has_no_problems():
    assert problems_of(module_text()) == []


def test_malformed_nbgrader_json_is_detected_not_silently_dropped():
    text = module_text().replace('"points": 2, "schema_version"', '"points": 2 "schema_version"')
    one_problem(text, "malformed JSON after `nbgrader=`", '"grade_id": "test-add"')


def test_missing_schema_version():
    text = module_text().replace(', "schema_version": 3, "solution": true', ', "solution": true')
    one_problem(text, "no `schema_version`", '"grade_id": "add"')


def test_duplicate_grade_id():
    second = ('\n# %% nbgrader={"grade": true, "grade_id": "test-add", "locked": true, "points": 1, '
              '"schema_version": 3, "solution": false}\nassert add(1, 1) == 2\n')
    text = module_text() + second
    found = problems_of(text)
    dup = [(l, m) for l, m in found if "duplicate grade_id `test-add`" in m]
    assert dup and dup[0][0] == line_of(text, '"grade_id": "test-add"', 2)
    first = line_of(text, '"grade_id": "test-add"')
    assert f"first used at line {first}" in dup[0][1]


def test_graded_cell_without_points():
    text = module_text().replace('"points": 2, ', "")
    one_problem(text, "has no `points`", '"grade_id": "test-add"')


def test_unclosed_solution_region():
    text = module_text().replace("    ### END SOLUTION\n", "")
    one_problem(text, "`### BEGIN SOLUTION` is never closed", "### BEGIN SOLUTION")


def test_nested_regions():
    text = module_text().replace("    return a + b\n", "    ### BEGIN SOLUTION\n    return a + b\n")
    one_problem(text, "nested inside another region", "### BEGIN SOLUTION", nth=2)


def test_end_without_begin():
    text = module_text().replace("### BEGIN HIDDEN TESTS\n", "")
    one_problem(text, "`### END HIDDEN TESTS` without a matching BEGIN", "### END HIDDEN TESTS")


def test_solution_region_in_non_solution_cell():
    text = module_text().replace('"solution": true', '"solution": false')
    one_problem(text, "solution region in a cell that is not a solution cell", "### BEGIN SOLUTION")


def test_hidden_tests_outside_graded_cell():
    text = module_text() + "\n# %%\nx = 1\n### BEGIN HIDDEN TESTS\nassert x\n### END HIDDEN TESTS\n"
    one_problem(text, "hidden tests outside a graded cell", "### BEGIN HIDDEN TESTS", nth=2)


def test_missing_default_exp():
    text = module_text().replace("#| default_exp core.adder\n", "")
    found = problems_of(text)
    assert any("no `#| default_exp`" in m for _, m in found), found


def test_default_exp_inside_solution_region():
    text = module_text().replace("    return a + b\n", "    #| default_exp core.other\n    return a + b\n")
    one_problem(text, "`#| default_exp` inside a solution region", "#| default_exp core.other")


def test_import_inside_solution_region():
    text = module_text().replace("    return a + b\n", "    import os\n    return a + b\n")
    one_problem(text, "import inside a solution region", "    import os")


def test_export_directive_in_graded_test_cell():
    text = module_text().replace("def test_add():", "#| export\ndef test_add():")
    one_problem(text, "`#| export` in graded test cell `test-add`", '"grade_id": "test-add"')


def test_python_syntax_error_reports_original_source_line():
    text = module_text().replace("    return a + b\n", "    return a +\n")
    one_problem(text, "Python syntax error", "    return a +")


def test_all_problems_reported_together_and_nothing_written(adder_course):
    bad = module_text().replace('"points": 2, ', "").replace("    return a + b\n", "    return a +\n")
    write_module(adder_course, "01_adder", bad)
    course = Course.load(adder_course)
    with pytest.raises(LintError) as info:
        plan(course, course.modules)
    assert len(info.value.problems) == 2
    formatted = info.value.problems[0].format(adder_course)
    assert formatted.startswith("src/01_adder/01_adder.py:") and "fix:" in formatted
    assert not (adder_course / "modules").exists() and not (adder_course / "tinytorch").exists()


def test_malformed_header_yaml_names_the_file(course_dir):
    text = module_text().replace("#     title: Adder", "#     title: [unclosed")
    write_module(course_dir, "01_adder", text)
    with pytest.raises(LintError) as info:
        Course.load(course_dir)
    assert "malformed YAML in header" in info.value.problems[0].message
    assert info.value.problems[0].path.name == "01_adder.py"


def test_module_ids_resolve_in_every_spelling(adder_course):
    course = Course.load(adder_course)
    assert {course.resolve(i).slug for i in ("01", "1", "01_adder", "adder")} == {"01_adder"}
    with pytest.raises(UsageError, match=r"valid modules: 01 \(adder\)"):
        course.resolve("99")


def test_unknown_prerequisite_is_an_error(course_dir):
    write_module(course_dir, "01_adder", module_text(prereqs="[00_nothing]"))
    with pytest.raises(LintError, match="problem"):
        Course.load(course_dir)


def test_lint_clean_module_passes(adder_course):
    course = Course.load(adder_course)
    lint(course, course.modules)
