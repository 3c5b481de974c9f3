"""Autograde every collected submission of one module: plan the jobs, run them, record the results.

The parent reads submissions, skips those already graded from the same bytes (unless forced), hands the
rest to a runner (local processes or a Dask cluster) and, as each Result arrives, writes the gradebook,
the autograded notebook and the grading state. Only this process writes any of them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ...core.course import Course, Module
from ...core.errors import CheckFailed, MissingDependency, TitoError, UsageError
from ...core.fsutil import atomic_write
from ...core.interrupt import Signalled
from ..nbgrader import GradeReport, check_student_id, checksum_problems, ensure_gradebook_entries, grades, nbgrader_api, submit
from ..sandbox import Limits, probe
from . import gradebook
from .jobs import Job, Result
from .sandbox_files import sandbox_files
from .snapshot import assignment_snapshot
from .state import GradingState

STATE_FILE = Path(".tito") / "nbgrader" / "class-grading.json"


@dataclass
class ClassReport:
    module: Module
    results: list[Result] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # unchanged since they were last graded
    ungraded: list[str] = field(default_factory=list)  # whose last grading failed, this run or an earlier one

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok]


@dataclass
class Batch:
    """Everything decided before grading starts."""

    jobs: list[Job]
    skipped: list[str]
    db_url: str
    course_id: str
    autograded: Path
    state: GradingState


def submissions(submitted: Path, slug: str) -> dict[str, Path]:
    """student id -> submitted folder holding `<slug>.ipynb`."""
    found = {}
    for notebook in sorted(Path(submitted).glob(f"*/{slug}/{slug}.ipynb")):
        found[notebook.parent.parent.name] = notebook.parent
    return found


def portable(config):
    """The course's nbgrader config as it travels to a worker: plain values, and the autograde chain as import
    names with tito's execute step in it (chain.py)."""
    from traitlets.config import Config

    from .chain import grading_chain

    out = Config({k: v for k, v in config.items() if k != "TitoKernelManager"})
    out.Autograde = Config({k: v for k, v in config.Autograde.items() if k != "autograde_preprocessors"})
    out.Autograde.autograde_preprocessors = grading_chain(config)
    return out


def prepare(course: Course, module: Module, *, student: str | None = None, force: bool = False,
            timeout: int | None = None, limits: Limits | None = None, sandbox: bool = True,
            local: bool = True) -> Batch:
    """`local`: the submissions run on this machine, so check here that a sandbox can start."""
    if sandbox and local:
        problem = probe()
        if problem:
            raise MissingDependency(problem)
    api = nbgrader_api(course.root, timeout)
    coursedir = api.coursedir
    if not (course.root / module.release_file).exists():
        raise TitoError(f"{module.slug} has not been released; run `tito nbgrader generate {module.id}` first")
    ensure_gradebook_entries(api, module)
    submitted = course.root / coursedir.submitted_directory
    found = submissions(submitted, module.slug)
    if student is not None:
        check_student_id(student)
        if student not in found:
            raise UsageError(f"no submission of {module.slug} from {student} in {submitted}; "
                             f"run `tito nbgrader collect {module.id} SOURCE` first")
        found = {student: found[student]}
    if not found:
        raise UsageError(f"no submissions of {module.slug} in {submitted}; "
                         f"run `tito nbgrader collect {module.id} SOURCE` first")
    db_url, course_id = coursedir.db_url, coursedir.course_id
    snapshot, definition = assignment_snapshot(db_url, course_id, module.slug)
    state = GradingState(course.root / STATE_FILE, db_url)
    already = gradebook.graded(db_url, course_id, module.slug)
    files = sandbox_files(course, module) if sandbox else {}
    jobs, skipped = [], []
    config = portable(api.config)
    for name, folder in sorted(found.items()):
        stamp = folder / "timestamp.txt"
        job = Job(name, module.slug, (folder / f"{module.slug}.ipynb").read_bytes(),
                  stamp.read_text(encoding="utf-8") if stamp.exists() else None,
                  snapshot, config, definition, limits or Limits(), sandbox, files)
        last = state.get(module.slug, name)
        # Only a successful grading of the same bytes is final; one that failed is tried again.
        if not force and last and last.get("ok") and last["key"] == job.key and name in already:
            skipped.append(name)
        else:
            jobs.append(job)
    return Batch(jobs, skipped, db_url, course_id, course.root / coursedir.autograded_directory, state)


