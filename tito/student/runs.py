"""The last test run of each module (`.tito/runs/NN_name.json`), for `tito module resume`.

Kept apart from the progress store on purpose: a failing `complete` must leave progress.json exactly
as it was, yet the student should still see what failed when they come back.

    {"date": "2026-12-01T17:30:00+00:00", "score": 12.0, "max_score": 20.0,
     "failures": [{"cell": "test-add", "message": "AssertionError: ..."}], "errors": ["..."]}
"""
from __future__ import annotations

import json
from pathlib import Path

from ..core.fsutil import atomic_write
from .progress import now

RUNS = Path(".tito") / "runs"


def record(root: Path, slug: str, report) -> None:
    failures = [{"cell": c.grade_id, "message": c.message} for c in report.cells if not c.passed]
    failures += [{"cell": f"package test {t.name}", "message": t.message} for t in report.pytest if not t.passed]
    errors = list(report.errors) + ([report.pytest_error] if report.pytest_error else [])
    data = {"date": now(), "score": report.score, "max_score": report.max_score, "failures": failures,
            "errors": errors}
    atomic_write(Path(root) / RUNS / f"{slug}.json", json.dumps(data, indent=2, sort_keys=True) + "\n")


def last(root: Path, slug: str) -> dict | None:
    """The last run, or None (never run, or the file is unreadable: it is only a convenience)."""
    try:
        data = json.loads((Path(root) / RUNS / f"{slug}.json").read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
