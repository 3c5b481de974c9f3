"""Running tito and plain nbgrader as an instructor would, for the class-grading tests."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def run(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", COLUMNS="200", NO_COLOR="1")
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def tito(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "tito", *args], cwd, check)


def plain_scores(db: Path) -> dict[str, dict[str, float]]:
    """student -> grade cell -> score, read straight from a gradebook file."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}", "tinytorch") as gb:
        return {s.student.id: {g.cell.name: float(g.score) for nb in s.notebooks for g in nb.grades}
                for s in gb.find_assignment("01_tensor").submissions}
