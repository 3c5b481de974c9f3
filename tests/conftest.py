"""Session setup and shared fixtures.

- `tinytorch` is imported from the reference package rendered from src/ into a temporary folder (never from
  the checkout's tinytorch/, which may hold a student's exports); `reference_package` is that folder.
- tito's parse cache lives in a temporary folder (TITO_PARSE_CACHE), so no test writes into the checkout.
- A package test (tests/modules/) that skips fails instead: the reference package has every module. (The
  skips are for `tito module complete`, which runs these files without this conftest on a student's package.)
- `course_dir` / `adder_course`: throwaway courses built from small source texts (see helpers/course.py).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from .helpers.course import REPO, module_text, write_module
from .helpers.package import import_tinytorch_from, render_reference_package

MODULE_TESTS = REPO / "tests" / "modules"
_session_dir: Path | None = None


def _is_xdist_controller(config) -> bool:
    """With -n N the controller only schedules; its workers collect and run the tests."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def pytest_configure(config):
    global _session_dir
    # Tests that depend on the output width set COLUMNS themselves. An inherited value (xdist workers get
    # COLUMNS=80) would freeze the width of tito's rich consoles, which are created at import.
    os.environ.pop("COLUMNS", None)
    if _is_xdist_controller(config):
        return
    _session_dir = Path(tempfile.mkdtemp(prefix="tinytorch-tests-"))
    os.environ["TITO_PARSE_CACHE"] = str(_session_dir / "parse-cache")
    package = render_reference_package(_session_dir / "reference")
    import_tinytorch_from(package)
    os.environ["TINYTORCH_TEST_REFERENCE"] = str(package)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and MODULE_TESTS in Path(item.path).parents and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"a package test skipped against the reference package, which has every module: {reason}"
    return report


def pytest_unconfigure(config):
    if _session_dir is not None:
        shutil.rmtree(_session_dir, ignore_errors=True)


def pytest_terminal_summary(terminalreporter):
    """Where the browser tests left their screenshots (a human should look at them)."""
    folders = sorted({value for reports in terminalreporter.stats.values() for report in reports
                      for name, value in getattr(report, "user_properties", ()) if name == "screenshots"})
    for folder in folders:
        terminalreporter.write_line(f"screenshots of the book: {folder}")


@pytest.fixture(scope="session")
def reference_package() -> Path:
    """The folder holding the reference `tinytorch/` (first on sys.path; put it on PYTHONPATH for subprocesses)."""
    return Path(os.environ["TINYTORCH_TEST_REFERENCE"])


@pytest.fixture
def short_tmp_path():
    """A temporary folder with a short path (IPC socket paths are limited to ~100 bytes; xdist's tmp_path
    is longer)."""
    folder = Path(tempfile.mkdtemp(prefix="tt-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def course_dir(tmp_path: Path) -> Path:
    """An empty course: pyproject.toml + src/ + the repo's nbgrader_config.py."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'fixture'\n\n[tool.tinytorch]\ncourse = 'fixture'\n")
    (tmp_path / "src").mkdir()
    shutil.copy(REPO / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    return tmp_path


@pytest.fixture
def adder_course(course_dir: Path) -> Path:
    write_module(course_dir, "01_adder", module_text())
    return course_dir

# tests/fixtures/ holds whole courses (with their own tests/ folders, run by the tests that copy them).
collect_ignore = ["fixtures"]
