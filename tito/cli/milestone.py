"""`tito milestone ...`: reproduce historical results on the student's own tinytorch."""
from __future__ import annotations

import click
from rich.table import Table

from .. import milestones as engine
from ..course import Course
from ..errors import CheckFailed, TitoError
from .console import console, esc


class GoalMissed(CheckFailed):
    """The milestone ran but missed its goal (exit 1)."""


@click.group()
def milestone() -> None:
    """List milestones, see which are unlocked, and run them on your own code."""


def _state(course: Course):
    from ..student import progress

    return progress.completed_modules(course.root), progress.milestone_results(course.root)


@milestone.command("list")
def list_() -> None:
    """Show every milestone, what it proves and which modules it needs."""
    course = Course.load(strict=False)
    table = Table(title="TinyTorch milestones")
    for col in ("id", "milestone", "year", "needs modules", "goal"):
        table.add_column(col)
    for m in engine.discover(course):
        table.add_row(m.id, esc(m.title), m.year, ", ".join(s[:2] for s in m.requires), esc(m.goal))
    console.print(table)


@milestone.command()
def status() -> None:
    """Locked / unlocked / passed for every milestone, from your progress."""
    course = Course.load(strict=False)
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
        table.add_row(m.id, esc(m.title), state, esc(metrics))
    console.print(table)


@milestone.command()
@click.argument("ident")
@click.option("--quick", is_flag=True, help="A shorter run (smaller budget) for a fast check.")
@click.option("--force", is_flag=True, help="Run even if its modules are not completed (uses the reference code).")
@click.option("--record-reference", is_flag=True,
              help="(instructors) Keep this run as the reference run the book shows: milestones/NN_name/reference.json.")
def run(ident: str, quick: bool, force: bool, record_reference: bool) -> None:
    """Run milestone IDENT on the tinytorch package as it stands (your exports); exit 1 if it misses its goal."""
    from ..student import progress

    course = Course.load(strict=False)
    m = engine.resolve(course, ident)
    completed, _ = _state(course)
    missing = engine.missing_modules(m, completed)
    if missing and not force:
        first = course.resolve(missing[0])
        raise TitoError(f"{m.title} is locked: complete {', '.join(missing)} first "
                        f"(next: `tito module start {first.id}`), or pass --force to run it on the reference code")
    console.rule(f"Milestone {m.id}: {esc(m.title)} ({m.year})")
    result = engine.run(m, quick=quick, console=console)
    progress.record_milestone(course.root, m.slug, result)
    if record_reference:
        path = engine.record_reference(m, result, quick)
        console.print(f"reference run recorded: {esc(str(path.relative_to(course.root)))}")
    if result["passed"]:
        console.print(f"[bold green]✓ {esc(m.title)}: goal reached.[/]")
    else:
        raise GoalMissed(f"{m.title}: goal not reached ({m.goal})")
