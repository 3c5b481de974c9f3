"""`tito dist student OUT`: build (or check) the student edition a class installs."""
from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from ...cli.console import console, err_console
from ...core.course import Course
from ...core.errors import CheckFailed


@click.group()
def dist() -> None:
    """Build what students install (instructors)."""


def _print_scan(scan) -> None:
    console.print(f"Leak scan: {scan.files} file(s), {scan.lines} line(s) checked"
                  + (f", {len(scan.binary)} data file(s) not text" if scan.binary else "")
                  + f": {'[green]no solution or hidden-test line[/]' if not scan.leaks else f'[red]{len(scan.leaks)} leak(s)[/]'}")


@dist.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--git", "use_git", is_flag=True, help="Make OUT a git repository and commit this build (named after the course version).")
@click.option("--check", "check_only", is_flag=True, help="Only scan the edition already in OUT for leaks; write nothing.")
@click.option("--version", "version", metavar="TEXT",
              help="Course version to name the build (default: project version + source commit, plus "
                   "`.dirty.<digest>` when the checkout has uncommitted changes).")
def student(out: Path, use_git: bool, check_only: bool, version: str | None) -> None:
    """Build the student edition into OUT: student tito, released notebooks, an empty package skeleton,
    package tests, milestones, datasets, README and setup scripts; no solution or hidden test.

    Every file is scanned for solution and hidden-test lines; a leak names the file and line, exits 1 and
    leaves OUT as it was.
    """
    from .. import dist as engine

    course = Course.load()
    if check_only:
        if use_git:
            raise click.UsageError("--check writes nothing; drop --git")
        scan = engine.check(course, out)
        _print_scan(scan)
        for leak in scan.leaks:
            err_console.print(f"[red]leak:[/] {escape(str(leak))}", highlight=False)
        if scan.leaks:
            raise CheckFailed(f"{len(scan.leaks)} solution or hidden-test line(s) in the edition at {out}")
        return
    try:
        with console.status("Building the student edition..."):
            report = engine.build(course, out, version, use_git)
    except engine.LeakFound as exc:
        _print_scan(exc.scan)
        raise
    _print_scan(report.scan)
    console.print(f"[green]✓[/] Student edition {escape(report.version)} in {escape(str(report.out))}: "
                  f"{len(report.files)} files, {report.size / 1e6:.2f} MB ({report.seconds:.1f} s)")
    if report.dirty:
        console.print("  [yellow]![/] The course has uncommitted changes: the version names them by a digest of "
                      "their content. Commit them first for a version that names a commit alone.")
    if use_git:
        console.print(f"  git: {'committed ' + report.commit[:10] if report.commit else 'nothing changed, no commit'}")
    console.print("  Publish it: push OUT to an empty repository (mark it a template); students clone it, "
                  "run `./setup-environment.sh`, and `git pull` your updates.")
