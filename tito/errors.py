"""Errors the engine raises; the CLI turns them into messages and exit codes."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class TitoError(Exception):
    """A user-facing failure: the message says what went wrong and how to fix it."""

    exit_code = 1


class UsageError(TitoError):
    """Bad arguments (unknown module id, conflicting flags)."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One lint finding, reported as `file:line: message` plus a fix hint."""

    path: Path
    line: int
    message: str
    hint: str = ""

    def format(self, root: Path | None = None) -> str:
        shown = self.path
        if root is not None:
            try:
                shown = self.path.relative_to(root)
            except ValueError:
                pass
        text = f"{shown}:{self.line}: {self.message}"
        return f"{text}\n    fix: {self.hint}" if self.hint else text


class LintError(TitoError):
    """One or more source files are invalid; nothing was written."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (str(p.path), p.line))
        super().__init__(f"{len(self.problems)} problem(s) in course sources")
