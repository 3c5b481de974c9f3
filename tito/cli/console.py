"""Shared rich consoles, the one progress bar, and how engine errors are shown.

Colour is automatic: plain text when piped, NO_COLOR respected.
"""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from ..course import find_root
from ..errors import Interrupted, LintError, TitoError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def progress_bar() -> Progress:
    """The progress display every long command uses: description, bar, done/total, elapsed; gone when done."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=console, transient=True)


class PhaseBar:
    """Adapts the engine's `progress(phase, done, total)` callbacks to one task per phase of a `progress_bar()`."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.progress.add_task(escape(phase), total=total)
        self.progress.update(self.tasks[phase], completed=done, total=total)


def print_problems(exc: LintError) -> None:
    try:
        root = find_root()
    except Exception:
        root = None
    for problem in exc.problems:
        text = problem.format(root)
        location, _, rest = text.partition(": ")
        err_console.print(f"[bold]{escape(location)}:[/] [red]error:[/] {escape(rest)}", highlight=False,
                          soft_wrap=True)
    err_console.print(f"[red]{len(exc.problems)} problem(s); nothing was written.[/]")


def show_error(exc: TitoError) -> None:
    """The one place an engine error reaches the user."""
    if isinstance(exc, LintError):
        print_problems(exc)
    elif isinstance(exc, Interrupted):
        err_console.print(f"[yellow]{escape(str(exc))}[/]", highlight=False)
    else:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
