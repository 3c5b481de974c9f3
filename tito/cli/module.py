"""`tito module ...`: the commands a student lives in (start, test, complete, status, reset)."""
from __future__ import annotations

import sys
import time

import click
from rich.table import Table

from ..course import Course, Module
from ..errors import TitoError
from .console import console, err_console


def _load() -> Course:
    return Course.load()


def _progress(course: Course):
    from ..student import progress as store

    loaded = store.load(course.root, course)
    for warning in loaded.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}")
    return loaded


def _rel(course: Course, path) -> str:
    try:
        return str(path.relative_to(course.root))
    except ValueError:
        return str(path)


@click.group()
def module() -> None:
    """Work through the course: start a module, test it, complete it, see your progress."""


# --- start / resume -------------------------------------------------------------------------------


def _launch(course: Course, notebook, no_browser: bool, port: int | None) -> None:
    from ..student.jupyter import lab_command, run_foreground
    from ..student.workspace import workspace_root

    command = lab_command(workspace_root(course.root), notebook, no_browser, port)
    console.print("Starting JupyterLab (stop it with Ctrl-C twice)...")
    run_foreground(command, notebook.parent if notebook else None)


def _open(course: Course, mod: Module, created: bool, path, launch: bool, no_browser: bool, port: int | None) -> None:
    where = _rel(course, path)
    if created:
        console.print(f"[green]✓[/] Your notebook for [bold]{mod.id} {mod.title}[/] is ready: {where}")
    else:
        console.print(f"Your notebook for [bold]{mod.id} {mod.title}[/] is already at {where}; "
                      "opening it as it is (your work is kept).")
    console.print(f"  Next: fill in each `# YOUR CODE HERE`, run the cells, then `tito module test {mod.id}` "
                  f"and `tito module complete {mod.id}`.")
    if launch:
        _launch(course, path, no_browser, port)
    else:
        console.print(f"  Open it when you are ready: `tito module resume {mod.id}` (or any Jupyter).")


_launch_options = [
    click.option("--no-browser", is_flag=True, help="Start JupyterLab without opening a browser (headless use)."),
    click.option("--no-launch", is_flag=True, help="Only prepare the notebook; do not start JupyterLab."),
    click.option("--port", type=int, default=None, help="Port for JupyterLab (default: Jupyter's choice)."),
]


def launch_options(f):
    for option in reversed(_launch_options):
        f = option(f)
    return f


@module.command()
@click.argument("ident", metavar="NN")
@click.option("--force", is_flag=True, help="Start even if a prerequisite module is not completed.")
@launch_options
def start(ident: str, force: bool, no_browser: bool, no_launch: bool, port: int | None) -> None:
    """Copy module NN's notebook into your workspace (if absent) and open it in JupyterLab."""
    from ..student import progress as store
    from ..student.workspace import prepare

    course = _load()
    mod = course.resolve(ident)
    done = _progress(course).completed()
    missing = [p for p in mod.prerequisites if p not in done]
    if missing and not force:
        first = course.resolve(missing[0])
        raise TitoError(f"{mod.slug} builds on {', '.join(missing)}, which you have not completed yet. "
                        f"Run `tito module start {first.id}` (or `tito module complete {first.id}` if you have "
                        f"finished it); use `tito module start {mod.id} --force` to start anyway")
    path, created = prepare(course, mod)
    store.record_started(course.root, mod.slug, course)
    if missing:
        console.print(f"[yellow]note:[/] starting without {', '.join(missing)} completed (--force)")
    _open(course, mod, created, path, not no_launch, no_browser, port)


@module.command()
@click.argument("ident", metavar="[NN]", required=False)
@launch_options
def resume(ident: str | None, no_browser: bool, no_launch: bool, port: int | None) -> None:
    """Open your notebook for NN again (default: the module you worked on last)."""
    from ..student import progress as store
    from ..student.workspace import notebook_path

    course = _load()
    if ident is None:
        last = _progress(course).last_module
        if not last:
            raise TitoError("you have not started a module yet; run `tito module start 01`")
        ident = last
    mod = course.resolve(ident)
    path = notebook_path(course.root, mod)
    if not path.exists():
        raise TitoError(f"you have no notebook for {mod.slug}; run `tito module start {mod.id}`")
    store.record_opened(course.root, mod.slug, course)
    _open(course, mod, False, path, not no_launch, no_browser, port)


