"""`tito nbgrader ...`: release student notebooks and grade submissions with the real nbgrader."""
from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from .. import grading
from ..course import Course
from ..errors import CheckFailed
from .console import console, progress_bar


@click.group()
def nbgrader() -> None:
    """Generate releases, autograde submissions and write feedback (nbgrader underneath)."""


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
            console.print(f"[red]stale:[/] {escape(line)}")
        if stale:
            raise CheckFailed(f"{len(stale)} release(s) out of date. Run `tito nbgrader generate --all` "
                              "and commit release/.")
        console.print(f"[green]✓[/] {len(chosen)} release(s) up to date")
        return
    with progress_bar() as bar:
        task = bar.add_task("releasing", total=len(chosen))
        started: list = []

        def starting(module) -> None:
            if started:
                bar.advance(task)
            started.append(module)
            bar.update(task, description=module.slug)

        written, reports = grading.release(course, chosen, allow_newer_submissions=force, on_module=starting)
    if written:
        console.print(f"exported {written} stale file(s) first")
    table = Table(title="tito nbgrader generate")
    for col in ("module", "release", "leaks", "checksums"):
        table.add_column(col)
    for r in reports:
        table.add_row(r.module.slug, str(r.path.relative_to(course.root)),
                      "[green]none[/]" if not r.leaks else f"[red]{len(r.leaks)}[/]",
                      "[green]ok[/]" if not r.bad_checksums else f"[red]{escape(', '.join(r.bad_checksums))}[/]")
    console.print(table)
    bad = [r for r in reports if not r.ok]
    for r in bad:
        for leak in r.leaks:
            console.print(f"[red]LEAK[/] {escape(leak)}")
        for cell in r.bad_checksums:
            console.print(f"[red]CHECKSUM[/] {r.module.slug}: cell {escape(cell)} has no valid nbgrader checksum")
    if bad:
        raise CheckFailed(f"{len(bad)} release(s) failed verification; nothing with a leak may be handed out")


def _grade_table(report: grading.GradeReport) -> Table:
    table = Table(title=f"{report.module.slug}: {escape(report.student)}")
    table.add_column("grade_id")
    table.add_column("points", justify="right")
    table.add_column("")
    for row in report.rows:
        mark = "[green]✓[/]" if row.score >= row.max_score else ("[yellow]~[/]" if row.score else "[red]✗[/]")
        table.add_row(escape(row.grade_id), f"{row.score:g} / {row.max_score:g}", mark)
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
    course = Course.load()
    report = grading.autograde(course, course.resolve(module), student, notebook.resolve(), timeout)
    console.print(_grade_table(report))
    for cell in report.edited_cells:
        console.print(f"[yellow]flagged:[/] locked cell `{escape(cell)}` was edited; nbgrader graded it with the "
                      "original test restored")


@nbgrader.command()
@click.argument("module")
@click.option("--student", required=True, help="Student id used when autograding.")
def feedback(module: str, student: str) -> None:
    """Write nbgrader's HTML feedback for an autograded submission and print its path."""
    course = Course.load()
    path = grading.feedback(course, course.resolve(module), student)
    console.print(f"feedback: {path}")
