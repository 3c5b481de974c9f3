"""The one notebook execution engine: every notebook tito runs goes through `execute` / `execute_all`.

Used by the integrity check (`tito source check`), the book, `tito module test/complete` and class grading
(`tito.instructor.classgrade.run`, the kernel sandboxed or not). Built on nbclient's own cell execution and jupyter_client's
`AsyncKernelManager`, driven from an event loop this module owns, so that:

- the per-cell timeout fires (nbclient's async reply polling), and a wall-time limit covers the run;
- environment and working folder are arguments: nothing here reads or writes `os.environ`;
- the kernel is always shut down: after the last cell, on a timeout, a dead kernel, a failing cell
  (`allow_errors=False`), and on SIGINT/SIGTERM, after which `interrupt.Signalled` (a KeyboardInterrupt)
  is raised (the CLI exits 130/143);
- no kernel outlives tito, even a SIGKILLed one: kernels start through `kernel_boot.py`, which arms
  PR_SET_PDEATHSIG and watches its parent before ipykernel is imported.

Where a sandbox wraps execution (one place): `kernel_command` builds every kernel's argv as
`argv_prefix + [python, kernel_boot.py, ..., "ipykernel_launcher", "-f", CONNECTION_FILE]`. Pass
`kernel_argv_prefix=["bwrap", ..., "--"]` to `execute`, or set `TitoKernelManager.argv_prefix` in a
traitlets config. With a prefix, tito does not assume the kernel is its direct child (the wrapper
should die with tito itself, as `bwrap --die-with-parent` does). Kernels talk over IPC sockets by
default, which live with the connection file in `run_dir` (a private temporary folder unless the caller
gives one), so they also work inside a network namespace where loopback TCP is not shared: bind `run_dir`
read-write into the sandbox. Unix socket paths are limited to about 100 bytes, so keep `run_dir` short.

Grading: nbgrader's autograde chain gets tito's execute step (`tito.instructor.classgrade.execute.GradingExecute`),
which calls `execute` with a bubblewrap argv prefix, `continue_after_timeout`, the test guard's `probe`,
an `output_budget`, `kernel_limits` and a `process_limit` (see `tito.core.kernel_run` for what each guarantees).

Cells are named as a person finds them in JupyterLab, by section heading and grade id
(`nbutil.cell_name`: "Adding numbers › test-add").
"""
from __future__ import annotations

import asyncio
import os
import signal
import threading
from pathlib import Path
from typing import Callable

from .interrupt import Signalled
from .kernel_manager import BOOT, SOCKET_PATH_MAX, kernel_command, manager_class  # noqa: F401 (the engine's API)
from .kernel_run import TIMEOUT_ERROR, CellRun, Execution, Stop, error_of, nbformat_error, run_notebook  # noqa: F401