# --- test / complete ------------------------------------------------------------------------------


def _print_report(report) -> None:
    table = Table(title=f"{report.module.slug}: your notebook's tests")
    table.add_column("grade_id")
    table.add_column("result")
    table.add_column("points", justify="right")
    table.add_column("why it failed", overflow="fold")
    for cell in report.cells:
        result = "[green]pass[/]" if cell.passed else "[red]FAIL[/]"
        got = cell.points if cell.passed else 0
        why = "" if cell.passed else cell.message + (f"\n{cell.line}" if cell.line else "")
        table.add_row(cell.grade_id, result, f"{got:g}/{cell.points:g}", why)
    console.print(table)
    for error in report.errors:
        console.print(f"[red]error[/] in {error}")
    console.print(f"Score: [bold]{report.score:g}/{report.max_score:g}[/] points")
    if report.pytest_file is None:
        console.print("[dim]No package tests for this module.[/]")
    elif report.pytest_error:
        console.print(f"[red]Package tests could not run:[/] {report.pytest_error}")
    else:
        failed = [t for t in report.pytest if not t.passed]
        console.print(f"Package tests ({report.pytest_file.name}, on your exported code): "
                      f"{len(report.pytest) - len(failed)}/{len(report.pytest)} passed")
        for t in failed:
            console.print(f"  [red]FAIL[/] {t.name}: {t.message}")
    console.print(f"[dim]({report.seconds:.1f} s)[/]")


def _print_validation(exc) -> None:
    err_console.print(f"[bold red]error:[/] {_rel_path(exc.path)} cannot be used as it is; nothing was run or changed.")
    for p in exc.problems:
        err_console.print(f"  [bold]{p.cell}[/]: {p.message}")
        if p.fix:
            err_console.print(f"    fix: {p.fix}")


def _rel_path(path) -> str:
    try:
        from pathlib import Path

        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@module.command("test")
@click.argument("ident", metavar="NN")
@click.option("--timeout", default=120, show_default=True, help="Seconds a single cell may run.")
def test_(ident: str, timeout: int) -> None:
    """Run your notebook for NN in a fresh kernel and the module's package tests on your code; exit 1 on failure."""
    from ..student.complete import ValidationError, test_module

    course = _load()
    mod = course.resolve(ident)
    try:
        with console.status(f"Running {mod.slug} in a fresh kernel..."):
            report = test_module(course, mod, timeout, validate_first=True)
    except ValidationError as exc:
        _print_validation(exc)
        sys.exit(1)
    _print_report(report)
    if not report.passed:
        console.print(f"[red]Some tests fail.[/] Fix them in your notebook and run `tito module test {mod.id}` again.")
        sys.exit(1)
    console.print(f"[green]All tests pass.[/] Next: `tito module complete {mod.id}`")


