"""Stopping tito: endless loops hit the cell timeout, Ctrl-C and SIGTERM exit 130/143 with one line, and no
kernel (nor the pytest run beside it) outlives tito, even a SIGKILLed one.

Every tito here is a real subprocess on a throwaway course. Processes tito started are recognised by a
marker in their environment (kernels and pytest inherit it), so only this test's processes are counted.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from tito.core.course import Course
from tito.instructor.export import plan, write

from .helpers.course import REPO, module_text, write_module

ENDLESS = "#| export\ndef add(a, b):\n    while True:\n        pass\n"
CORRECT = "#| export\ndef add(a, b):\n    return a + b\n"
PACKAGE_TEST = "from tinytorch.core.adder import add\n\n\ndef test_add_on_exported_code():\n    assert add(20, 22) == 42\n"
SLOW_PACKAGE_TEST = PACKAGE_TEST + """

def test_that_takes_long():
    import os, time
    open(os.environ["SLOW_TEST_FLAG"], "w").close()
    time.sleep(600)
"""
UNCHANGED = "interrupted; your package and progress are unchanged"


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """A one-module course, exported and released by nbgrader once for this file."""
    from tito.instructor import nbgrader as grading

    root = tmp_path_factory.mktemp("released")
    (root / "pyproject.toml").write_text("[project]\nname = 'fixture'\n\n[tool.tito]\npackage = 'tinytorch'\n"
                                         "tiers = ['foundation', 'architecture', 'optimization', 'capstone']\n")
    shutil.copy(REPO / "nbgrader_config.py", root)
    write_module(root, "01_adder", module_text())
    (root / "tests" / "modules").mkdir(parents=True)
    (root / "tests" / "modules" / "test_01_adder.py").write_text(PACKAGE_TEST)
    course = Course.load(root)
    write(course, plan(course, course.modules), course.modules)
    assert grading.generate_release(course, course.modules[0]).ok
    shutil.rmtree(root / ".tito", ignore_errors=True)
    (root / "gradebook.db").unlink(missing_ok=True)
    return root


class Tito:
    """Runs `tito` in a course as a subprocess, marking every process it starts."""

    def __init__(self, root: Path, **extra_env: str):
        self.root = root
        self.mark = f"tito-test-{uuid.uuid4().hex}"
        self.extra_env = extra_env

    def env(self) -> dict:
        env = dict(os.environ, TINYTORCH_ROOT=str(self.root), NO_COLOR="1", COLUMNS="200", TITO_TEST_MARK=self.mark,
                   **self.extra_env)
        env.pop("TINYTORCH_WORKSPACE", None)
        return env

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tito", *args], cwd=self.root, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)

    def start(self, *args: str) -> subprocess.Popen:
        # its own session, as a shell job: Ctrl-C is a SIGINT to the whole process group
        return subprocess.Popen([sys.executable, "-m", "tito", *args], cwd=self.root, env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)

    def children(self, tito: subprocess.Popen | None = None) -> list[psutil.Process]:
        """Live processes carrying this test's mark, other than tito itself."""
        found = []
        for proc in psutil.process_iter(["pid"]):
            if tito is not None and proc.pid == tito.pid:
                continue
            try:
                if proc.status() != psutil.STATUS_ZOMBIE and proc.environ().get("TITO_TEST_MARK") == self.mark:
                    found.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    def kernels(self, tito: subprocess.Popen | None = None) -> list[psutil.Process]:
        return [p for p in self.children(tito) if "ipykernel_launcher" in _cmdline(p)]


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return ""


def wait_for(condition, what: str, limit: float = 300.0):
    """Poll `condition()` until it returns something truthy; fail naming `what` after `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def spinning(proc: psutil.Process) -> bool:
    """The kernel has burnt more CPU than a start-up takes: it is inside the endless loop."""
    try:
        return proc.cpu_times().user > 2.0
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def course(released, tmp_path) -> Path:
    root = tmp_path / "course"
    shutil.copytree(released, root)
    return root


def student_notebook(root: Path, body: str) -> Path:
    """Start module 01 and write `body` as the student's `add` cell."""
    tito = Tito(root)
    assert tito.run("module", "start", "01", "--no-launch").returncode == 0
    path = root / "workspace" / "01_adder" / "01_adder.ipynb"
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "add":
            cell["source"] = body
    path.write_text(json.dumps(notebook))
    return path


def snapshot(root: Path) -> dict:
    return {p: p.read_bytes() for p in [root / "tinytorch" / "core" / "adder.py", root / ".tito" / "progress.json"]
            if p.exists()}


def lines(text: str) -> list[str]:
    return [l for l in text.splitlines() if l.strip()]


def assert_gone(tito: Tito, proc: subprocess.Popen) -> None:
    """tito has exited; nothing it started is left (the kernel is shut down before tito exits)."""
    leftover = [(p.pid, _cmdline(p)) for p in tito.children(proc)]
    assert leftover == [], f"processes left behind: {leftover}"


# --- endless loops stop at the timeout and name the cell --------------------------------------------


