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
        while not self.tripped:
            try:
                count = sum(name.isdigit() for name in os.listdir("/proc"))
            except OSError:
                count = 0
            if count > self.limit:
                self.tripped = True
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for _ in range(20):  # a bomb forks while we kill: sweep until nothing but us is left
                    try:
                        os.kill(-1, signal.SIGKILL)
                    except ProcessLookupError:
                        break
                    time.sleep(0.01)
            time.sleep(WATCH_SECONDS)


def main() -> int:
    job = json.load(sys.stdin)
    limits = job["limits"]
    apply_limits(limits)
    watch = ProcessWatch(int(limits["processes"]))
    watch.start()
    from .kernel import execute  # imported after the limits: nothing heavy runs unlimited

    env = dict(os.environ)
    result = execute(job["notebook"], cwd=Path.cwd(), env=env, cell_timeout=float(job["cell_timeout"]),
                     wall_timeout=float(limits["wall_seconds"]), allow_errors=True)
    aborted = result.aborted
    if watch.tripped:
        aborted = f"process limit ({limits['processes']}) exceeded; every process of the submission was killed"
    cells = [[c.index, c.status, c.error] for c in result.cells]
    json.dump({"notebook": result.notebook, "aborted": aborted, "reason": "process-limit" if watch.tripped
               else result.reason, "cells": cells}, sys.stdout)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
