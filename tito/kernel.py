"""The one notebook execution engine: every notebook tito runs goes through `execute` / `execute_all`.

Used by the integrity check (`tito source check`), the book, `tito module test/complete` and, through
`configure_nbgrader`, nbgrader's autograde. Built on nbclient's own cell execution and jupyter_client's
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

Grading: nbgrader's autograde runs its own Execute preprocessor (an nbclient NotebookClient). Call
`configure_nbgrader(config, argv_prefix=..., run_dir=...)` on the traitlets Config given to nbgrader
(`tito.grading.nbgrader_config` does) to make it start kernels with `TitoKernelManager`: the same boot
wrapper, the same sandbox hook, the same IPC folder.

Cells are named as a person finds them in JupyterLab, by section heading and grade id
(`nbutil.cell_name`: "Adding numbers › test-add").
"""
from __future__ import annotations

import asyncio
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import TitoError
from .interrupt import Signalled
from .nbutil import as_node, cell_name, strip_ansi

BOOT = Path(__file__).resolve().with_name("kernel_boot.py")
STARTUP_TIMEOUT = 60.0  # seconds for a kernel to answer its first message
SOCKET_PATH_MAX = 100  # bytes; AF_UNIX paths are limited to 104-108 depending on the system
TIMEOUT_ERROR = "CellTimeoutError"  # the error name a timed-out cell gets (nbgrader's too)
TIMEOUT_MARK = "tito_timeout"  # marks nbclient's stand-in reply for an interrupted cell


