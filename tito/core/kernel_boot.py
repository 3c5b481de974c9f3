"""Start a child of tito that cannot outlive it:
`python kernel_boot.py [--parent PID] [--limits cpu=S,as=BYTES,...] MODULE [ARGS...]`.

Every kernel (and the pytest run beside it) starts through this file. Before MODULE (normally
`ipykernel_launcher`) is imported it:
- asks Linux to SIGKILL this process when its parent dies (PR_SET_PDEATHSIG): a SIGKILLed tito takes
  its kernels along even when they spin in C code;
- with `--parent PID` (tito's pid, when nothing sits in between), exits at once if tito already died
  before the death signal was armed;
- watches its parent from a thread (other platforms, and a parent that is a wrapper such as bwrap).

- with `--limits`, lowers its resource limits (inherited by everything the kernel starts) before any code
  of the kernel, let alone of a notebook, runs: `cpu` seconds, `as` (address space), `fsize` (largest file),
  `nproc` (processes of the user; only meaningful in a sandbox's own user namespace) and `core` bytes.

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


RLIMITS = {"cpu": "RLIMIT_CPU", "as": "RLIMIT_AS", "fsize": "RLIMIT_FSIZE", "nproc": "RLIMIT_NPROC",
           "core": "RLIMIT_CORE"}


def apply_limits(spec: str) -> None:
    """`cpu=600,as=4294967296,...`: each limit lowered (soft and hard) to the value, never raised."""
    import resource

    for item in filter(None, spec.split(",")):
        name, _, value = item.partition("=")
        which = getattr(resource, RLIMITS[name])
        soft, hard = resource.getrlimit(which)
        new = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        resource.setrlimit(which, (new, new))


def main(argv: list[str]) -> None:
    expected = limits = None
    while len(argv) >= 2 and argv[0] in ("--parent", "--limits"):
        if argv[0] == "--parent":
            expected = int(argv[1])
        else:
            limits = argv[1]
        argv = argv[2:]
    if not argv:
        sys.exit("usage: kernel_boot.py [--parent PID] [--limits SPEC] MODULE [ARGS...]")
    arm_death_signal()
    if limits:
        apply_limits(limits)
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
