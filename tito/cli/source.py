"""`tito source ...`: instructor/maintainer commands on the course sources."""
from __future__ import annotations

import time

import click
from rich.markup import escape
from rich.table import Table

from .. import export as engine
from ..course import Course
from ..errors import CheckFailed
from .console import console, progress_bar

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
    """Render src/ into modules/ (nbgrader notebooks), tinytorch/ (package) and the book's generated files."""
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
@click.option("--workers", default=2, show_default=True, help="Notebooks executed in parallel.")
def check_(modules: tuple[str, ...], all_: bool, timeout: int, workers: int) -> None:
    """Integrity check: reference notebooks pass; every graded test fails on the student's stubs."""
    from .. import integrity

    start = time.perf_counter()
    course = Course.load()
    chosen = course.select(modules, all_)
    engine.write(course, engine.plan(course, chosen), chosen)
    with progress_bar() as bar:
        task = bar.add_task("executing notebooks", total=len(chosen))
        reports = integrity.check(course, chosen, timeout, workers,
                                  on_done=lambda r: bar.update(task, advance=1, description=r.module.slug))
    table = Table(title="tito source check")
    for col in ("module", "reference", "stubs", "points", "solutions", "hidden", "time"):
        table.add_column(col, justify="right" if col in ("points", "solutions", "hidden", "time") else "left")
    for r in reports:
        ref = "[green]pass[/]" if not (r.full.failures or r.full.aborted) else f"[red]{len(r.full.failures) or 1} failing[/]"
        stubs = "[green]all fail[/]" if not r.holes else f"[red]{len(r.holes)} hole(s)[/]"
        table.add_row(r.module.slug, ref, stubs, f"{r.points:g}", str(r.solution_regions), str(r.hidden_regions),
                      f"{r.full.seconds + (r.stub.seconds if r.stub else 0):.1f}s")
    console.print(table)
    failed = False
    for r in reports:
        for line in ([r.full.aborted] if r.full.aborted else []) + r.full.failures:
            console.print(f"[red]FAIL[/] {r.module.slug} reference notebook: {escape(line)}")
            failed = True
        if r.stub and r.stub.aborted:
            console.print(f"[red]FAIL[/] {r.module.slug} student notebook: {escape(r.stub.aborted)}")
            failed = True
        for hole in r.holes:
            console.print(f"[red]GRADING HOLE[/] {r.module.slug}: `{hole.grade_id}` ({hole.points:g} pts) passes "
                          "on the unimplemented stubs; make it test the student's code")
            failed = True
    console.print(f"{len(reports)} module(s) checked in {time.perf_counter() - start:.1f} s")
    if failed:
        raise CheckFailed("the integrity check failed (see FAIL / GRADING HOLE above)")
