"""Shared rich consoles, the one progress bar, and how engine errors are shown.

Colour is automatic: plain text when piped, NO_COLOR respected. Piped into a file or another program (and no
$COLUMNS), output is not wrapped at 80 columns: a command or a path broken across two lines cannot be copied
back. Boxes of prose (a milestone's story panel) are the exception: they fill the width they are given, so
piped they get PROSE_WIDTH columns instead of PIPE_WIDTH. Text that is not ours (student code, test names,
messages) goes through `esc` (rich's escape) before it is printed: `[adam]` or `[/2]` are rich markup otherwise;
`one_line` also makes control characters visible, for names an attacker chooses (a newline or an ANSI escape
in a file name).
"""
from __future__ import annotations

import os

from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.markup import escape as esc  # noqa: F401  (the short name the commands use)
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from ..core.course import find_root
from ..core.errors import Interrupted, LintError, TitoError

PIPE_WIDTH = 400  # wide enough that tables and commands never wrap; a terminal uses its own width
PROSE_WIDTH = 100  # a panel of prose, piped: readable in a log


class _Console(Console):
    def _piped(self) -> bool:
        return not self.is_terminal and not os.environ.get("COLUMNS")

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return ConsoleDimensions(PIPE_WIDTH, size.height) if self._piped() else size

    @size.setter
    def size(self, new_size) -> None:
        Console.size.fset(self, new_size)

    def print(self, *objects, **kwargs) -> None:
        if self._piped():
            if kwargs.get("width") is None and any(isinstance(o, Panel) for o in objects):
                kwargs["width"] = PROSE_WIDTH
            elif kwargs.get("soft_wrap") is None:
                kwargs["soft_wrap"] = True
        super().print(*objects, **kwargs)

    def rule(self, *args, **kwargs) -> None:  # a 400-column rule in a log helps nobody
        if self._piped():
            title = args[0] if args else kwargs.get("title", "")
            super().print(f"--- {title} ---" if title else "---")
            return
        super().rule(*args, **kwargs)


# emoji=False: `:smile:` in a student's file name or test name is printed as typed, not as a picture.
console = _Console(highlight=False, emoji=False)
err_console = _Console(stderr=True, highlight=False, emoji=False)


def one_line(text: str) -> str:
    """Text that is not ours, ready for a markup string and kept on one line: markup escaped, and control
    characters (newline, ANSI escape, bidi override, an undecodable file name byte) shown as `\\n`, `\\x1b`..."""
    return escape("".join(c if c.isprintable() else repr(c)[1:-1] for c in text))


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
