"""Shared rich consoles. Colour is automatic: plain text when piped, NO_COLOR respected."""
from __future__ import annotations

from rich.console import Console

from ..course import find_root
from ..errors import LintError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def print_problems(exc: LintError) -> None:
    try:
        root = find_root()
    except Exception:
        root = None
    for problem in exc.problems:
        text = problem.format(root)
        location, _, rest = text.partition(": ")
        err_console.print(f"[bold]{location}:[/] [red]error:[/] {rest}", highlight=False, soft_wrap=True)
    err_console.print(f"[red]{len(exc.problems)} problem(s); nothing was written.[/]")
