"""`tito source export`: plan every generated output, then write only what changed (or just compare).

The plan is a list of `Output`s (path, bytes, read-only flag): per module the nbgrader notebook and the
package file; per course the package `__init__`s and the book's `_toc.yml`, so `--check` covers them all.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..core.backups import backup_file
from ..core.course import Course, Module
from ..core.errors import LintError, Problem, TitoError
from ..core.fsutil import atomic_write, read_bytes
from ..core.headers import header_problems
from ..core.milestones import discover
from ..core.render.notebook import render_notebook
from ..core.render.package import origin_of, package_inits, reference_package
from ..core.render.toc import HAND_PARTS, TOC_FILE, render_toc

# Files nbgrader itself skips when it copies an assignment folder (CourseDirectory.ignore defaults).
NBGRADER_IGNORED = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}


@dataclass(frozen=True)
class Output:
    path: Path  # relative to the course root
    content: bytes
    kind: str  # notebook | package | init | book ...
    module: Module | None = None
    read_only: bool = False


@dataclass(frozen=True)
class Result:
    output: Output
    status: str  # written | unchanged | stale | missing | kept-student
    note: str = ""


def src_label(course: Course, module: Module) -> str:
    return module.src.relative_to(course.root).as_posix()


def lint(course: Course, modules: list[Module]) -> None:
    """Raise LintError with every problem of every module; return quietly when all are clean."""
    problems: list[Problem] = []
    milestones = discover(course) if (course.root / course.config.milestones).is_dir() else None
    for module in modules:
        parsed = course.parse(module)
        problems.extend(parsed.problems)
        problems.extend(header_problems(module, parsed, milestones))
        if parsed.default_exp and parsed.default_exp != module.package:
            problems.append(Problem(module.src, parsed.default_exp_line, "conflicting `#| default_exp`",
                                    "keep exactly one `#| default_exp` per module"))
    if problems:
        raise LintError(problems)


def module_outputs(course: Course, module: Module) -> list[Output]:
    parsed = course.parse(module)
    label = src_label(course, module)
    notebook = render_notebook(module, parsed, label)
    package = reference_package(course, module)
    outputs = [
        Output(module.notebook_file, notebook.encode(), "notebook", module),
        Output(module.package_file, package.encode(), "package", module, read_only=True),
    ]
    return outputs


def hand_pages(course: Course) -> set[str]:
    """The hand-written book pages (HAND_PARTS) this course has: the TOC lists only those."""
    return {doc for _, docs in HAND_PARTS for doc in docs if (course.root / f"{doc}.md").is_file()}


def toc(course: Course) -> str:
    """The course's `_toc.yml` (export writes it, the book build refreshes it)."""
    return render_toc(course, hand_pages(course))


def course_outputs(course: Course) -> list[Output]:
    outputs = [Output(path, text.encode(), "init", read_only=True) for path, text in package_inits(course)]
    outputs.append(Output(TOC_FILE, toc(course).encode(), "book"))
    return outputs


def plan(course: Course, modules: list[Module], progress: Callable[[Module], None] | None = None) -> list[Output]:
    lint(course, modules)
    outputs: list[Output] = []
    for module in modules:
        outputs.extend(module_outputs(course, module))
        if progress:
            progress(module)
    outputs.extend(course_outputs(course))
    return outputs


def stray_files(course: Course, modules: list[Module]) -> list[Path]:
    """Files beside a source notebook that nbgrader would copy into the student release."""
    strays = []
    for module in modules:
        folder = course.root / module.notebook_file.parent
        if folder.is_dir():
            for entry in sorted(folder.iterdir()):
                if entry.name not in NBGRADER_IGNORED and entry.name != module.notebook_file.name:
                    strays.append(entry.relative_to(course.root))
    return strays


def _stray_error(strays: list[Path]) -> TitoError:
    listed = ", ".join(str(s) for s in strays)
    return TitoError(f"unexpected files beside the source notebooks: {listed}. nbgrader copies every file in "
                     "modules/NN_name/ into the student release; delete them (only the generated .ipynb belongs there)")


def check(course: Course, outputs: list[Output], modules: list[Module]) -> list[Result]:
    """Compare without writing; every result that is not `unchanged` makes `--check` fail."""
    results = []
    for output in outputs:
        current = read_bytes(course.root / output.path)
        if current is None:
            results.append(Result(output, "missing"))
        elif current != output.content:
            results.append(Result(output, "stale"))
        else:
            results.append(Result(output, "unchanged"))
    for stray in stray_files(course, modules):
        results.append(Result(Output(stray, b"", "stray"), "stray", "nbgrader would copy it into the release"))
    return results


def write(course: Course, outputs: list[Output], modules: list[Module], force: bool = False) -> list[Result]:
    """Write what changed. A package file holding a student's export is kept unless `force` (then backed up)."""
    strays = stray_files(course, modules)
    if strays:
        raise _stray_error(strays)
    results = []
    for output in outputs:
        target = course.root / output.path
        current = read_bytes(target)
        if current == output.content:
            results.append(Result(output, "unchanged"))
            continue
        note = ""
        if output.kind == "package" and current is not None:
            origin = origin_of(current.decode("utf-8", "replace")) or ""
            if origin.startswith("workspace") or origin.startswith("student"):
                if not force:
                    results.append(Result(output, "kept-student",
                                          f"holds your export ({origin}); use --force to replace it (a backup is kept)"))
                    continue
                note = f"backed up to {backup_file(course.root, target).relative_to(course.root)}"
        atomic_write(target, output.content, read_only=output.read_only)
        results.append(Result(output, "written", note))
    return results
