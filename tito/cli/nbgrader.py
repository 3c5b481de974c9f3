"""`tito nbgrader ...`: release student notebooks and grade submissions with the real nbgrader."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import export as exporter
from .. import grading
from ..course import Course
from .console import console


@click.group()
def nbgrader() -> None:
    """Generate releases, autograde submissions and write feedback (nbgrader underneath)."""


def _export_if_stale(course: Course, modules) -> int:
    outputs = exporter.plan(course, modules)
    return sum(r.status == "written" for r in exporter.write(course, outputs, modules))


@nbgrader.command()
@click.argument("modules", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Release every module (the default when none is named).")
@click.option("--force", is_flag=True, help="Release even if students submitted after the current release.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 listing every committed release that is stale.")
def generate(modules: tuple[str, ...], all_: bool, force: bool, check: bool) -> None:
    """Export if stale, run nbgrader generate_assignment, then verify no solution or hidden test leaked."""
    course = Course.load()
    chosen = course.select(modules, all_)
    if check:
        with console.status("regenerating the releases in a scratch folder"):
            stale = grading.stale_releases(course, chosen)
        for line in stale:
            console.print(f"[red]stale:[/] {line}")
        if stale:
            console.print("Run `tito nbgrader generate --all` and commit release/.")
            sys.exit(1)
        console.print(f"[green]✓[/] {len(chosen)} release(s) up to date")
        return
    written = _export_if_stale(course, chosen)
    if written:
        console.print(f"exported {written} stale file(s) first")
    api = grading._api(course.root)
    reports = []
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("releasing", total=len(chosen))
        for module in chosen:
            bar.update(task, description=module.slug)
            reports.append(grading.generate_release(course, module, api, allow_newer_submissions=force))
            bar.advance(task)
    table = Table(title="tito nbgrader generate")
    for col in ("module", "release", "leaks", "checksums"):
        table.add_column(col)
    for r in reports:
        table.add_row(r.module.slug, str(r.path.relative_to(course.root)),
                      "[green]none[/]" if not r.leaks else f"[red]{len(r.leaks)}[/]",
                      "[green]ok[/]" if not r.bad_checksums else f"[red]{', '.join(r.bad_checksums)}[/]")
    console.print(table)
    bad = [r for r in reports if not r.ok]
    for r in bad:
        for leak in r.leaks:
            console.print(f"[red]LEAK[/] {leak}")
        for cell in r.bad_checksums:
            console.print(f"[red]CHECKSUM[/] {r.module.slug}: cell {cell} has no valid nbgrader checksum")
    if bad:
        sys.exit(1)


def _grade_table(report: grading.GradeReport) -> Table:
    table = Table(title=f"{report.module.slug}: {report.student}")
    table.add_column("grade_id")
    table.add_column("points", justify="right")
    table.add_column("")
    for row in report.rows:
        mark = "[green]✓[/]" if row.score >= row.max_score else ("[yellow]~[/]" if row.score else "[red]✗[/]")
        table.add_row(row.grade_id, f"{row.score:g} / {row.max_score:g}", mark)
    table.add_row("[bold]total[/]", f"[bold]{report.score:g} / {report.max_score:g}[/]", "")
    return table


@nbgrader.command()
@click.argument("module")
@click.option("--student", required=True, help="Student id (letters, digits, . _ - @).")
@click.option("--notebook", "notebook", required=True, type=click.Path(path_type=Path),
              help="The student's .ipynb to grade.")
@click.option("--timeout", default=60, show_default=True, help="Seconds a single cell may run.")
def autograde(module: str, student: str, notebook: Path, timeout: int) -> None:
    """Put NOTEBOOK into nbgrader's submitted layout, autograde it and print the per-test scores."""
    course = Course.load(strict=False)  # a broken module elsewhere must not stop grading this one
    report = grading.autograde(course, course.resolve(module), student, notebook.resolve(), timeout)
    console.print(_grade_table(report))
    for cell in report.edited_cells:
        console.print(f"[yellow]flagged:[/] locked cell `{cell}` was edited; nbgrader graded it with the "
                      "original test restored")


@nbgrader.command()
@click.argument("module")
@click.option("--student", required=True, help="Student id used when autograding.")
def feedback(module: str, student: str) -> None:
    """Write nbgrader's HTML feedback for an autograded submission and print its path."""
    course = Course.load(strict=False)  # a broken module elsewhere must not stop grading this one
    path = grading.feedback(course, course.resolve(module), student)
    console.print(f"feedback: {path}")