@module.command()
@click.argument("ident", metavar="NN")
@click.option("--skip-tests", is_flag=True, help="Export without running the tests (recorded as such).")
@click.option("--timeout", default=120, show_default=True, help="Seconds a single cell may run.")
def complete(ident: str, skip_tests: bool, timeout: int) -> None:
    """Validate and test your notebook for NN, then export it into the tinytorch package."""
    from ..student.complete import ValidationError, complete as run

    course = _load()
    mod = course.resolve(ident)
    start = time.perf_counter()
    try:
        with console.status(f"Validating and testing {mod.slug}..."):
            result = run(course, mod, skip_tests, timeout)
    except ValidationError as exc:
        _print_validation(exc)
        sys.exit(1)
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}")
    if result.report:
        _print_report(result.report)
    if not result.completed:
        console.print(f"[red]Not completed:[/] tests fail, so {mod.package_file} and your progress are unchanged. "
                      f"Fix the failures and run `tito module complete {mod.id}` again.")
        sys.exit(1)
    if skip_tests:
        console.print("[yellow]Tests skipped[/] (recorded in your progress as skipped).")
    console.print(f"[green]✓ {mod.id} {mod.title} completed.[/] Your code is now {mod.package_file} "
                  f"({time.perf_counter() - start:.1f} s)")
    if result.backup:
        console.print(f"  [dim]previous export backed up to {_rel(course, result.backup)}[/]")
    console.print(f"  Try it:  python -c \"{mod.import_line}\"")
    if mod.exports:
        console.print(f"  or:      from tinytorch import {', '.join(mod.exports)}")
    if result.milestone:
        console.print(f"  [bold magenta]Milestone unlocked:[/] {result.milestone}: `tito milestone run {result.milestone}`")
    if result.next_module:
        nxt = result.next_module
        console.print(f"  Next module: [bold]{nxt.id} {nxt.title}[/]: `tito module start {nxt.id}`")
    else:
        console.print("  That was the last module. Congratulations!")


# --- status / list --------------------------------------------------------------------------------


def _date(iso: str | None) -> str:
    return (iso or "")[:10]


def recommended(course: Course, done: set[str]) -> Module | None:
    for mod in course.modules:
        if mod.slug not in done and all(p in done for p in mod.prerequisites):
            return mod
    return None


def _bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total) if total else 0
    return "█" * filled + "░" * (width - filled)


@module.command()
def status() -> None:
    """Your progress: every module, its state, the next one to do, and progress per tier."""
    from ..student.workspace import release_changed

    course = _load()
    progress = _progress(course)
    table = Table(title="Your TinyTorch progress")
    for col in ("module", "title", "tier", "status", "date", "score"):
        table.add_column(col, justify="right" if col == "score" else "left")
    for mod in course.modules:
        entry = progress.entry(mod.slug) or {}
        state = entry.get("status")
        if state == "completed":
            shown = "[green]completed[/]" + (" [yellow](tests skipped)[/]" if entry.get("tests") == "skipped" else "")
            date = _date(entry.get("completed"))
            score = entry.get("score")
            score = f"{score:g}/{entry.get('max_score', 0):g}" if isinstance(score, (int, float)) else "-"
        elif state:
            shown, date, score = "[yellow]in progress[/]", _date(entry.get("started")), ""
        else:
            shown, date, score = "[dim]not started[/]", "", ""
        if release_changed(course, mod):
            shown += f" [magenta](course updated: `tito module refresh {mod.id}`)[/]"
        table.add_row(mod.id, mod.title, mod.tier, shown, date, score)
    console.print(table)
    done = progress.completed()
    for tier, mods in course.tiers():
        n = sum(m.slug in done for m in mods)
        console.print(f"  {tier:<13} {_bar(n, len(mods))} {n}/{len(mods)}")
    nxt = recommended(course, done)
    if nxt is None:
        console.print("[green]Every module is completed.[/]" if course.modules else "The course has no modules yet.")
    else:
        verb = "resume" if progress.status(nxt.slug) else "start"
        console.print(f"Next: [bold]{nxt.id} {nxt.title}[/]: `tito module {verb} {nxt.id}`")


@module.command("list")
def list_() -> None:
    """Every module of the course with its title and summary."""
    course = _load()
    table = Table(title="TinyTorch modules")
    for col in ("module", "title", "tier", "minutes", "summary"):
        table.add_column(col, overflow="fold")
    for mod in course.modules:
        table.add_row(mod.id, mod.title, mod.tier, str(mod.minutes), mod.summary)
    console.print(table)


# --- reset ----------------------------------------------------------------------------------------