def kernel_parallelism() -> int:
    """How many notebooks to run at once: one per core plus one, so that a kernel booting (mostly waiting)
    overlaps the others' work (measured: `tito source check --all` 199 s with 2, 146 s with 3, 158 s with 4
    on 2 cores)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores + 1


def execute(notebook: dict, *, cwd: Path, env: dict, cell_timeout: float, wall_timeout: float | None = None,
            allow_errors: bool = True, on_cell_start: Callable[[int, dict], None] | None = None,
            kernel_argv_prefix: list[str] | None = None, run_dir: Path | None = None, transport: str | None = None,
            while_starting: Callable[[], None] | None = None, kernel_name: str = "python3",
            continue_after_timeout: bool = False, probe: Callable[[str, int, dict | None], str | None] | None = None,
            stop_after: Callable[[int, dict], bool] | None = None, output_budget: int | None = None,
            kernel_limits: dict | None = None, boot_path: str | None = None,
            process_limit: int | None = None) -> Execution:
    """Run every cell of `notebook` in a fresh kernel started in `cwd` with exactly `env`.

    `cell_timeout` seconds per cell, `wall_timeout` for the whole run (kernel start included). With
    `allow_errors=False` the run stops at the first failing cell. A timed-out cell stops the run, unless
    `continue_after_timeout`: then the cell is interrupted and gets a CellTimeoutError output, and the next cell
    runs (nbgrader's autograde semantics); a cell that ignores the interrupt costs its kernel, which is replaced
    (the finished cells are replayed into the new one). `probe(phase, index, cell)` may return a Python
    expression to evaluate silently in the kernel (a user expression, which no input transformer sees) when a
    kernel is ready ("start") and before/after each code cell ("before"/"after"); `Execution.checks` holds
    (phase, index, text value) in order. `output_budget` caps the output bytes kept for the whole notebook
    (`Execution.cut` says where output was dropped). When `stop_after(index, cell)` is true for an executed
    cell, the run ends there (the rest is "not run"): a caller that has its answer saves time.
    `kernel_limits` (cpu, as, fsize, nproc, core) are set by the boot wrapper before the kernel loads
    (`boot_path`: the wrapper as the kernel sees it, when `kernel_argv_prefix` mounts it elsewhere); with
    `process_limit`, the kernel and all it started are killed once they are more processes than that.
    `on_cell_start(index, cell)` is called before each code cell. `while_starting()` runs once the kernel
    process is launched and before it is ready (do validation there, in parallel with the boot); if it
    raises, the kernel is shut down and the exception propagates. SIGINT/SIGTERM: kernel shut down, then
    `interrupt.Signalled` (a KeyboardInterrupt) is raised (naming the cell in `.where`).
    """
    job = dict(notebook=notebook, cwd=cwd, env=env, cell_timeout=cell_timeout, wall_timeout=wall_timeout,
               allow_errors=allow_errors, on_cell_start=on_cell_start, kernel_argv_prefix=kernel_argv_prefix,
               run_dir=run_dir, transport=transport, while_starting=while_starting, kernel_name=kernel_name,
               continue_after_timeout=continue_after_timeout, probe=probe, stop_after=stop_after,
               output_budget=output_budget, kernel_limits=kernel_limits, boot_path=boot_path,
               process_limit=process_limit)
    return execute_all([job], workers=1)[0]


def execute_all(jobs: list[dict], workers: int = 2,
                on_done: Callable[[int, Execution], None] | None = None) -> list[Execution]:
    """Run several notebooks, at most `workers` kernels at a time, in one event loop (each notebook runs in its
    own kernel process; tito only waits on them). Each job holds `execute`'s keyword arguments. `on_done(i,
    execution)` sees each result as it lands. Results come back in job order."""
    from . import fastimport

    fastimport.prepare()
    stop = Stop()
    results: list[Execution | None] = [None] * len(jobs)

    async def main() -> None:
        limit = asyncio.Semaphore(max(1, workers))

        async def one(i: int, job: dict) -> None:
            async with limit:
                results[i] = await run_notebook(stop, **job)
            if on_done:
                on_done(i, results[i])

        tasks = [asyncio.ensure_future(one(i, job)) for i, job in enumerate(jobs)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    _run_loop(main(), stop)
    return results  # type: ignore[return-value]


def _run_loop(coro, stop: Stop) -> None:
    """Run `coro` in a private event loop; SIGINT/SIGTERM cancel it (its cleanup runs), then raise Signalled."""
    loop = asyncio.new_event_loop()
    task = loop.create_task(coro)

    def on_signal(signum: int) -> None:
        if stop.signum is None:  # a second Ctrl-C must not cut the kernel shutdown short
            stop.signum = signum
            task.cancel()

    installed = []
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)
            try:
                loop.add_signal_handler(signum, on_signal, signum)
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            installed.append((signum, previous))
    try:
        loop.run_until_complete(task)
    except asyncio.CancelledError:
        if stop.signum is None:
            raise
    finally:
        for signum, previous in installed:
            loop.remove_signal_handler(signum)
            signal.signal(signum, previous)  # asyncio would leave SIG_DFL behind
        try:
            rest = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in rest:
                t.cancel()
            if rest:
                loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
    if stop.signum is not None:
        raise Signalled(stop.signum, where=stop.where)
