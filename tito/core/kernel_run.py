"""One notebook, one kernel session: start, run every cell, stop (the inside of `tito.core.kernel.execute`).

What a session guarantees, whoever the caller is (integrity check, book, student tests, grading):
- every cell has a timeout; the whole run has a wall-time limit (the caller's task is cancelled);
- with `continue_after_timeout` a cell that times out is interrupted and marked, and the run goes on. A cell
  that ignores the interrupt (SIGINT ignored or caught in a loop) does not take the rest of the notebook
  with it: after a grace period the kernel is killed, a fresh one started, the cells that had finished are
  replayed into it silently (their recorded outputs stay), and the run continues after the stuck cell;
- `output_budget` caps the bytes of output kept for the whole notebook: what goes over is dropped and the
  cell carries a note (a flood of output cannot exhaust the memory of the process that collects it). Errors
  are always kept (tracebacks shortened), since a test cell's score is decided by whether it raised;
- `probe(phase, index, cell)` may return an expression to evaluate as a silent user expression (which no
  input transformer sees) when a kernel is ready ("start", also after a restart), before and after each code
  cell ("before", "after"); the values are kept in order in `Execution.checks`;
- the kernel is always shut down, and the kernel log is kept only when it explains a failure.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import TitoError
from .kernel_manager import SOCKET_PATH_MAX, manager_class
from .nbutil import as_node, cell_name, strip_ansi

STARTUP_TIMEOUT = 60.0  # seconds for a kernel to answer its first message
WATCH_SECONDS = 0.1  # how often the process count of a kernel with a process limit is checked
INTERRUPT_GRACE = 3.0  # seconds a timed-out cell has to stop after the interrupt before its kernel is replaced
TIMEOUT_ERROR = "CellTimeoutError"  # the error name a timed-out cell gets (nbgrader's too)
MAX_MESSAGE = 256 << 20  # bytes: with an output budget, a larger message from the kernel is refused unread
CUT_NOTE = "[tito: {bytes} bytes of output were cut here: the notebook's output limit of {limit} bytes was reached]\n"


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
    reason: str | None = None  # timeout | kernel-died | wall-limit | error | kernel-start | replay
    seconds: float = 0.0
    kernel_log: str = ""  # the kernel's stderr tail when it died or did not start
    checks: list[tuple[str, int, str]] = field(default_factory=list)  # (phase, cell index, value) of probes
    restarts: list[int] = field(default_factory=list)  # cells after which the kernel had to be replaced
    cut: dict[int, int] = field(default_factory=dict)  # cell index -> output bytes dropped (output_budget)

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


def nbformat_error(ename: str, evalue: str):
    from nbformat import NotebookNode

    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


@dataclass
class Stop:
    """Why running tasks were cancelled: a signal (whole run) or a job's wall-time limit."""

    signum: int | None = None
    where: str = ""  # the cell running when the signal came


class _Replaced(Exception):
    """The kernel was replaced and replaying the finished cells into the new one failed."""


# --- the session ----------------------------------------------------------------------------------


def _client_class():
    """nbclient's NotebookClient with an output budget shared by the whole notebook."""
    from nbclient import NotebookClient

    class BudgetClient(NotebookClient):
        def __init__(self, *args, budget: int | None = None, **kwargs):
            super().__init__(*args, **kwargs)
            self.budget, self.spent, self.cut = budget, 0, {}

        def output(self, outs, msg, display_id, cell_index):
            if self.budget is None:
                return super().output(outs, msg, display_id, cell_index)
            content = msg.get("content", {})
            size = _content_size(content)
            if msg.get("msg_type") == "error":  # always kept, however much was printed: it decides a test's score
                short = dict(content, traceback=[str(line)[:2000] for line in content.get("traceback", [])[-20:]])
                return super().output(outs, dict(msg, content=short), display_id, cell_index)
            if cell_index not in self.cut:
                if self.spent + size <= self.budget:
                    self.spent += size
                    return super().output(outs, msg, display_id, cell_index)
                room = self.budget - self.spent
                if msg.get("msg_type") == "stream" and room > 0:  # keep the part of the text that fits
                    kept = dict(msg, content=dict(content, text=str(content.get("text", ""))[:room]))
                    super().output(outs, kept, display_id, cell_index)
                    self.spent, size = self.budget, size - room
            if cell_index not in self.cut:
                from nbformat import NotebookNode

                self.cut[cell_index] = 0
                outs.append(NotebookNode(output_type="stream", name="stderr", text=""))
            self.cut[cell_index] += size
            outs[-1]["text"] = CUT_NOTE.format(bytes=self.cut[cell_index], limit=self.budget)
            return None

    return BudgetClient


