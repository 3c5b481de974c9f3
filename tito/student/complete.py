"""`tito module test` and `tito module complete`: the student's notebook, validated, tested, exported.

complete = validate -> test -> export -> record. Each step only reads until every check has passed;
then the package file is replaced atomically and progress is recorded. A failure at any step leaves
the package and the progress store exactly as they were.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..core.backups import COMPLETED
from ..core.course import Course, Module
from ..core.errors import TitoError
from ..core.fsutil import atomic_write, read_bytes
from ..core.interrupt import Signalled
from . import progress as store
from . import runs
from .notebook import CellProblem, NotebookError, render_student_package, syntax_problems, validate
from .package import exported, require_prerequisites
from .plan import blocked, recommended
from .recovery import read_notebook
from .runner import DEFAULT_TIMEOUT, TestReport
from .runner import test as run_tests
from .workspace import backup_notebook, notebook_path, origin_label

UNCHANGED = "your package and progress are unchanged"


class ValidationError(NotebookError):
    def __init__(self, module: Module, path: Path, problems: list[CellProblem]):
        self.module, self.path, self.problems = module, path, problems
        listed = "\n".join(f"  {p.cell}: {p.message}" + (f"\n    fix: {p.fix}" if p.fix else "") for p in problems)
        super().__init__(f"{path} has {len(problems)} problem(s); nothing was run or changed:\n{listed}")


@dataclass
class Completion:
    module: Module
    report: TestReport | None  # None with --skip-tests
    package_file: Path | None = None  # written when every check passed
    backup: Path | None = None  # the previous export of the student's code
    next_module: Module | None = None
    milestone: str | None = None
    warnings: list[str] = field(default_factory=list)
    notebook_backup: Path | None = None  # the notebook that passed, as it was tested (a known-good copy)
    working_again: list[Module] = field(default_factory=list)  # completed modules that import again

    @property
    def completed(self) -> bool:
        return self.package_file is not None


def workspace_notebook(course: Course, module: Module) -> tuple[Path, dict]:
    path, notebook, _ = read_workspace(course, module)
    return path, notebook


def read_workspace(course: Course, module: Module) -> tuple[Path, dict, bytes]:
    """(path, notebook, the bytes it was read from): what is tested is what `complete` backs up."""
    path = notebook_path(course.root, module)
    data = read_bytes(path)
    if data is None:
        raise TitoError(f"you have no notebook for {module.slug} yet ({path}); run `tito module start {module.id}`")
    return path, read_notebook(path, course.root, module, data), data


def _release(course: Course, module: Module) -> dict | None:
    path = course.root / module.release_file
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _validator(course: Course, module: Module, path: Path, notebook: dict):
    def check() -> None:
        problems = validate(notebook, module, _release(course, module))
        if problems:
            raise ValidationError(module, path, problems)
    return check


def _exportable(course: Course, module: Module, path: Path, notebook: dict) -> None:
    """Syntax errors stop everything before the export is rendered (the checksum check runs later, in
    parallel with the kernel start; on this error path it is reported too)."""
    if syntax_problems(notebook):
        raise ValidationError(module, path, validate(notebook, module, _release(course, module)))


def test_module(course: Course, module: Module, timeout: int = DEFAULT_TIMEOUT, validate_first: bool = False) -> TestReport:
    """Run the student's notebook and the module's pytest file against the student's export."""
    try:
        path, notebook = workspace_notebook(course, module)
        require_prerequisites(course, module)
        _exportable(course, module, path, notebook)
        package_text = render_student_package(module, notebook, origin_label(course.root, module))
        check = _validator(course, module, path, notebook) if validate_first else None
        report = run_tests(course, module, notebook, path, package_text, timeout, before_run=check)
    except KeyboardInterrupt as exc:  # kernel and pytest are already stopped; nothing was written
        raise Signalled.of(exc, UNCHANGED) from None
    runs.record(course.root, module.slug, report)  # for `tito module resume`; progress.json is untouched
    return report


def complete(course: Course, module: Module, skip_tests: bool = False, timeout: int = DEFAULT_TIMEOUT) -> Completion:
    try:
        return _complete(course, module, skip_tests, timeout)
    except KeyboardInterrupt as exc:  # before the export, or rolled back by it
        raise Signalled.of(exc, UNCHANGED) from None


def _complete(course: Course, module: Module, skip_tests: bool, timeout: int) -> Completion:
    path, notebook, data = read_workspace(course, module)
    require_prerequisites(course, module)
    _exportable(course, module, path, notebook)
    package_text = render_student_package(module, notebook, origin_label(course.root, module))
    _compile_export(module, package_text)
    check = _validator(course, module, path, notebook)
    if skip_tests:
        check()
        report = None
    else:
        report = run_tests(course, module, notebook, path, package_text, timeout, before_run=check)
        runs.record(course.root, module.slug, report)
        if not report.passed:
            return Completion(module, report)
    target = course.root / module.package_file
    backup = _backup_if_student_file(course.root, target)
    _ensure_package_inits(course)
    stuck_before = blocked(course, store.load(course.root, course).completed(), exported(course))
    previous = read_bytes(target)
    atomic_write(target, package_text, read_only=True)
    try:
        progress = store.record_completed(course.root, module.slug, report.score if report else None,
                                          report.max_score if report else None, "passed" if report else "skipped",
                                          course)
    except BaseException:  # keep package and progress consistent: put the old file back
        if previous is None:
            target.unlink(missing_ok=True)
        else:
            atomic_write(target, previous, read_only=True)
        raise
    done = progress.completed()
    stuck_now = blocked(course, done, exported(course))
    again = [m for m in course.modules if m.slug in stuck_before and m.slug not in stuck_now]
    result = Completion(module, report, target, backup, recommended(course, done), module.milestone,
                        list(progress.warnings), working_again=again)
    try:
        result.notebook_backup = backup_notebook(course.root, path, COMPLETED, data)
    except OSError as exc:  # the module is completed; only the extra copy is missing
        result.warnings.append(f"could not keep a copy of your completed notebook ({exc.strerror or exc})")
    return result


def _compile_export(module: Module, package_text: str) -> None:
    try:
        compile(package_text, str(module.package_file), "exec")
    except SyntaxError as exc:
        raise NotebookError(f"the code exported from your notebook is not valid Python "
                            f"({module.package_file} line {exc.lineno}: {exc.msg}); fix the `#| export` cells") from None


def _backup_if_student_file(root: Path, target: Path) -> Path | None:
    """A previous export of the student's own work is kept (re-completing replaces it)."""
    from ..core.backups import KEEP, backup_file
    from ..core.render.package import origin_of

    current = read_bytes(target)
    if current is None:
        return None
    origin = origin_of(current.decode("utf-8", "replace")) or ""
    return backup_file(root, target, "replaced", keep=KEEP) if origin.startswith("workspace") else None


def _ensure_package_inits(course: Course) -> None:
    """`from <package> import X` needs the generated __init__ files; write only the missing ones."""
    from ..core.render.package import package_inits

    for path, text in package_inits(course):
        if not (course.root / path).exists():
            atomic_write(course.root / path, text, read_only=True)
