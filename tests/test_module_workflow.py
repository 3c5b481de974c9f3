"""The module workflow the course page promises (issue 13), on a released fixture course with real kernels.

Course: 01_adder .. 05_adder5 (a prerequisite chain) and 06_brackets, whose code, test messages and
package-test ids are full of rich-markup look-alikes (`Adam([w], lr=0.01).step()`, `[adam]`, `[/2]`).
"""
from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tito.cli import main
from tito.core.course import Course
from tito.instructor.export import plan, write

from .helpers.course import REPO, module_text, write_module
from .helpers.notebooks import grade_id, load
from .helpers.notebooks import source_of as source
from .helpers.student import progress, solve

OBJECTIVES = "#     objectives: [Add two numbers exactly, Explain why addition commutes]\n"

BRACKETS = '''
# %% [markdown]
# # Optimizer steps
# A module whose every message looks like rich markup.

# %%
#| default_exp core.brackets

# %% [markdown]
# ## The Adam class

# %% nbgrader={"grade": false, "grade_id": "adam", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Adam:
    def __init__(self, params, lr=0.01):
        self.params, self.lr = params, lr

    def step(self):
        ### BEGIN SOLUTION
        return [p * 2 for p in self.params]
        ### END SOLUTION

# %% [markdown]
# ## Testing a step

# %% nbgrader={"grade": true, "grade_id": "test-adam", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def test_adam():
    w = 1.0
    out = Adam([w], lr=0.01).step()
    assert out == [2.0], f"got {out} [/2] [bold]not bold[/bold]"
test_adam()
'''

BRACKET_PACKAGE_TEST = '''
import pytest
from tinytorch.core.brackets import Adam


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_named_step(name):
    assert Adam([1.0]).step() == [2.0], f"[{name}] step [/2] wrong"
'''


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    from tito.instructor import nbgrader as grading

    root = tmp_path_factory.mktemp("workflow")
    (root / "pyproject.toml").write_text("[project]\nname = 'fixture'\n\n[tool.tinytorch]\ncourse = 'fixture'\n")
    shutil.copy(REPO / "nbgrader_config.py", root)
    first = module_text().replace("#     summary: A fixture module.\n", "#     summary: A fixture module.\n" + OBJECTIVES)
    first += "\n# %% [markdown]\n# ## Wrapping up\n# The test above is not the last cell.\n"
    write_module(root, "01_adder", first)
    for n in range(2, 6):
        write_module(root, f"0{n}_adder{n}", module_text(name=f"adder{n}", title=f"Adder {n}",
                                                         prereqs=f"[0{n - 1}_{'adder' if n == 2 else f'adder{n - 1}'}]"))
    write_module(root, "06_brackets", module_text(name="brackets", title="Brackets", exports="Adam", body=BRACKETS))
    (root / "tests" / "modules").mkdir(parents=True)
    (root / "tests" / "modules" / "test_06_brackets.py").write_text(BRACKET_PACKAGE_TEST)
    course = Course.load(root)
    write(course, plan(course, course.modules), course.modules)
    for ident in ("01", "06"):
        assert grading.generate_release(course, course.resolve(ident)).ok
    shutil.rmtree(root / ".tito", ignore_errors=True)
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


def seed_completed(root: Path, *slugs: str) -> None:
    data = {"version": 1, "last_module": slugs[-1], "milestones": {},
            "modules": {s: {"status": "completed", "started": "2026-01-01T00:00:00+00:00",
                            "completed": "2026-01-02T00:00:00+00:00", "score": 2.0, "max_score": 2.0,
                            "tests": "passed"} for s in slugs}}
    (root / ".tito").mkdir(exist_ok=True)
    (root / ".tito" / "progress.json").write_text(json.dumps(data))


def backups_of(root: Path, slug: str) -> list[Path]:
    return sorted((root / ".tito" / "backups").glob(f"*/**/{slug}.ipynb"))


# --- start / resume / status / complete --------------------------------------------------------------


def test_start_shows_objectives_and_summary_and_backs_up_existing_work(course):
    out = tito("module", "start", "01", "--no-launch")
    assert out.exit_code == 0, out.output
    assert "A fixture module." in out.output and "Learning objectives" in out.output
    assert "Add two numbers exactly" in out.output and "Explain why addition commutes" in out.output
    assert not backups_of(course, "01_adder")  # nothing to back up the first time

    path = solve(course)
    mine = path.read_bytes()
    out = tito("module", "start", "01", "--no-launch")  # CliRunner: not a terminal
    assert out.exit_code == 0, out.output
    assert "Not on a terminal" in out.output and "resuming your notebook" in out.output
    assert path.read_bytes() == mine
    [backup] = backups_of(course, "01_adder")
    assert backup.read_bytes() == mine and str(backup.relative_to(course)) in out.output

    out = tito("module", "start", "01", "--no-launch", "--start-over")
    assert out.exit_code == 0, out.output
    assert path.read_bytes() == (course / "release" / "01_adder" / "01_adder.ipynb").read_bytes()
    assert len(backups_of(course, "01_adder")) == 2


