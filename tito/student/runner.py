"""Run a module's tests on the student's own work.

Two checks, run at the same time (the machine has more than one core, and each needs its own
interpreter start): (1) the workspace notebook executes in a fresh kernel (`tito.core.kernel`) and every
graded test cell is scored; (2) the module's pytest file runs in a subprocess. Both see the course's package as
a *staged* package: a temporary copy of the package as it stands (earlier modules hold the student's
own exports) with this module's file rendered from the student's notebook, first on sys.path.
Nothing in the real package changes here.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..core.course import ROOT_ENV, Course, Module
from ..core.kernelenv import kernel_env
from ..core.nbutil import cell_id, is_test_cell, nbgrader_meta, source_of, strip_ansi

DEFAULT_TIMEOUT = 120
CELL_FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)")


@dataclass
class CellResult:
    grade_id: str
    points: float
    passed: bool
    message: str = ""  # "AssertionError: add(2, 3) should be 5"
    line: str = ""  # the failing line of the cell ("line 3: assert ...")


@dataclass
class PytestResult:
    name: str
    passed: bool
    message: str = ""


@dataclass
class TestReport:
    module: Module
    cells: list[CellResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # non-graded cells that raised, kernel death, timeouts
    pytest: list[PytestResult] = field(default_factory=list)
    pytest_file: Path | None = None
    pytest_error: str = ""  # pytest could not run or collect
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(c.points for c in self.cells if c.passed)

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.cells)

    @property
    def passed(self) -> bool:
        return (all(c.passed for c in self.cells) and not self.errors and not self.pytest_error
                and all(t.passed for t in self.pytest))


# --- staging --------------------------------------------------------------------------------------


@contextmanager
def staged_package(course: Course, module: Module, package_text: str):
    """Yield a folder holding the course's package as it stands, with `module`'s file replaced."""
    from ..core.render.package import package_inits

    with tempfile.TemporaryDirectory(prefix="tito-stage-") as scratch:
        stage = Path(scratch)
        package = course.root / course.package
        if package.is_dir():
            shutil.copytree(package, stage / course.package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                            copy_function=shutil.copyfile)
        for path, text in package_inits(course):  # package __init__ files the copy may lack
            target = stage / path
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        target = stage / module.package_file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(package_text, encoding="utf-8")
        yield stage


def staged_env(stage: Path) -> dict:
    env = kernel_env()
    env["PYTHONPATH"] = os.pathsep.join([str(stage)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for name in ROOT_ENV:
        env.pop(name, None)
    return env


# --- pytest ---------------------------------------------------------------------------------------


def pytest_file(course: Course, module: Module) -> Path | None:
    path = course.root / "tests" / "modules" / f"test_{module.slug}.py"
    return path if path.is_file() else None


def start_pytest(test_file: Path, stage: Path, report_xml: Path) -> subprocess.Popen:
    # importlib mode: pytest must not put the course root (and its real package) on sys.path; the
    # staged package is found through PYTHONPATH. No config file, no cache written into the repo, and no
    # conftest.py: the repo suite's conftest would put the reference package ahead of the stage.
    # Started through the kernels' boot wrapper: a SIGKILLed tito takes pytest (and an endless loop in the
    # student's code under it) along.
    from ..core.kernel import BOOT

    args = [sys.executable, str(BOOT), "--parent", str(os.getpid()), "pytest", "-q", "-p", "no:cacheprovider",
            "--import-mode=importlib", "-c", os.devnull, "--rootdir", str(test_file.parent), "--noconftest",
            f"--junitxml={report_xml}", str(test_file)]
    with open(stage / "pytest.log", "wb") as log:  # a file, not a pipe: a full pipe would stall pytest
        return subprocess.Popen(args, cwd=stage, env=staged_env(stage), stdout=log, stderr=subprocess.STDOUT)


def collect_pytest(proc: subprocess.Popen, report_xml: Path, timeout: float) -> tuple[list[PytestResult], str]:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return [], f"pytest did not finish within {timeout:.0f} s"
    output = (report_xml.parent / "pytest.log").read_text(encoding="utf-8", errors="replace")
    if not report_xml.exists():
        return [], "pytest did not run:\n" + "\n".join(output.strip().splitlines()[-15:])
    results = []
    for case in ET.parse(report_xml).getroot().iter("testcase"):
        failure = next((c for c in case if c.tag in ("failure", "error")), None)
        skipped = next((c for c in case if c.tag == "skipped"), None)
        if skipped is not None:
            continue
        message = _failure_message(failure) if failure is not None else ""
        results.append(PytestResult(case.get("name", "?"), failure is None, clip(message.strip(), 400)))
    if proc.returncode not in (0, 1) and not any(not r.passed for r in results):
        # 2 interrupted/collection error, 4 usage error, 5 no tests: say why
        tail = "\n".join(output.strip().splitlines()[-15:])
        return results, f"pytest exited with code {proc.returncode}:\n{tail}"
    return results, ""


def clip(text: str, limit: int) -> str:
    """`text` shortened to about `limit` characters at a word or line end, never mid-word, marked with "…"."""
    if len(text) <= limit:
        return text
    head = text[:limit + 1]
    at = max(head.rfind(" "), head.rfind("\n"))
    return (text[:at].rstrip() if at > 0 else text[:limit]) + " …"


def _failure_message(failure) -> str:
    """pytest's one-line message; for collection errors (message "collection failure") the error itself."""
    message = (failure.get("message") or "").strip()
    details = [l[1:].strip() for l in (failure.text or "").splitlines() if l.startswith("E ")]
    if details and (not message or message == "collection failure"):
        message = f"{message}: {details[-1]}" if message else details[-1]
    return message


