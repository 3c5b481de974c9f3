"""Run one submission's code cells for grading: tito's one engine, the kernel sandboxed or bare.

This is the one way autograde executes student code, with or without `--no-sandbox`. The trusted grading
process is the kernel's client (`tito.core.kernel.execute`); only the kernel runs the submission. Sandboxed (the
default) the kernel is the only program of a fresh bubblewrap sandbox (`tito.instructor.sandbox.command` as its argv
prefix); bare it is a plain child process in a scratch folder. Either way the same engine enforces:
- the cell timeout, with escalation (a cell that ignores the interrupt costs its kernel, not the notebook);
- the wall-time limit (what finished keeps its outputs);
- rlimits set before the kernel loads (CPU, memory, file size; processes too in the sandbox's own user
  namespace) and a process-count watch that kills the kernel's whole tree (the sandbox: its PID namespace);
- an output budget (over-size output is cut and counted; errors, which decide scores, are always kept);
- the test guard (`tito.instructor.testguard`): a graded test after which the machinery the tests rely on differs from
  the baseline gets a `TamperingDetected` error, so nbgrader scores it zero.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ...core.nbutil import source_of
from .. import sandbox

HEADING_BYTES = 1000  # of a Markdown cell's heading lines kept, for cell names in messages


@dataclass
class CellResult:
    index: int
    outputs: list[dict]
    execution_count: int | None
    status: str  # tito.core.kernel's CellRun status
    error: str | None = None


@dataclass
class SubmissionRun:
    """What came back from running one submission; `cells` is empty when nothing usable came back."""

    cells: dict[int, CellResult]
    aborted: str | None  # why the run stopped early (timeout, limit, crash), naming the cell when known
    seconds: float
    reason: str | None = None  # tito.core.kernel's reason (timeout, kernel-died, wall-limit, process-limit, ...)
    tampering: dict[int, str] = field(default_factory=dict)  # test cell index -> what the guard found changed
    cut: dict[int, int] = field(default_factory=dict)  # cell index -> output bytes dropped
    restarts: list[int] = field(default_factory=list)


def graded_cells(cells: list[dict]) -> list[dict]:
    """The cells the engine runs: code cells (source, id, nbgrader metadata), Markdown reduced to its headings
    (a student's 200 MB Markdown cell is never copied around), anything else empty."""
    out = []
    for cell in cells:
        kind = cell.get("cell_type")
        meta = {"nbgrader": dict(cell["metadata"]["nbgrader"])} if "nbgrader" in cell.get("metadata", {}) else {}
        if kind == "code":
            out.append({"cell_type": "code", "id": cell.get("id"), "metadata": meta, "source": source_of(cell),
                        "outputs": [], "execution_count": None})
        else:
            headings = "\n".join(l for l in source_of(cell).splitlines() if l.lstrip().startswith("#"))
            out.append({"cell_type": "markdown", "id": cell.get("id"), "metadata": {},
                        "source": headings[:HEADING_BYTES] if kind == "markdown" else ""})
    return out


def kernel_limits(limits: sandbox.Limits, sandboxed: bool) -> dict:
    chosen = {"cpu": limits.cpu_seconds, "as": limits.memory_bytes, "fsize": limits.file_bytes, "core": 0}
    if sandboxed:  # counts every process of the user: only meaningful in the sandbox's own user namespace
        chosen["nproc"] = limits.processes
    return chosen


def run_submission(cells: list[dict], files: dict[str, bytes], cell_timeout: float, limits: sandbox.Limits,
                   sandboxed: bool = True) -> SubmissionRun:
    """Run `cells` (a notebook's cell list) in a fresh kernel whose working folder holds only `files`
    (relative path -> bytes: e.g. the package of the modules the notebook builds on, never the graded one)."""
    from ...core.kernel import execute, nbformat_error
    from ..testguard import TAMPERING, Guard, summary

    notebook = {"cells": graded_cells(cells), "metadata": {"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    guard = Guard(notebook["cells"])
    scratch = Path(tempfile.mkdtemp(prefix="tito-g-"))  # short: IPC socket paths are limited to ~100 bytes
    try:
        workdir, kernels = scratch / "w", scratch / "k"
        kernels.mkdir()
        for rel, data in files.items():
            target = workdir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        workdir.mkdir(exist_ok=True)
        if sandboxed:
            env = sandbox.base_env(extra_path=sandbox.WORKDIR)
            prefix, boot = sandbox.command([], workdir, env, shared=(kernels,)), sandbox.BOOT
        else:
            home = scratch / "h"
            home.mkdir()
            env, prefix, boot = sandbox.base_env(extra_path=str(workdir), home=str(home)), None, None
        result = execute(notebook, cwd=workdir, env=env, cell_timeout=cell_timeout,
                         wall_timeout=limits.wall_seconds, allow_errors=True, continue_after_timeout=True,
                         kernel_argv_prefix=prefix, run_dir=kernels, transport="ipc", probe=guard.probe,
                         output_budget=limits.output_bytes,
                         kernel_limits=kernel_limits(limits, sandboxed), boot_path=boot,
                         process_limit=limits.processes)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    nb_cells = result.notebook.cells
    tampering = {}
    for index, changed in guard.verdicts(result.checks).items():
        tampering[index] = summary(changed)
        nb_cells[index].outputs.append(nbformat_error(TAMPERING, f"changed before or during this test: "
                                                                 f"{tampering[index]}"))
    out = {}
    for run in result.cells:
        cell = nb_cells[run.index]
        status, error = (("error", f"{TAMPERING}: {tampering[run.index]}") if run.index in tampering
                         else (run.status, run.error))
        out[run.index] = CellResult(run.index, [dict(o) for o in cell.outputs], cell.get("execution_count"),
                                    status, error)
    return SubmissionRun(out, result.aborted, result.seconds, result.reason, tampering, dict(result.cut),
                         list(result.restarts))
