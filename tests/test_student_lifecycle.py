"""The student lifecycle on a fixture course: start -> edit -> test -> complete -> reset, with real kernels.

Each test works in its own copy of a course that was exported and released once (nbgrader), with
TINYTORCH_ROOT pointing at the copy; the real repo's files are never touched.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tito.cli import main
from tito.core.course import Course
from tito.instructor.export import plan, write

from .helpers.course import REPO, module_text, write_module
from .helpers.notebooks import edit_cell, grade_id, load, save, source_of
from .helpers.student import package_snapshot as snapshot
from .helpers.student import progress, solve

PACKAGE_TEST = '''
from tinytorch.core.adder import add


def test_add_on_exported_code():
    assert add(20, 22) == 42
'''


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """A two-module course, exported and released by nbgrader once for the whole file."""
    from tito.instructor import nbgrader as grading

    root = tmp_path_factory.mktemp("released")
    (root / "pyproject.toml").write_text("[project]\nname = 'fixture'\n\n[tool.tito]\npackage = 'tinytorch'\n"
                                         "tiers = ['foundation', 'architecture', 'optimization', 'capstone']\n")
    shutil.copy(REPO / "nbgrader_config.py", root)
    write_module(root, "01_adder", module_text())
    write_module(root, "02_twice", module_text(name="twice", title="Twice", prereqs="[01_adder]", exports="add"))
    (root / "tests" / "modules").mkdir(parents=True)
    (root / "tests" / "modules" / "test_01_adder.py").write_text(PACKAGE_TEST)
    # The repo suite's conftest renders the reference package: a student's run must never load it.
    (root / "tests" / "conftest.py").write_text("raise RuntimeError('conftest.py loaded by a student run')\n")
    course = Course.load(root)
    write(course, plan(course, course.modules), course.modules)
    for module in course.modules:
        assert grading.generate_release(course, module).ok
    shutil.rmtree(root / ".tito", ignore_errors=True)  # nbgrader's own state; a student starts without any
    (root / "gradebook.db").unlink(missing_ok=True)
    return root


@pytest.fixture
def course(released, tmp_path, monkeypatch) -> Path:
    root = tmp_path / "course"
    shutil.copytree(released, root)
    monkeypatch.setenv("TINYTORCH_ROOT", str(root))
    monkeypatch.delenv("TINYTORCH_WORKSPACE", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    return root


def tito(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def package_python(root: Path, code: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter that imports `tinytorch` from the course copy."""
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True)

def test_start_copies_release_records_progress_and_never_overwrites(course):
    out = tito("module", "start", "01", "--no-launch")
    assert out.exit_code == 0, out.output
    notebook = course / "workspace" / "01_adder" / "01_adder.ipynb"
    assert notebook.read_bytes() == (course / "release" / "01_adder" / "01_adder.ipynb").read_bytes()
    assert "workspace/01_adder/01_adder.ipynb" in out.output and "tito module complete 01" in out.output
    data = progress(course)
    assert data["version"] == 1 and data["modules"]["01_adder"]["status"] == "in_progress"
    assert data["last_module"] == "01_adder"

    solve(course)
    mine = notebook.read_bytes()
    out = tito("module", "start", "01", "--no-launch")
    assert out.exit_code == 0 and "already" in out.output
    assert notebook.read_bytes() == mine


def test_start_refuses_missing_prerequisite_unless_forced(course):
    out = tito("module", "start", "02", "--no-launch")
    assert out.exit_code == 1
    assert "01_adder" in out.output and "tito module start 01" in out.output
    assert not (course / "workspace" / "02_twice").exists()
    assert tito("module", "start", "02", "--no-launch", "--force").exit_code == 0
    assert (course / "workspace" / "02_twice" / "02_twice.ipynb").exists()


def test_test_reports_each_graded_cell_with_the_failing_line(course):
    tito("module", "start", "01", "--no-launch")
    out = tito("module", "test", "01")
    assert out.exit_code == 1, out.output
    assert "test-add" in out.output and "FAIL" in out.output and "0/2" in out.output
    assert 'line 2: assert add(2, 3) == 5, "add(2, 3) should be 5"' in out.output
    assert "NotImplementedError" in out.output

    solve(course)
    out = tito("module", "test", "01")
    assert out.exit_code == 0, out.output
    assert re.search(r"test-add\W+pass\W+2/2", out.output), out.output
    assert "FAIL" not in out.output and "Score: 2/2" in out.output and "1/1 passed" in out.output


