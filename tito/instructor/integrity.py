"""`tito source check`: prove every module's tests are real.

For each module: (a) the full notebook runs top to bottom in a fresh kernel with every cell passing;
(b) the student notebook (solutions stubbed, hidden tests removed, as nbgrader releases it) runs with
errors allowed, and every graded test cell must FAIL there: one that passes on stubs is a grading hole;
(c) every declared mutant (tito/core/mutants.py) applied to the full notebook makes some graded cell fail; a
mutant that passes them all is a surviving mutant, a grading hole; (d) totals: points, solution regions,
hidden-test regions, mutants killed. Every notebook runs in a fresh kernel (`tito.core.kernel`), several at a time.

The student notebook is what nbgrader generates from the current source, in a scratch course: a stale
committed release/ must not decide whether the stubs fail.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..core.course import Course, Module
from ..core.kernelenv import kernel_env
from ..core.mutants import Mutant, apply_to_notebook, graded_ids, truncate_after
from ..core.nbutil import is_test_cell, nbgrader_meta

DEFAULT_TIMEOUT = 60


@dataclass
class CellOutcome:
    grade_id: str
    points: float
    error: str | None  # "ExcName: message" when the cell raised


@dataclass
class RunResult:
    cells: list[CellOutcome]  # graded test cells, in order
    failures: list[str]  # "cell <id>: error" for every failing cell (any kind)
    aborted: str | None  # timeout or kernel death, naming the cell
    seconds: float
    reason: str | None = None  # tito.core.kernel's reason: timeout | kernel-died | wall-limit | kernel-start ...


@dataclass
class MutantOutcome:
    mutant: Mutant
    killed_by: list[str]  # graded cells (among the ones that count) that failed
    passed: list[str]  # graded cells (among the ones that count) that passed
    aborted: str | None  # a timeout or dead kernel also stops the student's grading: counts as killed
    seconds: float
    error: str | None = None  # the run itself failed (no kernel): neither killed nor a survivor

    @property
    def killed(self) -> bool:
        return self.error is None and (bool(self.killed_by) or self.aborted is not None)


@dataclass
class ModuleReport:
    module: Module
    full: RunResult | None  # None with --mutants-only
    stub: RunResult | None
    points: float
    solution_regions: int
    hidden_regions: int
    holes: list[CellOutcome] = field(default_factory=list)
    mutants: list[MutantOutcome] = field(default_factory=list)
    stale_release: bool = False  # the committed release/ differs from what nbgrader generates now

    @property
    def survivors(self) -> list[MutantOutcome]:
        return [m for m in self.mutants if not m.killed and m.error is None]

    @property
    def mutant_errors(self) -> list[MutantOutcome]:
        return [m for m in self.mutants if m.error is not None]

    @property
    def killed(self) -> int:
        return sum(m.killed for m in self.mutants)

    @property
    def ok(self) -> bool:
        full_ok = self.full is None or not (self.full.failures or self.full.aborted)
        return full_ok and not self.holes and not self.survivors and not self.mutant_errors and not (
            self.stub is not None and self.stub.aborted)


def execute(notebook: dict, timeout: float = DEFAULT_TIMEOUT, allow_errors: bool = True) -> RunResult:
    """Run `notebook` in a fresh python3 kernel inside a scratch folder; collect graded-cell outcomes."""
    return run_all([notebook], timeout, allow_errors, workers=1)[0]


def run_all(notebooks: list[dict], timeout: float = DEFAULT_TIMEOUT, allow_errors: bool = True, workers: int = 2,
            on_done: Callable[[int, RunResult], None] | None = None,
            stops: list[Callable[[int, dict], bool] | None] | None = None,
            pythonpath: str = "") -> list[RunResult]:
    """Run several notebooks (`workers` kernels at a time), each in its own scratch folder; `stops[i]` is
    notebook i's `stop_after` (see tito.core.kernel.execute). `pythonpath` goes first on the kernels' path."""
    from ..core import kernel

    env = kernel_env(**({"PYTHONPATH": os.pathsep.join(p for p in (pythonpath, os.environ.get("PYTHONPATH", "")) if p)}
                        if pythonpath else {}))
    with contextlib.ExitStack() as stack:
        folders = [Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tito-run-"))) for _ in notebooks]
        jobs = [dict(notebook=nb, cwd=folder, env=env, cell_timeout=timeout, allow_errors=allow_errors,
                     stop_after=stop) for nb, folder, stop in zip(notebooks, folders, stops or [None] * len(notebooks))]
        results: list[RunResult] = [None] * len(notebooks)  # type: ignore[list-item]

        def landed(i: int, run) -> None:
            results[i] = _result(run)
            if on_done:
                on_done(i, results[i])

        kernel.execute_all(jobs, workers, landed)
        return results


def _result(run) -> RunResult:
    outcomes, failures = [], []
    for step in run.cells:
        cell = run.notebook.cells[step.index]
        meta = nbgrader_meta(cell)
        error = step.error if step.status in ("error", "died", "timeout", "stopped") else None
        if step.status == "error":
            failures.append(f"cell `{step.name}`: {step.error[:300]}")
        if is_test_cell(cell):
            outcomes.append(CellOutcome(meta.get("grade_id", "?"), float(meta.get("points") or 0),
                                        error if step.status != "not run" else "not run"))
    return RunResult(outcomes, failures, run.aborted, run.seconds, run.reason)


def mutated_notebook(full: dict, mutant: Mutant) -> dict:
    """The full notebook with `mutant` applied, cut after the last graded cell that can catch it."""
    mutated = apply_to_notebook(full, mutant)
    return truncate_after(mutated, set(mutant.catches or graded_ids(mutated)))


def first_catch(mutant: Mutant) -> Callable[[int, dict], bool]:
    """stop_after for a mutant's run: the first counted graded cell that fails has killed it."""
    from ..core.kernel import error_of

    def caught(index: int, cell: dict) -> bool:
        gid = nbgrader_meta(cell).get("grade_id")
        return is_test_cell(cell) and (not mutant.catches or gid in mutant.catches) and error_of(cell) is not None

    return caught


