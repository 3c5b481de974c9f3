"""Mutants: wrong implementations declared in the source must be caught by a graded cell, and never shown."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tito.cli import main
from tito.core import leaks
from tito.core.course import Course
from tito.core.mutants import Mutant, MutantError, mutate_source
from tito.core.source import parse_text
from tito.instructor import integrity
from tito.instructor import nbgrader as grading

from .helpers.course import REPO, exported, module_text, write_module

GRADED_MARKER = '# %% nbgrader={"grade": true, "grade_id": "test-add"'


def with_mutants(*cells: str) -> str:
    """The adder fixture module with mutant cells right after its solution cell."""
    block = "\n".join(cells) + "\n"
    text = module_text()
    return text.replace(GRADED_MARKER, block + GRADED_MARKER, 1)


def mutant_cell(meta: dict, body: str) -> str:
    return f"# %% mutant={json.dumps(meta)}\n{body}\n"


SUBTRACTS = mutant_cell({"name": "subtracts", "target": "add", "catches": ["test-add"]},
                        "# A sign slip.\nreturn a - b")
# Right on every input the graded cell tries, wrong on large ones: no test catches it.
LARGE_WRONG = mutant_cell({"name": "large-inputs-wrong", "target": "add"},
                          "# Breaks above 100.\nreturn a + b if a < 100 else 0")


def problems_of(text: str) -> list[str]:
    return [f"{p.line}: {p.message}" for p in parse_text(text, "m.py").problems]


# --- syntax and lint ---------------------------------------------------------------------------------


def test_mutant_cells_are_parsed_out_of_the_cells():
    parsed = parse_text(with_mutants(SUBTRACTS), "m.py")
    assert parsed.problems == []
    assert [m.name for m in parsed.mutants] == ["subtracts"]
    (mutant,) = parsed.mutants
    assert (mutant.target, mutant.catches, mutant.code, mutant.description) == \
        ("add", ("test-add",), "return a - b", "A sign slip.")
    assert not any("mutant" in c.metadata for c in parsed.cells)
    assert "return a - b" in parsed.mutant_lines()


@pytest.mark.parametrize("cell, message", [
    (mutant_cell({"name": "x", "target": "nope"}, "return 0"), "unknown target `nope`"),
    (mutant_cell({"name": "x", "target": "test-add"}, "return 0"), "unknown target `test-add`"),
    (mutant_cell({"name": "x", "target": "add", "region": 1}, "return 0"), "region 1 does not exist"),
    (mutant_cell({"name": "x", "target": "add", "replace": "a * b"}, "a - b"), "does not occur"),
    (mutant_cell({"name": "x", "target": "add", "replace": "r"}, "b"), "occurs 2 times"),
    (mutant_cell({"name": "x", "target": "add"}, "return (a +"), "does not compile"),
    (mutant_cell({"name": "x", "target": "add", "catches": ["add"]}, "return 0"), "`catches` names `add`"),
    (mutant_cell({"name": "Bad Name", "target": "add"}, "return 0"), "not lowercase letters"),
    (mutant_cell({"name": "x", "target": "add", "catch": ["test-add"]}, "return 0"), "unknown mutant key(s) catch"),
    (mutant_cell({"name": "x", "target": "add"}, "# only a description"), "has no code"),
    ('# %% mutant={"name": "x", "target": "add"\nreturn 0\n', "malformed JSON after `mutant=`"),
    ("# %% mutant=[1, 2]\nreturn 0\n", "must be a JSON object"),
    (mutant_cell({"name": "x", "target": "add"}, "### BEGIN SOLUTION\nreturn 0"), "region markers"),
])
def test_each_lint_rule_names_the_line_and_a_fix(cell, message):
    text = with_mutants(cell)
    line = text.split("\n").index(cell.split("\n")[0]) + 1
    parsed = parse_text(text, "m.py")
    found = [p for p in parsed.problems if message in p.message]
    assert found, [p.message for p in parsed.problems]
    assert found[0].line in (line, line + 1) and found[0].hint
    assert parsed.mutants == []


def test_duplicate_names_and_a_mutant_far_from_its_target_are_errors():
    text = with_mutants(SUBTRACTS, SUBTRACTS)
    assert any("duplicate mutant name `subtracts`" in p for p in problems_of(text))
    far = module_text() + "\n" + SUBTRACTS
    assert any("not right after its target `add`" in p for p in problems_of(far))


def test_lint_command_exits_2_with_file_and_line(course_dir, monkeypatch):
    write_module(course_dir, "01_adder", with_mutants(mutant_cell({"name": "x", "target": "nope"}, "return 0")))
    monkeypatch.setenv("TINYTORCH_ROOT", str(course_dir))
    out = CliRunner().invoke(main, ["source", "lint", "01"])
    assert out.exit_code == 2
    assert "01_adder.py:" in out.output and "unknown target `nope`" in out.output


def test_replace_reindents_a_multi_line_piece():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    for i in range(3):\n        x = x + i\n    return x\n" \
             "    ### END SOLUTION"
    mutant = Mutant("m", "f", 0, "x = x + i", (), "x = x * i\nx = x + 1", "", 1)
    assert mutate_source(source, mutant) == ("def f(x):\n    ### BEGIN SOLUTION\n    for i in range(3):\n"
                                             "        x = x * i\n        x = x + 1\n    return x\n    ### END SOLUTION")
    # A multi-line piece written dedented matches whole lines at their own indentation; an empty body deletes.
    nested = Mutant("m", "f", 0, "x = x * i\nreturn x", (), "", "", 1)
    with pytest.raises(MutantError, match="does not occur"):
        mutate_source(source, nested)
    loop = Mutant("m", "f", 0, "for i in range(3):\n    x = x + i", (), "x = 0", "", 1)
    assert mutate_source(source, loop) == ("def f(x):\n    ### BEGIN SOLUTION\n    x = 0\n    return x\n"
                                           "    ### END SOLUTION")
    inner = Mutant("m", "f", 0, "x = x + i\n", (), "", "", 1)
    assert "x = x + i" not in mutate_source(source.replace("x = x + i", "x = x + i\n        x = -x"), inner)
    with pytest.raises(MutantError, match="region 2 does not exist"):
        mutate_source(source, Mutant("m", "f", 2, None, (), "pass", "", 1))


# --- tito source check ---------------------------------------------------------------------------------


def test_a_surviving_mutant_fails_the_check_and_is_named(course_dir, monkeypatch):
    write_module(course_dir, "01_adder", with_mutants(SUBTRACTS, LARGE_WRONG))
    exported(course_dir)
    monkeypatch.setenv("TINYTORCH_ROOT", str(course_dir))
    out = CliRunner().invoke(main, ["source", "check", "01"])
    assert out.exit_code == 1, out.output
    assert "SURVIVING MUTANT" in out.output and "large-inputs-wrong" in out.output and "test-add" in out.output
    assert "subtracts" not in out.output.split("SURVIVING MUTANT", 1)[1]
    assert "1/2" in out.output  # killed/total in the summary table


def test_killed_mutants_pass_and_mutants_only_runs_just_them(course_dir, monkeypatch):
    write_module(course_dir, "01_adder", with_mutants(SUBTRACTS))
    course = exported(course_dir)
    (report,) = integrity.check(course, course.modules, timeout=60)
    assert report.ok, (report.full.failures, report.holes, report.survivors)
    assert [(m.mutant.name, m.killed_by) for m in report.mutants] == [("subtracts", ["test-add"])]
    monkeypatch.setenv("TINYTORCH_ROOT", str(course_dir))
    out = CliRunner().invoke(main, ["source", "check", "01", "--mutants-only"])
    assert out.exit_code == 0, out.output
    assert "1/1" in out.output and "skipped" in out.output


def test_only_the_cells_in_catches_count(course_dir):
    second_test = ('# %% nbgrader={"grade": true, "grade_id": "test-add-more", "locked": true, "points": 1, '
                   '"schema_version": 3, "solution": false, "task": false}\nassert add(200, 1) == 201\n')
    wrong = mutant_cell({"name": "large-inputs-wrong", "target": "add", "catches": ["test-add"]},
                        "return a + b if a < 100 else 0")
    write_module(course_dir, "01_adder", with_mutants(wrong) + "\n" + second_test)
    course = exported(course_dir)
    (report,) = integrity.check(course, course.modules, timeout=60, mutants_only=True)
    (outcome,) = report.mutants
    assert not outcome.killed and outcome.passed == ["test-add"]


# --- stale releases (issue 13) ---------------------------------------------------------------------------


def test_check_uses_the_current_source_not_a_stale_committed_release(course_dir, monkeypatch):
    write_module(course_dir, "01_adder", module_text())
    course = exported(course_dir)
    assert grading.generate_release(course, course.resolve("01")).ok  # the committed release
    # Then the test is weakened in src: it no longer exercises add(), so it passes on the stub.
    weak = module_text().replace('assert add(2, 3) == 5, "add(2, 3) should be 5"', "assert 2 + 3 == 5")
    weak = weak.replace("### BEGIN HIDDEN TESTS\nassert add(-1, 1) == 0\n### END HIDDEN TESTS\n", "")
    write_module(course_dir, "01_adder", weak)
    release = (course_dir / "release/01_adder/01_adder.ipynb").read_bytes()
    monkeypatch.setenv("TINYTORCH_ROOT", str(course_dir))
    out = CliRunner().invoke(main, ["source", "check", "01"])
    assert out.exit_code == 1, out.output
    assert "GRADING HOLE" in out.output and "test-add" in out.output
    assert "release/01_adder/01_adder.ipynb is stale" in out.output
    assert (course_dir / "release/01_adder/01_adder.ipynb").read_bytes() == release, "the check writes no release"


# --- mutants never reach a student ---------------------------------------------------------------------------


def test_mutants_appear_in_no_generated_file_and_count_as_secrets(course_dir):
    marker = "return a + b + mutant_only_offset"
    write_module(course_dir, "01_adder", with_mutants(
        mutant_cell({"name": "offset", "target": "add"}, "# Adds a stray offset.\n" + marker), SUBTRACTS))
    course = exported(course_dir)
    module = course.resolve("01")
    assert grading.generate_release(course, module).ok
    for folder in ("modules", "release", "tinytorch"):
        for path in (course_dir / folder).rglob("*"):
            if path.is_file() and path.suffix in (".ipynb", ".py"):
                text = path.read_text(encoding="utf-8")
                assert "mutant_only_offset" not in text and "mutant=" not in text and "stray offset" not in text, path
    secrets = leaks.leak_lines(course, module)
    assert marker in secrets and "return a - b" in secrets


def test_every_course_mutant_lints_and_stays_out_of_the_committed_outputs():
    course = Course.load(REPO)
    for module in course.modules:
        parsed = course.parse(module)
        assert not [p for p in parsed.problems if "mutant" in p.message], module.slug
        everywhere_else = {l.strip() for c in parsed.cells for l in c.lines}
        for other in course.modules:  # a line any source shows openly is no secret (leaks.secret_lines)
            everywhere_else |= leaks.public_lines(course, other)
        mutant_code = leaks.significant([l for m in parsed.mutants for l in m.code.split("\n")]) - everywhere_else
        assert mutant_code <= leaks.leak_lines(course, module), module.slug
        for path in (REPO / module.notebook_file, REPO / module.release_file, REPO / module.package_file):
            if not path.exists():
                continue
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".ipynb":
                text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
            assert not ({l.strip() for l in text.split("\n")} & mutant_code), (path, module.slug)
            assert '"mutant"' not in text and "mutant={" not in text, path
