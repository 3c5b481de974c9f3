"""`tito source ...`: instructor/maintainer commands on the course sources."""
from __future__ import annotations

import time

import click
from rich.markup import escape
from rich.table import Table

from ...cli.console import console, progress_bar
from ...core.course import Course
from ...core.errors import CheckFailed
from .. import export as engine

STATUS_STYLE = {"written": "green", "unchanged": "dim", "stale": "red", "missing": "red", "stray": "red",
                "kept-student": "yellow"}


@click.group()
def source() -> None:
    """Lint, export and check the course sources in src/."""


@source.command()
@click.argument("modules", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Lint every module (the default when none is named).")
def lint(modules: tuple[str, ...], all_: bool) -> None:
    """Check source files for format errors (file:line and a fix for each); exit 2 on any."""
    course = Course.load()
    chosen = course.select(modules, all_)
    engine.lint(course, chosen)
    console.print(f"[green]✓[/] {len(chosen)} module(s) lint clean")


@source.command()
@click.argument("modules", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Export every module (the default when none is named).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 listing every output that is stale.")
@click.option("--force", is_flag=True, help="Also replace package files that hold a student's export (backed up).")
def export(modules: tuple[str, ...], all_: bool, check: bool, force: bool) -> None:
    """Render src/ into modules/ (nbgrader notebooks), the course's package and the book's generated files."""
    start = time.perf_counter()
    course = Course.load()
    chosen = course.select(modules, all_)
    with progress_bar() as bar:
        task = bar.add_task("rendering", total=len(chosen))
        outputs = engine.plan(course, chosen, progress=lambda m: bar.update(task, advance=1, description=m.slug))
    if check:
        results = engine.check(course, outputs, chosen)
        bad = [r for r in results if r.status != "unchanged"]
        for r in bad:
            console.print(f"[red]{r.status}:[/] {escape(str(r.output.path))}  {escape(r.note)}")
        if bad:
            raise CheckFailed(f"{len(bad)} generated file(s) out of date. Run `tito source export --all` and commit.")
        console.print(f"[green]✓[/] {len(results)} generated files up to date ({time.perf_counter() - start:.2f} s)")
        return
    results = engine.write(course, outputs, chosen, force=force)
    _summary(results)
    written = sum(r.status == "written" for r in results)
    console.print(f"{written} written, {len(results) - written} unchanged or kept, "
                  f"{len(chosen)} module(s) in {time.perf_counter() - start:.2f} s")


def _summary(results: list[engine.Result]) -> None:
    table = Table(title="tito source export", show_lines=False)
    table.add_column("module")
    table.add_column("output")
    table.add_column("status")
    for r in results:
        if r.status == "unchanged" and r.output.module is None:
            continue
        label = r.output.module.slug if r.output.module else "(course)"
        style = STATUS_STYLE.get(r.status, "")
        table.add_row(label, escape(str(r.output.path)), f"[{style}]{r.status}[/] {escape(r.note)}".strip())
    console.print(table)


@source.command("check")
@click.argument("modules", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Check every module (the default when none is named).")
@click.option("--timeout", default=60, show_default=True, help="Seconds a single cell may run.")
@click.option("--workers", type=click.IntRange(min=1), help="Notebooks executed in parallel [default: cores + 1, "
                                                             "so one kernel boots while the others compute].")
@click.option("--mutants-only", is_flag=True, help="Run only the mutants (skip the reference and stub runs).")
@click.option("--no-mutants", is_flag=True, help="Skip the mutants (reference and stub runs only).")
def check_(modules: tuple[str, ...], all_: bool, timeout: int, workers: int | None, mutants_only: bool,
           no_mutants: bool) -> None:
    """Integrity check: the reference passes, every graded test fails on the stubs, every mutant is caught.

    The stubs come from what nbgrader generates from the current source (in a scratch course), never from a
    stale release/. A mutant that passes every graded cell (those in its `catches`, if given) is a
    surviving mutant: a grading hole. Exit 1 on any failure.
    """
    from ...core.kernel import kernel_parallelism
    from .. import integrity

    if mutants_only and no_mutants:
        raise click.UsageError("--mutants-only and --no-mutants exclude each other")
    start = time.perf_counter()
    course = Course.load()
    chosen = course.select(modules, all_)
    engine.write(course, engine.plan(course, chosen), chosen)
    with progress_bar() as bar:
        task = bar.add_task("executing notebooks", total=len(chosen))
        reports = integrity.check(course, chosen, timeout, workers or kernel_parallelism(), mutants=not no_mutants,
                                  mutants_only=mutants_only,
                                  on_done=lambda r: bar.update(task, advance=1, description=r.module.slug))
    table = Table(title="tito source check")
    for col in ("module", "reference", "stubs", "mutants killed", "points", "solutions", "hidden", "time"):
        table.add_column(col, justify="left" if col in ("module", "reference", "stubs") else "right")
    for r in reports:
        if r.full is None:
            ref = stubs = "[dim]skipped[/]"
        else:
            ref = "[green]pass[/]" if not (r.full.failures or r.full.aborted) else \
                f"[red]{len(r.full.failures) or 1} failing[/]"
            stubs = "[green]all fail[/]" if not r.holes else f"[red]{len(r.holes)} hole(s)[/]"
        style = "green" if not r.survivors else "red"
        killed = f"[{style}]{r.killed}/{len(r.mutants)}[/]" if not no_mutants else "[dim]skipped[/]"
        seconds = sum(x.seconds for x in (r.full, r.stub) if x) + sum(m.seconds for m in r.mutants)
        table.add_row(r.module.slug, ref, stubs, killed, f"{r.points:g}", str(r.solution_regions),
                      str(r.hidden_regions), f"{seconds:.1f}s")
    console.print(table)
    failed = False
    for r in reports:
        for line in ([r.full.aborted] if r.full and r.full.aborted else []) + (r.full.failures if r.full else []):
            console.print(f"[red]FAIL[/] {r.module.slug} reference notebook: {escape(line)}")
            failed = True
        if r.stub and r.stub.aborted:
            console.print(f"[red]FAIL[/] {r.module.slug} student notebook: {escape(r.stub.aborted)}")
            failed = True
        for hole in r.holes:
            console.print(f"[red]GRADING HOLE[/] {r.module.slug}: `{escape(hole.grade_id)}` ({hole.points:g} pts) "
                          "passes on the unimplemented stubs; make it test the student's code")
            failed = True
        for m in r.survivors:
            about = f" ({escape(m.mutant.description)})" if m.mutant.description else ""
            console.print(f"[red]SURVIVING MUTANT[/] {r.module.slug}: `{escape(m.mutant.name)}` in "
                          f"`{escape(m.mutant.target)}`{about} passed {', '.join(map(escape, m.passed)) or 'no cell'}; "
                          "add a graded assertion that this wrong code fails")
            failed = True
        for m in r.mutant_errors:
            console.print(f"[red]FAIL[/] {r.module.slug}: mutant `{escape(m.mutant.name)}` could not be run: "
                          f"{escape(m.error)}")
            failed = True
        if r.stale_release:
            console.print(f"[yellow]note[/] {r.module.release_file} is stale (the check used a fresh one); "
                          f"run `tito nbgrader generate {r.module.id}` and commit")
    total = sum(len(r.mutants) for r in reports)
    console.print(f"{len(reports)} module(s) checked, {sum(r.killed for r in reports)}/{total} mutants killed, "
                  f"in {time.perf_counter() - start:.1f} s")
    if failed:
        raise CheckFailed("the integrity check failed (see FAIL / GRADING HOLE above)")