# --- the notebook ---------------------------------------------------------------------------------


def run_notebook(notebook: dict, cwd: Path, env: dict, timeout: float = DEFAULT_TIMEOUT,
                 while_starting=None) -> tuple[list[CellResult], list[str]]:
    """Execute every cell in a fresh kernel (errors allowed, so each graded cell is scored); return graded
    results and other errors (failing ungraded cells, a timeout or a dead kernel, naming the cell)."""
    from ..core import kernel

    run = kernel.execute(notebook, cwd=cwd, env=env, cell_timeout=timeout, allow_errors=True,
                         while_starting=while_starting)
    cells: list[CellResult] = []
    errors: list[str] = [run.aborted] if run.aborted else []
    if run.reason == "kernel-start":
        errors[0] += "\nrun `tito system health`"
    for step in run.cells:
        cell = run.notebook.cells[step.index]
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
        if is_test_cell(cell):
            points = float(nbgrader_meta(cell).get("points") or 0)
            if step.status == "not run":
                cells.append(CellResult(cell_id(cell, step.index), points, False,
                                        "not run (an earlier cell stopped the kernel)"))
            elif error is not None:
                cells.append(CellResult(cell_id(cell, step.index), points, False,
                                        clip(f"{error.get('ename')}: {error.get('evalue', '')}".strip().rstrip(":"), 500),
                                        failing_line(cell, error)))
            elif step.status != "ok":
                cells.append(CellResult(cell_id(cell, step.index), points, False, step.error or step.status))
            else:
                cells.append(CellResult(cell_id(cell, step.index), points, True))
        elif error is not None:
            line = failing_line(cell, error)
            errors.append(clip(f"{step.name}: {error.get('ename')}: {error.get('evalue', '')}", 500)
                          + (f" ({line})" if line else ""))
    return cells, errors


def failing_line(cell, error: dict) -> str:
    """`line N: <code>` of the innermost traceback frame inside this cell."""
    count = cell.get("execution_count")
    found = None
    for entry in error.get("traceback", []):
        for match in CELL_FRAME.finditer(strip_ansi(entry)):
            if count is None or int(match.group(1)) == count:
                found = int(match.group(2))
    if found is None:
        return ""
    lines = source_of(cell).split("\n")
    text = lines[found - 1].strip() if 0 < found <= len(lines) else ""
    return f"line {found}: {text}"


def test(course: Course, module: Module, notebook: dict, notebook_file: Path, package_text: str,
         timeout: int = DEFAULT_TIMEOUT, before_run=None) -> TestReport:
    """Run both checks against `package_text` staged in place of the module's package file.

    `before_run()` is called once the kernel and pytest are booting (validation happens there, in
    parallel); if it raises, both are stopped and the exception propagates.
    """
    start = time.perf_counter()
    report = TestReport(module, pytest_file=pytest_file(course, module))
    with staged_package(course, module, package_text) as stage:
        xml = stage / "pytest.xml"
        proc = start_pytest(report.pytest_file, stage, xml) if report.pytest_file else None
        try:
            report.cells, report.errors = run_notebook(notebook, notebook_file.parent, staged_env(stage), timeout,
                                                       while_starting=before_run)
            if proc:
                report.pytest, report.pytest_error = collect_pytest(proc, xml, timeout)
        finally:  # validation failed, or interrupted: pytest must not outlive this call
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait()
    report.seconds = time.perf_counter() - start
    return report
