"""`tito system ...`: is the environment ready (health), what is installed where (info), JupyterLab."""
from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from ..core.course import find_root
from ..core.errors import CheckFailed
from .console import console


@click.group()
def system() -> None:
    """Check and inspect your environment."""


def _health() -> None:
    from ..student.health import checks

    root = find_root()
    results = checks(root)
    table = Table(title="tito system health")
    for col in ("check", "result", "detail", "fix"):
        table.add_column(col, overflow="fold")
    for c in results:
        if c.ok:
            result = "[green]pass[/]"
        else:
            result = "[red]FAIL[/]" if c.required else "[yellow]warn[/]"
        table.add_row(escape(c.name), result, escape(c.detail), escape(c.fix))
    console.print(table)
    failed = [c for c in results if c.required and not c.ok]
    warned = [c for c in results if not c.required and not c.ok]
    if failed:
        raise CheckFailed(f"{len(failed)} required check(s) failed. Run the fix commands above, then "
                          "`tito system health` again.")
    console.print("[green]Ready.[/]" + (f" ({len(warned)} optional item(s) missing.)" if warned else ""))


@system.command()
def health() -> None:
    """Check Python, packages, the Jupyter kernel and the workspace; exit 1 if anything required fails."""
    _health()


@system.command()
def doctor() -> None:
    """Alias of `tito system health`."""
    _health()


@system.command()
def info() -> None:
    """Versions and paths (include this in bug reports)."""
    from ..student.health import info as rows

    table = Table(title="tito system info", show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    for key, value in rows(find_root()):
        table.add_row(escape(key), escape(value))
    console.print(table)


@system.command()
@click.option("--no-browser", is_flag=True, help="Do not open a browser (headless use).")
@click.option("--port", type=int, default=None, help="Port for JupyterLab (default: Jupyter's choice).")
def jupyter(no_browser: bool, port: int | None) -> None:
    """Start JupyterLab in your workspace folder."""
    from ..student.jupyter import lab_command, run_foreground
    from ..student.workspace import workspace_root

    folder = workspace_root(find_root())
    folder.mkdir(parents=True, exist_ok=True)
    console.print(f"Starting JupyterLab in {folder} (stop it with Ctrl-C twice)...")
    run_foreground(lab_command(folder, None, no_browser, port), folder)