def test_complete_exports_the_students_code(course):
    reference = (course / "tinytorch" / "core" / "adder.py").read_bytes()
    tito("module", "start", "01", "--no-launch")
    solve(course, extra='\nSTUDENT_MARKER = "written by the student"')
    out = tito("module", "complete", "01")
    assert out.exit_code == 0, out.output
    assert "from tinytorch.core.adder import add" in out.output and "tito module start 02" in out.output

    package_file = course / "tinytorch" / "core" / "adder.py"
    text = package_file.read_text()
    assert text != reference.decode()
    assert "# tito-origin: workspace/01_adder/01_adder.ipynb" in text and "DO NOT EDIT" in text
    assert package_file.stat().st_mode & 0o222 == 0  # read-only
    run = package_python(course, "from tinytorch import add; import tinytorch.core.adder as m; "
                                 "print(add(1, 2), m.STUDENT_MARKER)")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "3 written by the student"

    entry = progress(course)["modules"]["01_adder"]
    assert entry["status"] == "completed" and entry["score"] == entry["max_score"] == 2
    assert entry["tests"] == "passed" and entry["completed"].startswith("20")
    # The prerequisite is met now.
    assert tito("module", "start", "02", "--no-launch").exit_code == 0


def test_complete_with_a_failing_notebook_test_changes_nothing(course):
    tito("module", "start", "01", "--no-launch")
    solve(course, body="def add(a, b):\n    return a - b")
    before = snapshot(course)
    out = tito("module", "complete", "01")
    assert out.exit_code == 1, out.output
    assert "add(2, 3) should be 5" in out.output and "unchanged" in out.output
    assert snapshot(course) == before


def test_complete_with_a_failing_package_test_changes_nothing(course):
    """The notebook passes, but the pytest file (run on the staged export) does not."""
    (course / "tests" / "modules" / "test_01_adder.py").write_text(
        PACKAGE_TEST + "\n\ndef test_negative():\n    assert add(-2, -3) == -5, 'negatives'\n")
    tito("module", "start", "01", "--no-launch")
    solve(course, body="def add(a, b):\n    return abs(a + b)")
    before = snapshot(course)
    out = tito("module", "complete", "01")
    assert out.exit_code == 1, out.output
    assert "test_negative" in out.output and "1/2 passed" in out.output
    assert snapshot(course) == before


def test_edited_locked_test_is_refused_with_a_way_back(course):
    tito("module", "start", "01", "--no-launch")
    path = solve(course)
    save(edit_cell(load(path), "test-add", "assert True"), path)
    before = snapshot(course)
    out = tito("module", "complete", "01")
    assert out.exit_code == 1
    assert "test-add" in out.output and "edited" in out.output
    assert "tito module reset 01 --locked-cells" in out.output
    assert snapshot(course) == before

    out = tito("module", "reset", "01", "--locked-cells")
    assert out.exit_code == 0 and "test-add" in out.output
    cell = next(c for c in load(path)["cells"] if grade_id(c) == "test-add")
    assert "assert add(2, 3) == 5" in source_of(cell)
    assert tito("module", "complete", "01").exit_code == 0  # the student's solution was kept


def test_syntax_error_and_broken_json_are_reported_without_running(course):
    tito("module", "start", "01", "--no-launch")
    path = solve(course, body="def add(a, b)\n    return a + b")
    out = tito("module", "complete", "01")
    assert out.exit_code == 1 and "add" in out.output and "syntax error" in out.output
    path.write_text(path.read_text()[:-20])
    out = tito("module", "complete", "01")
    assert out.exit_code == 1 and "not valid JSON" in out.output
    assert progress(course)["modules"]["01_adder"]["status"] == "in_progress"
    assert not (course / "tinytorch" / "core" / "adder.py").read_text().count("tito-origin: workspace")


def test_skip_tests_is_recorded(course):
    tito("module", "start", "01", "--no-launch")
    solve(course, body="def add(a, b):\n    return 0")
    out = tito("module", "complete", "01", "--skip-tests")
    assert out.exit_code == 0, out.output
    entry = progress(course)["modules"]["01_adder"]
    assert entry["tests"] == "skipped" and entry["score"] is None
    assert "tests skipped" in tito("module", "status").output


def test_reset_backs_up_restores_and_forgets_completion(course):
    reference = (course / "tinytorch" / "core" / "adder.py").read_bytes()
    tito("module", "start", "01", "--no-launch")
    path = solve(course, extra="\nMINE = 1")
    mine = path.read_bytes()
    assert tito("module", "complete", "01").exit_code == 0
    assert tito("module", "reset", "01", input="n\n").exit_code == 1  # declined: nothing happens
    assert path.read_bytes() == mine

    out = tito("module", "reset", "01", "--yes")
    assert out.exit_code == 0, out.output
    assert path.read_bytes() == (course / "release" / "01_adder" / "01_adder.ipynb").read_bytes()
    assert (course / "tinytorch" / "core" / "adder.py").read_bytes() == reference
    assert progress(course)["modules"]["01_adder"]["status"] == "in_progress"
    # one copy as it passed `complete`, one made by the reset: both are the student's notebook
    backups = sorted((course / ".tito" / "backups").rglob("01_adder.ipynb"))
    assert [b.read_bytes() for b in backups] == [mine, mine]
    assert [b.relative_to(course / ".tito" / "backups").parts[0].split("-")[-1] for b in backups] == ["completed", "reset"]

    out = tito("module", "reset", "01", "--list-backups")
    stamp = backups[0].relative_to(course / ".tito" / "backups").parts[0]
    assert stamp in out.output
    out = tito("module", "reset", "01", "--restore", stamp, "--yes")
    assert out.exit_code == 0, out.output
    assert path.read_bytes() == mine