@pytest.mark.parametrize("command", ["test", "complete"])
def test_endless_loop_in_student_code_stops_at_the_timeout(course, command):
    student_notebook(course, ENDLESS)
    before = snapshot(course)
    tito = Tito(course)
    out = tito.run("module", command, "01", "--timeout", "3")
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "cell `Adding numbers › test-add` timed out after 3 s" in text
    assert "pytest did not finish within 3 s" in text  # the package test calls the same loop
    assert snapshot(course) == before
    assert_gone(tito, None)


def test_endless_loop_in_the_reference_fails_source_check_naming_the_cell(course_dir):
    write_module(course_dir, "01_adder", module_text().replace("    return a + b\n", "    while True:\n        pass\n"))
    tito = Tito(course_dir)
    out = tito.run("source", "check", "01", "--timeout", "3")
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "01_adder reference notebook: cell `Adding numbers › test-add` timed out after 3 s" in text
    assert_gone(tito, None)


def test_endless_loop_fails_the_book_build_naming_the_cell(course_dir):
    from tito.cli import main
    from tito.core.errors import TitoError
    from tito.instructor.book.build import generate

    write_module(course_dir, "01_adder", module_text() + "\n# %%\nwhile True:\n    pass\n")
    with pytest.raises(TitoError, match=r"01_adder: cell `Adding numbers › code cell 5` timed out after 2 s"):
        generate(Course.load(course_dir), main, timeout=2)
    assert not list((course_dir / ".tito" / "cache" / "book").glob("01_adder-*.json"))


# --- Ctrl-C and SIGTERM -----------------------------------------------------------------------------


def _interrupted(tito: Tito, proc: subprocess.Popen, code: int, before: dict) -> None:
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == code, out + err
    assert lines(out + err) == [UNCHANGED], out + err
    assert snapshot(tito.root) == before
    assert_gone(tito, proc)


def test_ctrl_c_while_the_kernel_starts(course):
    student_notebook(course, ENDLESS)
    before = snapshot(course)
    tito = Tito(course)
    proc = tito.start("module", "complete", "01")
    wait_for(lambda: tito.kernels(proc), "the kernel process")
    os.killpg(proc.pid, signal.SIGINT)
    _interrupted(tito, proc, 130, before)


@pytest.mark.parametrize("command", ["test", "complete"])
def test_ctrl_c_in_an_endless_cell(course, command):
    student_notebook(course, ENDLESS)
    before = snapshot(course)
    tito = Tito(course)
    proc = tito.start("module", command, "01")
    (kernel,) = wait_for(lambda: tito.kernels(proc), "the kernel process")
    wait_for(lambda: spinning(kernel), "the kernel to spin in the endless loop")
    os.killpg(proc.pid, signal.SIGINT)
    _interrupted(tito, proc, 130, before)


def test_ctrl_c_while_pytest_runs(course, tmp_path):
    (course / "tests" / "modules" / "test_01_adder.py").write_text(SLOW_PACKAGE_TEST)
    student_notebook(course, CORRECT)
    before = snapshot(course)
    flag = tmp_path / "slow-test-started"
    tito = Tito(course, SLOW_TEST_FLAG=str(flag))
    proc = tito.start("module", "complete", "01")
    wait_for(lambda: tito.kernels(proc), "the kernel process")
    # the notebook is done (its kernel gone) while pytest sleeps in its last test
    wait_for(lambda: flag.exists() and not tito.kernels(proc), "the notebook to finish while pytest runs")
    os.killpg(proc.pid, signal.SIGINT)
    _interrupted(tito, proc, 130, before)


def test_sigterm_in_an_endless_cell(course):
    student_notebook(course, ENDLESS)
    before = snapshot(course)
    tito = Tito(course)
    proc = tito.start("module", "complete", "01")
    (kernel,) = wait_for(lambda: tito.kernels(proc), "the kernel process")
    wait_for(lambda: spinning(kernel), "the kernel to spin in the endless loop")
    proc.send_signal(signal.SIGTERM)  # to tito alone, as a process manager does
    _interrupted(tito, proc, 143, before)


def test_ctrl_c_during_source_check_leaves_no_kernel(course_dir):
    write_module(course_dir, "01_adder", module_text().replace("    return a + b\n", "    while True:\n        pass\n"))
    tito = Tito(course_dir)
    proc = tito.start("source", "check", "01")
    kernels = wait_for(lambda: tito.kernels(proc), "a kernel process")
    wait_for(lambda: any(spinning(k) for k in tito.kernels(proc)) or None, "a kernel to spin in the endless loop")
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 130, out + err
    assert lines(err) == ["interrupted"], err
    assert kernels and not tito.children(proc)


def test_sigkill_of_tito_takes_its_kernel_and_pytest_along(course):
    student_notebook(course, ENDLESS)
    tito = Tito(course)
    proc = tito.start("module", "complete", "01")
    (kernel,) = wait_for(lambda: tito.kernels(proc), "the kernel process")
    wait_for(lambda: spinning(kernel), "the kernel to spin in the endless loop")
    assert [p for p in tito.children(proc) if "pytest" in _cmdline(p)], "pytest runs beside the kernel"
    proc.kill()
    proc.wait()
    wait_for(lambda: not tito.children(proc), "the kernel and pytest to die with tito", limit=10)
