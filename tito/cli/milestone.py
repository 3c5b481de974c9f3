"""`tito milestone ...`: reproduce historical results on the student's own package."""
from __future__ import annotations

import click
from rich.table import Table

from ..core import milestones as engine
from ..core.course import Course
from ..core.errors import CheckFailed, TitoError
from .console import console, esc


class GoalMissed(CheckFailed):
    """The milestone ran but missed its goal (exit 1)."""


@click.group()
def milestone() -> None:
    """List milestones, see which are unlocked, and run them on your own code."""


def _state(course: Course):
    """(the completed modules whose code imports, the completed ones whose code does not -> the modules they
    need, the milestone results)."""
    from ..student import progress
    from ..student.package import exported
    from ..student.plan import blocked, working

    completed, present = progress.completed_modules(course.root), exported(course)
    return (working(course, completed, present), blocked(course, completed, present),
            progress.milestone_results(course.root))


def _metrics(run: dict | None) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in (run or {}).get("metrics", {}).items())


def _ids(slugs: list[str]) -> str:
    return ", ".join(s[:2] for s in slugs)


def _to_do(missing: list[str], stuck: dict[str, list[str]]) -> tuple[list[str], str]:
    """(modules to complete, a note on the completed ones among `missing` whose code needs a module completed again)."""
    waiting = [s for s in missing if s in stuck]
    needed = sorted({n for s in waiting for n in stuck[s]})
    pending = sorted(set(missing) - set(waiting) | set(needed))
    note = f"{_ids(waiting)} need{'s' if len(waiting) == 1 else ''} {_ids(needed)} again" if waiting else ""
    return pending, note


@milestone.command("list")
def list_() -> None:
    """Show every milestone, what it proves and which modules it needs."""
    course = Course.load(strict=False)
    table = Table(title=f"{esc(course.config.title)} milestones")
    for col in ("id", "milestone", "year", "needs modules", "goal"):
        table.add_column(col)
    for m in engine.discover(course):
        table.add_row(m.id, esc(m.title), m.year, ", ".join(s[:2] for s in m.requires), esc(m.goal))
    console.print(table)


@milestone.command()
def status() -> None:
    """Locked / unlocked / passed for every milestone, from your progress."""
    from ..student.progress import full_run

    course = Course.load(strict=False)
    working, stuck, results = _state(course)
    table = Table(title="Milestone status")
    for col in ("id", "milestone", "status", "result"):
        table.add_column(col)
    for m in engine.discover(course):
        missing = engine.missing_modules(m, working)
        entry = results.get(m.slug) or {}
        full, quick = full_run(entry), entry.get("quick")
        if full and full.get("best_passed"):
            state = "[green]passed[/]"
        elif missing:
            pending, note = _to_do(missing, stuck)
            state = f"[dim]locked (complete {_ids(pending)}" + (f"; {note}" if note else "") + ")[/]"
        elif quick and quick.get("best_passed"):
            state = f"[cyan]passed a --quick run[/] (`tito milestone run {m.id}` for the full run)"
        else:
            state = "[cyan]unlocked[/]"
        # the full run's figures; a quick run's only when there is no full run, and labelled so
        metrics = _metrics(full) if full else (f"--quick: {_metrics(quick)}" if quick else "")
        table.add_row(m.id, esc(m.title), state, esc(metrics))
    console.print(table)


def _locked(course: Course, m, missing: list[str], stuck: dict[str, list[str]]) -> str:
    """Why milestone `m` cannot run yet, and what to do: complete its modules. The course repository can also
    run it with --force on the reference code; a student edition has no reference code to fall back on."""
    from ..core.edition import is_edition
    from ..student import progress

    pending, note = _to_do(missing, stuck)
    mods = [course.resolve(slug) for slug in pending]
    listed = ", ".join(f"{mod.id} ({mod.name})" for mod in mods)
    first = mods[0]
    verb = {None: "start", progress.STARTED: "resume"}.get(progress.load(course.root, course).status(first.slug),
                                                            "complete")
    text = (f"{m.title} is locked: it runs on your code of module{'s' if len(missing) > 1 else ''} {_ids(missing)}; "
            f"complete {listed} first" + (f" ({note}: completed, but their code imports it)" if note else "")
            + f". Next: `tito module {verb} {first.id}`")
    if is_edition(course.root):
        return text
    return text + f"; or pass --force to run it on {course.package}/ as it stands (the reference code of each module you " \
                  "have not completed)"


@milestone.command()
@click.argument("ident")
@click.option("--quick", is_flag=True, help="A shorter run (smaller budget) for a fast check.")
@click.option("--force", is_flag=True, help="Run even if its modules are not completed (on the package as it stands).")
@click.option("--record-reference", is_flag=True,
              help="(instructors) Keep this run as the reference run the book shows: milestones/NN_name/reference.json.")
def run(ident: str, quick: bool, force: bool, record_reference: bool) -> None:
    """Run milestone IDENT on the course's package as it stands (your exports); exit 1 if it misses its goal."""
    from ..student import progress

    course = Course.load(strict=False)
    m = engine.resolve(course, ident)
    working, stuck, _ = _state(course)
    missing = engine.missing_modules(m, working)
    if missing and not force:
        raise TitoError(_locked(course, m, missing, stuck))
    console.rule(f"Milestone {m.id}: {esc(m.title)} ({m.year})")
    result = engine.run(m, quick=quick, console=console, course=course)
    progress.record_milestone(course.root, m.slug, result, quick=quick)
    if record_reference:
        path = engine.record_reference(m, result, quick)
        console.print(f"reference run recorded: {esc(str(path.relative_to(course.root)))}")
    if result["passed"]:
        console.print(f"[bold green]✓ {esc(m.title)}: goal reached.[/]")
    else:
        raise GoalMissed(f"{m.title}: goal not reached ({m.goal})")