def test_reset_in_the_course_repository_says_the_reference_code_comes_back(course):
    tito("module", "start", "01", "--no-launch")
    solve(course, extra="\nMINE = 1")
    assert tito("module", "complete", "01").exit_code == 0
    tito("module", "start", "02", "--no-launch")
    solve(course, "02_twice")
    assert tito("module", "complete", "02").exit_code == 0
    mine = (course / "tinytorch" / "core" / "adder.py").read_bytes()

    out = tito("module", "reset", "01")  # no terminal, no answer: explained, then how to confirm (exit 2)
    said = " ".join(out.output.split())
    assert out.exit_code == 2, out.output
    assert "tinytorch/core/adder.py goes back to the reference code (your export is backed up first)" in said
    assert "what depends on it: you completed 02 (twice)" in said
    assert "They keep working, on the reference code of module 01." in said and "removed" not in said
    assert "`tito module reset 01 --yes`" in said and "Aborted" not in said
    assert (course / "tinytorch" / "core" / "adder.py").read_bytes() == mine

    assert tito("module", "reset", "01", "--yes").exit_code == 0
    status = tito("module", "status").output
    row = next(line for line in status.splitlines() if line.startswith("│ 02"))
    assert "completed" in row and "needs" not in row  # the reference code of 01 is there for it


def test_source_export_keeps_the_students_package_file(course):
    tito("module", "start", "01", "--no-launch")
    solve(course, extra="\nMINE = 1")
    assert tito("module", "complete", "01").exit_code == 0
    package_file = course / "tinytorch" / "core" / "adder.py"
    mine = package_file.read_bytes()
    # make the reference output differ, so export wants to write this file
    write_module(course, "01_adder", module_text().replace("Return a + b.", "Return the sum."))
    out = tito("source", "export", "01")
    assert out.exit_code == 0 and "kept-student" in out.output
    assert package_file.read_bytes() == mine
    out = tito("source", "export", "01", "--force")
    assert out.exit_code == 0 and "backed up" in out.output
    assert b"tito-origin: src/01_adder/01_adder.py" in package_file.read_bytes()
    assert mine in [p.read_bytes() for p in (course / ".tito" / "backups").rglob("adder.py")]


def test_workspace_location_from_environment(course, tmp_path, monkeypatch):
    elsewhere = tmp_path / "my-notebooks"
    monkeypatch.setenv("TINYTORCH_WORKSPACE", str(elsewhere))
    assert tito("module", "start", "01", "--no-launch").exit_code == 0
    assert (elsewhere / "01_adder" / "01_adder.ipynb").exists()
    assert not (course / "workspace").exists()
    solve_path = elsewhere / "01_adder" / "01_adder.ipynb"
    save(edit_cell(load(solve_path), "add", "#| export\ndef add(a, b):\n    return a + b"), solve_path)
    assert tito("module", "complete", "01").exit_code == 0
    origin = (course / "tinytorch" / "core" / "adder.py").read_text().split("\n")[1]
    assert origin == f"# tito-origin: workspace:{solve_path}"  # still recognised as student work


def test_status_list_and_resume(course):
    out = tito("module", "status")
    assert out.exit_code == 0 and "not started" in out.output and "tito module start 01" in out.output
    assert "0/2" in out.output  # tier progress
    out = tito("module", "resume", "--no-launch")
    assert out.exit_code == 1 and "tito module start 01" in out.output
    tito("module", "start", "01", "--no-launch")
    solve(course)
    assert tito("module", "complete", "01").exit_code == 0
    out = tito("module", "status")
    assert "completed" in out.output and "2/2" in out.output and "1/2" in out.output
    assert "tito module start 02" in out.output
    out = tito("module", "resume", "--no-launch")
    assert out.exit_code == 0 and "01_adder" in out.output
    out = tito("module", "list")
    assert out.exit_code == 0 and "Twice" in out.output and "A fixture module." in out.output


def test_corrupt_progress_is_moved_aside_and_rebuilt(course):
    tito("module", "start", "01", "--no-launch")
    solve(course)
    assert tito("module", "complete", "01").exit_code == 0
    store = course / ".tito" / "progress.json"
    store.write_text('{"version": 1, "modules": ')
    out = tito("module", "status")
    assert out.exit_code == 0, out.output
    assert "unreadable" in out.output and "rebuilt" in out.output
    assert "completed" in out.output  # the package file shows the export
    aside = list((course / ".tito").glob("progress.*.bad.json"))
    assert [p.read_text() for p in aside] == ['{"version": 1, "modules": ']
    assert progress(course)["modules"]["01_adder"]["status"] == "completed"
