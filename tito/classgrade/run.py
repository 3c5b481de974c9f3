"""Run one submission's code cells through the grading runner (`tito.grade_runner`), sandboxed or bare.

This is the one way autograde executes student code, with or without `--no-sandbox`: the same runner, the
same engine (cell timeout with escalation, wall-time limit, output budget, test guard), the same limits
(bare, the process limit is left out: without a PID namespace it would count the instructor's processes).

Only code cells cross into the runner, plus the heading lines of Markdown cells (cells are named by their
section in messages); a student's 200 MB Markdown cell never travels. The reply is untrusted data: it
must describe exactly the code cells we sent (same indexes and ids) or none of it is used.
"""
from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import tito

from .. import sandbox
from ..nbutil import source_of

HEADING_BYTES = 1000  # of a Markdown cell's heading lines sent along, for cell names


@dataclass
class CellResult:
    index: int
    outputs: list[dict]
    execution_count: int | None
    status: str  # tito.kernel's CellRun status
    error: str | None = None


@dataclass
class SubmissionRun:
    """What came back from running one submission; `cells` is empty when nothing usable came back."""

    cells: dict[int, CellResult]
    aborted: str | None  # why the run stopped early (timeout, limit, crash), naming the cell when known
    seconds: float
    reason: str | None = None  # tito.kernel's reason, "process-limit", or "sandbox" when nothing came back
    tampering: dict[int, str] = field(default_factory=dict)  # test cell index -> what the guard found changed
    cut: dict[int, int] = field(default_factory=dict)  # cell index -> output bytes dropped
    restarts: list[int] = field(default_factory=list)


def runner_cells(cells: list[dict]) -> list[dict]:
    """The cells the runner gets: code cells whole (source, id, nbgrader metadata), Markdown reduced to its
    headings, anything else empty."""
    out = []
    for cell in cells:
        kind = cell.get("cell_type")
        meta = {"nbgrader": cell["metadata"]["nbgrader"]} if "nbgrader" in cell.get("metadata", {}) else {}
        if kind == "code":
            out.append({"cell_type": "code", "id": cell.get("id"), "metadata": meta, "source": source_of(cell),
                        "outputs": [], "execution_count": None})
        else:
            headings = "\n".join(l for l in source_of(cell).splitlines() if l.lstrip().startswith("#"))
            out.append({"cell_type": "markdown", "id": cell.get("id"), "metadata": {},
                        "source": headings[:HEADING_BYTES] if kind == "markdown" else ""})
    return out


def run_submission(cells: list[dict], files: dict[str, bytes], cell_timeout: float, limits: sandbox.Limits,
                   sandboxed: bool = True) -> SubmissionRun:
    """Run `cells` (a notebook's cell list) in a fresh runner whose working folder holds only `files`
    (relative path -> bytes: e.g. the package of the modules the notebook builds on, never the graded one)."""
    sent = runner_cells(cells)
    job = json.dumps({"cells": sent, "cell_timeout": cell_timeout, "limits": sandbox.limits_dict(limits),
                      "sandboxed": sandboxed}).encode()
    with tempfile.TemporaryDirectory(prefix="tito-run-") as scratch:
        workdir = Path(scratch) / "work"
        for rel, data in files.items():
            target = workdir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        workdir.mkdir(exist_ok=True)
        inner = [sys.executable, "-m", "tito.grade_runner"]
        if sandboxed:
            result = sandbox.run(inner, workdir, limits, stdin=job, env=sandbox.base_env(extra_path=sandbox.WORKDIR))
        else:
            home = Path(scratch) / "home"
            home.mkdir()
            env = sandbox.base_env(extra_path=str(workdir), runner_path=str(Path(tito.__file__).resolve().parents[1]),
                                   home=str(home))
            result = sandbox.supervise(inner, limits, job, env, cwd=workdir)
    if result.killed:
        return SubmissionRun({}, f"stopped: {result.killed} exceeded", result.seconds, "sandbox")
    return _read_reply(result, sent)


def _read_reply(result, sent: list[dict]) -> SubmissionRun:
    crashed = SubmissionRun({}, _crash(result), result.seconds, "sandbox")
    try:
        reply = json.loads(result.stdout)
        cells = {}
        for item in reply["cells"]:
            index = int(item["index"])
            if not (0 <= index < len(sent)) or sent[index]["cell_type"] != "code" or item["id"] != sent[index]["id"]:
                return crashed
            outputs = [o for o in item["outputs"] if isinstance(o, dict)]
            cells[index] = CellResult(index, outputs, item.get("execution_count"), str(item["status"]),
                                      None if item.get("error") is None else str(item["error"]))
        if sorted(cells) != [i for i, c in enumerate(sent) if c["cell_type"] == "code"]:
            return crashed
        return SubmissionRun(cells, reply.get("aborted"), result.seconds, reply.get("reason"),
                             {int(k): str(v) for k, v in (reply.get("tampering") or {}).items()},
                             {int(k): int(v) for k, v in (reply.get("cut") or {}).items()},
                             [int(i) for i in reply.get("restarts") or []])
    except (ValueError, KeyError, TypeError):
        return crashed


def _crash(result) -> str:
    last = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
    return f"the grading run crashed ({last[:300]})"
