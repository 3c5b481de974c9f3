"""The execution engine (tito.core.kernel) and the notebook helpers (tito.core.nbutil), on small notebooks with real kernels."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tito.core import kernel, nbutil
from tito.core.errors import TitoError, UsageError
from tito.core.kernelenv import kernel_env


def notebook(*cells: tuple[str, str]) -> dict:
    """(kind, source) pairs; a code source starting with `id:NAME\\n` gets that nbgrader grade id."""
    out = []
    for i, (kind, source) in enumerate(cells):
        meta = {}
        if source.startswith("id:"):
            gid, source = source[3:].split("\n", 1)
            meta = {"nbgrader": {"grade_id": gid, "grade": True, "solution": False, "locked": True, "points": 1,
                                 "schema_version": 3}}
        cell = {"cell_type": kind, "id": f"c{i}", "metadata": meta, "source": source}
        if kind == "code":
            cell.update(outputs=[], execution_count=None)
        out.append(cell)
    return {"cells": out, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                      "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def run(nb: dict, tmp_path: Path, **kw) -> kernel.Execution:
    kw.setdefault("cell_timeout", 30)
    return kernel.execute(nb, cwd=kw.pop("cwd", tmp_path), env=kw.pop("env", kernel_env()), **kw)


def stdout(execution: kernel.Execution, index: int) -> str:
    return "".join(o.get("text", "") for o in execution.notebook.cells[index].outputs if o.get("name") == "stdout")


def test_cells_run_in_order_with_the_given_cwd_and_env_and_errors_are_collected(tmp_path):
    before = dict(os.environ)
    nb = notebook(("markdown", "# Module\n## Loading data"),
                  ("code", "import os\nprint(os.getcwd(), os.environ['TITO_PROBE'])"),
                  ("code", "id:test-div\n1 / 0"),
                  ("code", "print('still running')"))
    result = run(nb, tmp_path, env=kernel_env(TITO_PROBE="probe-value"))
    assert os.environ == before, "the engine never touches tito's own environment"
    assert stdout(result, 1).split() == [str(tmp_path), "probe-value"]
    assert [(c.name, c.status, c.error) for c in result.cells] == [
        ("Loading data › code cell 1", "ok", None),
        ("Loading data › test-div", "error", "ZeroDivisionError: division by zero"),
        ("Loading data › code cell 3", "ok", None)]
    assert stdout(result, 3) == "still running\n"
    assert result.aborted is None and not result.ok


def test_a_failing_cell_stops_the_run_when_errors_are_not_allowed(tmp_path):
    nb = notebook(("code", "x = 1"), ("code", "id:boom\nraise ValueError('bad value')"), ("code", "print('never')"))
    result = run(nb, tmp_path, allow_errors=False)
    assert result.reason == "error"
    assert result.aborted == "cell `boom` failed: ValueError: bad value"
    assert [c.status for c in result.cells] == ["ok", "error", "not run"]


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_an_endless_loop_stops_at_the_cell_timeout_naming_the_cell(tmp_path, transport):
    nb = notebook(("markdown", "## Training loop"), ("code", "x = 1"), ("code", "id:spin\nwhile True:\n    pass"),
                  ("code", "print('never')"))
    result = run(nb, tmp_path, cell_timeout=2, transport=transport)
    assert result.reason == "timeout"
    assert result.aborted == "cell `Training loop › spin` timed out after 2 s (an endless loop?)"
    assert [c.status for c in result.cells] == ["ok", "timeout", "not run"]


def test_with_continue_after_timeout_the_cell_is_interrupted_marked_and_the_next_runs(tmp_path):
    """nbgrader's autograde semantics, used in grading: one endless loop costs one cell, the kernel stays."""
    nb = notebook(("code", "state = 'kept'"), ("code", "id:spin\nwhile True:\n    pass"), ("code", "print(state)"))
    result = run(nb, tmp_path, cell_timeout=2, continue_after_timeout=True)
    assert result.aborted is None
    assert [(c.status, c.error) for c in result.cells] == [
        ("ok", None), ("timeout", "CellTimeoutError: timed out after 2 s"), ("ok", None)]
    assert "CellTimeoutError" in [o.get("ename") for o in result.notebook.cells[1].outputs]
    assert stdout(result, 2) == "kept\n"
    assert result.restarts == [], "an interruptible cell does not cost the kernel"


