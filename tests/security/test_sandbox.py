"""The grading runner in its sandbox: what a notebook run there can and cannot reach (bubblewrap must be installed),
and the limits it keeps, sandboxed and bare (`--no-sandbox` runs the same runner without bubblewrap)."""
from __future__ import annotations

import json
import shutil
import socket
import threading

import pytest

from tito.instructor import sandbox
from tito.instructor.classgrade.run import run_submission

LIMITS = sandbox.Limits(wall_seconds=180, cpu_seconds=120, memory_bytes=2 << 30, processes=64,
                        output_bytes=8 << 20)


def notebook(*sources: str) -> list[dict]:
    """Code cells; a source starting with `id:NAME\n` is a graded test cell with that grade id."""
    cells = []
    for i, src in enumerate(sources):
        meta = {}
        if src.startswith("id:"):
            gid, src = src[3:].split("\n", 1)
            meta = {"nbgrader": {"grade": True, "grade_id": gid, "solution": False, "locked": True, "points": 1,
                                 "schema_version": 3}}
        cells.append({"cell_type": "code", "id": f"c{i}", "metadata": meta, "outputs": [], "execution_count": None,
                      "source": src})
    return cells


def execute(cells: list[dict], files: dict, timeout: float, limits, sandboxed: bool = True):
    return run_submission(cells, files, timeout, limits, sandboxed=sandboxed)


def texts(run) -> list[str]:
    """Each cell's stdout, or `ename` when it raised (all error names, space-separated)."""
    out = []
    for index in sorted(run.cells):
        parts = [o.get("text", "") if o["output_type"] == "stream" and o.get("name") == "stdout"
                 else o.get("ename", "") + " " if o["output_type"] == "error" else "" for o in run.cells[index].outputs]
        out.append("".join(parts).strip())
    return out


def test_bubblewrap_is_installed_and_works():
    assert shutil.which("bwrap"), sandbox.INSTALL_HINT
    assert sandbox.probe() is None


def test_only_the_working_folder_is_visible_and_nothing_outside_changes(tmp_path):
    secret = tmp_path / "course" / "src" / "answers.py"
    secret.parent.mkdir(parents=True)
    secret.write_text("ANSWER = 42\n")
    run = execute(notebook(
        f"import os\nprint(os.path.exists({str(secret)!r}), os.path.exists({str(tmp_path)!r}))",
        "import os\nprint(sorted(os.listdir('.')))",
        f"open({str(tmp_path / 'planted.txt')!r}, 'w').write('x')",
        "import os\nprint(os.path.expanduser('~'), sorted(os.listdir('/tmp')))",
    ), {"pkg/tinytorch/__init__.py": b""}, 60, LIMITS)
    assert run.aborted is None
    shown = texts(run)
    assert shown[0] == "False False"
    assert shown[1] == "['pkg']"
    assert shown[2] in ("FileNotFoundError", "PermissionError", "OSError")
    assert shown[3].startswith("/tmp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["course"]


def test_no_network_even_to_a_listener_on_this_machine():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    accepted = []

    def accept():
        for _ in range(60):
            try:
                accepted.append(server.accept())
                return
            except OSError:
                continue

    watcher = threading.Thread(target=accept, daemon=True)
    watcher.start()
    try:
        run = execute(notebook(
            f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n    print('connected')\n"
            "except OSError as e:\n    print('refused')"), {}, 60, LIMITS)
    finally:
        server.close()
    assert texts(run) == ["refused"]
    assert accepted == []


def test_a_fork_bomb_is_stopped_and_reported():
    run = execute(notebook("import os\nwhile True:\n    os.fork()"), {}, 60, LIMITS)
    assert run.aborted and ("process limit" in run.aborted or "died" in run.aborted), run.aborted


BOTH = pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "bare"])


@BOTH
def test_an_endless_loop_stops_at_the_cell_timeout_and_the_next_cell_runs(sandboxed):
    """nbgrader's autograde semantics: the looping cell is interrupted and marked, grading goes on."""
    run = execute(notebook("x = 'kept'", "while True:\n    pass", "print(x)"), {}, 5, LIMITS, sandboxed)
    assert [run.cells[i].status for i in sorted(run.cells)] == ["ok", "timeout", "ok"]
    assert texts(run)[1].startswith("CellTimeoutError") and texts(run)[2] == "kept"
    assert run.restarts == []


IGNORES_SIGINT = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"


@BOTH
def test_a_cell_that_ignores_the_interrupt_costs_its_kernel_and_the_rest_still_runs(sandboxed):
    """Escalation at the cell timeout: interrupt, then a new kernel with the finished cells replayed; the tests
    before the stuck cell keep their result and the ones after run on the same state."""
    run = execute(notebook("total = 40", "id:test-before\nassert total == 40", IGNORES_SIGINT,
                           "id:test-after\ntotal += 2\nassert total == 42, total\nprint('after', total)"),
                  {}, 4, LIMITS, sandboxed)
    assert run.aborted is None, run.aborted
    assert [run.cells[i].status for i in sorted(run.cells)] == ["ok", "ok", "timeout", "ok"]
    assert run.restarts == [2]
    assert texts(run)[3] == "after 42"


