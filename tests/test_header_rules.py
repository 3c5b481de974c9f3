"""Header fields are held to the code and to the milestones: `exports:` and `milestone:` lint rules."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tito.core.course import Course
from tito.core.errors import LintError
from tito.core.milestones import discover, unlocked_by
from tito.instructor.export import lint

from .helpers.course import REPO, module_text, write_module


def milestone(root: Path, slug: str, requires: list[str]) -> None:
    folder = root / "milestones" / slug
    folder.mkdir(parents=True)
    (folder / "run.py").write_text(
        f'MILESTONE = {{"title": "{slug}", "year": "1958", "requires": {requires!r}, "goal": "learn"}}\n\n'
        "def run(quick=False, console=None):\n    return {'passed': True, 'metrics': {}}\n")


def with_milestone_field(text: str, value: str) -> str:
    changed = re.sub(r"(#     exports: \[.*\]\n)", rf"\1#     milestone: {value}\n", text, count=1)
    assert changed != text
    return changed


def problems(root: Path) -> list[tuple[str, int, str]]:
    course = Course.load(root)
    with pytest.raises(LintError) as caught:
        lint(course, course.modules)
    return [(p.path.name, p.line, p.message) for p in caught.value.problems]


def header_line(path: Path, key: str) -> int:
    return next(i + 1 for i, l in enumerate(path.read_text().split("\n")) if l.startswith(f"#     {key}:"))


def test_a_misspelt_export_is_an_error_at_the_header_field(adder_course):
    src = write_module(adder_course, "01_adder", module_text(exports="add, addd"))
    found = problems(adder_course)
    assert found == [("01_adder.py", header_line(src, "exports"),
                      "`exports:` lists `addd`, which no `#| export` cell defines")]


def test_names_from_any_export_cell_count_but_not_from_test_cells(adder_course):
    write_module(adder_course, "01_adder", module_text(exports="add, math"))
    course = Course.load(adder_course)
    lint(course, course.modules)  # `import math` sits in an export cell: defined
    write_module(adder_course, "01_adder", module_text(exports="add, test_add"))
    assert "`test_add`" in problems(adder_course)[0][2], "a graded test cell never reaches the package"


def test_the_cli_reports_file_line_and_exits_2(adder_course):
    src = write_module(adder_course, "01_adder", module_text(exports="addd"))
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    env.pop("TINYTORCH_ROOT", None)
    out = subprocess.run([sys.executable, "-m", "tito", "source", "export", "--all"], cwd=adder_course,
                         capture_output=True, text=True, env=env)
    assert out.returncode == 2
    assert f"src/01_adder/01_adder.py:{header_line(src, 'exports')}: error: `exports:` lists `addd`" in out.stderr
    assert not (adder_course / "tinytorch").exists(), "nothing is written"


def test_milestone_must_be_required_by_the_module(adder_course):
    milestone(adder_course, "01_first", ["01_adder"])
    write_module(adder_course, "02_other", with_milestone_field(module_text(name="other", title="Other"), "02_second"))
    milestone(adder_course, "02_second", ["02_other"])
    src = write_module(adder_course, "01_adder", with_milestone_field(module_text(), "[01_first, 02_second]"))
    found = problems(adder_course)
    assert ("01_adder.py", header_line(src, "milestone"),
            "`milestone: 02_second`, but 02_second/run.py does not require 01_adder") in found
    assert len(found) == 1, found


def test_milestone_must_exist(adder_course):
    milestone(adder_course, "01_first", ["01_adder"])
    src = write_module(adder_course, "01_adder", with_milestone_field(module_text(), "[01_first, 07_nope]"))
    (name, line, message), = problems(adder_course)
    assert line == header_line(src, "milestone") and message == "`milestone: 07_nope` names no milestone"


def test_a_module_that_unlocks_a_milestone_must_say_so(adder_course):
    milestone(adder_course, "01_first", ["01_adder"])
    src = write_module(adder_course, "01_adder", with_milestone_field(module_text(), "null"))
    (name, line, message), = problems(adder_course)
    assert line == header_line(src, "milestone") and "unlocks 01_first" in message
    write_module(adder_course, "01_adder", with_milestone_field(module_text(), "01_first"))
    course = Course.load(adder_course)
    lint(course, course.modules)
    assert course.modules[0].milestones == ("01_first",)


def test_unlocks_come_from_the_requires_alone():
    course = Course.load(REPO)
    found = discover(course)
    by_module = {m.slug: [x.slug for x in unlocked_by(found, m.slug)] for m in course.modules}
    assert by_module["06_optimizers"] == ["01_perceptron", "02_xor"]
    assert by_module["07_training"] == ["03_mlp"]
    assert by_module["01_tensor"] == []
    for module in course.modules:  # and every header agrees with them (the course lints clean)
        assert list(module.milestones) == by_module[module.slug], module.slug


def test_a_course_copy_without_milestones_checks_exports_only(adder_course):
    write_module(adder_course, "01_adder", with_milestone_field(module_text(exports="addd"), "01_first"))
    assert [m for _, _, m in problems(adder_course)] == ["`exports:` lists `addd`, which no `#| export` cell defines"]
    (adder_course / "milestones").mkdir()
    assert "`milestone: 01_first` names no milestone" in [m for _, _, m in problems(adder_course)]
