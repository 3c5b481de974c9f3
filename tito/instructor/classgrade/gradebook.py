"""The course gradebook (SQLite or PostgreSQL, by nbgrader's db_url), written only by the parent process.

record() stores one Result the way nbgrader's own autograde would have: the submission and its time, each
grade's auto_score with nbgrader's needs-manual-grade rule, the solution cells' auto comments and the
late penalty, in one transaction. Plain `nbgrader export` and formgrader read the same rows.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

from .jobs import Result


def _when(timestamp: str | None) -> datetime | None:
    if not timestamp:
        return None
    from nbgrader.utils import parse_utc

    return parse_utc(timestamp.strip())


@contextmanager
def opened(db_url: str, course_id: str) -> Iterator:
    """The course gradebook, open for a whole batch of `record` calls (opening it costs a schema check)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id) as gb:
        yield gb


def record(gb, result: Result) -> None:
    """Store `result` in the open gradebook `gb`, in one transaction."""
    gb.update_or_create_student(result.student)
    when = _when(result.timestamp)
    if when is not None:
        gb.update_or_create_submission(result.assignment, result.student, timestamp=when)
    else:
        gb.update_or_create_submission(result.assignment, result.student)
    notebook = gb.find_submission_notebook(result.assignment, result.assignment, result.student)
    scores = {g.cell: g.auto_score for g in result.grades}
    for grade in notebook.grades:
        # A submission that could not be graded scores zero and is marked for a human to look at.
        auto = scores.get(grade.cell.name) if result.ok else 0.0
        grade.auto_score = auto
        grade.needs_manual_grade = (grade.manual_score is not None) or auto is None or not result.ok \
            or result.review
    for comment in notebook.comments:
        if comment.cell.name in result.comments:
            comment.auto_comment = result.comments[comment.cell.name]
    notebook.late_submission_penalty = result.late_penalty if result.ok else None
    gb.db.commit()


def graded(db_url: str, course_id: str, assignment: str) -> set[str]:
    """Students whose submission of `assignment` has autograder scores in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url, course_id) as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            return set()
        return {s.student.id for s in found.submissions
                if any(g.auto_score is not None for nb in s.notebooks for g in nb.grades)}

