"""Committed student releases are reproducible: `tito nbgrader generate --check` finds stale ones."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from tito.cli import main
from tito.core.course import Course
from tito.instructor import nbgrader as grading
from tito.instructor.export import plan, write

from .helpers.course import REPO


@pytest.mark.slow
def test_committed_releases_match_what_nbgrader_generates_now():
    course = Course.load(REPO)
    assert grading.stale_releases(course, course.modules) == []


@pytest.mark.slow
def test_a_hand_edited_release_is_reported_and_nothing_is_written(adder_course, monkeypatch):
    course = Course.load(adder_course)
    write(course, plan(course, course.modules), course.modules)
    module = course.resolve("01")
    assert grading.generate_release(course, module).ok
    release = adder_course / module.release_file
    notebook = json.loads(release.read_text())
    notebook["cells"][0]["source"] = "edited by hand"
    release.write_text(json.dumps(notebook, indent=1))
    before = release.read_bytes()

    monkeypatch.setenv("TINYTORCH_ROOT", str(adder_course))
    out = CliRunner().invoke(main, ["nbgrader", "generate", "--check", "--all"])
    assert out.exit_code == 1, out.output
    assert "release/01_adder/01_adder.ipynb" in out.output
    assert release.read_bytes() == before, "--check must not rewrite the release"

    shutil.rmtree(adder_course / "release")
    out = CliRunner().invoke(main, ["nbgrader", "generate", "--check", "01"])
    assert out.exit_code == 1 and "out of date" in out.output
