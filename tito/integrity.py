"""`tito source check`: prove every module's tests are real.

For each module: (a) the full notebook runs top to bottom in a fresh kernel with every cell passing;
(b) the student notebook (solutions stubbed, hidden tests removed, as nbgrader releases it) runs with
errors allowed, and every graded test cell must FAIL there: one that passes on stubs is a grading hole;
(c) totals: points, solution regions, hidden-test regions. Notebooks run in parallel kernels (`tito.kernel`).
"""
from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .course import Course, Module
from .kernelenv import kernel_env
from .nbutil import is_test_cell, nbgrader_meta

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


@dataclass
class ModuleReport:
    module: Module
    full: RunResult
    stub: RunResult | None
    points: float
    solution_regions: int
    hidden_regions: int
    holes: list[CellOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.full.failures and not self.full.aborted and not self.holes and not (
            self.stub is not None and self.stub.aborted)


def execute(notebook: dict, timeout: float = DEFAULT_TIMEOUT, allow_errors: bool = True) -> RunResult:
    """Run `notebook` in a fresh python3 kernel inside a scratch folder; collect graded-cell outcomes."""
    return run_all([notebook], timeout, allow_errors, workers=1)[0]


def run_all(notebooks: list[dict], timeout: float = DEFAULT_TIMEOUT, allow_errors: bool = True, workers: int = 2,
            on_done: Callable[[int, RunResult], None] | None = None) -> list[RunResult]:
    """Run several notebooks (`workers` kernels at a time), each in its own scratch folder."""
    from . import kernel

    with contextlib.ExitStack() as stack:
        folders = [Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tito-run-"))) for _ in notebooks]
        jobs = [dict(notebook=nb, cwd=folder, env=kernel_env(), cell_timeout=timeout, allow_errors=allow_errors)
                for nb, folder in zip(notebooks, folders)]
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
    return RunResult(outcomes, failures, run.aborted, run.seconds)


def student_notebook(course: Course, module: Module) -> dict:
    """The release notebook when it exists, else the same view built by nbgrader's preprocessors."""
    release = course.root / module.release_file
    if release.exists():
        return json.loads(release.read_text(encoding="utf-8"))
    from .grading import student_view

    full = json.loads((course.root / module.notebook_file).read_text(encoding="utf-8"))
    return student_view(full)


def check(course: Course, modules: list[Module], timeout: float = DEFAULT_TIMEOUT, workers: int = 2,
          on_done: Callable[[ModuleReport], None] | None = None) -> list[ModuleReport]:
    """Run the integrity check for `modules` (their notebooks must be exported)."""
    notebooks = []
    for module in modules:
        notebooks.append(json.loads((course.root / module.notebook_file).read_text(encoding="utf-8")))
        notebooks.append(student_notebook(course, module))
    runs: dict[int, RunResult] = {}
    reports: dict[int, ModuleReport] = {}

    def landed(i: int, result: RunResult) -> None:  # report each module as soon as both its runs are in
        runs[i] = result
        m = i // 2
        if m * 2 in runs and m * 2 + 1 in runs:
            reports[m] = _report(course, modules[m], runs[m * 2], runs[m * 2 + 1])
            if on_done:
                on_done(reports[m])

    run_all(notebooks, timeout, True, workers, landed)
    return [reports[m] for m in range(len(modules))]


def _report(course: Course, module: Module, full: RunResult, stub: RunResult) -> ModuleReport:
    parsed = course.parse(module)
    regions = [r for c in parsed.cells for r in c.regions]
    n_solutions = sum(r.kind == "solution" for r in regions)
    report = ModuleReport(module, full, stub, points=sum(c.points for c in parsed.cells if c.is_graded),
                          solution_regions=n_solutions, hidden_regions=sum(r.kind == "hidden" for r in regions))
    if n_solutions:
        report.holes = [c for c in stub.cells if c.error is None]
    return report
