"""The execute step of autograding: the one place a student's code runs during grading, with or without sandbox.

nbgrader's Autograde chain (the course's configured one) calls `GradingExecute` in place of its own Execute
(chain.py puts it there). It runs the notebook, with the tests nbgrader restored and the hidden tests
injected, through `tito.instructor.classgrade.run.run_submission`: the kernel in a fresh bubblewrap sandbox that sees
only the files the job carries (the reference package of the EARLIER modules and the datasets, never the
module being graded), or bare with `--no-sandbox`. Both ways the same engine enforces the cell timeout (a
cell that ignores the interrupt costs its kernel, not the rest of the notebook), the wall-time limit, the
memory, process and output limits and the test guard. The cells' outputs are copied onto nbgrader's
notebook, whose sources and order the kernel never touched.

A cell that did not finish (timeout, kernel death, a limit, or never reached) gets an error output: nbgrader
scores a test cell by the absence of errors, so an unrun test must not earn its points. What happened is
left in the notebook's metadata under `tito` for the worker to flag.
"""
from __future__ import annotations

from nbformat import from_dict
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict

from ...core.kernel import nbformat_error
from .run import run_submission

OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")
META = "tito"  # notebook metadata key holding what the execute step saw
# Error names written into cells that did not finish, by tito.core.kernel's cell status.
UNFINISHED = {"timeout": "CellTimeoutError", "died": "DeadKernelError", "stopped": "WallTimeLimit",
              "not run": "CellNotRun"}


class GradingExecute(Execute):
    """Run the notebook's code through the grading engine; only outputs are taken (see the module doc)."""

    sandboxed = Bool(True, help="Run in a bubblewrap sandbox (False: --no-sandbox).").tag(config=True)
    files = Dict(help="Relative path -> bytes: everything of the course the submission may see.").tag(config=True)
    limits = Dict(help="tito.instructor.sandbox.Limits fields for each run.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        from ..sandbox import Limits

        run = run_submission(nb.cells, dict(self.files), float(self.timeout or 60), Limits(**self.limits),
                             sandboxed=self.sandboxed)
        merge_outputs(nb, run)
        return nb, resources


def _is_output(output) -> bool:
    return isinstance(output, dict) and output.get("output_type") in OUTPUT_TYPES


def merge_outputs(nb, run) -> None:
    """Copy the run's outputs onto `nb` cell by cell; mark every unfinished cell with an error (every code
    cell, when nothing usable came back)."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        mine = run.cells.get(index)
        cell.outputs = [from_dict(o) for o in mine.outputs if _is_output(o)] if mine else []
        cell.execution_count = mine.execution_count if mine else None
        state, error = (mine.status, mine.error) if mine else ("not run", run.aborted)
        if state in UNFINISHED and not any(o.get("ename") == UNFINISHED[state] for o in cell.outputs):
            cell.outputs.append(nbformat_error(UNFINISHED[state], error or run.aborted or state))
    nb.metadata[META] = {"run": {
        "aborted": run.aborted, "reason": run.reason, "seconds": round(run.seconds, 3),
        "tampering": {str(i): t for i, t in run.tampering.items()},
        "cut": {str(i): n for i, n in run.cut.items()}, "restarts": run.restarts}}