def kernel_parallelism() -> int:
    """How many notebooks to run at once: one per core plus one, so that a kernel booting (mostly waiting)
    overlaps the others' work (measured: `tito source check --all` 199 s with 2, 146 s with 3, 158 s with 4
    on 2 cores)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores + 1


def kernel_command(python: str = sys.executable, argv_prefix: list[str] | None = None,
                   parent_pid: int | None = None, connection_file: str = "{connection_file}") -> list[str]:
    """The argv of every kernel tito starts. `parent_pid` (tito's pid) lets the boot wrapper check that
    tito is still alive once its death signal is armed; leave it out when `argv_prefix` wraps the kernel."""
    boot = [python, str(BOOT)] + (["--parent", str(parent_pid)] if parent_pid else [])
    return [*(argv_prefix or []), *boot, "ipykernel_launcher", "-f", connection_file]


@functools.lru_cache(maxsize=None)
def manager_class():
    """`TitoKernelManager`: jupyter_client's AsyncKernelManager launching through `kernel_command`.
    Defined on first use (importing jupyter_client costs time that commands without kernels should not pay)."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import List, Unicode

    class TitoKernelManager(AsyncKernelManager):
        argv_prefix = List(Unicode(), config=True, help="Prepended to the kernel command (a sandbox: bwrap ... --).")
        run_dir = Unicode("", config=True, help="Folder for the connection file (and IPC sockets); default: "
                                                "jupyter's runtime folder.")

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            if self.run_dir:
                folder = Path(self.run_dir)
                folder.mkdir(parents=True, exist_ok=True)
                # One folder may hold several kernels (nbgrader reuses its config): name files per kernel.
                stem = folder / f"kernel-{os.getpid()}-{id(self):x}"
                self.connection_file = f"{stem}.json"
                if self.transport == "ipc":
                    self.ip = str(stem)

        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            if len(cmd) >= 3 and cmd[1] == "-m" and cmd[2] == "ipykernel_launcher":  # the python kernel spec
                boot = kernel_command(cmd[0], None, None if self.argv_prefix else os.getpid(), "")
                cmd = boot[:-3] + cmd[2:]
            return [*self.argv_prefix, *cmd]

    return TitoKernelManager


@functools.lru_cache(maxsize=None)
def execute_preprocessor():
    """`TitoExecute`: nbgrader's Execute preprocessor with `TitoKernelManager` (nbgrader passes its own
    kernel manager class as an argument, so configuring `Execute.kernel_manager_class` has no effect)."""
    from nbgrader.preprocessors import Execute

    class TitoExecute(Execute):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("kernel_manager_class", manager_class())
            super().__init__(*args, **kwargs)

    return TitoExecute


def configure_nbgrader(config, argv_prefix: list[str] | None = None, run_dir: Path | None = None,
                       transport: str | None = None) -> None:
    """Make nbgrader's autograde start kernels the way tito does (see the module doc): its Execute step becomes
    `TitoExecute` (still configured by `Execute.*` settings, a subclass), launching through `kernel_command`."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    steps = config.Autograde.get("autograde_preprocessors") or \
        Autograde.class_traits()["autograde_preprocessors"].default()
    config.Autograde.autograde_preprocessors = [execute_preprocessor() if step is Execute else step for step in steps]
    if argv_prefix is not None:
        config.TitoKernelManager.argv_prefix = list(argv_prefix)
    if run_dir is not None:
        config.TitoKernelManager.run_dir = str(run_dir)
        config.TitoKernelManager.transport = transport or ("ipc" if os.name == "posix" else "tcp")
    elif transport:
        config.TitoKernelManager.transport = transport


# --- results --------------------------------------------------------------------------------------


@dataclass
class CellRun:
    index: int  # position in the notebook
    name: str  # "Section › grade-id" (nbutil.cell_name)
    status: str  # ok | error | timeout | died | stopped (wall-time limit) | not run
    error: str | None = None  # "ZeroDivisionError: division by zero"


@dataclass
class Execution:
    notebook: dict  # the executed notebook (an nbformat NotebookNode), outputs filled in
    cells: list[CellRun]  # every code cell, in order
    aborted: str | None = None  # why the run stopped early, naming the cell; None when every cell ran
    reason: str | None = None  # timeout | kernel-died | wall-limit | error | kernel-start
    seconds: float = 0.0
    kernel_log: str = ""  # the kernel's stderr tail when it died or did not start
    checks: dict[int, str] = field(default_factory=dict)  # cell index -> value of before_cell's expression

    @property
    def errors(self) -> list[CellRun]:
        return [c for c in self.cells if c.status != "ok" and c.status != "not run"]

    @property
    def ok(self) -> bool:
        return self.aborted is None and not self.errors


def error_of(cell: dict) -> str | None:
    """`ExcName: message` of the cell's error output, if it raised."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {strip_ansi(str(output.get('evalue', '')))}".strip().rstrip(":")
    return None


# --- running --------------------------------------------------------------------------------------


@dataclass
class _Stop:
    """Why running tasks were cancelled: a signal (whole run) or a job's wall-time limit."""

    signum: int | None = None
    where: str = ""  # the cell running when the signal came


def execute(notebook: dict, *, cwd: Path, env: dict, cell_timeout: float, wall_timeout: float | None = None,
            allow_errors: bool = True, on_cell_start: Callable[[int, dict], None] | None = None,
            kernel_argv_prefix: list[str] | None = None, run_dir: Path | None = None, transport: str | None = None,
            while_starting: Callable[[], None] | None = None, kernel_name: str = "python3",
            continue_after_timeout: bool = False, before_cell: Callable[[int, dict], str | None] | None = None,
            stop_after: Callable[[int, dict], bool] | None = None) -> Execution:
    """Run every cell of `notebook` in a fresh kernel started in `cwd` with exactly `env`.

    `cell_timeout` seconds per cell, `wall_timeout` for the whole run (kernel start included). With
    `allow_errors=False` the run stops at the first failing cell. A timed-out cell stops the run, unless
    `continue_after_timeout`: then the kernel is interrupted, the cell gets a CellTimeoutError output and the
    next cell runs (nbgrader's autograde semantics). `before_cell(index, cell)` may return a Python expression
    to evaluate silently in the kernel before that code cell runs (as a user expression, which no input
    transformer sees); its text value lands in `Execution.checks[index]`. When `stop_after(index, cell)` is true
    for an executed cell, the run ends there (the rest is "not run"): a caller that has its answer saves time.
    `while_starting()` runs once the kernel process is launched and before it is ready (do validation there,
    in parallel with the boot); if it raises, the kernel is shut down and the exception propagates. SIGINT/SIGTERM: kernel shut down, then
    `interrupt.Signalled` (a KeyboardInterrupt) is raised (naming the cell in `.where`).
    """
    job = dict(notebook=notebook, cwd=cwd, env=env, cell_timeout=cell_timeout, wall_timeout=wall_timeout,
               allow_errors=allow_errors, on_cell_start=on_cell_start, kernel_argv_prefix=kernel_argv_prefix,
               run_dir=run_dir, transport=transport, while_starting=while_starting, kernel_name=kernel_name,
               continue_after_timeout=continue_after_timeout, before_cell=before_cell, stop_after=stop_after)
    return execute_all([job], workers=1)[0]


def execute_all(jobs: list[dict], workers: int = 2,
                on_done: Callable[[int, Execution], None] | None = None) -> list[Execution]:
    """Run several notebooks, at most `workers` kernels at a time, in one event loop (each notebook runs in its
    own kernel process; tito only waits on them). Each job holds `execute`'s keyword arguments. `on_done(i,
    execution)` sees each result as it lands. Results come back in job order."""
    from . import fastimport

    fastimport.prepare()
    stop = _Stop()
    results: list[Execution | None] = [None] * len(jobs)

    async def main() -> None:
        limit = asyncio.Semaphore(max(1, workers))

        async def one(i: int, job: dict) -> None:
            async with limit:
                results[i] = await _execute(stop, **job)
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


def _run_loop(coro, stop: _Stop) -> None:
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


async def _execute(stop: _Stop, *, notebook: dict, cwd: Path, env: dict, cell_timeout: float,
                   wall_timeout: float | None = None, allow_errors: bool = True, on_cell_start=None,
                   kernel_argv_prefix: list[str] | None = None, run_dir: Path | None = None,
                   transport: str | None = None, while_starting=None, kernel_name: str = "python3",
                   continue_after_timeout: bool = False, before_cell=None, stop_after=None) -> Execution:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    start = time.monotonic()
    nb = as_node(notebook)
    cells = nb.cells
    own_dir = run_dir is None
    folder = Path(tempfile.mkdtemp(prefix="tito-k-")) if own_dir else Path(run_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    transport = transport or ("ipc" if os.name == "posix" else "tcp")
    if transport == "ipc" and len(str(folder / f"kernel-{os.getpid()}-{2 ** 48:x}-5").encode()) > SOCKET_PATH_MAX:
        if not own_dir:
            raise TitoError(f"the kernel folder {folder} is too long a path for IPC sockets; use a shorter one")
        transport = "tcp"  # a long temporary folder (some macOS setups): loopback TCP works there
    km = manager_class()(kernel_name=kernel_name, transport=transport, run_dir=str(folder),
                         argv_prefix=list(kernel_argv_prefix or []))
    current = {"index": -1}
    reason = aborted = None
    status: dict[int, tuple[str, str | None]] = {}
    checks: dict[int, str] = {}
    timed_out = f"timed out after {cell_timeout:g} s"

    def on_cell_executed(cell, cell_index, execute_reply) -> None:
        """With continue_after_timeout: nbclient interrupted a cell and replied for it; record that in the cell."""
        content = execute_reply.get("content", {})
        if content.get(TIMEOUT_MARK):
            cell.outputs.append(nbformat_error(TIMEOUT_ERROR, timed_out))
            status[cell_index] = ("timeout", timed_out)

    client = NotebookClient(nb, km=km, allow_errors=allow_errors, timeout_func=lambda cell: cell_timeout,
                            interrupt_on_timeout=continue_after_timeout, kernel_name=kernel_name,
                            error_on_timeout={"ename": TIMEOUT_ERROR, "evalue": timed_out, "traceback": [],
                                              TIMEOUT_MARK: True} if continue_after_timeout else None,
                            on_cell_executed=on_cell_executed)
    log_path = folder / f"kernel-{id(km):x}.log"
    log = open(log_path, "wb")  # a file, not a pipe: nothing reads the kernel's stderr while it runs
    me = asyncio.current_task()
    wall = {"hit": False}

    def on_wall() -> None:
        wall["hit"] = True
        me.cancel()

    timer = asyncio.get_running_loop().call_later(wall_timeout, on_wall) if wall_timeout else None
    kc = None
    try:
        try:
            # No IPython history database: nothing reads it, and it would be written in the user's home.
            await km.start_kernel(cwd=str(cwd), env=dict(env), stdout=subprocess.DEVNULL, stderr=log,
                                  extra_arguments=["--HistoryManager.hist_file=:memory:"])
            if while_starting:
                while_starting()
            kc = km.client()
            # No heartbeat channel: its own thread would race the shutdown of an interrupted start, and the
            # manager already knows whether the kernel process lives (nbclient asks it, not the heartbeat).
            kc.start_channels(hb=False)
            try:
                await kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
            except RuntimeError as exc:
                reason, aborted = "kernel-start", f"the kernel did not start ({exc})"
            if reason is None:
                client.kc = kc
                for index, cell in enumerate(cells):
                    current["index"] = index
                    if on_cell_start:
                        on_cell_start(index, cell)
                    expression = before_cell(index, cell) if before_cell and cell.cell_type == "code" else None
                    if expression:
                        checks[index] = await _evaluate(kc, expression, cell_timeout)
                    await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                    if stop_after and stop_after(index, cell):
                        break
        except (asyncio.CancelledError, DeadKernelError) as exc:
            # nbclient turns a cancelled cell into DeadKernelError: look at why we were cancelled first.
            if stop.signum is not None:
                stop.where = cell_name(cells, current["index"]) if current["index"] >= 0 else "kernel start"
                raise asyncio.CancelledError() from None
            if wall["hit"]:
                reason = "wall-limit"
                aborted = (f"{_where(cells, current['index'])} was still running when the wall-time limit of "
                           f"{wall_timeout:g} s was reached")
                if current["index"] >= 0:
                    status[current["index"]] = ("stopped", "wall-time limit reached")
            elif isinstance(exc, DeadKernelError):
                reason, aborted = "kernel-died", f"the kernel died in {_where(cells, current['index'])} (out of memory?)"
                status[current["index"]] = ("died", "the kernel died")
            else:
                raise
        except CellTimeoutError:
            reason = "timeout"
            aborted = (f"{_where(cells, current['index'])} timed out after {cell_timeout:g} s "
                       "(an endless loop?)")
            status[current["index"]] = ("timeout", f"timed out after {cell_timeout:g} s")
        except CellExecutionError:
            reason = "error"
            error = error_of(cells[current["index"]]) or "error"
            aborted = f"{_where(cells, current['index'])} failed: {error[:300]}"
    finally:
        if timer:
            timer.cancel()
        await _shutdown(km, kc)
        log.close()
        kernel_log = _tail(log_path) if reason in ("kernel-died", "kernel-start") else ""
        if own_dir:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            log_path.unlink(missing_ok=True)
    if kernel_log and reason == "kernel-start":
        aborted += f":\n{kernel_log}"
    return Execution(nb, _cell_runs(cells, current["index"], status), aborted, reason,
                     time.monotonic() - start, kernel_log, checks)


async def _evaluate(kc, expression: str, timeout: float) -> str:
    """The text value of `expression`, evaluated in the kernel's namespace without running a cell."""
    from queue import Empty

    msg_id = kc.execute("", silent=True, store_history=False, user_expressions={"value": expression})
    deadline = time.monotonic() + timeout
    while True:
        try:
            reply = await kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        except Empty:
            return f"error: no answer within {timeout:g} s"
        if reply.get("parent_header", {}).get("msg_id") == msg_id:
            break
    value = reply.get("content", {}).get("user_expressions", {}).get("value", {})
    if value.get("status") == "ok":
        return str(value.get("data", {}).get("text/plain", ""))
    return f"error: {value.get('ename', 'no reply')}: {value.get('evalue', '')}"


def nbformat_error(ename: str, evalue: str):
    from nbformat import NotebookNode

    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _where(cells, index: int) -> str:
    return f"cell `{cell_name(cells, index)}`" if index >= 0 else "the kernel start"


async def _shutdown(km, kc) -> None:
    """Stop channels and kill the kernel (nothing in it is worth a polite shutdown); never raises."""
    if kc is not None:
        try:
            kc.stop_channels()
        except Exception:
            pass
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
        else:
            await km.cleanup_resources()
    except Exception:  # already gone: nothing left to stop
        pass


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(strip_ansi(text).strip().splitlines()[-lines:])


def _cell_runs(cells, reached: int, status: dict[int, tuple[str, str | None]]) -> list[CellRun]:
    runs = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        if index in status:
            state, message = status[index]
            error = error_of(cell)
            runs.append(CellRun(index, cell_name(cells, index), state, error or message))
        elif index > reached:
            runs.append(CellRun(index, cell_name(cells, index), "not run"))
        else:
            error = error_of(cell)
            runs.append(CellRun(index, cell_name(cells, index), "error" if error else "ok", error))
    return runs
