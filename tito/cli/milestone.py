"""`tito milestone ...`: reproduce historical results on the student's own tinytorch."""
from __future__ import annotations

import sys

import click
from rich.table import Table

from .. import milestones as engine
from ..course import Course
from .console import console


@click.group()
def milestone() -> None:
    """List milestones, see which are unlocked, and run them on your own code."""


def _state(course: Course):
    from ..student import progress

    return progress.completed_modules(course.root), progress.milestone_results(course.root)


@milestone.command("list")
def list_() -> None:
    """Show every milestone, what it proves and which modules it needs."""
    course = Course.load()
    table = Table(title="TinyTorch milestones")
    for col in ("id", "milestone", "year", "needs modules", "goal"):
        table.add_column(col)
    for m in engine.discover(course):
        table.add_row(m.id, m.title, m.year, ", ".join(s[:2] for s in m.requires), m.goal)
    console.print(table)


@milestone.command()
def status() -> None:
    """Locked / unlocked / passed for every milestone, from your progress."""
    course = Course.load()
    completed, results = _state(course)
    table = Table(title="Milestone status")
    for col in ("id", "milestone", "status", "result"):
        table.add_column(col)
    for m in engine.discover(course):
        missing = engine.missing_modules(m, completed)
        result = results.get(m.slug)
        if result and result.get("best_passed"):
            state = "[green]passed[/]"
        elif missing:
            state = f"[dim]locked (complete {', '.join(s[:2] for s in missing)})[/]"
        else:
            state = "[cyan]unlocked[/]"
        metrics = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in (result or {}).get("metrics", {}).items())
        table.add_row(m.id, m.title, state, metrics)
    console.print(table)


@milestone.command()
@click.argument("ident")
@click.option("--quick", is_flag=True, help="A shorter run (smaller budget) for a fast check.")
@click.option("--force", is_flag=True, help="Run even if its modules are not completed (on the package as it stands).")
def run(ident: str, quick: bool, force: bool) -> None:
    """Run milestone IDENT on the tinytorch package as it stands (your exports); exit 1 if it misses its goal."""
    from ..student import progress

    course = Course.load()
    m = engine.resolve(course, ident)
    completed, _ = _state(course)
    missing = engine.missing_modules(m, completed)
    if missing and not force:
        first = course.resolve(missing[0])
        console.print(f"[yellow]{m.title} is locked:[/] complete {', '.join(missing)} first "
                      f"(next: `tito module start {first.id}`), or pass --force to run it on the reference code.")
        sys.exit(1)
    console.rule(f"Milestone {m.id}: {m.title} ({m.year})")
    result = engine.run(m, quick=quick, console=console, course=course)
    progress.record_milestone(course.root, m.slug, result)
    if result["passed"]:
        console.print(f"[bold green]✓ {m.title}: goal reached.[/]")
    else:
        console.print(f"[bold red]✗ {m.title}: goal not reached[/] ({m.goal})")
        sys.exit(1)
