"""`tito source check`: prove every module's tests are real.

For each module: (a) the full notebook runs top to bottom in a fresh kernel with every cell passing;
(b) the student notebook (solutions stubbed, hidden tests removed, as nbgrader releases it) runs with
errors allowed, and every graded test cell must FAIL there: one that passes on stubs is a grading hole;
(c) totals: points, solution regions, hidden-test regions. Notebooks run in parallel worker processes.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import nbformat

from .course import Course, Module
from .kernelenv import kernel_env

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


def _error_text(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {str(output.get('evalue', ''))[:300]}"
    return None


def execute(notebook: dict, timeout: int = DEFAULT_TIMEOUT, allow_errors: bool = True) -> RunResult:
    """Run `notebook` in a fresh python3 kernel inside a scratch folder; collect graded-cell outcomes."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.reads(json.dumps(notebook), as_version=4)
    current = {"index": -1}

    def on_start(cell, cell_index):
        current["index"] = cell_index

    start = time.perf_counter()
    aborted = None
    with tempfile.TemporaryDirectory(prefix="tito-run-") as scratch:
        client = NotebookClient(nb, kernel_name="python3", timeout=timeout, allow_errors=allow_errors,
                                shutdown_kernel="immediate",
                                resources={"metadata": {"path": scratch}}, on_cell_start=on_start)
        try:
            # The kernel's own stderr is launcher noise (cell output arrives over its iopub channel).
            client.execute(cleanup_kc=True, stderr=subprocess.DEVNULL, env=kernel_env())
        except CellTimeoutError:
            aborted = f"cell {_cell_name(nb, current['index'])} timed out after {timeout} s"
        except DeadKernelError:
            aborted = f"kernel died in cell {_cell_name(nb, current['index'])}"
        except Exception as exc:  # allow_errors=False raises CellExecutionError on the first failure
            if allow_errors:
                raise
            aborted = f"cell {_cell_name(nb, current['index'])} failed: {str(exc).strip().splitlines()[-1][:300]}"
    outcomes, failures = [], []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        error = _error_text(cell)
        meta = cell.metadata.get("nbgrader", {})
        if error:
            failures.append(f"cell {meta.get('grade_id') or cell.get('id')}: {error}")
        if meta.get("grade") and not meta.get("solution"):
            outcomes.append(CellOutcome(meta.get("grade_id", "?"), float(meta.get("points") or 0), error))
    return RunResult(outcomes, failures, aborted, time.perf_counter() - start)


def _cell_name(nb, index: int) -> str:
    if 0 <= index < len(nb.cells):
        cell = nb.cells[index]
        return str(cell.metadata.get("nbgrader", {}).get("grade_id") or cell.get("id") or index)
    return "?"


def _job(args: tuple[str, int, bool]) -> RunResult:
    text, timeout, allow_errors = args
    return execute(json.loads(text), timeout, allow_errors)


def student_notebook(course: Course, module: Module) -> dict:
    """The release notebook when it exists, else the same view built by nbgrader's preprocessors."""
    release = course.root / module.release_file
    if release.exists():
        return json.loads(release.read_text(encoding="utf-8"))
    from .grading import student_view

    full = json.loads((course.root / module.notebook_file).read_text(encoding="utf-8"))
    return student_view(full)


def check(course: Course, modules: list[Module], timeout: int = DEFAULT_TIMEOUT, workers: int = 2,
          on_done: Callable[[ModuleReport], None] | None = None) -> list[ModuleReport]:
    """Run the integrity check for `modules` (their notebooks must be exported)."""
    jobs = []
    for module in modules:
        full = (course.root / module.notebook_file).read_text(encoding="utf-8")
        jobs.append((module, full, json.dumps(student_notebook(course, module))))
    reports: list[ModuleReport] = []
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [(m, pool.submit(_job, (full, timeout, True)), pool.submit(_job, (stub, timeout, True)))
                   for m, full, stub in jobs]
        for module, full_future, stub_future in futures:
            report = _report(course, module, full_future.result(), stub_future.result())
            reports.append(report)
            if on_done:
                on_done(report)
    return reports


def _report(course: Course, module: Module, full: RunResult, stub: RunResult) -> ModuleReport:
    parsed = course.parse(module)
    regions = [r for c in parsed.cells for r in c.regions]
    n_solutions = sum(r.kind == "solution" for r in regions)
    report = ModuleReport(module, full, stub, points=sum(c.points for c in parsed.cells if c.is_graded),
                          solution_regions=n_solutions, hidden_regions=sum(r.kind == "hidden" for r in regions))
    if n_solutions:
        report.holes = [c for c in stub.cells if c.error is None]
    return report
