"""Launching JupyterLab on the workspace (the CLI runs the command in the foreground)."""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

from ..core.errors import TitoError


def available() -> bool:
    return importlib.util.find_spec("jupyterlab") is not None


def lab_command(workspace: Path, notebook: Path | None = None, no_browser: bool = False,
                port: int | None = None) -> list[str]:
    """`python -m jupyterlab` rooted at the workspace, opening `notebook` when given."""
    if not available():
        raise TitoError("JupyterLab is not installed; run `pip install -e '.[student]'` (or `pip install jupyterlab`), "
                        "or open the notebook in any Jupyter you have")
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={workspace}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers often run as root; Jupyter refuses that by default
    if no_browser:
        command.append("--no-browser")
    if port:
        command += [f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    if notebook is not None:
        command.append(str(notebook))
    return command


def lab_env(root: Path | None = None) -> dict:
    """The environment for JupyterLab: in a student edition, its `.jupyter/` settings come first (they switch
    off nbgrader's instructor tools and the news prompt)."""
    from ..core.course import find_root
    from ..core.edition import is_edition

    env = dict(os.environ)
    try:
        root = Path(root) if root is not None else find_root()
    except TitoError:
        return env
    config = root / ".jupyter"
    if is_edition(root) and config.is_dir():
        rest = [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p and p != str(config)]
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([str(config), *rest])
    return env


def run_foreground(command: list[str], cwd: Path | None) -> int:
    """Run JupyterLab until it exits; Ctrl-C stops it cleanly (terminate, then kill after 10 s)."""
    process = subprocess.Popen(command, cwd=cwd, env=lab_env())
    try:
        return process.wait()
    except KeyboardInterrupt as exc:  # Ctrl-C is how one stops JupyterLab; SIGTERM still ends tito with 143
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if getattr(exc, "signum", signal.SIGINT) != signal.SIGINT:
            raise
        return process.returncode
