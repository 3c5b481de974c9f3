"""Ctrl-C during a class run: one line, exit 130, no worker, sandbox or kernel left, finished grades kept."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..helpers.class_submissions import tensor_course, variants
from ..helpers.grading import BIN, plain_scores

pytestmark = pytest.mark.slow


def descendants(pid: int) -> set[int]:
    """Every living process below `pid`, from /proc (sandboxed ones included: their host pids are there too)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_ctrl_c_stops_the_class_run_cleanly(tmp_path):
    course, module = tensor_course(tmp_path / "course")
    kinds = variants(course, module)
    for student, kind in (("ada", "perfect"), *((f"loop{i}", "loop") for i in range(4))):
        folder = course.root / "grading" / "submitted" / student / module.slug
        folder.mkdir(parents=True)
        (folder / f"{module.slug}.ipynb").write_text(json.dumps(kinds[kind]))
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", COLUMNS="200", NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "tito", "nbgrader", "autograde", "01", "--all", "--jobs", "2",
                             "--timeout", "60"], cwd=course.root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any("ipykernel" in _cmdline(p) for p in seen):
        seen |= descendants(proc.pid)  # wait until a student kernel is running in a sandbox
        time.sleep(0.2)
    assert any("bwrap" in _cmdline(p) for p in seen), "no sandbox started"
    time.sleep(1)
    seen |= descendants(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().splitlines()[-1].startswith("interrupted; "), err
    time.sleep(1)
    assert [p for p in seen if alive(p)] == []
    graded = plain_scores(course.root / "gradebook.db")
    assert set(graded) <= {"ada", "loop0", "loop1", "loop2", "loop3"}  # whatever finished was recorded


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
