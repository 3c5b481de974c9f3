"""The sandbox's side of grading one submission: `python -m tito.sandbox_run` inside bubblewrap.

It reads one job (JSON on stdin: the notebook to execute and the limits), lowers its own rlimits so that
everything it starts inherits them, watches the number of processes in its PID namespace, executes the
notebook with tito's one execution engine, and writes the executed notebook (JSON) to stdout. The
untrusted code runs only in the kernel, a child of this process; nothing here writes grades.
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
from typing import Callable

WATCH_SECONDS = 0.05


def apply_limits(limits: dict) -> None:
    """rlimits inherited by the kernel and everything it starts."""
    def lower(which: int, value: int) -> None:
        soft, hard = resource.getrlimit(which)
        new = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (new, new))

    lower(resource.RLIMIT_CPU, int(limits["cpu_seconds"]))
    lower(resource.RLIMIT_AS, int(limits["memory_bytes"]))
    lower(resource.RLIMIT_FSIZE, int(limits["file_bytes"]))
    lower(resource.RLIMIT_NPROC, int(limits["processes"]))  # effective for non-root users
    lower(resource.RLIMIT_CORE, 0)


class ProcessWatch(threading.Thread):
    """Kill every other process of this PID namespace when there are more than `limit`.

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


GUARD = "__import__('tito.testguard', fromlist=['check']).check()"


def guarded(cells: list) -> Callable[[int, dict], str | None]:
    """before_cell for tito.kernel: the test guard before the first code cell (to record the interpreter's state)
    and before every graded test cell (to restore it); see tito.testguard."""
    from .nbutil import is_test_cell

    first = next((i for i, c in enumerate(cells) if c.get("cell_type") == "code"), None)

    def before(index: int, cell: dict) -> str | None:
        return GUARD if index == first or is_test_cell(cell) else None

    return before


def tampering(checks: dict[int, str]) -> list[str]:
    found: list[str] = []
    for value in checks.values():
        for item in value.strip().strip("'\"").split("; "):
            if item and item not in found:
                found.append(item)
    return found


def hide_from_the_kernel() -> None:
    """Not dumpable: the kernel (same user, no capabilities) cannot open /proc/<this pid>/fd/1 to forge the
    reply, nor read this process's memory."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


def main() -> int:
    job = json.load(sys.stdin)
    limits = job["limits"]
    hide_from_the_kernel()
    apply_limits(limits)
    watch = ProcessWatch(int(limits["processes"]))
    watch.start()
    from .kernel import execute  # imported after the limits: nothing heavy runs unlimited

    env = dict(os.environ)
    result = execute(job["notebook"], cwd=Path.cwd(), env=env, cell_timeout=float(job["cell_timeout"]),
                     wall_timeout=float(limits["wall_seconds"]), allow_errors=True, continue_after_timeout=True,
                     before_cell=guarded(job["notebook"].get("cells", [])))
    aborted = result.aborted
    if watch.tripped:
        aborted = f"process limit ({limits['processes']}) exceeded; every process of the submission was killed"
    cells = [[c.index, c.status, c.error] for c in result.cells]
    json.dump({"notebook": result.notebook, "aborted": aborted, "reason": "process-limit" if watch.tripped
               else result.reason, "cells": cells, "tampering": tampering(result.checks)}, sys.stdout)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
