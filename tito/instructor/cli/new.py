"""`tito new COURSE_DIR --package NAME`: scaffold a new course (instructors)."""
from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from ...cli.console import console


@click.command()
@click.argument("course_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--package", required=True, metavar="NAME",
              help="The package students build, e.g. tinycalc (a lowercase importable name).")
@click.option("--title", metavar="TITLE", help="The course's title (default: from the package name, e.g. Tinycalc).")
def new(course_dir: Path, package: str, title: str | None) -> None:
    """Make a new course in COURSE_DIR (a new or empty folder): one working module with a solution, graded
    tests, a hidden test and mutants, its book, its tests and CI, and a copy of tito, exported and ready.

    Then, in COURSE_DIR, the README's first command builds the course and its second runs the tests.
    """
    from ..scaffold.create import create

    with console.status("Making the course..."):
        made = create(course_dir, package, title)
    console.print(f"[green]✓[/] {escape(made.title)} in {escape(str(made.root))}: {made.files} files, package "
                  f"`{escape(made.package)}`, first module src/{made.module}/ ({made.seconds:.1f} s)")
    console.print(f"  Next, in {escape(str(made.root))}:\n"
                  f"  build the course:  [bold]{escape(made.build_command)}[/]\n"
                  f"  run the tests:     [bold]{escape(made.test_command)}[/]\n"
                  "  then `git init` and commit, and write your modules (README.md, \"Writing modules\").",
                  soft_wrap=True, highlight=False)