@module.command()
@click.argument("ident", metavar="NN", required=False)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--list-backups", is_flag=True, help="List the backups of your notebook for NN (or of all modules).")
@click.option("--restore", "restore", metavar="BACKUP", help="Put a backup (its folder name or path) back as your notebook.")
@click.option("--locked-cells", is_flag=True, help="Only restore the locked/test cells from the release; keep your code.")
def reset(ident: str | None, yes: bool, list_backups: bool, restore: str | None, locked_cells: bool) -> None:
    """Start NN over: back up your notebook, restore it from the release, undo its export and completion."""
    from ..backups import BACKUP_DIR
    from ..student import workspace
    from ..student.complete import reset as do_reset, restore_locked_cells

    course = _load()
    mod = course.resolve(ident) if ident else None
    if list_backups:
        found = workspace.backups(course.root, mod)
        if not found:
            console.print("No backups yet.")
            return
        table = Table(title="Notebook backups (newest first)")
        table.add_column("BACKUP (use with --restore)")
        table.add_column("notebook")
        for path in found:
            table.add_row(path.relative_to(course.root / BACKUP_DIR).parts[0], _rel(course, path))
        console.print(table)
        return
    if mod is None:
        raise click.UsageError("name the module to reset, e.g. `tito module reset 01`")
    if restore:
        backup = workspace.find_backup(course.root, mod, restore)
        if not yes:
            click.confirm(f"Replace your notebook for {mod.slug} by {backup}? (the current one is backed up)",
                          abort=True)
        previous = workspace.restore_backup(course, mod, backup)
        console.print(f"[green]✓[/] Restored {_rel(course, workspace.notebook_path(course.root, mod))} from {backup}")
        if previous:
            console.print(f"  previous notebook backed up to {_rel(course, previous)}")
        return
    if locked_cells:
        restored, backup = restore_locked_cells(course, mod)
        console.print(f"[green]✓[/] Restored {len(restored)} locked cell(s)" + (f": {', '.join(restored)}" if restored else "")
                      + f"; your notebook was backed up to {_rel(course, backup)}")
        return
    if not yes:
        click.confirm(f"Reset {mod.slug}? Your notebook is backed up, then replaced by a fresh copy; "
                      f"{mod.package_file} goes back to the reference code", abort=True)
    done = do_reset(course, mod)
    console.print(f"[green]✓[/] {mod.slug} reset: fresh notebook at "
                  f"{_rel(course, workspace.notebook_path(course.root, mod))}")
    for key, label in (("notebook_backup", "your notebook"), ("package_backup", f"your export ({mod.package_file})")):
        if done[key]:
            console.print(f"  {label} backed up to {_rel(course, done[key])}")
    console.print(f"  Restore a backup with `tito module reset {mod.id} --list-backups` / `--restore BACKUP`.")


# --- refresh --------------------------------------------------------------------------------------


@module.command()
@click.argument("ident", metavar="NN")
def refresh(ident: str) -> None:
    """Rebuild your notebook for NN from the course's updated release, carrying your code over cell by cell
    (by nbgrader grade_id). Your old notebook is backed up first."""
    from rich.markup import escape

    from ..student.refresh import refresh as run

    course = _load()
    mod = course.resolve(ident)
    done = run(course, mod)
    if not done.changed:
        console.print(f"Your notebook for {mod.slug} already matches the course's release; nothing to do.")
        return
    console.print(f"[green]✓[/] {_rel(course, done.path)} rebuilt from the updated release of {mod.slug}.")
    console.print(f"  your old notebook is backed up at {_rel(course, done.backup)}")
    if done.carried:
        console.print(f"  your code carried over: {escape(', '.join(done.carried))}")
    if done.kept:
        console.print(f"  your own cells kept in place: {escape(', '.join(done.kept))}")
    for label in done.relocked:
        console.print(f"  [yellow]locked cell {escape(label)}[/] is back as the course released it (your edit is in the backup)")
    for label in done.unplaced:
        console.print(f"  [yellow]could not carry over {escape(label)}[/]: the updated module has no such cell; "
                      "it is kept at the end of the notebook")
    console.print(f"  Next: `tito module test {mod.id}`.")