def run(batch: Batch, results: Iterator[Result], module: Module,
        on_result: Callable[[Result], None] | None = None) -> ClassReport:
    """Record each Result as it arrives; the state file is saved after every one (an interrupt loses none)."""
    report = ClassReport(module, skipped=batch.skipped)
    try:
        with gradebook.opened(batch.db_url, batch.course_id) as gb:
            for result in results:
                _record(batch, gb, result)
                report.results.append(result)
                if on_result:
                    on_result(result)
    except KeyboardInterrupt as exc:
        getattr(results, "close", lambda: None)()  # a generator: stops the workers now (see local.py)
        raise Signalled.of(exc, f"{len(report.results)} submission(s) graded and recorded before the stop; run "
                                "the same command again to grade the rest") from None
    report.results.sort(key=lambda r: r.student)
    report.ungraded = batch.state.ungraded(module.slug)
    return report


def _record(batch: Batch, gb, result: Result) -> None:
    gradebook.record(gb, result)
    folder = batch.autograded / result.student / result.assignment
    if result.ok and result.autograded is not None:
        atomic_write(folder / f"{result.assignment}.ipynb", result.autograded)
        if result.timestamp:
            atomic_write(folder / "timestamp.txt", result.timestamp)
    batch.state.put(result)
    batch.state.save()


def grade_class(course: Course, module: Module, *, workers: int | None = None, cluster: str | None = None,
                student: str | None = None, force: bool = False, timeout: int | None = None,
                limits: Limits | None = None, sandbox: bool = True, on_start: Callable[[Batch], None] | None = None,
                on_result: Callable[[Result], None] | None = None) -> ClassReport:
    if cluster:
        from .cluster import run_on_cluster

        batch = prepare(course, module, student=student, force=force, timeout=timeout, limits=limits,
                        sandbox=sandbox, local=False)
        if on_start:
            on_start(batch)
        return run(batch, run_on_cluster(cluster, batch.jobs), module, on_result)
    from ...core.kernel import kernel_parallelism
    from .local import local_pool, run_local

    # The workers start (and import nbgrader) while this process plans the batch.
    with local_pool(1 if student else (workers or kernel_parallelism())) as pool:
        batch = prepare(course, module, student=student, force=force, timeout=timeout, limits=limits,
                        sandbox=sandbox, local=True)
        if on_start:
            on_start(batch)
        return run(batch, run_local(batch.jobs, pool=pool), module, on_result)


def grade_one(course: Course, module: Module, student: str, notebook: Path, *, timeout: int | None = None,
              limits: Limits | None = None, sandbox: bool = True) -> GradeReport:
    """Put `notebook` into the submitted layout as `student`'s submission and grade it like a class of one."""
    check_student_id(student)
    if not (course.root / module.release_file).exists():
        raise TitoError(f"{module.slug} has not been released; run `tito nbgrader generate {module.id}` first")
    api = nbgrader_api(course.root, timeout)
    submitted = submit(course, module, student, notebook, api.coursedir)
    edited = checksum_problems(json.loads(submitted.read_text(encoding="utf-8")))
    report = grade_class(course, module, workers=1, student=student, force=True, timeout=timeout, limits=limits,
                         sandbox=sandbox)
    result = report.results[0]
    if not result.ok:
        raise CheckFailed(f"{student}'s {module.slug} could not be graded ({'; '.join(result.flags)}): "
                          f"{result.error.strip().splitlines()[-1] if result.error.strip() else 'no details'}")
    flags = [f for f in result.flags if not f.startswith("edited locked cell")]
    return GradeReport(student, module, grades(api, module, student), edited, flags)
