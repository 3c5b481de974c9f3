"""Class feedback: nbgrader's GenerateFeedback with the hidden tests taken out of every graded cell.

Upstream nbgrader renders the autograded notebook, whose test cells hold the original tests restored from
the gradebook, hidden ones included (jupyter/nbgrader#917). HideHiddenTests runs before the HTML export:
it removes each hidden-test region with nbgrader's own ClearHiddenTests and cuts a test cell's error
tracebacks down to the exception line, since a traceback quotes the failing source lines. The scores
(GetGrades) and each test's pass/fail output stay. The page is written by InertFeedbackExporter
(feedback_html.py): whatever HTML a submission produced is shown, never run.
"""
from __future__ import annotations

from pathlib import Path

from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from nbgrader.utils import is_grade

from ...core.course import Course, Module
from ...core.errors import TitoError, UsageError
from ..nbgrader import check_step, check_student_id, nbgrader_api


class HideHiddenTests(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not is_grade(cell):
            return cell, resources
        cell, resources = ClearHiddenTests(parent=self).preprocess_cell(cell, resources, index)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".rstrip(": ")]
        return cell, resources


def feedback_chain() -> list:
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    return [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]


def class_feedback(course: Course, module: Module, student: str | None = None) -> list[Path]:
    """One HTML file per autograded student (or just `student`); returns the files written."""
    from traitlets.config import Config

    from .feedback_html import InertFeedbackExporter

    extra = Config()
    extra.GenerateFeedback.preprocessors = feedback_chain()
    extra.GenerateFeedback.exporter_class = InertFeedbackExporter
    api = nbgrader_api(course.root, extra=extra)
    autograded = course.root / api.coursedir.autograded_directory
    students = sorted(p.parent.name for p in autograded.glob(f"*/{module.slug}") if p.is_dir())
    if student is not None:
        check_student_id(student)
        if student not in students:
            raise UsageError(f"{student} has no autograded submission of {module.slug}; "
                             f"run `tito nbgrader autograde {module.id} --student {student}` first")
        students = [student]
    if not students:
        raise TitoError(f"no autograded submissions of {module.slug}; run `tito nbgrader autograde {module.id} --all`")
    check_step(api.generate_feedback(module.slug, student, force=True), f"generate_feedback {module.slug}")
    feedback = course.root / api.coursedir.feedback_directory
    paths = [feedback / s / module.slug / f"{module.slug}.html" for s in students]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise TitoError(f"nbgrader reported success but wrote no feedback at {missing[0]}")
    return paths
