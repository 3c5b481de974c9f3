"""Run untrusted code (a student's submission) inside a bubblewrap sandbox.

A graded notebook's kernel is the sandbox's only program (`command(...)` is the kernel's argv prefix, see
`tito.instructor.classgrade.run`). It sees a minimal file system: the operating system's read-only `/usr` (and the
`/lib`, `/bin` links), the Python installation and its packages read-only, tito's kernel boot wrapper (one
file), one private working folder the caller prepared (the package of earlier modules, the datasets) and the
folder holding the kernel's own connection file and sockets. The course root, tito, the gradebook, `src/`,
`modules/`, other submissions and the instructor's home are not mounted at all. There is no network (a new
network namespace has only its own loopback), a private `/tmp`, a private PID namespace whose init is bwrap
started with the same clean environment, and no process survives the sandbox (`--die-with-parent`).

Limits: CPU seconds, address space, processes and file size are rlimits the boot wrapper sets before the
kernel loads; the number of processes, the wall time and the output size are watched by the trusted grading
process outside, which kills the whole sandbox when one is exceeded. Only that process ever writes grades or
feedback, from what the kernel sent back.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

INSTALL_HINT = ("bubblewrap is not installed: install Debian/Ubuntu's `bubblewrap` package "
                "(`apt-get install bubblewrap`; Fedora: `dnf install bubblewrap`), or pass --no-sandbox "
                "to grade without isolation (only for notebooks you trust)")
WORKDIR = "/sandbox"  # the private working folder, as the sandboxed code sees it
BOOT = "/opt/tito/kernel_boot.py"  # tito's kernel boot wrapper (tito/core/kernel_boot.py), read-only


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed run (per submission)."""

    wall_seconds: float = 600.0
    cpu_seconds: int = 600
    memory_bytes: int = 4 << 30  # address space of each process
    processes: int = 128
    file_bytes: int = 256 << 20  # largest file the code may write
    output_bytes: int = 32 << 20  # output kept per notebook (tito.instructor.classgrade.run); the rest is cut


