"""The sandbox itself: what a notebook executed in it can and cannot reach (bubblewrap must be installed)."""
from __future__ import annotations

import json
import shutil
import socket
import threading

from tito import sandbox

LIMITS = sandbox.Limits(wall_seconds=180, cpu_seconds=120, memory_bytes=2 << 30, processes=64,
                        output_bytes=8 << 20)


def notebook(*sources: str) -> dict:
    cells = [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "outputs": [], "execution_count": None,
              "source": src} for i, src in enumerate(sources)]
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                        "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def texts(execution) -> list[str]:
    """Each cell's stdout, or `ename` when it raised."""
    out = []
    for cell in execution.notebook["cells"]:
        parts = [o.get("text", "") if o["output_type"] == "stream" else o.get("ename", "")
                 for o in cell["outputs"]]
        out.append("".join(parts).strip())
    return out


def test_bubblewrap_is_installed_and_works():
    assert shutil.which("bwrap"), sandbox.INSTALL_HINT
    assert sandbox.probe() is None


def test_only_the_working_folder_is_visible_and_nothing_outside_changes(tmp_path):
    secret = tmp_path / "course" / "src" / "answers.py"
    secret.parent.mkdir(parents=True)
    secret.write_text("ANSWER = 42\n")
    run = sandbox.execute_notebook(notebook(
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
        run = sandbox.execute_notebook(notebook(
            f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n    print('connected')\n"
            "except OSError as e:\n    print('refused')"), {}, 60, LIMITS)
    finally:
        server.close()
    assert texts(run) == ["refused"]
    assert accepted == []


def test_memory_limit_turns_a_huge_allocation_into_a_memory_error():
    run = sandbox.execute_notebook(notebook("import numpy as np\nx = np.ones(8 << 30, dtype=np.uint8)",
                                            "print('still alive')"), {}, 60, LIMITS)
    assert texts(run) == ["MemoryError", "still alive"]


def test_a_fork_bomb_is_stopped_and_reported():
    run = sandbox.execute_notebook(notebook("import os\nwhile True:\n    os.fork()"), {}, 60, LIMITS)
    assert run.aborted and ("process limit" in run.aborted or "died" in run.aborted), run.aborted


def test_an_endless_loop_stops_at_the_cell_timeout_and_the_next_cell_runs():
    """nbgrader's autograde semantics: the looping cell is interrupted and marked, grading goes on."""
    run = sandbox.execute_notebook(notebook("while True:\n    pass", "print('next')"), {}, 5, LIMITS)
    assert [status for _, status, _ in run.cells] == ["timeout", "ok"], run.cells
    assert texts(run)[1] == "next"
    assert "CellTimeoutError" in [o.get("ename") for o in run.notebook["cells"][0]["outputs"]]


def test_printing_a_gibibyte_never_reaches_the_parent():
    limits = sandbox.Limits(wall_seconds=120, memory_bytes=2 << 30, output_bytes=4 << 20)
    run = sandbox.execute_notebook(notebook("line = 'x' * (1 << 20)\nfor _ in range(1024):\n    print(line)",
                                            "print('after')"), {}, 60, limits)
    if run.notebook is None:  # stopped at the output cap (or the runner ran out of memory): reported
        assert run.aborted
    else:  # the kernel's own output buffer hit the memory limit first: the output is lost, the run goes on
        assert len(json.dumps(run.notebook)) <= limits.output_bytes
        assert texts(run)[-1] == "after"


def test_killing_its_parent_fails_only_that_run():
    run = sandbox.execute_notebook(notebook("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"), {}, 30,
                                   LIMITS)
    assert run.notebook is None and run.aborted
    honest = sandbox.execute_notebook(notebook("print(6 * 7)"), {}, 30, LIMITS)
    assert texts(honest) == ["42"]


def test_the_result_is_json_the_parent_can_read():
    run = sandbox.execute_notebook(notebook("print('é ✓')"), {}, 30, LIMITS)
    assert json.loads(json.dumps(run.notebook))["cells"][0]["outputs"][0]["text"] == "é ✓\n"
