"""nbgrader integration: its configuration and API, releases (generated and verified), the submitted layout, grades.

nbgrader does the work (its preprocessors strip solutions and hidden tests, compute checksums,
restore edited tests while autograding). This module configures it from the repo's own
`nbgrader_config.py`, runs it in-process, and checks its results.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core.backups import backup_file
from ..core.course import Course, Module
from ..core.errors import TitoError, UsageError
from ..core.fsutil import atomic_write, read_bytes
from ..core.kernelenv import apply_to_process
from ..core.leaks import find_leaks
from ..core.nbutil import as_node, checksum_mismatches
from ..core.nbutil import read_notebook as nbutil_read

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
def nbgrader_config(root: Path, timeout: int | None = None):
    """The repo's nbgrader_config.py, loaded the way the `nbgrader` command loads it, rooted at `root`."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    path = Path(root) / "nbgrader_config.py"
    if path.is_file():
        config.merge(PyFileConfigLoader(path.name, path=str(path.parent)).load_config())
    config.CourseDirectory.root = str(root)
    if timeout is not None:
        config.ExecutePreprocessor.timeout = timeout
    return config


def nbgrader_api(root: Path, timeout: int | None = None, extra=None):
    """nbgrader's own API object for the course at `root`, configured from its nbgrader_config.py."""
    # nbgrader creates its gradebook by running `alembic` from PATH; make the interpreter's own bin visible.
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    import warnings

    apply_to_process()  # nbgrader's autograde kernels inherit os.environ
    # nbgrader's gradebook triggers harmless SQLAlchemy autoflush warnings on every autograde.
    warnings.filterwarnings("ignore", message=".*not in session.*")
    from nbgrader.apps import NbGraderAPI

    config = nbgrader_config(root, timeout)
    if extra is not None:
        config.merge(extra)
    return NbGraderAPI(config=config)


def check_step(result: dict, what: str) -> None:
    """Raise with the tail of nbgrader's log when an NbGraderAPI call reports failure."""
    if not result.get("success"):
        log = (result.get("error") or "") + "\n" + (result.get("log") or "")
        tail = "\n".join(log.strip().splitlines()[-12:])
        raise TitoError(f"nbgrader {what} failed:\n{tail}")


# --- release --------------------------------------------------------------------------------------


def checksum_problems(notebook: dict) -> list[str]:
    """Grade ids of test or locked cells whose stored nbgrader checksum is missing or does not match."""
    return [m.grade_id for m in checksum_mismatches(notebook)]


@dataclass
class ReleaseReport:
    module: Module
    path: Path
    leaks: list[str] = field(default_factory=list)
    bad_checksums: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.leaks and not self.bad_checksums


def newer_submissions(course: Course, module: Module, coursedir) -> list[Path]:
    """Submitted copies of this module newer than the current release (a re-release could confuse grading)."""
    release = course.root / module.release_file
    if not release.exists():
        return []
    submitted = course.root / coursedir.submitted_directory
    mtime = release.stat().st_mtime
    return sorted(p for p in submitted.glob(f"*/{module.slug}/*.ipynb") if p.stat().st_mtime > mtime)


def generate_release(course: Course, module: Module, api=None, allow_newer_submissions: bool = False) -> ReleaseReport:
    """Run nbgrader's GenerateAssignment for `module`, then verify the release holds no secret."""
    source = course.root / module.notebook_file
    if not source.exists():
        raise TitoError(f"{module.notebook_file} does not exist; run `tito source export {module.id}` first")
    api = api or nbgrader_api(course.root)
    if not allow_newer_submissions:
        newer = newer_submissions(course, module, api.coursedir)
        if newer:
            listed = ", ".join(str(p.relative_to(course.root)) for p in newer[:5])
            raise TitoError(f"{module.slug}: students submitted after the current release ({listed}); "
                            "re-run with --force to release anyway")
    check_step(api.generate_assignment(module.slug, force=True, create=True), f"generate_assignment {module.slug}")
    return verify_release(course, module)


def release(course: Course, modules: list[Module], allow_newer_submissions: bool = False,
            on_module: Callable[[Module], None] | None = None) -> tuple[int, list[ReleaseReport]]:
    """Export whatever is stale (a release must come from current sources), then release and verify every
    module; returns (files exported, one report per module). `on_module` is called as each one starts."""
    from . import export

    written = sum(r.status == "written" for r in export.write(course, export.plan(course, modules), modules))
    api = nbgrader_api(course.root)
    reports = []
    for module in modules:
        if on_module:
            on_module(module)
        reports.append(generate_release(course, module, api, allow_newer_submissions=allow_newer_submissions))
    return written, reports


def verify_release(course: Course, module: Module) -> ReleaseReport:
    path = course.root / module.release_file
    report = ReleaseReport(module, path)
    if not path.exists():
        report.leaks.append(f"{module.release_file} is missing")
        return report
    report.leaks = find_leaks(course, module, path.parent)
    report.bad_checksums = checksum_problems(json.loads(path.read_text(encoding="utf-8")))
    return report


