"""What each submission was last graded from, so a re-run grades only new or changed submissions.

Kept per gradebook (db_url), because a fresh or different gradebook needs everything graded again.
Also holds the flags of each submission, which the gradebook has no column for, for the summary and export.
"""
from __future__ import annotations

import json
from pathlib import Path

from ...core.fsutil import atomic_write
from .jobs import Result


class GradingState:
    def __init__(self, path: Path, db_url: str):
        self.path = Path(path)
        self.db_url = db_url
        try:
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            self.data = {}

    def _entries(self, assignment: str) -> dict:
        return self.data.setdefault(self.db_url, {}).setdefault(assignment, {})

    def get(self, assignment: str, student: str) -> dict | None:
        return self.data.get(self.db_url, {}).get(assignment, {}).get(student)

    def ungraded(self, assignment: str) -> list[str]:
        """Students whose last grading of `assignment` failed: they have no score yet."""
        return sorted(s for s, e in self.data.get(self.db_url, {}).get(assignment, {}).items() if not e.get("ok"))

    def put(self, result: Result) -> None:
        self._entries(result.assignment)[result.student] = {
            "key": result.key, "ok": result.ok, "flags": result.flags, "error": result.error,
            "score": result.score, "max_score": result.max_score, "late_penalty": result.late_penalty,
        }

    def save(self) -> None:
        atomic_write(self.path, json.dumps(self.data, indent=1, sort_keys=True) + "\n")
