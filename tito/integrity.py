"""`tito source check`: prove every module's tests are real.

For each module: (a) the full notebook runs top to bottom in a fresh kernel with every cell passing;
(b) the student notebook (solutions stubbed, hidden tests removed, as nbgrader releases it) runs with
errors allowed, and every graded test cell must FAIL there: one that passes on stubs is a grading hole;
(c) every declared mutant (tito/mutants.py) applied to the full notebook makes some graded cell fail; a
mutant that passes them all is a surviving mutant, a grading hole; (d) totals: points, solution regions,
hidden-test regions, mutants killed. Every notebook runs in a fresh kernel, in parallel worker processes.

The student notebook is what nbgrader generates from the current source, in a scratch course: a stale
committed release/ must not decide whether the stubs fail.
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
from .mutants import Mutant, apply_to_notebook, graded_ids, truncate_after

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
    """The one place a check runs a notebook (in a worker process; a fresh kernel every time)."""
    text, timeout, allow_errors = args
    try:
        return execute(json.loads(text), timeout, allow_errors)
    except RuntimeError as exc:  # a kernel that did not start in time on a loaded machine: one more try
        if "didn't respond" not in str(exc):
            raise
        return execute(json.loads(text), timeout, allow_errors)


def mutated_notebook(full: dict, mutant: Mutant) -> dict:
    """The full notebook with `mutant` applied, cut after the last graded cell that can catch it."""
    mutated = apply_to_notebook(full, mutant)
    return truncate_after(mutated, set(mutant.catches or graded_ids(mutated)))


def judge(mutant: Mutant, run: RunResult) -> MutantOutcome:
    counted = [c for c in run.cells if not mutant.catches or c.grade_id in mutant.catches]
    return MutantOutcome(mutant, [c.grade_id for c in counted if c.error],
                         [c.grade_id for c in counted if c.error is None], run.aborted, run.seconds)


def check(course: Course, modules: list[Module], timeout: int = DEFAULT_TIMEOUT, workers: int = 2,
          on_done: Callable[[ModuleReport], None] | None = None, mutants: bool = True,
          mutants_only: bool = False) -> list[ModuleReport]:
    """Run the integrity check for `modules` (their notebooks must be exported)."""
    from .grading import fresh_releases

    fulls = {m.slug: json.loads((course.root / m.notebook_file).read_text(encoding="utf-8")) for m in modules}
    releases, stale = ({}, set()) if mutants_only else fresh_releases(course, modules)
    reports: list[ModuleReport] = []
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        def submit(notebook: dict):
            return pool.submit(_job, (json.dumps(notebook), timeout, True))

        plans = []
        for module in modules:
            full = fulls[module.slug]
            runs = None if mutants_only else (submit(full), submit(releases[module.slug]))
            todo = course.parse(module).mutants if (mutants or mutants_only) else []
            plans.append((module, runs, [(m, submit(mutated_notebook(full, m))) for m in todo]))
        for module, runs, mutant_runs in plans:
            full_run, stub_run = (runs[0].result(), runs[1].result()) if runs else (None, None)
            report = _report(course, module, full_run, stub_run)
            report.stale_release = module.slug in stale
            report.mutants = [_outcome(m, future) for m, future in mutant_runs]
            reports.append(report)
            if on_done:
                on_done(report)
    return reports


def _outcome(mutant: Mutant, future) -> MutantOutcome:
    try:
        return judge(mutant, future.result())
    except Exception as exc:  # the notebook could not be run at all: say so, never count it either way
        return MutantOutcome(mutant, [], [], None, 0.0, error=f"{type(exc).__name__}: {exc}")


def _report(course: Course, module: Module, full: RunResult | None, stub: RunResult | None) -> ModuleReport:
    parsed = course.parse(module)
    regions = [r for c in parsed.cells for r in c.regions]
    n_solutions = sum(r.kind == "solution" for r in regions)
    report = ModuleReport(module, full, stub, points=sum(c.points for c in parsed.cells if c.is_graded),
                          solution_regions=n_solutions, hidden_regions=sum(r.kind == "hidden" for r in regions))
    if n_solutions and stub is not None:
        report.holes = [c for c in stub.cells if c.error is None]
    return report
