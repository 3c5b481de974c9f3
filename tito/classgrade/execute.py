"""The execute step of autograding: the one place a student's code runs during grading.

nbgrader's Autograde chain calls one of these in place of its own Execute (worker.py chooses):

- `SandboxedExecute` (the default) sends the notebook, with the tests nbgrader injected, into a fresh
  bubblewrap sandbox (`tito.sandbox.execute_notebook`) that sees only the files the job carries: the
  reference package of the EARLIER modules and the datasets, never the module being graded. The cells'
  outputs come back as data; this trusted process copies them onto its own notebook, whose sources and
  order the sandbox never touched.
- `LimitedExecute` (`--no-sandbox`) is tito's engine step (`kernel.execute_preprocessor()`: nbgrader's
  Execute with tito's kernel manager, tied to tito's life) plus an address-space limit on the kernel.

A cell that did not finish (timeout, kernel death, a sandbox limit, or never reached) gets an error
output: nbgrader scores a test cell by the absence of errors, so an unrun test must not earn its points.
What went wrong is left in the notebook's metadata under `tito` for the worker to flag.
"""
from __future__ import annotations

import resource

from nbclient.util import run_sync
from nbformat import from_dict
from nbgrader.preprocessors import Execute
from traitlets import Dict, Integer

from ..kernel import execute_preprocessor, nbformat_error

OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")
META = "tito"  # notebook metadata key holding what the execute step saw
# Error names written into cells that did not finish, by tito.kernel's cell status.
UNFINISHED = {"timeout": "CellTimeoutError", "died": "DeadKernelError", "stopped": "WallTimeLimit",
              "not run": "CellNotRun"}


class LimitedExecute(execute_preprocessor()):
    """tito's Execute step whose kernel cannot take more than `memory_mb` of address space, so a submission
    that allocates without bound fails its own tests instead of pushing the grader into swap."""

    memory_mb = Integer(4096, help="Address-space limit of the student's kernel, in MiB (0: none).").tag(config=True)

    async def async_start_new_kernel(self, **kwargs):
        await super().async_start_new_kernel(**kwargs)
        pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        if self.memory_mb and pid:
            limit = self.memory_mb * 1024 * 1024
            resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))

    # nbconvert's preprocess() calls the sync wrapper, which nbclient binds to its own coroutine.
    start_new_kernel = run_sync(async_start_new_kernel)


class SandboxedExecute(Execute):
    """Execute the whole notebook in a bubblewrap sandbox; only outputs come back (see the module doc)."""

    files = Dict(help="Relative path -> bytes: everything of the course the sandbox may see.").tag(config=True)
    limits = Dict(help="tito.sandbox.Limits fields for each run.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        from .. import sandbox

        run = sandbox.execute_notebook(_plain(nb), dict(self.files), float(self.timeout or 60),
                                       sandbox.Limits(**self.limits))
        merge_outputs(nb, run)
        return nb, resources


def _is_output(output) -> bool:
    return isinstance(output, dict) and output.get("output_type") in OUTPUT_TYPES


def _plain(nb) -> dict:
    import json

    return json.loads(json.dumps(nb))


def merge_outputs(nb, run) -> None:
    """Copy the sandbox's outputs onto `nb` cell by cell; mark every unfinished cell with an error.

    The reply is untrusted data: it must describe exactly our cells (same count and ids), or none of it is
    used and every code cell is marked as not run.
    """
    code = [c for c in nb.cells if c.cell_type == "code"]
    theirs = run.notebook.get("cells", []) if isinstance(run.notebook, dict) else None
    usable = theirs is not None and len(theirs) == len(nb.cells) and all(
        isinstance(t, dict) and t.get("id") == c.get("id") and t.get("cell_type") == c.cell_type
        for t, c in zip(theirs, nb.cells))
    status = {index: (state, error) for index, state, error in run.cells} if usable else {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs = [from_dict(o) for o in theirs[index].get("outputs", []) if _is_output(o)] if usable else []
        cell.execution_count = theirs[index].get("execution_count") if usable else None
        state, error = status.get(index, ("not run", None)) if usable else ("not run", run.aborted)
        if state in UNFINISHED and not any(o.get("ename") == UNFINISHED[state] for o in cell.outputs):
            cell.outputs.append(nbformat_error(UNFINISHED[state], error or run.aborted or state))
    nb.metadata[META] = {"sandbox": {"aborted": run.aborted, "reason": run.reason, "seconds": round(run.seconds, 3),
                                     "cells": len(code), "tampering": list(getattr(run, "tampering", []) or [])}}
