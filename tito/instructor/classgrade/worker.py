"""Grade one submission: Job in, Result out. Runs in a worker process or on a Dask worker.

nbgrader's own Autograde converter does the grading with the course's configured chain, whose execute step is
tito's (execute.py: the grading engine, the kernel sandboxed or not; chain.py), against a scratch course: the submission,
its timestamp.txt and a private copy of the assignment's gradebook. The scores nbgrader saved there are read
back and returned; the course gradebook is written only by the parent (gradebook.py). Any failure becomes a
Result with ok=False.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from .jobs import Grade, Job, Result


def grade_submission(job: Job) -> Result:
    started = time.monotonic()
    result = Result(job.student, job.assignment, job.key, ok=False, timestamp=job.timestamp)
    try:
        with tempfile.TemporaryDirectory(prefix="tito-grade-") as tmp:
            _grade_in(Path(tmp), job, result)
    except Exception as exc:  # a broken submission must fail alone, with the reason recorded
        result.ok = False
        result.error = result.error or f"{type(exc).__name__}: {exc}"
        result.flags.append("error")
    result.seconds = time.monotonic() - started
    return result


def _config(job: Job, root: Path):
    """The job's nbgrader config (its chain already names tito's execute step, chain.py), rooted in `root`."""
    from traitlets.config import Config

    config = Config(job.config)
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.source_directory = "source"
    config.CourseDirectory.submitted_directory = "submitted"
    config.CourseDirectory.autograded_directory = "autograded"
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    config.GradingExecute.sandboxed = job.sandbox
    config.GradingExecute.files = job.files
    config.GradingExecute.limits = asdict(job.limits)
    return config


def _grade_in(root: Path, job: Job, result: Result) -> None:
    from ...core.kernelenv import apply_to_process

    apply_to_process()
    bindir = os.path.dirname(sys.executable)  # the kernel spec resolves `python` from PATH
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    import logging
    import warnings

    warnings.filterwarnings("ignore", message=".*not in session.*")
    from nbgrader.apps import NbGraderAPI

    (root / "gradebook.db").write_bytes(job.snapshot)
    (root / "source" / job.assignment).mkdir(parents=True)
    folder = root / "submitted" / job.student / job.assignment
    folder.mkdir(parents=True)
    (folder / f"{job.assignment}.ipynb").write_bytes(job.notebook)
    if job.timestamp:
        (folder / "timestamp.txt").write_text(job.timestamp)
    result.flags.extend(_structural_flags(job))

    api = NbGraderAPI(config=_config(job, root))
    api.log.setLevel(logging.WARNING)
    outcome = api.autograde(job.assignment, job.student, force=True, create=True)
    if not outcome.get("success"):
        log = (outcome.get("error") or "") + "\n" + (outcome.get("log") or "")
        result.error = "\n".join(log.strip().splitlines()[-40:])
        result.flags.append("kernel crash" if "DeadKernelError" in log or "Kernel died" in log else "error")
        return
    autograded = root / "autograded" / job.student / job.assignment / f"{job.assignment}.ipynb"
    result.autograded = autograded.read_text(encoding="utf-8")
    _read_grades(root, job, result)
    flags, result.review = _output_flags(result.autograded)
    result.flags.extend(flags)
    result.ok = True


def _read_grades(root: Path, job: Job, result: Result) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", _course_id(job)) as gb:
        submission = gb.find_submission(job.assignment, job.student)
        result.seconds_late = float(submission.total_seconds_late or 0)
        notebook = gb.find_submission_notebook(job.assignment, job.assignment, job.student)
        for grade in notebook.grades:
            auto = None if grade.auto_score is None else float(grade.auto_score)
            result.grades.append(Grade(grade.cell.name, auto, float(grade.max_score or 0)))
            if auto is None:
                result.flags.append(f"manual grading: {grade.cell.name}")
        for comment in notebook.comments:
            result.comments[comment.cell.name] = comment.auto_comment
        penalty = notebook.late_submission_penalty
        result.late_penalty = None if penalty is None else float(penalty)
    if result.seconds_late > 0:
        hours = result.seconds_late / 3600
        result.flags.append(f"late {hours:.1f} h, penalty {result.late_penalty or 0:g}")


def _structural_flags(job: Job) -> list[str]:
    """Graded cells the student deleted, and locked cells they edited (nbgrader grades the original back in,
    and a deleted test scores zero); an edit shows as a checksum that no longer matches the release's."""
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.utils import compute_checksum, is_locked

    nb = nbformat.reads(job.notebook.decode("utf-8"), as_version=4)
    present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
    flags = [f"edited locked cell: {c.metadata.nbgrader.grade_id}" for c in nb.cells
             if is_locked(c) and c.metadata.nbgrader.get("checksum") != compute_checksum(c)]
    with tempfile.TemporaryDirectory(prefix="tito-snap-") as tmp:
        path = Path(tmp) / "gradebook.db"
        path.write_bytes(job.snapshot)
        with Gradebook(f"sqlite:///{path}", _course_id(job)) as gb:
            notebook = gb.find_notebook(job.assignment, job.assignment)
            flags[:0] = [f"deleted graded cell: {cell.name}" for cell in notebook.grade_cells
                         if cell.name not in present]
    return flags


def _course_id(job: Job) -> str:
    return job.config.get("CourseDirectory", {}).get("course_id") or "default_course"


def _output_flags(autograded: str) -> tuple[list[str], bool]:
    """What the run reported (timeouts, limits, tampering, cut output or cells) as flags, and whether a person
    must look at the submission (cut output or cells: scores are kept, never silently zeroed)."""
    from .execute import META

    notebook = json.loads(autograded)
    flags = []
    cells = notebook.get("cells", [])

    def name(index: str) -> str:
        cell = cells[int(index)] if index.isdigit() and int(index) < len(cells) else {}
        return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {int(index) + 1}"

    for cell in cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") == "CellTimeoutError":
                flags.append(f"timeout: {cell.get('metadata', {}).get('nbgrader', {}).get('grade_id') or cell.get('id')}")
    seen = notebook.get("metadata", {}).get(META, {})
    run = seen.get("run", {})
    reason = run.get("reason")
    if reason == "kernel-died":
        flags.append("kernel crash")
    elif reason in ("wall-limit", "process-limit", "sandbox", "kernel-start", "replay") and run.get("aborted"):
        flags.append(f"stopped: {run['aborted']}")
    if run.get("restarts"):
        flags.append(f"kernel replaced after ignoring the interrupt in {', '.join(name(str(i)) for i in run['restarts'])}")
    flags += [f"tampering after {name(i)} (scored 0): {what}" for i, what in sorted(run.get("tampering", {}).items(),
                                                                                   key=lambda kv: int(kv[0]))]
    cut = [f"output cut: {name(i)} ({n} bytes over the limit)" for i, n in run.get("cut", {}).items()]
    cut += [f"cell cut in the graded copy: {name(i)} ({n} bytes)" for i, n in seen.get("cells_cut", {}).items()]
    return flags + cut, bool(cut)