def judge(mutant: Mutant, run: RunResult) -> MutantOutcome:
    if run.reason == "kernel-start":  # nothing ran: neither killed nor a survivor
        return MutantOutcome(mutant, [], [], None, run.seconds, error=run.aborted or "the kernel did not start")
    counted = [c for c in run.cells if not mutant.catches or c.grade_id in mutant.catches]
    ran = [c for c in counted if c.error != "not run"]  # a run stops at its first catch (first_catch)
    return MutantOutcome(mutant, [c.grade_id for c in ran if c.error],
                         [c.grade_id for c in ran if c.error is None], run.aborted, run.seconds)


def check(course: Course, modules: list[Module], timeout: float = DEFAULT_TIMEOUT, workers: int = 2,
          on_done: Callable[[ModuleReport], None] | None = None, mutants: bool = True,
          mutants_only: bool = False) -> list[ModuleReport]:
    """Run the integrity check for `modules` (their notebooks must be exported).

    Every run (reference, stubs, each mutant) is one job for the engine; a module is reported as soon as
    all of its runs are in."""
    from .nbgrader import fresh_releases

    fulls = {m.slug: json.loads((course.root / m.notebook_file).read_text(encoding="utf-8")) for m in modules}
    releases, stale = ({}, set()) if mutants_only else fresh_releases(course, modules)
    notebooks: list[dict] = []
    stops: list[Callable[[int, dict], bool] | None] = []
    owner: list[tuple[int, str, Mutant | None]] = []  # (module index, "full" | "stub" | "mutant", mutant)
    for m, module in enumerate(modules):
        if not mutants_only:
            notebooks += [fulls[module.slug], releases[module.slug]]
            stops += [None, None]
            owner += [(m, "full", None), (m, "stub", None)]
        for mutant in (course.parse(module).mutants if (mutants or mutants_only) else []):
            notebooks.append(mutated_notebook(fulls[module.slug], mutant))
            stops.append(first_catch(mutant))
            owner.append((m, "mutant", mutant))
    pending = [sum(o[0] == m for o in owner) for m in range(len(modules))]
    runs: dict[int, dict] = {m: {"mutants": []} for m in range(len(modules))}
    reports: dict[int, ModuleReport] = {}

    def finish(m: int) -> None:
        got = runs[m]
        report = _report(course, modules[m], got.get("full"), got.get("stub"))
        report.stale_release = modules[m].slug in stale
        order = [o[2] for o in owner if o[0] == m and o[1] == "mutant"]
        report.mutants = sorted(got["mutants"], key=lambda outcome: order.index(outcome.mutant))
        reports[m] = report
        if on_done:
            on_done(report)

    def landed(i: int, result: RunResult) -> None:
        m, kind, mutant = owner[i]
        if kind == "mutant":
            runs[m]["mutants"].append(judge(mutant, result))
        else:
            runs[m][kind] = result
        pending[m] -= 1
        if pending[m] == 0:
            finish(m)

    for m in range(len(modules)):
        if pending[m] == 0:
            finish(m)
    with course_package(course) as pythonpath:
        run_all(notebooks, timeout, True, workers, landed, stops, pythonpath)
    return [reports[m] for m in range(len(modules))]


@contextlib.contextmanager
def course_package(course: Course) -> Iterator[str]:
    """A folder that holds only this course's exported package (linked, `datasets/` beside it as in the course):
    the reference notebooks import the package of the course being checked, not whichever course (or other
    checkout of it) is installed in the environment, and nothing else of the course folder."""
    with tempfile.TemporaryDirectory(prefix="tito-package-") as folder:
        for name in (course.config.package, "datasets"):
            if (course.root / name).is_dir():
                (Path(folder) / name).symlink_to((course.root / name).resolve(), target_is_directory=True)
        yield folder


def _report(course: Course, module: Module, full: RunResult | None, stub: RunResult | None) -> ModuleReport:
    parsed = course.parse(module)
    regions = [r for c in parsed.cells for r in c.regions]
    n_solutions = sum(r.kind == "solution" for r in regions)
    report = ModuleReport(module, full, stub, points=sum(c.points for c in parsed.cells if c.is_graded),
                          solution_regions=n_solutions, hidden_regions=sum(r.kind == "hidden" for r in regions))
    if n_solutions and stub is not None:
        report.holes = [c for c in stub.cells if c.error is None]
    return report