@dataclass
class SandboxResult:
    returncode: int | None
    stdout: bytes
    stderr: str
    seconds: float
    killed: str | None = None  # "wall time" | "output size" when the parent stopped the sandbox

    @property
    def ok(self) -> bool:
        return self.killed is None and self.returncode == 0


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or cannot create namespaces on this machine."""


def bwrap() -> str | None:
    return shutil.which("bwrap")


def _python_roots() -> list[Path]:
    """Folders the interpreter and its packages live in (a venv and the installation it points to)."""
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent}
    for entry in sys.path:
        path = Path(entry or ".").resolve()
        if path.is_dir() and ("site-packages" in path.parts or "dist-packages" in path.parts):
            roots.add(path)
    # Keep only outermost folders; system ones under /usr are mounted anyway.
    kept = sorted(r for r in roots if not r.is_relative_to("/usr"))
    return [r for r in kept if not any(r != o and r.is_relative_to(o) for o in kept)]


_ETC_FILES = ("ld.so.cache", "ld.so.conf", "localtime", "nsswitch.conf", "host.conf", "hosts", "mime.types")


def command(inner: list[str], workdir: Path, env: dict[str, str], shared: tuple[Path, ...] = ()) -> list[str]:
    """The bwrap command line that runs `inner` with `workdir` mounted read-write at /sandbox, each `shared`
    folder read-write at its own path (a kernel's connection file and sockets), and tito's kernel boot
    wrapper (that one file) at BOOT; nothing else of tito or the course."""
    from ..core.kernel_manager import BOOT as HOST_BOOT

    exe = bwrap()
    if exe is None:
        raise SandboxUnavailable(INSTALL_HINT)
    argv = [exe, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--ro-bind", "/usr", "/usr", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
            "--dir", "/etc", "--dir", "/opt"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            argv += ["--ro-bind", str(path), str(path)]
    for name in _ETC_FILES:
        if (Path("/etc") / name).exists():
            argv += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    for root in _python_roots():
        argv += ["--ro-bind", str(root), str(root)]
    argv += ["--ro-bind", str(HOST_BOOT), BOOT, "--bind", str(workdir), WORKDIR]
    for folder in shared:
        argv += ["--bind", str(folder), str(folder)]
    argv += ["--chdir", WORKDIR, "--clearenv"]
    for key, value in sorted(env.items()):
        argv += ["--setenv", key, value]
    return argv + ["--"] + inner


def base_env(extra_path: str = "", home: str = "/tmp") -> dict[str, str]:
    """The whole environment of a graded kernel (and of bwrap itself): nothing of the instructor's leaks in."""
    from ..core.kernelenv import BLAS_THREADS

    env = {"HOME": home, "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
           "PYTHONPATH": extra_path, "PYTHONDONTWRITEBYTECODE": "1",
           "JUPYTER_RUNTIME_DIR": f"{home}/jupyter-runtime", "JUPYTER_DATA_DIR": f"{home}/jupyter-data",
           "IPYTHONDIR": f"{home}/ipython", "MPLCONFIGDIR": f"{home}/matplotlib", "MPLBACKEND": "Agg",
           "LANG": "C.UTF-8", "TERM": "dumb"}
    env.update(BLAS_THREADS)
    return env


def run(inner: list[str], workdir: Path, limits: Limits, stdin: bytes = b"", env: dict | None = None) -> SandboxResult:
    """Run `inner` in the sandbox; kill it on the wall-time or output limit. Never raises for the code's faults.

    bwrap itself starts with the same clean environment as the code it runs: inside the sandbox its
    init process is PID 1, and `/proc/1/environ` must not show the instructor's environment."""
    env = env if env is not None else base_env()
    return supervise(command(inner, workdir, env), limits, stdin, env)


def supervise(argv: list[str], limits: Limits, stdin: bytes, env: dict, cwd: Path | None = None) -> SandboxResult:
    """Run `argv` in its own session with exactly `env`, feed it `stdin`, keep at most `limits.output_bytes` of
    its stdout; kill its process group at the wall-time limit or when the output goes over."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=err, start_new_session=True,
                                env=env, cwd=cwd)
        killed = None
        try:
            proc.stdin.write(stdin)
            proc.stdin.close()
        except BrokenPipeError:  # it died before reading its job; its exit code tells why
            pass
        while proc.poll() is None:
            if time.monotonic() - start > limits.wall_seconds:
                killed = f"wall time ({limits.wall_seconds:g} s)"
            elif out.tell() > limits.output_bytes:
                killed = f"output size ({limits.output_bytes >> 20} MiB)"
            if killed:
                _kill(proc)
                break
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        seconds = time.monotonic() - start
        if out.tell() > limits.output_bytes and killed is None:
            killed = f"output size ({limits.output_bytes >> 20} MiB)"
        out.seek(0)
        data = out.read(limits.output_bytes + 1) if killed is None else b""
        err.seek(0)
        tail = err.read()[-4000:].decode("utf-8", "replace")
    return SandboxResult(proc.returncode, data, tail, seconds, killed)


def _kill(proc: subprocess.Popen) -> None:
    """bwrap runs in its own session; killing the group takes its PID namespace (and everything in it) down."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def limits_dict(limits: Limits) -> dict:
    return asdict(limits)


def probe() -> str | None:
    """None when a sandbox can start here, else why not (with the fix)."""
    if bwrap() is None:
        return INSTALL_HINT
    with tempfile.TemporaryDirectory(prefix="tito-sandbox-probe-") as scratch:
        try:
            result = run([sys.executable, "-c", "print('ok')"], Path(scratch), Limits(wall_seconds=30))
        except OSError as exc:
            return f"bubblewrap could not start: {exc}"
    if result.ok and result.stdout.strip() == b"ok":
        return None
    return ("bubblewrap is installed but cannot create a sandbox here (user namespaces disabled?): "
            + (result.stderr.strip().splitlines() or ["no message"])[-1])
