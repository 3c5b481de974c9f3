"""Grading a class of module 01: collect a zip → autograde --all → feedback --all → export, against plain nbgrader."""
from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from tito.core import leaks

from .helpers.class_submissions import deleted_test, edited_locked, tensor_course, variants
from .helpers.grading import plain_scores, run, tito

ON_TIME = (2026, 10, 30, 12, 0, 0)
DUE = "2026-11-01 00:00 UTC"


def canvas_zip(path: Path, notebooks: dict[str, dict], extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for n, (student, nb) in enumerate(sorted(notebooks.items())):
            info = zipfile.ZipInfo(f"{student}_{1000 + n}_{5000 + n}_01_tensor.ipynb", date_time=ON_TIME)
            archive.writestr(info, json.dumps(nb))
        for name, data in (extra or {}).items():
            archive.writestr(zipfile.ZipInfo(name, date_time=ON_TIME), data)
    return path


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """The whole flow, one command each, on a zip of mixed submissions; plus plain nbgrader on the same files."""
    course, module = tensor_course(tmp_path_factory.mktemp("class"))
    root = course.root
    kinds = variants(course, module)
    class_ = {f"{kind}{i}": nb for kind, nb in kinds.items() for i in (1, 2) if kind != "loop" or i == 1}
    class_["mallory"] = edited_locked(course, module)
    class_["dora"] = deleted_test(course, module)
    class_["lena"] = kinds["perfect"]  # handed in late (timestamps.csv)
    download = canvas_zip(tmp_path_factory.mktemp("lms") / "submissions.zip", class_)
    stamps = root / "late.csv"
    stamps.write_text("student,timestamp\nlena,2026-11-02T06:00:00Z\n")

    tito("nbgrader", "due", "01", DUE, cwd=root)
    collected = tito("nbgrader", "collect", "01", str(download), "--preset", "canvas", "--timestamps", str(stamps),
                     cwd=root)
    graded = tito("nbgrader", "autograde", "01", "--all", "--jobs", "2", "--timeout", "20", cwd=root)
    feedback = tito("nbgrader", "feedback", "01", "--all", cwd=root)
    exported = tito("nbgrader", "export", "grades.csv", cwd=root)

    # Plain sequential nbgrader on an identical copy of the course and submissions.
    plain = tmp_path_factory.mktemp("plain")
    shutil.copytree(root, plain, dirs_exist_ok=True, ignore=shutil.ignore_patterns("gradebook.db", "autograded",
                                                                                 "feedback", ".tito"))
    shutil.copy(root / module.release_file, plain / module.release_file)
    run(["nbgrader", "generate_assignment", "01_tensor", "--force"], plain)
    run(["nbgrader", "db", "assignment", "add", "01_tensor", f"--duedate={DUE}"], plain)
    run(["nbgrader", "autograde", "01_tensor", "--force", "--ExecutePreprocessor.timeout=20"], plain, check=False)
    return dict(course=course, module=module, students=sorted(class_), collected=collected, graded=graded,
                feedback=feedback, exported=exported, plain=plain)


def test_every_score_equals_plain_nbgrader(graded_class):
    root = graded_class["course"].root
    ours, theirs = plain_scores(root / "gradebook.db"), plain_scores(graded_class["plain"] / "gradebook.db")
    assert sorted(ours) == graded_class["students"]
    assert ours == theirs
    assert sum(ours["perfect1"].values()) == 17 and sum(ours["stubbed1"].values()) == 0
    assert 0 < sum(ours["wrong1"].values()) < 17 and 0 < sum(ours["loop1"].values()) < 17


def test_summary_names_every_problem(graded_class):
    out = graded_class["graded"].stdout
    assert "graded 12, failed 0" in out, out
    for expected in ("deleted graded cell: test-tensor-matmul", "edited locked cell: test-tensor-init",
                     "timeout: tensor-matmul", "late 30.0 h, penalty 3.4"):
        assert expected in out, out


def test_feedback_has_scores_and_no_hidden_test_source(graded_class):
    course, module = graded_class["course"], graded_class["module"]
    folder = course.root / "grading" / "feedback"
    files = sorted(folder.rglob("*.html"))
    assert [f.parent.parent.name for f in files] == graded_class["students"]
    assert leaks.leak_lines(course, module, hidden_only=True)
    assert leaks.find_leaks(course, module, folder, hidden_only=True) == []
    page = (folder / "perfect1" / "01_tensor" / "01_tensor.html").read_text()
    assert "17" in page and "test-tensor-matmul" in page
    # Inert: no script, and a policy that forbids any (tests/security/test_feedback_html.py loads pages in Chromium).
    assert "<script" not in page and 'http-equiv="Content-Security-Policy"' in page
    # The same scan finds the hidden tests in plain nbgrader's feedback, so an empty scan above means something.
    plain = graded_class["plain"]
    run(["nbgrader", "generate_feedback", "01_tensor", "--force"], plain)
    assert leaks.find_leaks(course, module, plain / "grading" / "feedback", hidden_only=True)


def test_export_rows_and_plain_nbgrader_export(graded_class):
    root = graded_class["course"].root
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO((root / "grades.csv").read_text()))}
    assert sorted(rows) == graded_class["students"]
    assert rows["lena"]["score"] == "17" and rows["lena"]["late_penalty"] == "3.4"
    assert rows["lena"]["final_score"] == "13.6" and "late" in rows["lena"]["flags"]
    assert "deleted graded cell" in rows["dora"]["flags"] and rows["perfect1"]["flags"] == ""
    per_test = tito("nbgrader", "export", "--per-test", cwd=root).stdout
    tests = list(csv.DictReader(io.StringIO(per_test)))
    assert len(tests) == 12 * 6 and {"student", "module", "test", "score", "max_score"} <= set(tests[0])
    run(["nbgrader", "export", "--to", str(root / "plain.csv")], root)
    plain = list(csv.DictReader(io.StringIO((root / "plain.csv").read_text())))
    assert {r["student_id"] for r in plain} == set(graded_class["students"])


def test_rerun_grades_only_changed_submissions(graded_class, tmp_path):
    root, module = graded_class["course"].root, graded_class["module"]
    again = tito("nbgrader", "autograde", "01", "--all", "--timeout", "20", cwd=root)
    assert "graded 0, failed 0, unchanged 12" in again.stdout, again.stdout
    nb = variants(graded_class["course"], module)["perfect"]
    redo = canvas_zip(tmp_path / "resubmit.zip", {"stubbed1": nb})
    tito("nbgrader", "collect", "01", str(redo), "--preset", "canvas", cwd=root)
    once = tito("nbgrader", "autograde", "01", "--all", "--timeout", "20", cwd=root)
    assert "graded 1, failed 0, unchanged 11" in once.stdout, once.stdout
    assert sum(plain_scores(root / "gradebook.db")["stubbed1"].values()) == 17
