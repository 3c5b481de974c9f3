"""How tito starts a kernel: the argv of every kernel (through the boot wrapper) and the kernel manager class.

Split from `tito.core.kernel` so that the execution session (`tito.core.kernel_run`) and the public API can both use it
without importing each other.
"""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

BOOT = Path(__file__).resolve().with_name("kernel_boot.py")
SOCKET_PATH_MAX = 100  # bytes; AF_UNIX paths are limited to 104-108 depending on the system


def kernel_command(python: str = sys.executable, argv_prefix: list[str] | None = None,
                   parent_pid: int | None = None, connection_file: str = "{connection_file}",
                   limits: dict | None = None, boot: str | None = None) -> list[str]:
    """The argv of every kernel tito starts. `parent_pid` (tito's pid) lets the boot wrapper check that
    tito is still alive once its death signal is armed; leave it out when `argv_prefix` wraps the kernel.
    `limits` (rlimit name -> value, see kernel_boot.py) are set by the boot wrapper before ipykernel loads;
    `boot` is the boot wrapper's path as the kernel sees it (inside a sandbox it is mounted elsewhere)."""
    argv = [python, boot or str(BOOT)] + (["--parent", str(parent_pid)] if parent_pid else [])
    if limits:
        argv += ["--limits", ",".join(f"{name}={int(value)}" for name, value in sorted(limits.items()))]
    return [*(argv_prefix or []), *argv, "ipykernel_launcher", "-f", connection_file]


@functools.lru_cache(maxsize=None)
def manager_class():
    """`TitoKernelManager`: jupyter_client's AsyncKernelManager launching through `kernel_command`.
    Defined on first use (importing jupyter_client costs time that commands without kernels should not pay)."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import Dict, List, Unicode

    class TitoKernelManager(AsyncKernelManager):
        argv_prefix = List(Unicode(), config=True, help="Prepended to the kernel command (a sandbox: bwrap ... --).")
        run_dir = Unicode("", config=True, help="Folder for the connection file (and IPC sockets); default: "
                                                "jupyter's runtime folder.")
        limits = Dict(config=True, help="rlimits the boot wrapper sets before ipykernel loads (kernel_boot.py).")
        boot_path = Unicode("", config=True, help="The boot wrapper's path as the kernel sees it.")

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
                boot = kernel_command(cmd[0], None, None if self.argv_prefix else os.getpid(), "",
                                      self.limits or None, self.boot_path or None)
                cmd = boot[:-3] + cmd[2:]
            if self.argv_prefix:
                # A signal would reach the wrapper (bwrap), not the kernel inside it: interrupt by message, which
                # ipykernel turns into SIGINT for itself.
                self.kernel_spec.interrupt_mode = "message"
            return [*self.argv_prefix, *cmd]

    return TitoKernelManager
