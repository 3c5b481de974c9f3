"""The `tito` command as a user runs it: a real subprocess, exit codes that mean something."""
from __future__ import annotations

import os
import subprocess
import sys

from .helpers.course import module_text, write_module

TITO = [sys.executable, "-m", "tito"]


def run(args, cwd):
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    env.pop("TINYTORCH_ROOT", None)
    return subprocess.run(TITO + args, cwd=cwd, capture_output=True, text=True, env=env)


def test_help_works_for_every_command_group(adder_course):
    out = run(["--help"], adder_course)
    assert out.returncode == 0 and "source" in out.stdout
    for group in ("source", "nbgrader"):
        assert run([group, "--help"], adder_course).returncode == 0


def test_export_then_check_clean_then_stale(adder_course):
    out = run(["source", "export", "--all"], adder_course)
    assert out.returncode == 0, out.stderr
    assert "tinytorch/core/adder.py" in out.stdout
    assert run(["source", "export", "--all", "--check"], adder_course).returncode == 0
    write_module(adder_course, "01_adder", module_text().replace("A tiny module", "Another module"))
    out = run(["source", "export", "--check"], adder_course)
    assert out.returncode == 1 and "stale: modules/01_adder/01_adder.ipynb" in out.stdout


def test_lint_reports_file_and_line_with_exit_2(adder_course):
    text = module_text().replace("    return a + b\n", "    return a +\n")
    write_module(adder_course, "01_adder", text)
    line = text.split("\n").index("    return a +") + 1
    out = run(["source", "lint", "01"], adder_course)
    assert out.returncode == 2
    assert f"src/01_adder/01_adder.py:{line}: error: Python syntax error" in out.stderr
    assert not (adder_course / "modules").exists()


def test_unknown_module_lists_valid_ids(adder_course):
    out = run(["source", "export", "42"], adder_course)
    assert out.returncode == 2 and "valid modules: 01 (adder)" in out.stderr