def fresh_releases(course: Course, modules: list[Module]) -> tuple[dict[str, dict], set[str]]:
    """What nbgrader generates now for each module (by slug), and the slugs whose committed release differs.

    nbgrader runs in a scratch course holding only the config and the source notebooks, so nothing in
    the real course (release/ folder, gradebook) is read or written by the generation.
    """
    missing = [m for m in modules if not (course.root / m.notebook_file).exists()]
    if missing:
        raise TitoError(f"{missing[0].notebook_file} is missing; run `tito source export {missing[0].id}`")
    fresh: dict[str, dict] = {}
    stale: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="tito-release-check-") as scratch:
        root = Path(scratch)
        shutil.copy(course.root / "nbgrader_config.py", root / "nbgrader_config.py")
        for module in modules:
            (root / module.notebook_file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(course.root / module.notebook_file, root / module.notebook_file)
        api = nbgrader_api(root)
        for module in modules:
            check_step(api.generate_assignment(module.slug, force=True, create=True), f"generate_assignment {module.slug}")
            raw = (root / module.release_file).read_bytes()
            fresh[module.slug] = json.loads(raw.decode("utf-8"))
            if read_bytes(course.root / module.release_file) != raw:
                stale.add(module.slug)
    return fresh, stale


def stale_releases(course: Course, modules: list[Module]) -> list[str]:
    """Committed releases that differ from what nbgrader generates now (nothing in the course is written)."""
    present = [m for m in modules if (course.root / m.notebook_file).exists()]
    problems = [f"{m.notebook_file} is missing; run `tito source export {m.id}`" for m in modules if m not in present]
    _, stale = fresh_releases(course, present) if present else ({}, set())
    return problems + [f"{m.release_file} is out of date" for m in present if m.slug in stale]


def ensure_release(course: Course, module: Module) -> Path:
    """The student notebook for `module`, generated in-process when release/ lacks it."""
    path = course.root / module.release_file
    if not path.exists():
        report = generate_release(course, module)
        if not report.ok:
            raise TitoError(f"release of {module.slug} failed verification: {report.leaks + report.bad_checksums}")
    return path


def student_view(notebook):
    """`notebook` as a student sees it: nbgrader's ClearSolutions + ClearHiddenTests, outputs kept."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    notebook = as_node(notebook)
    resources: dict = {}
    notebook, resources = ClearSolutions(code_stub={"python": CODE_STUB}).preprocess(notebook, resources)
    notebook, resources = ClearHiddenTests().preprocess(notebook, resources)
    return notebook


# --- autograde and feedback -----------------------------------------------------------------------


def check_student_id(student: str) -> str:
    if not STUDENT_ID.fullmatch(student or "") or ".." in student:  # fullmatch: a `$` anchor lets "id\n" through
        raise UsageError(f"invalid student id `{student}`: use letters, digits, '.', '_', '-' or '@' "
                         "(no slashes, no leading dot)")
    return student


def read_notebook(path: Path) -> dict:
    return nbutil_read(path, UsageError, "restore it from a backup or `tito module reset`", schema=True)


@dataclass
class GradeRow:
    grade_id: str
    score: float
    max_score: float
    kind: str  # autograded test | manual | ...


@dataclass
class GradeReport:
    student: str
    module: Module
    rows: list[GradeRow]
    edited_cells: list[str]
    flags: list[str] = field(default_factory=list)  # what grading noticed (tito.instructor.classgrade.jobs.Result.flags)
    feedback: Path | None = None

    @property
    def score(self) -> float:
        return sum(r.score for r in self.rows)

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.rows)


def submit(course: Course, module: Module, student: str, notebook: Path, coursedir) -> Path:
    """Copy a student's notebook into nbgrader's submitted/ layout (atomically); return its new path."""
    data = read_notebook(notebook)
    dest = (course.root / coursedir.submitted_directory / student / module.slug
            / f"{module.slug}.ipynb")
    text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if dest.exists() and dest.read_text(encoding="utf-8", errors="replace") != text:
        backup_file(course.root, dest)  # a collected submission is the student's work: keep a copy
    atomic_write(dest, text)
    return dest


def ensure_gradebook_entries(api, module: Module) -> None:
    """Autograde needs the assignment in the gradebook; generating the release records it."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        try:
            gb.find_assignment(module.slug)
            return
        except MissingEntry:
            pass
    check_step(api.generate_assignment(module.slug, force=True, create=True), f"generate_assignment {module.slug}")


def grades(api, module: Module, student: str) -> list[GradeRow]:
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        submission = gb.find_submission_notebook(module.slug, module.slug, student)
        for grade in submission.grades:
            cell = grade.cell
            kind = "autograded" if grade.auto_score is not None else "manual"
            rows.append(GradeRow(cell.name, float(grade.score or 0), float(cell.max_score or 0), kind))
    return rows
