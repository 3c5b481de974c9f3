"""Grades as CSV rows, read from the gradebook (nbgrader's scores) and the grading state (tito's flags)."""
from __future__ import annotations

import csv
import io

from .state import GradingState

SUBMISSION_COLUMNS = ["student", "module", "score", "max_score", "late_penalty", "final_score",
                      "needs_manual_grade", "timestamp", "flags"]
NOT_GRADED = "could not be graded: score 0 until it is graded again or by hand"
TEST_COLUMNS = ["student", "module", "test", "score", "max_score", "needs_manual_grade"]


def rows(db_url: str, course_id: str, state: GradingState, per_test: bool = False,
         modules: list[str] | None = None) -> list[dict]:
    from nbgrader.api import Gradebook

    out = []
    with Gradebook(db_url, course_id) as gb:
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            if modules and assignment.name not in modules:
                continue
            for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
                student = submission.student.id
                if per_test:
                    for nb in submission.notebooks:
                        for grade in sorted(nb.grades, key=lambda g: g.cell.name):
                            out.append({"student": student, "module": assignment.name, "test": grade.cell.name,
                                        "score": _num(grade.score), "max_score": _num(grade.max_score),
                                        "needs_manual_grade": grade.needs_manual_grade})
                    continue
                penalty = float(submission.late_submission_penalty or 0)
                entry = state.get(assignment.name, student) or {}
                out.append({
                    "student": student, "module": assignment.name, "score": _num(submission.score),
                    "max_score": _num(submission.max_score), "late_penalty": _num(penalty),
                    "final_score": _num(max(0.0, submission.score - penalty)),
                    "needs_manual_grade": submission.needs_manual_grade,
                    "timestamp": submission.timestamp.isoformat() if submission.timestamp else "",
                    "flags": "; ".join(_flags(entry)),
                })
    return out


def _flags(entry: dict) -> list[str]:
    """tito's flags of one submission; one that could not be graded says so first (its score is a placeholder)."""
    flags = list(entry.get("flags", []))
    if entry and not entry.get("ok"):
        flags.insert(0, NOT_GRADED)
    return flags


def _num(value) -> str:
    return f"{float(value or 0):g}"


def to_csv(records: list[dict], per_test: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TEST_COLUMNS if per_test else SUBMISSION_COLUMNS,
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()
