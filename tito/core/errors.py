"""Errors the engine raises; the CLI shows them in one place (tito/cli/__init__.py).

They are Click exceptions, so each carries its exit code: 1 a check failed, 2 bad input,
130 interrupted. Raised outside the `tito` group (e.g. a bare Click command), Click still
shows the message and exits with that code.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 1, 2, 130


class TitoError(click.ClickException):
    """A user-facing failure: the message says what went wrong and how to fix it."""

    exit_code = EXIT_FAILED

    def __str__(self) -> str:
        return self.message


class CheckFailed(TitoError):
    """A check ran and found something wrong (stale outputs, failing tests, leaks); details were shown."""

    exit_code = EXIT_FAILED


class UsageError(TitoError):
    """Bad input (unknown module id, conflicting flags, an invalid file)."""

    exit_code = EXIT_BAD_INPUT


class MissingDependency(TitoError):
    """Something the command needs is not installed here (e.g. bubblewrap); the message names the package."""

    exit_code = EXIT_BAD_INPUT


class Interrupted(TitoError):
    """Ctrl-C (SIGINT, exit 130) or a termination signal (e.g. SIGTERM, 143): stopped cleanly."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, message: str = "interrupted", exit_code: int = EXIT_INTERRUPTED):
        super().__init__(message)
        self.exit_code = exit_code


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

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (str(p.path), p.line))
        super().__init__(f"{len(self.problems)} problem(s) in course sources")