def _content_size(content: dict) -> int:
    size = len(str(content.get("text", "")))
    for value in (content.get("data") or {}).values():
        size += len(value) if isinstance(value, str) else len(str(value))
    return size + sum(len(str(line)) for line in content.get("traceback") or [])


class Session:
    """The kernel of one notebook run, replaceable mid-run (see the module doc)."""

    def __init__(self, *, cwd: Path, env: dict, folder: Path, transport: str, kernel_name: str,
                 argv_prefix: list[str], output_budget: int | None, log, kernel_limits: dict | None = None,
                 boot_path: str | None = None):
        self.cwd, self.env, self.folder, self.transport = cwd, env, folder, transport
        self.kernel_name, self.argv_prefix, self.output_budget, self.log = kernel_name, argv_prefix, output_budget, log
        self.kernel_limits, self.boot_path = kernel_limits or {}, boot_path or ""
        self.km = self.kc = None

    @property
    def pid(self) -> int | None:
        """The kernel's process (or the sandbox wrapping it) as this machine sees it."""
        provisioner = getattr(self.km, "provisioner", None)
        return getattr(provisioner, "pid", None)

    async def start(self, while_starting=None) -> str | None:
        """Start a kernel and wait until it answers; None, or why it did not start."""
        self.km = manager_class()(kernel_name=self.kernel_name, transport=self.transport, run_dir=str(self.folder),
                                  argv_prefix=list(self.argv_prefix), limits=dict(self.kernel_limits),
                                  boot_path=self.boot_path)
        if self.output_budget is not None:
            import zmq

            # A single message larger than this drops the connection instead of being buffered whole.
            self.km.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)
        # No IPython history database: nothing reads it, and it would be written in the user's home.
        await self.km.start_kernel(cwd=str(self.cwd), env=dict(self.env), stdout=subprocess.DEVNULL, stderr=self.log,
                                   extra_arguments=["--HistoryManager.hist_file=:memory:"])
        if while_starting:
            while_starting()
        self.kc = self.km.client()
        # No heartbeat channel: its own thread would race the shutdown of an interrupted start, and the
        # manager already knows whether the kernel process lives (nbclient asks it, not the heartbeat).
        self.kc.start_channels(hb=False)
        try:
            await _wait_ready(self.km, self.kc, STARTUP_TIMEOUT)
        except RuntimeError as exc:
            return f"the kernel did not start ({exc})"
        return None

    async def stop(self) -> None:
        """Stop channels and kill the kernel (nothing in it is worth a polite shutdown); never raises."""
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:
                pass
        if self.km is not None:
            try:
                if self.km.has_kernel:
                    await self.km.shutdown_kernel(now=True)
                else:
                    await self.km.cleanup_resources()
            except Exception:  # already gone: nothing left to stop
                pass
        self.km = self.kc = None

    async def evaluate(self, expression: str, timeout: float) -> str:
        """The text value of `expression`, evaluated in the kernel's namespace without running a cell."""
        reply = await self._request(dict(code="", silent=True, store_history=False,
                                         user_expressions={"value": expression}), timeout)
        if reply is None:
            return f"error: no answer within {timeout:g} s"
        value = reply.get("content", {}).get("user_expressions", {}).get("value", {})
        if value.get("status") == "ok":
            return str(value.get("data", {}).get("text/plain", ""))
        return f"error: {value.get('ename', 'no reply')}: {value.get('evalue', '')}"

    async def responsive(self, timeout: float) -> bool:
        """Whether the kernel answers a no-op within `timeout` (after an interrupt: did the cell stop?)."""
        return await self._request(dict(code="", silent=True, store_history=False), timeout) is not None

    async def replay(self, source: str, timeout: float) -> str | None:
        """Run `source` silently (outputs discarded); None when it finished, else what went wrong."""
        reply = await self._request(dict(code=source, silent=True, store_history=False), timeout)
        if reply is None:
            return f"no answer within {timeout:g} s"
        return None

    async def _request(self, request: dict, timeout: float) -> dict | None:
        from queue import Empty

        msg_id = self.kc.execute(**request)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                reply = await self.kc.get_shell_msg(timeout=remaining)
            except Empty:
                return None
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return reply


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc/PID/task/TID/children); empty when it is gone or unsupported."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{current}/task/{tid}/children") as handle:
                    children = [int(c) for c in handle.read().split()]
            except (OSError, ValueError):
                continue
            found += children
            todo += children
    return found


