"""The trusted side of running one submission: `python -m tito.grade_runner`, inside bubblewrap or bare.

Every autograde runs a submission through this one runner (`tito.classgrade.run.run_submission` starts it):
sandboxed (the default) as the command of a fresh bubblewrap sandbox, or with `--no-sandbox` as a plain
child process in a scratch folder. Either way it reads one job (JSON on stdin: the code cells to run, the
cell timeout, the limits), lowers its own rlimits so that the kernel inherits them, executes the cells with
tito's one engine (`tito.kernel.execute`: cell timeouts with escalation, wall-time limit, output budget,
the test guard's probes) and writes the outcome (JSON) to stdout: each code cell's outputs and status,
what stopped the run, what the guard found, where output was cut.

The untrusted code runs only in the kernel, a child of this process, which cannot import tito (it is not
on the kernel's path), and this process is not dumpable (the kernel cannot open its stdout to forge the
reply, nor read its memory). A graded test cell after which the guard finds tampering gets a
`TamperingDetected` error here, so nbgrader scores it zero.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import sys
import threading
import time
from pathlib import Path

WATCH_SECONDS = 0.05
REPLY_MARGIN = 0.1  # share of the wall time kept back for stopping the kernel and replying (at most 10 s)


def apply_limits(limits: dict, sandboxed: bool) -> None:
    """rlimits inherited by the kernel and everything it starts."""
    def lower(which: int, value: int) -> None:
        soft, hard = resource.getrlimit(which)
        new = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (new, new))

    lower(resource.RLIMIT_CPU, int(limits["cpu_seconds"]))
    lower(resource.RLIMIT_AS, int(limits["memory_bytes"]))
    lower(resource.RLIMIT_FSIZE, int(limits["file_bytes"]))
    lower(resource.RLIMIT_CORE, 0)
    if sandboxed:  # counts every process of the user: only meaningful in the sandbox's own user namespace
        lower(resource.RLIMIT_NPROC, int(limits["processes"]))


class ProcessWatch(threading.Thread):
    """Kill every other process of this PID namespace when there are more than `limit` (sandbox only).

    RLIMIT_NPROC does not bind root (a root-run grader maps the sandbox to uid 0), so this covers
    fork bombs everywhere; the sandbox's private /proc lists only the sandbox's own processes.
    """

    def __init__(self, limit: int):
        super().__init__(name="tito-process-watch", daemon=True)
        self.limit, self.tripped = limit, False

    def run(self) -> None:
        while True:
            if self._count() > self.limit:
                self.tripped = True
                # A bomb forks while we kill: sweep until only this process and the sandbox's init are left
                # (zombies waiting to be reaped still count, hence the bound). Watching goes on afterwards,
                # so a survivor that starts again is caught again.
                for _ in range(50):
                    try:
                        os.kill(-1, signal.SIGKILL)  # every process but this one and the namespace's init
                    except ProcessLookupError:
                        break
                    time.sleep(0.005)
                    if self._count() <= 2:
                        break
            time.sleep(WATCH_SECONDS)

    @staticmethod
    def _count() -> int:
        try:
            return sum(name.isdigit() for name in os.listdir("/proc"))
        except OSError:
            return 0


def hide_from_the_kernel() -> None:
    """Not dumpable: the kernel (same user, no capabilities) cannot open /proc/<this pid>/fd/1 to forge the
    reply, nor read this process's memory."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


def notebook_of(cells: list[dict]) -> dict:
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                        "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def kernel_env() -> dict:
    """The runner's environment minus tito's own folder: the kernel cannot import tito."""
    env = dict(os.environ)
    mine = env.pop("TITO_RUNNER_PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != mine)
    return env


def mark_tampering(cells, verdicts: dict[int, list[str]]) -> dict[int, str]:
    """Zero every test cell the guard found tampering after: an error output nbgrader scores as failed."""
    from .kernel import nbformat_error
    from .testguard import TAMPERING, summary

    marked = {}
    for index, changed in verdicts.items():
        marked[index] = summary(changed)
        cells[index].outputs.append(nbformat_error(TAMPERING, f"changed before or during this test: {marked[index]}"))
    return marked


def main() -> int:
    job = json.load(sys.stdin)
    limits, sandboxed = job["limits"], bool(job.get("sandboxed", True))
    hide_from_the_kernel()
    if not sandboxed:  # bwrap --die-with-parent does this in the sandbox
        from .kernel_boot import arm_death_signal

        arm_death_signal()
    apply_limits(limits, sandboxed)
    watch = None
    if sandboxed:
        watch = ProcessWatch(int(limits["processes"]))
        watch.start()
    from .kernel import execute  # imported after the limits: nothing heavy runs unlimited
    from .testguard import Guard

    notebook = notebook_of(job["cells"])
    guard = Guard(notebook["cells"])
    wall = float(limits["wall_seconds"])
    result = execute(notebook, cwd=Path.cwd(), env=kernel_env(), cell_timeout=float(job["cell_timeout"]),
                     wall_timeout=wall - min(10.0, wall * REPLY_MARGIN), allow_errors=True,
                     continue_after_timeout=True, probe=guard.probe, output_budget=int(limits["output_bytes"]) // 2)
    cells = result.notebook.cells
    tampering = mark_tampering(cells, guard.verdicts(result.checks))
    aborted, reason = result.aborted, result.reason
    if watch is not None and watch.tripped:
        aborted = f"process limit ({limits['processes']}) exceeded; every process of the submission was killed"
        reason = "process-limit"
    runs = {c.index: c for c in result.cells}
    reply = {
        "cells": [{"index": i, "id": cells[i].get("id"), "outputs": cells[i].outputs,
                   "execution_count": cells[i].get("execution_count"),
                   "status": "error" if i in tampering else runs[i].status,
                   "error": f"TamperingDetected: {tampering[i]}" if i in tampering else runs[i].error}
                  for i in sorted(runs)],
        "aborted": aborted, "reason": reason, "tampering": {str(i): t for i, t in tampering.items()},
        "cut": {str(i): n for i, n in result.cut.items()}, "restarts": result.restarts,
    }
    json.dump(reply, sys.stdout)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
