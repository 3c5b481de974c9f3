"""Start a child of tito that cannot outlive it: `python kernel_boot.py [--parent PID] MODULE [ARGS...]`.

Every kernel (and the pytest run beside it) starts through this file. Before MODULE (normally
`ipykernel_launcher`) is imported it:
- asks Linux to SIGKILL this process when its parent dies (PR_SET_PDEATHSIG): a SIGKILLed tito takes
  its kernels along even when they spin in C code;
- with `--parent PID` (tito's pid, when nothing sits in between), exits at once if tito already died
  before the death signal was armed;
- watches its parent from a thread (other platforms, and a parent that is a wrapper such as bwrap).

Kernels run in their own session, so killing tito's process group never reached them; this does.
Only the standard library is used, and the file is run by path, so a sandbox needs to expose just
this one file (not the tito package) to the kernel.
"""
from __future__ import annotations

import os
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.5


def arm_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no usable libc: the watcher thread still covers it
        pass


def watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(POLL_SECONDS)


def main(argv: list[str]) -> None:
    expected = None
    if len(argv) >= 2 and argv[0] == "--parent":
        expected, argv = int(argv[1]), argv[2:]
    if not argv:
        sys.exit("usage: kernel_boot.py [--parent PID] MODULE [ARGS...]")
    arm_death_signal()
    parent = os.getppid()
    if expected is not None and parent != expected:
        os._exit(1)  # tito is gone already
    if parent != 1:  # in a fresh pid namespace the parent is its init: the namespace dies with it anyway
        threading.Thread(target=watch_parent, args=(parent,), name="tito-parent-watch", daemon=True).start()
    # ipykernel polls JPY_PARENT_PID too; make it the real parent (a wrapper may sit between tito and us).
    if parent != 1:
        os.environ["JPY_PARENT_PID"] = str(parent)
    else:
        os.environ.pop("JPY_PARENT_PID", None)
    import runpy

    module, sys.argv = argv[0], [argv[0], *argv[1:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    # Run by path, this file's folder (tito/) heads sys.path; it must not shadow the kernel's imports.
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]
    main(sys.argv[1:])