async def _watch_processes(session: Session, limit: int, tripped: dict) -> None:
    """Kill the kernel and everything below it once there are more than `limit` processes (a fork bomb).
    With a sandbox prefix, killing the sandbox's own process takes its whole PID namespace down with it."""
    import signal

    while True:
        await asyncio.sleep(WATCH_SECONDS)
        pid = session.pid
        if pid is None:
            continue
        below = descendants(pid)
        if len(below) + 1 > limit:
            tripped["hit"] = True
            for victim in [pid, *below]:
                try:
                    os.kill(victim, signal.SIGKILL)
                except OSError:
                    pass
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass


async def _wait_ready(km, kc, timeout: float) -> None:
    """jupyter_client's wait_for_ready without its closing 0.2 s flush of IOPub: the kernel answers
    kernel_info on the shell channel and IOPub has delivered a message (so outputs will not be missed).
    Stale IOPub messages are harmless: nbclient keeps only those whose parent is the cell it runs."""
    from queue import Empty

    deadline = time.monotonic() + timeout
    while True:
        msg_id = kc.kernel_info()
        try:
            while True:
                reply = await kc.get_shell_msg(timeout=1)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            await kc.get_iopub_msg(timeout=1)
            return
        except Empty:
            pass
        if not await km.is_alive():
            raise RuntimeError("the kernel died before it answered")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no answer within {timeout:g} s")