@BOTH
def test_the_wall_time_limit_keeps_what_finished_and_marks_the_rest(sandboxed):
    """The runner stops before the parent's hard kill, so the cells that ran keep their outputs."""
    limits = sandbox.Limits(wall_seconds=20, memory_bytes=2 << 30, output_bytes=8 << 20)
    run = execute(notebook("print('done')", "import time\nwhile True:\n    time.sleep(1)", "print('never')"),
                  {}, 60, limits, sandboxed)
    assert run.reason == "wall-limit", run.aborted
    assert texts(run)[0] == "done"
    assert [run.cells[i].status for i in sorted(run.cells)] == ["ok", "stopped", "not run"]


@BOTH
def test_output_over_the_limit_is_cut_with_a_note_and_grading_goes_on(sandboxed):
    """64 MiB printed against a 4 MiB limit: the first part is kept, the rest dropped and counted, and the next
    test cell's error (what decides its score) still comes back."""
    limits = sandbox.Limits(wall_seconds=120, memory_bytes=2 << 30, output_bytes=4 << 20)
    run = execute(notebook("line = 'x' * (1 << 20)\nfor _ in range(64):\n    print(line)",
                           "id:test-fails\nassert False, 'still graded'"), {}, 60, limits, sandboxed)
    assert run.aborted is None, run.aborted
    assert run.cells[1].status == "error" and run.cells[1].error == "AssertionError: still graded"
    kept = sum(len(o.get("text", "")) for o in run.cells[0].outputs if o.get("name") == "stdout")
    assert 0 < kept <= limits.output_bytes
    assert kept + run.cut[0] >= 64 * ((1 << 20) + 1)
    assert "bytes of output were cut here" in run.cells[0].outputs[-1]["text"]


@BOTH
def test_printing_a_gibibyte_never_costs_the_grade(sandboxed):
    """Whether the kernel runs out of memory buffering it or the runner refuses the message, the output stays
    bounded and the rest of the notebook is graded."""
    limits = sandbox.Limits(wall_seconds=120, memory_bytes=2 << 30, output_bytes=4 << 20)
    run = execute(notebook("line = 'x' * (1 << 20)\nfor _ in range(1024):\n    print(line)",
                           "id:test-fails\nassert False, 'still graded'"), {}, 60, limits, sandboxed)
    assert run.aborted is None, run.aborted
    assert run.cells[1].error == "AssertionError: still graded"
    assert len(json.dumps(run.cells[0].outputs)) <= limits.output_bytes


@BOTH
def test_a_memory_limit_turns_a_huge_allocation_into_a_memory_error(sandboxed):
    run = execute(notebook("import numpy as np\nx = np.ones(8 << 30, dtype=np.uint8)", "print('still alive')"), {}, 60,
                  LIMITS, sandboxed)
    assert texts(run) == ["MemoryError", "still alive"]


def test_killing_its_parent_changes_nothing():
    """The kernel's parent is the sandbox's init, which ignores signals from inside: the run goes on."""
    run = execute(notebook("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint(os.getppid())",
                           "print(6 * 7)"), {}, 30, LIMITS)
    assert texts(run) == ["1", "42"]


def test_the_result_is_json_the_parent_can_read():
    run = execute(notebook("print('é ✓')"), {}, 30, LIMITS)
    assert json.loads(json.dumps(run.cells[0].outputs))[0]["text"] == "é ✓\n"


CANARY = "tito-canary-8c1f0e"
SNOOP = """
import glob, os
seen = []
for path in sorted(glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline')):
    try:
        seen.append(path + ' ' + open(path, 'rb').read().decode('utf-8', 'replace'))
    except OSError as e:
        seen.append(path + ' ' + type(e).__name__)
print('\\n'.join(seen))
print(dict(os.environ))
"""


def test_nothing_of_the_instructors_environment_is_readable_inside(monkeypatch, tmp_path):
    """Not through the kernel's environment, nor through /proc/1 (bubblewrap's init) or any other process."""
    monkeypatch.setenv("TITO_CANARY_SECRET", CANARY)
    monkeypatch.setenv("TITO_COURSE_HOME", str(tmp_path))
    run = execute(notebook(SNOOP), {}, 30, LIMITS)
    shown = texts(run)[0]
    assert "/proc/1/environ" in shown, shown[:2000]
    assert CANARY not in shown and str(tmp_path) not in shown
    assert "tito" not in shown.split("/proc/")[-1], "the kernel's own environment names no tito path"


def test_the_kernel_cannot_import_tito():
    """The test guard has no object in the kernel to import or replace."""
    run = execute(notebook("import tito.instructor.testguard"), {}, 30, LIMITS)
    assert run.cells[0].error.startswith("ModuleNotFoundError"), run.cells[0].error