def _pty_run(args: list[str], cwd: Path, answer: str | None, prompt: bytes = b"[resume]:") -> tuple[int, str]:
    """Run tito on a pseudo-terminal (so it is interactive) and answer its prompt (None: press Ctrl-C there)."""
    master, slave = pty.openpty()
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", TERM="dumb")
    proc = subprocess.Popen([sys.executable, "-m", "tito", *args], cwd=cwd, env=env, stdin=slave, stdout=slave,
                            stderr=slave, close_fds=True)
    os.close(slave)
    output, answered, deadline = b"", False, time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            if not answered and prompt in output:  # the end of click's prompt
                if answer is None:  # as a person would: a moment after the question shows
                    time.sleep(0.5)
                    proc.send_signal(signal.SIGINT)
                else:
                    os.write(master, answer.encode() + b"\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        return proc.wait(timeout=30), output.decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def test_ctrl_c_at_a_prompt_is_one_line_and_exit_130(course):
    assert tito("module", "start", "01", "--no-launch").exit_code == 0
    path = solve(course)
    mine = path.read_bytes()
    for args, prompt in ((["module", "start", "01", "--no-launch"], b"[resume]:"),
                         (["module", "reset", "01"], b"[y/N]:")):
        code, output = _pty_run(args, course, None, prompt)
        assert code == 130, (args, output)
        assert "Aborted" not in output and "Traceback" not in output, output
        assert "interrupted" in output.lower(), output
        assert path.read_bytes() == mine


def test_start_on_a_terminal_asks_resume_or_start_over(course):
    assert tito("module", "start", "01", "--no-launch").exit_code == 0
    path = solve(course)
    mine = path.read_bytes()
    code, output = _pty_run(["module", "start", "01", "--no-launch"], course, "resume")
    assert code == 0, output
    assert "Resume, or start over (your work is backed up)?" in output
    assert path.read_bytes() == mine

    code, output = _pty_run(["module", "start", "01", "--no-launch"], course, "start over")
    assert code == 0, output
    assert "Started over" in output
    assert path.read_bytes() == (course / "release" / "01_adder" / "01_adder.ipynb").read_bytes()
    assert any(b.read_bytes() == mine for b in backups_of(course, "01_adder"))


def test_resume_shows_first_stub_last_failures_and_edit_time(course):
    tito("module", "start", "01", "--no-launch")
    out = tito("module", "resume", "01", "--no-launch")
    assert out.exit_code == 0, out.output
    assert "the first is Adding numbers › add" in out.output
    assert "No test run yet" in out.output
    path = course / "workspace" / "01_adder" / "01_adder.ipynb"
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
    assert f"last edited {stamp}" in out.output

    solve(course, body="def add(a, b):\n    return a - b")
    assert tito("module", "test", "01").exit_code == 1
    out = tito("module", "resume", "01", "--no-launch")
    assert out.exit_code == 0, out.output
    assert "Every solution cell (1) has your code in it" in out.output
    assert "0/2 points; 1 failing" in out.output and "test-add: AssertionError: add(2, 3) should be 5" in out.output
    assert not backups_of(course, "01_adder")  # resume makes no backup


def test_status_ends_with_progress_and_next_step_naming_the_tier(course):
    seed_completed(course, "01_adder", "02_adder2", "03_adder3")
    out = tito("module", "status")
    assert out.exit_code == 0, out.output
    lines = [line.strip() for line in out.output.strip().splitlines()]
    assert lines[-2] == "Progress: 3/6 modules (50%)"
    assert lines[-1].startswith("Next: complete module 04 to continue the Foundation tier: `tito module start 04`")


def test_recompleting_01_names_the_real_next_module(course):
    seed_completed(course, "01_adder", "02_adder2", "03_adder3", "04_adder4", "05_adder5")
    tito("module", "start", "01", "--no-launch")
    solve(course)
    out = tito("module", "complete", "01")
    assert out.exit_code == 0, out.output
    assert "Next module: 06 Brackets: `tito module start 06`" in out.output
    assert "start 02" not in out.output


# --- rich markup in student and test text ---------------------------------------------------------------


ADAM = """class Adam:
    def __init__(self, params, lr=0.01):
        self.params, self.lr = params, lr

    def step(self):
        {step}"""


def test_student_and_test_text_is_printed_verbatim(course):
    assert tito("module", "start", "06", "--no-launch", "--force").exit_code == 0
    solve(course, "06_brackets", body=ADAM.format(step='raise ValueError("step [/2] failed for [adam]")'))
    for command in ("test", "complete"):
        out = tito("module", command, "06")
        assert out.exit_code == 1, out.output
        assert out.exception is None or isinstance(out.exception, SystemExit), out.exception
        assert "line 3: out = Adam([w], lr=0.01).step()" in out.output
        assert "ValueError: step [/2] failed for [adam]" in out.output
        assert "test_named_step[adam]" in out.output and "test_named_step[sgd]" in out.output
    # a failing assertion whose message holds markup-like text
    solve(course, "06_brackets", body=ADAM.format(step="return [p * 3 for p in self.params]"))
    out = tito("module", "complete", "06")
    assert out.exit_code == 1
    assert "got [3.0] [/2] [bold]not bold[/bold]" in out.output


def test_binary_garbage_in_progress_recovers(course):
    tito("module", "start", "01", "--no-launch")
    store = course / ".tito" / "progress.json"
    store.write_bytes(b"\x00\xff\xfe garbage")
    out = tito("module", "status")
    assert out.exit_code == 0, out.output
    assert "not UTF-8" in out.output and "rebuilt" in out.output
    assert progress(course)["modules"]["01_adder"]["status"] == "in_progress"
    assert [p.read_bytes() for p in store.parent.glob("progress.*.bad.json")] == [b"\x00\xff\xfe garbage"]

    store.write_bytes(b"\xff\x00")
    solve(course)
    out = tito("module", "complete", "01")
    assert out.exit_code == 0, out.output
    assert progress(course)["modules"]["01_adder"]["status"] == "completed"


# --- course root, broken modules --------------------------------------------------------------------------


def test_course_root_needs_the_tinytorch_marker(tmp_path):
    other = tmp_path / "other-project"
    (other / "src" / "pkg").mkdir(parents=True)
    (other / "pyproject.toml").write_text("[project]\nname = 'other'\n")
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    env.pop("TINYTORCH_ROOT", None)
    env.pop("TITO_ROOT", None)
    for args in (["module", "status"], ["system", "health"], ["module", "start", "01", "--no-launch"]):
        out = subprocess.run([sys.executable, "-m", "tito", *args], cwd=other, env=env, capture_output=True,
                             text=True)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert "no course found" in out.stderr and "[tool.tito]" in out.stderr
        assert "pip install" not in out.stdout + out.stderr
    assert sorted(p.name for p in other.iterdir()) == ["pyproject.toml", "src"]  # no .tito/, no workspace/

    (other / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.tinytorch]\ncourse = 'x'\n")
    write_module(other, "01_adder", module_text())
    shutil.rmtree(other / "src" / "pkg")
    inner = other / "src" / "01_adder"
    out = subprocess.run([sys.executable, "-m", "tito", "module", "list"], cwd=inner, env=env, capture_output=True,
                         text=True)
    assert out.returncode == 0 and "01" in out.stdout and "Adder" in out.stdout, out.stderr


def test_broken_module_header_blocks_only_that_module(course):
    broken = course / "src" / "03_adder3" / "03_adder3.py"
    broken.write_text(broken.read_text().replace("#   tinytorch:\n", "#   tinytorch: [unclosed\n", 1))
    out = tito("module", "status")
    assert out.exit_code == 0, out.output
    assert "warning: module 03_adder3 cannot be read" in out.output and "01" in out.output
    assert tito("module", "start", "01", "--no-launch").exit_code == 0
    out = tito("module", "start", "03", "--no-launch", "--force")
    assert out.exit_code == 2 and "src/03_adder3/03_adder3.py" in out.output and "malformed YAML" in out.output
    assert tito("source", "export", "--all").exit_code == 2  # the whole-course command needs every module

    submission = course / "submission.ipynb"
    shutil.copy(course / "workspace" / "01_adder" / "01_adder.ipynb", submission)
    out = tito("nbgrader", "autograde", "01", "--student", "ada", "--notebook", str(submission))
    assert out.exit_code == 0, out.output
    assert "test-add" in out.output and "0 / 2" in out.output


# --- notebook repair and error messages -------------------------------------------------------------------


def test_locked_cell_restored_where_it_was(course):
    tito("module", "start", "01", "--no-launch")
    path = solve(course)
    notebook = load(path)
    order = [c.get("id") for c in notebook["cells"]]
    notebook["cells"] = [c for c in notebook["cells"] if grade_id(c) != "test-add"]
    path.write_text(json.dumps(notebook, indent=1))
    out = tito("module", "reset", "01", "--locked-cells")
    assert out.exit_code == 0 and "test-add" in out.output, out.output
    assert [c.get("id") for c in load(path)["cells"]] == order


def test_locked_cell_restored_after_the_nearest_surviving_neighbour(course):
    tito("module", "start", "01", "--no-launch")
    path = solve(course)
    notebook = load(path)
    cells = notebook["cells"]
    at = next(i for i, c in enumerate(cells) if grade_id(c) == "test-add")
    before = cells[at - 1]
    extra = {"cell_type": "markdown", "id": "mine", "metadata": {}, "source": "my notes"}
    notebook["cells"] = [c for c in cells if grade_id(c) != "test-add"] + [extra]
    path.write_text(json.dumps(notebook, indent=1))
    assert tito("module", "reset", "01", "--locked-cells").exit_code == 0
    restored = load(path)["cells"]
    ids = [c.get("id") for c in restored]
    assert ids.index(before["id"]) + 1 == next(i for i, c in enumerate(restored) if grade_id(c) == "test-add")
    assert ids[-1] == "mine"


def test_errors_name_cells_by_section_and_grade_id(course):
    tito("module", "start", "01", "--no-launch")
    path = solve(course)
    notebook = load(path)
    code_cells = [c for c in notebook["cells"] if c["cell_type"] == "code" and not grade_id(c)]
    code_cells[-1]["source"] = "import math\nx = (1,"  # an ungraded cell of section "Adding numbers"
    test_cell = next(c for c in notebook["cells"] if grade_id(c) == "test-add")
    test_cell["source"] = source(test_cell) + "\n# edited"
    path.write_text(json.dumps(notebook, indent=1))
    out = tito("module", "complete", "01")
    assert out.exit_code == 1
    assert "Adding numbers › test-add: this test cell was edited" in out.output
    assert "Adding numbers › code cell 2: Python syntax error" in out.output
    assert "cell 3:" not in out.output  # not the bare position JupyterLab does not show


def test_piped_output_does_not_wrap_commands_or_paths(course):
    """Redirected to a file (no terminal, no $COLUMNS), a long line stays one line."""
    deep = course / ("w" * 70) / "space"
    env = dict(os.environ, TINYTORCH_ROOT=str(course), TINYTORCH_WORKSPACE=str(deep), NO_COLOR="1")
    env.pop("COLUMNS", None)
    log = course / "out.txt"
    with open(log, "w") as handle:
        done = subprocess.run([sys.executable, "-m", "tito", "module", "start", "01", "--no-launch"], cwd=course,
                              env=env, stdout=handle, stderr=subprocess.STDOUT)
    text = log.read_text()
    assert done.returncode == 0, text
    notebook = str((deep / "01_adder" / "01_adder.ipynb").relative_to(course))  # shown relative to the course
    assert len(notebook) > 80 and f"ready: {notebook}\n" in text, text
    assert any(line.startswith("  Next: fill in each") and line.rstrip().endswith("`tito module complete 01`.")
               for line in text.splitlines()), text


# --- lint -----------------------------------------------------------------------------------------------


def test_lint_reports_a_test_function_never_called(course_dir):
    text = module_text().replace("test_add()\n### BEGIN HIDDEN", "### BEGIN HIDDEN")
    path = write_module(course_dir, "01_adder", text)
    parsed = Course.load(course_dir).parse(Course.load(course_dir).resolve("01"))
    line = text.split("\n").index("def test_add():") + 1
    assert [(p.line, p.message) for p in parsed.problems] == [
        (line, "test function `test_add` is defined in graded cell `test-add` but never called there, so the cell "
               "passes without testing anything")]
    assert parsed.problems[0].hint == "call it at the end of the cell: `test_add()`" and parsed.problems[0].path == path


def test_lint_reports_an_unclosed_solution_once(course_dir):
    text = module_text().replace("    ### END SOLUTION\n", "", 1)
    write_module(course_dir, "01_adder", text)
    course = Course.load(course_dir)
    problems = course.parse(course.resolve("01")).problems
    line = text.split("\n").index("    ### BEGIN SOLUTION") + 1
    assert [(p.line, p.message) for p in problems] == [(line, "`### BEGIN SOLUTION` is never closed")]
