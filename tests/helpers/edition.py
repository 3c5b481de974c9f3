"""Helpers for the student-edition tests: a writable copy of the course, builds, and running an edition's tito."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from .course import REPO

COURSE_PARTS = ("src", "modules", "release", "tinytorch", "tests/modules", "milestones", "datasets", "pyproject.toml",
                "nbgrader_config.py", "constraints.txt")


def course_copy(dst: Path) -> Path:
    """What `tito dist student` reads, copied so a test may change the course."""
    for part in COURSE_PARTS:
        item = REPO / part
        if item.is_dir():
            shutil.copytree(item, dst / part, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        else:
            (dst / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(item, dst / part)
    return dst


def course_tito(root: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """The instructor's `tito` (this checkout's), run on the course at `root`."""
    env = dict(os.environ, TINYTORCH_ROOT=str(root), NO_COLOR="1", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "tito", *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=timeout)


def publish(course: Path, out: Path, version: str) -> Path:
    """`tito dist student OUT --git --version VERSION`: the instructor builds and commits the edition they publish."""
    done = course_tito(course, "dist", "student", str(out), "--git", "--version", version)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def edition_run(edition: Path, *args: str, python: str | None = None, timeout: int = 900,
                input: str = "", columns: int | None = 200) -> subprocess.CompletedProcess:
    """`python ARGS` inside an edition, importing the edition's own `tito` and `tinytorch`; `input` is its
    stdin (never a terminal: a question tito asks reads it); `columns=None` leaves $COLUMNS unset, as in a
    log file.

    Without `python` (a venv made from the edition), this interpreter runs with `-S` and the venv's
    site-packages on PYTHONPATH: its packages are there, but not this checkout's editable `tinytorch`
    (whose import hook would otherwise serve the reference package)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TINYTORCH_ROOT", "TINYTORCH_WORKSPACE", "PYTHONPATH")}
    env.pop("COLUMNS", None)
    env.update(NO_COLOR="1", **({"COLUMNS": str(columns)} if columns else {}))
    if python is None:
        command = [sys.executable, "-S"]
        env["PYTHONPATH"] = os.pathsep.join([str(edition), sysconfig.get_paths()["purelib"]])
    else:
        command = [python]
    return subprocess.run([*command, *args], cwd=edition, env=env, capture_output=True, text=True, timeout=timeout,
                          input=input)


def student_python(folder: Path) -> str:
    """A virtual environment (made in `folder`, without pip: a second) that sees this interpreter's packages as
    plain paths, so the editable install of this checkout's `tinytorch` stays out of it; returns its python.

    What a student's `.venv` is to an edition, without installing anything: `python -m tito` in an edition (its
    working folder) imports the edition's `tito` and `tinytorch`, and so do the kernels and pytest runs that
    tito starts with this interpreter."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=300)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # this interpreter's package folders (those a .pth file added too), as plain paths
    paths = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
                           *(p for p in sys.path if p.endswith(("site-packages", "dist-packages")))])
    (Path(purelib) / "zz_tinytorch_test_parent.pth").write_text("\n".join(paths) + "\n")
    return str(python)


# A student's machine: a git identity, and no git configuration of this machine's (no global, no system file).
STUDENT_GIT = {"GIT_AUTHOR_NAME": "Student", "GIT_AUTHOR_EMAIL": "student@example.invalid",
               "GIT_COMMITTER_NAME": "Student", "GIT_COMMITTER_EMAIL": "student@example.invalid",
               "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def student_env(**extra: str) -> dict:
    """A student's environment for a command in their copy of the edition: no course variables, this test run's
    environment off PATH, a fresh git configuration."""
    env = {k: v for k, v in os.environ.items() if k not in ("TINYTORCH_ROOT", "TINYTORCH_WORKSPACE", "PYTHONPATH",
                                                            "VIRTUAL_ENV", "JUPYTER_CONFIG_PATH")}
    env.update(STUDENT_GIT, NO_COLOR="1", COLUMNS="200", PATH=os.environ.get("PATH", "").replace(
        str(Path(sys.executable).parent) + os.pathsep, ""))
    env.update(extra)
    return env


def student_shell(cwd: Path, script: str, timeout: int = 1800, input: str | None = None,
                  **extra: str) -> subprocess.CompletedProcess:
    """A bash command as a student types it in their copy of the edition (after `source activate.sh` where they
    would), in student_env(); `input` is what they type at its prompts."""
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=student_env(**extra), capture_output=True, text=True,
                          timeout=timeout, input=input)
