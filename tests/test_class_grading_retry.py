"""A submission that could not be graded is not final: the next `autograde --all` tries it again (even if its bytes
did not change), exits 1 while any stays ungraded and says how many, and `export` marks its row.

One real failure (a file that is not a notebook: nbgrader cannot read it) through `tito` in a subprocess, and one
transient failure (a grading worker that died, as run_local reports it) through Click's CliRunner, which the
next run must grade for real.
"""
from __future__ import annotations

import csv
import io
import re

import pytest
from click.testing import CliRunner

from tito.cli import main
from tito.instructor.classgrade import local
from tito.instructor.classgrade.export import NOT_GRADED
from tito.instructor.classgrade.jobs import Result

from .helpers.class_submissions import submit, tensor_course, variants
from .helpers.grading import plain_scores, tito

pytestmark = pytest.mark.slow


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def export_rows(root) -> dict[str, dict]:
    out = tito("nbgrader", "export", cwd=root).stdout
    return {r["student"]: r for r in csv.DictReader(io.StringIO(out))}


def test_a_submission_that_failed_is_graded_again_and_stays_marked(tmp_path):
    course, module = tensor_course(tmp_path / "course")
    root = course.root
    submit(root, "ada", variants(course, module)["perfect"])
    submit(root, "broken", "{ this is not a notebook")

    first = tito("nbgrader", "autograde", "01", "--all", "--jobs", "2", cwd=root, check=False)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "graded 1, failed 1, unchanged 0" in flat(first.stdout) and "NotJSONError" in first.stdout, first.stdout

    again = tito("nbgrader", "autograde", "01", "--all", "--jobs", "2", cwd=root, check=False)
    assert "graded 0, failed 1, unchanged 1" in flat(again.stdout), again.stdout  # tried again, ada left alone
    assert again.returncode == 1, again.stdout + again.stderr
    for run in (first, again):
        assert "; 1 still ungraded (broken)" in flat(run.stdout), run.stdout
        assert "could not be graded" in flat(run.stderr) and "tries them again" in flat(run.stderr), run.stderr

    rows = export_rows(root)
    assert rows["broken"]["flags"].startswith(NOT_GRADED) and "error" in rows["broken"]["flags"]
    assert rows["broken"]["score"] == "0" and rows["broken"]["needs_manual_grade"] == "True"
    assert rows["ada"]["flags"] == "" and rows["ada"]["score"] == "17"


def crashed(jobs, workers=None, pool=None):
    """What run_local yields for a job whose worker process died twice."""
    for job in jobs:
        yield Result(job.student, job.assignment, job.key, ok=False, timestamp=job.timestamp, flags=["worker crash"],
                     error="the grading process died (killed or out of memory)")


def test_a_transient_failure_is_graded_on_the_next_run(tmp_path, monkeypatch):
    course, module = tensor_course(tmp_path / "course")
    root = course.root
    submit(root, "ada", variants(course, module)["perfect"])
    monkeypatch.chdir(root)
    monkeypatch.setenv("TINYTORCH_ROOT", str(root))
    runner = CliRunner()

    with monkeypatch.context() as patch:
        patch.setattr(local, "run_local", crashed)
        first = runner.invoke(main, ["nbgrader", "autograde", "01", "--all"])
    assert first.exit_code == 1 and "graded 0, failed 1, unchanged 0" in flat(first.output), first.output
    assert export_rows(root)["ada"]["flags"] == f"{NOT_GRADED}; worker crash"

    retried = runner.invoke(main, ["nbgrader", "autograde", "01", "--all", "--jobs", "1"])
    assert "graded 1, failed 0, unchanged 0" in flat(retried.output), retried.output
    assert retried.exit_code == 0, retried.output
    assert sum(plain_scores(root / "gradebook.db")["ada"].values()) == 17
    row = export_rows(root)["ada"]
    assert row["flags"] == "" and row["score"] == "17" and row["needs_manual_grade"] == "False"
    assert "; 1 still ungraded (ada)" in flat(first.output) and "; 0 still ungraded" in flat(retried.output)

    settled = runner.invoke(main, ["nbgrader", "autograde", "01", "--all"])
    assert settled.exit_code == 0 and "graded 0, failed 0, unchanged 1" in flat(settled.output), settled.output