async def run_notebook(stop: Stop, *, notebook: dict, cwd: Path, env: dict, cell_timeout: float,
                       wall_timeout: float | None = None, allow_errors: bool = True, on_cell_start=None,
                       kernel_argv_prefix: list[str] | None = None, run_dir: Path | None = None,
                       transport: str | None = None, while_starting=None, kernel_name: str = "python3",
                       continue_after_timeout: bool = False, probe=None, stop_after=None,
                       output_budget: int | None = None, kernel_limits: dict | None = None,
                       boot_path: str | None = None, process_limit: int | None = None) -> Execution:
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
    log_path = folder / f"kernel-{os.getpid()}-{id(nb):x}.log"
    log = open(log_path, "wb")  # a file, not a pipe: nothing reads the kernel's stderr while it runs
    session = Session(cwd=cwd, env=env, folder=folder, transport=transport, kernel_name=kernel_name,
                      argv_prefix=list(kernel_argv_prefix or []), output_budget=output_budget, log=log,
                      kernel_limits=kernel_limits, boot_path=boot_path)
    tripped = {"hit": False}
    watcher = asyncio.ensure_future(_watch_processes(session, process_limit, tripped)) if process_limit else None
    current = {"index": -1}
    reason = aborted = None
    status: dict[int, tuple[str, str | None]] = {}
    checks: list[tuple[str, int, str]] = []
    restarts: list[int] = []
    timed_out = f"timed out after {cell_timeout:g} s"
    client = _client_class()(nb, km=None, allow_errors=allow_errors, timeout_func=lambda cell: cell_timeout,
                             interrupt_on_timeout=False, kernel_name=kernel_name, budget=output_budget)
    me = asyncio.current_task()
    wall = {"hit": False}

    def on_wall() -> None:
        wall["hit"] = True
        me.cancel()

    async def run_probe(phase: str, index: int, cell) -> None:
        expression = probe(phase, index, cell) if probe else None
        if expression:
            checks.append((phase, index, await session.evaluate(expression, cell_timeout)))

    async def replace_kernel(index: int) -> None:
        """The cell at `index` ignored the interrupt: new kernel, finished cells replayed, then go on."""
        await session.stop()
        problem = await session.start()
        if problem:
            raise _Replaced(problem)
        client.km, client.kc = session.km, session.kc
        restarts.append(index)
        await run_probe("start", index + 1, None)
        for earlier in range(index):
            if cells[earlier].cell_type == "code" and status.get(earlier, ("ok",))[0] != "timeout":
                problem = await session.replay(cells[earlier].source, cell_timeout)
                if problem:
                    raise _Replaced(f"replaying cell `{cell_name(cells, earlier)}` into the new kernel: {problem}")

    timer = asyncio.get_running_loop().call_later(wall_timeout, on_wall) if wall_timeout else None
    try:
        try:
            problem = await session.start(while_starting)
            if problem:
                reason, aborted = "kernel-start", problem
            else:
                client.km, client.kc = session.km, session.kc
                await run_probe("start", 0, None)
                for index, cell in enumerate(cells):
                    current["index"] = index
                    if cell.cell_type != "code":
                        continue
                    if on_cell_start:
                        on_cell_start(index, cell)
                    await run_probe("before", index, cell)
                    try:
                        await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                    except CellTimeoutError:
                        if not continue_after_timeout:
                            raise
                        cell.outputs.append(nbformat_error(TIMEOUT_ERROR, timed_out))
                        status[index] = ("timeout", timed_out)
                        await session.km.interrupt_kernel()
                        if not await session.responsive(min(INTERRUPT_GRACE, cell_timeout)):
                            await replace_kernel(index)
                    await run_probe("after", index, cell)
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
            elif isinstance(exc, DeadKernelError) and tripped["hit"]:
                reason = "process-limit"
                aborted = (f"{_where(cells, current['index'])} went over the process limit ({process_limit}); every "
                           "process of the notebook was killed")
                status[current["index"]] = ("died", "process limit exceeded")
            elif isinstance(exc, DeadKernelError):
                reason, aborted = "kernel-died", f"the kernel died in {_where(cells, current['index'])} (out of memory?)"
                status[current["index"]] = ("died", "the kernel died")
            else:
                raise
        except CellTimeoutError:
            reason = "timeout"
            aborted = f"{_where(cells, current['index'])} {timed_out} (an endless loop?)"
            status[current["index"]] = ("timeout", timed_out)
        except CellExecutionError:
            reason = "error"
            error = error_of(cells[current["index"]]) or "error"
            aborted = f"{_where(cells, current['index'])} failed: {error[:300]}"
        except _Replaced as exc:
            reason = "replay"
            aborted = (f"{_where(cells, current['index'])} ignored the interrupt at its timeout; the kernel was "
                       f"replaced, but {exc}")
    finally:
        if timer:
            timer.cancel()
        if watcher:
            watcher.cancel()
        await session.stop()
        log.close()
        kernel_log = _tail(log_path) if reason in ("kernel-died", "kernel-start") else ""
        if own_dir:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            log_path.unlink(missing_ok=True)
    if kernel_log and reason == "kernel-start":
        aborted += f":\n{kernel_log}"
    return Execution(nb, _cell_runs(cells, current["index"], status), aborted, reason, time.monotonic() - start,
                     kernel_log, checks, restarts, dict(client.cut))


def _where(cells, index: int) -> str:
    return f"cell `{cell_name(cells, index)}`" if index >= 0 else "the kernel start"


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