@pytest.mark.parametrize("stubborn", [
    "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
    "while True:\n    try:\n        while True:\n            pass\n    except KeyboardInterrupt:\n        pass",
], ids=["sigint-ignored", "interrupt-caught"])
def test_a_cell_that_ignores_the_interrupt_costs_its_kernel_not_the_rest_of_the_notebook(tmp_path, stubborn):
    """The kernel is replaced, the finished cells are replayed into it, and the cells after the stuck one run
    with the state the earlier cells built; outputs recorded before stay as they were."""
    nb = notebook(("code", "import os\ntotal = 40\nprint('first run', os.getpid())"),
                  ("code", "id:adds\ntotal += 2"),
                  ("code", "id:stuck\n" + stubborn),
                  ("code", "import os\nprint(total, os.getpid())"))
    result = run(nb, tmp_path, cell_timeout=2, continue_after_timeout=True, wall_timeout=60)
    assert result.aborted is None, result.aborted
    assert [c.status for c in result.cells] == ["ok", "ok", "timeout", "ok"]
    assert result.restarts == [2]
    first_pid = stdout(result, 0).split()[-1]
    total, pid = stdout(result, 3).split()
    assert total == "42", "the cells before the stuck one were replayed, each once"
    assert pid != first_pid, "a new kernel ran the rest"
    assert stdout(result, 0).startswith("first run"), "the replay does not add outputs"


def test_probes_run_at_kernel_start_and_around_cells_unseen_by_input_transformers(tmp_path):
    nb = notebook(("code", "secret = 41"),
                  ("code", "get_ipython().input_transformers_cleanup.append(lambda lines: ['1/0\\n'])"),
                  ("code", "id:test\nprint('transformed away')"))

    def probe(phase, index, cell):
        if phase == "start":
            return "'ready'"
        return "secret + 1" if index == 2 else None

    result = run(nb, tmp_path, probe=probe)
    assert result.checks == [("start", 0, "'ready'"), ("before", 2, "42"), ("after", 2, "42")]
    assert result.cells[2].error.startswith("ZeroDivisionError"), "the cell itself still goes through the hook"


def test_the_output_budget_cuts_a_flood_and_says_so_in_the_cell(tmp_path):
    nb = notebook(("code", "print('small')"),
                  ("code", "import sys\nfor _ in range(200):\n    sys.stdout.write('x' * 10000 + '\\n')"),
                  ("code", "print('after')"),
                  ("code", "id:test-fails\nassert 1 == 2, 'a failing test'"))
    result = run(nb, tmp_path, output_budget=100_000)
    assert [c.status for c in result.cells] == ["ok", "ok", "ok", "error"]
    assert result.cells[3].error == "AssertionError: a failing test", "errors always survive the budget"
    kept = sum(len(o.get("text", "")) for o in result.notebook.cells[1].outputs if o.get("name") == "stdout")
    assert 0 < kept <= 100_000
    assert set(result.cut) == {1, 2}, "once the budget is spent, later output is cut too"
    note = result.notebook.cells[1].outputs[-1]
    assert note["name"] == "stderr" and "bytes of output were cut here" in note["text"]
    assert result.cut[1] + kept >= 200 * 10001


def test_ipc_sockets_and_connection_file_live_in_the_callers_folder(short_tmp_path):
    tmp_path = short_tmp_path
    folder = tmp_path / "run"
    nb = notebook(("code", f"import os\nprint(sorted(os.listdir({str(folder)!r})))"),
                  ("code", "id:spin\nwhile True:\n    pass"))
    result = run(nb, tmp_path, cell_timeout=2, run_dir=folder, transport="ipc")
    listed = json.loads(stdout(result, 0).replace("'", '"'))
    assert any(name.endswith(".json") for name in listed), listed  # the connection file
    assert any(name.endswith(("-1", "-2", "-3", "-4", "-5")) for name in listed), listed  # the IPC sockets
    assert result.reason == "timeout"
    assert sorted(os.listdir(folder)) == [], "sockets, connection file and log are removed afterwards"


def test_the_wall_time_limit_stops_a_run_of_slow_cells(tmp_path):
    nb = notebook(("code", "import time"), *[("code", f"id:step-{i}\ntime.sleep(1)") for i in range(30)])
    result = run(nb, tmp_path, cell_timeout=20, wall_timeout=8)
    assert result.reason == "wall-limit"
    assert "was still running when the wall-time limit of 8 s was reached" in result.aborted
    statuses = [c.status for c in result.cells]
    stopped = statuses.index("stopped")
    assert set(statuses[:stopped]) <= {"ok"} and set(statuses[stopped + 1:]) == {"not run"}
    assert f"cell `step-{stopped - 1}`" in result.aborted


def test_a_dying_kernel_is_reported_by_cell(tmp_path):
    nb = notebook(("markdown", "## Exit"), ("code", "id:quit\nimport os\nos._exit(3)"), ("code", "print('never')"))
    result = run(nb, tmp_path)
    assert result.reason == "kernel-died"
    assert result.aborted == "the kernel died in cell `Exit › quit` (out of memory?)"


def test_a_kernel_that_cannot_start_is_reported(tmp_path):
    env = kernel_env(PYTHONPATH=str(tmp_path))
    (tmp_path / "ipykernel_launcher.py").write_text("raise SystemExit('this is not a kernel')\n")
    result = run(notebook(("code", "1")), tmp_path, env=env)
    assert result.reason == "kernel-start"
    assert "the kernel did not start" in result.aborted and "this is not a kernel" in result.aborted


def test_the_kernel_command_can_be_wrapped_by_a_prefix(tmp_path):
    """The sandbox hook: whatever comes first in the argv runs the kernel (here `env`, setting a variable)."""
    nb = notebook(("code", "import os\nprint(os.environ.get('WRAPPED'), os.getppid() == int(os.environ['PPID_OF_TITO']))"))
    result = run(nb, tmp_path, env=kernel_env(PPID_OF_TITO=str(os.getpid())),
                 kernel_argv_prefix=["env", "WRAPPED=yes"])
    assert stdout(result, 0).split() == ["yes", "True"]  # `env` execs: the kernel is still tito's child


def test_a_kernel_in_a_network_namespace_talks_over_ipc_and_still_times_out(short_tmp_path):
    """Inside `bwrap --unshare-net` loopback TCP is not shared with tito; IPC sockets in a bound folder are.
    bubblewrap is the grading sandbox's tool (`.ci/run` installs it), so this fails where it is missing."""
    assert shutil.which("bwrap"), "bubblewrap is not installed (apt-get install bubblewrap)"
    tmp_path = short_tmp_path
    folder = tmp_path / "run"
    folder.mkdir()
    prefix = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
              "--bind", str(tmp_path), str(tmp_path), "--unshare-net", "--unshare-pid", "--die-with-parent"]
    # The private /tmp must not hide the interpreter or tito when the checkout itself lives under /tmp.
    for keep in sorted({sys.prefix, str(Path(kernel.__file__).resolve().parents[1])}):
        prefix[-3:-3] = ["--ro-bind", keep, keep]
    prefix.append("--")
    nb = notebook(("code", "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
                           "    print('network')\nexcept OSError:\n    print('no network')"),
                  ("code", "id:spin\nwhile True:\n    pass"))
    result = run(nb, tmp_path, cell_timeout=3, run_dir=folder, transport="ipc", kernel_argv_prefix=prefix)
    assert stdout(result, 0) == "no network\n"
    assert result.aborted == "cell `spin` timed out after 3 s (an endless loop?)"


def test_several_notebooks_run_in_parallel_and_report_in_order(tmp_path):
    jobs = [dict(notebook=notebook(("code", f"print({i} * 10)")), cwd=tmp_path, env=kernel_env(), cell_timeout=30)
            for i in range(3)]
    seen = []
    results = kernel.execute_all(jobs, workers=2, on_done=lambda i, r: seen.append(i))
    assert [stdout(r, 0) for r in results] == ["0\n", "10\n", "20\n"]
    assert sorted(seen) == [0, 1, 2]


def test_while_starting_runs_during_the_boot_and_its_error_stops_the_kernel(tmp_path):
    def refuse():
        raise TitoError("validation failed")

    with pytest.raises(TitoError, match="validation failed"):
        run(notebook(("code", "1")), tmp_path, while_starting=refuse)


def test_boot_wrapper_exits_when_its_expected_parent_is_gone(tmp_path):
    """Started with `--parent` naming a process that is not its parent (tito died before the death
    signal was armed), the boot wrapper exits instead of starting the kernel."""
    proc = subprocess.run([sys.executable, str(kernel.BOOT), "--parent", "1", "this_module_is_never_imported"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "this_module_is_never_imported" not in proc.stderr


# --- nbutil ---------------------------------------------------------------------------------------


def test_cells_are_named_by_section_heading_and_grade_id():
    cells = notebook(("code", "import x"), ("markdown", "# Tensor\nintro"), ("code", "a = 1"),
                     ("markdown", "## Shapes\n```\n# not a heading\n```"), ("code", "b = 2"),
                     ("code", "id:test-shape\nassert b"))["cells"]
    assert [nbutil.cell_name(cells, i) for i in (0, 2, 4, 5)] == [
        "code cell 1", "Tensor › code cell 1", "Shapes › code cell 1", "Shapes › test-shape"]


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"), ('{"cells": 3}', "no `cells` list"), (b"\xff\x00", "not a text file")])
def test_broken_notebook_files_are_named_with_a_fix(tmp_path, text, message):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(UsageError, match=message) as info:
        nbutil.read_notebook(path, UsageError, "restore it")
    assert str(path) in str(info.value) and "restore it" in str(info.value)


def test_schema_validation_is_optional(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code"}]}))
    assert nbutil.read_notebook(path)["cells"]
    with pytest.raises(TitoError, match="not a valid notebook"):
        nbutil.read_notebook(path, schema=True)
