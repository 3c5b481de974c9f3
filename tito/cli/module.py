"""`tito module ...`: the commands a student lives in (start, resume, test, complete, status, reset)."""
from __future__ import annotations

import sys
import time

import click
from rich.table import Table

from ..core.course import Course, Module
from ..core.errors import CheckFailed, TitoError, UsageError
from .console import console, err_console, esc


class TestsFailed(CheckFailed):
    """The student's tests fail: the details are already printed; exit 1."""


def _load() -> Course:
    """The course, leniently: a module whose source is broken blocks only the commands that need it."""
    course = Course.load(strict=False)
    for folder, problems in course.broken.items():
        err_console.print(f"[yellow]warning:[/] module {esc(folder)} cannot be read ({esc(problems[0].message)}"
                          + (f", and {len(problems) - 1} more problem(s)" if len(problems) > 1 else "")
                          + "); commands that need it stop with the details, the others go on.")
    return course


def _progress(course: Course):
    from ..student import progress as store

    loaded = store.load(course.root, course)
    for warning in loaded.warnings:
        err_console.print(f"[yellow]warning:[/] {esc(warning)}")
    return loaded


def _rel(course: Course, path) -> str:
    try:
        return str(path.relative_to(course.root))
    except ValueError:
        return str(path)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


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


def _open(course: Course, mod: Module, path, launch: bool, no_browser: bool, port: int | None,
          stubs: int | None = None) -> None:
    """`stubs`: the solution cells still to write (None: a fresh copy of the release, all of them)."""
    from ..student.workspace import release_changed

    then = f"then `tito module test {mod.id}` and `tito module complete {mod.id}`."
    if stubs is None:
        console.print(f"  Next: fill in each `# YOUR CODE HERE`, run the cells, {then}")
    elif stubs:
        console.print(f"  Next: fill in the {stubs} `# YOUR CODE HERE` cell{'s' if stubs > 1 else ''} still to write, "
                      f"run the cells, {then}")
    else:
        console.print(f"  Next: every `# YOUR CODE HERE` is filled in: run the cells, {then}")
    if release_changed(course, mod):
        console.print(f"  [magenta]The course updated this module's notebook since you started it:[/] "
                      f"`tito module refresh {mod.id}` brings the update in and keeps your code "
                      "(your notebook is backed up first).")
    if launch:
        _launch(course, path, no_browser, port)
    else:
        console.print(f"  Open it when you are ready: `tito module resume {mod.id}` (or any Jupyter).")


def _intro(mod: Module) -> None:
    """The module's README in brief: what it is about and what the student will be able to do."""
    console.print(f"[bold]Module {mod.id}: {esc(mod.title)}[/] ({mod.tier} tier, about {mod.minutes} min)")
    if mod.summary:
        console.print(f"  {esc(mod.summary)}")
    if mod.objectives:
        console.print("  [bold]Learning objectives[/]")
        for objective in mod.objectives:
            console.print(f"    • {esc(objective)}")


def _ask_resume_or_over(mod: Module) -> bool:
    """True to start over. Asked only on a terminal."""
    try:
        answer = click.prompt(f"You already have work on {mod.id}. Resume, or start over (your work is backed up)?",
                              type=click.Choice(["resume", "start over"], case_sensitive=False), default="resume",
                              show_choices=True)
    except click.Abort as exc:
        _interrupted_at_prompt(exc)
        raise NotConfirmed("no answer; nothing was changed") from None
    return answer.lower() == "start over"


def _interrupted_at_prompt(abort: click.Abort) -> None:
    """Click turns Ctrl-C at a prompt into Abort ("Aborted!", exit 1); tito's Ctrl-C is one line and exit 130."""
    if isinstance(abort.__context__, KeyboardInterrupt):
        click.echo()  # end the prompt's line
        raise KeyboardInterrupt from None


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
@click.option("--start-over", is_flag=True,
              help="If you already have a notebook for NN, replace it by a fresh copy without asking (it is backed up).")
@launch_options
def start(ident: str, force: bool, start_over: bool, no_browser: bool, no_launch: bool, port: int | None) -> None:
    """Show module NN's objectives, copy its notebook into your workspace and open it in JupyterLab.

    With existing work on NN, that work is backed up first; on a terminal you are asked whether to resume it
    or start over, otherwise it is resumed (use --start-over to start from a fresh copy)."""
    from ..student import progress as store
    from ..student.leftoff import left_off
    from ..student.notebook import notebook_problem
    from ..student.plan import missing_prerequisites
    from ..student.recovery import DamagedNotebook
    from ..student.workspace import backup_notebook, notebook_path, prepare, restore_from_release

    course = _load()
    mod = course.resolve(ident)
    missing = missing_prerequisites(mod, _progress(course).completed())
    if missing and not force:
        first = course.resolve(missing[0])
        raise TitoError(f"{mod.slug} builds on {', '.join(missing)}, which you have not completed yet. "
                        f"Run `tito module start {first.id}` (or `tito module complete {first.id}` if you have "
                        f"finished it); use `tito module start {mod.id} --force` to start anyway")
    path = notebook_path(course.root, mod)
    problem = notebook_problem(path, _rel(course, path)) if path.exists() else None
    if problem and not start_over:  # never "kept", never backed up as if it were good work
        raise DamagedNotebook(course.root, mod, problem)
    _intro(mod)
    stubs = None
    if path.exists():
        backup = backup_notebook(course.root, path, "start-over" if start_over else "start")
        console.print(f"You already have work on {mod.id} in {esc(_rel(course, path))}; "
                      f"backed up to {esc(_rel(course, backup))}" + (" (it is damaged)." if problem else "."))
        if start_over:
            over = True
        elif _interactive():
            over = _ask_resume_or_over(mod)
        else:
            over = False
            console.print("Not on a terminal, so not asking: resuming your notebook as it is "
                          f"(`tito module start {mod.id} --start-over` starts from a fresh copy).")
        if over:
            restore_from_release(course, mod, backup=False)
            console.print(f"[green]✓[/] Started over: {esc(_rel(course, path))} is a fresh copy of the release.")
        else:
            console.print(f"Resuming your notebook {esc(_rel(course, path))} (your work is kept).")
            stubs = len(left_off(course, mod).stubs)
    else:
        path, _ = prepare(course, mod)
        console.print(f"[green]✓[/] Your notebook for [bold]{mod.id} {esc(mod.title)}[/] is ready: "
                      f"{esc(_rel(course, path))}")
    store.record_started(course.root, mod.slug, course)
    if missing:
        console.print(f"[yellow]note:[/] starting without {', '.join(missing)} completed (--force)")
    _open(course, mod, path, not no_launch, no_browser, port, stubs)


def _show_left_off(course: Course, mod: Module) -> int:
    """Print where the student left off; return how many solution cells still hold the stub."""
    from ..student.leftoff import left_off

    where = left_off(course, mod)
    console.print(f"Resuming [bold]{mod.id} {esc(mod.title)}[/]: {esc(_rel(course, where.notebook))} "
                  f"(last edited {where.edited:%Y-%m-%d %H:%M})")
    if where.first_stub:
        console.print(f"  Still to write: {len(where.stubs)} of {where.solutions} solution cell(s); "
                      f"the first is {esc(where.first_stub)}")
    elif where.solutions:
        console.print(f"  Every solution cell ({where.solutions}) has your code in it.")
    run = where.last_test
    if not run:
        console.print(f"  No test run yet: `tito module test {mod.id}` when you are ready.")
        return len(where.stubs)
    score = f"{run.get('score', 0):g}/{run.get('max_score', 0):g} points"
    problems = run.get("failures", []) + [{"cell": "error", "message": e} for e in run.get("errors", [])]
    if not problems:
        console.print(f"  Last test run ({_date_time(run.get('date'))}): all tests passed, {score}.")
        return len(where.stubs)
    console.print(f"  Last test run ({_date_time(run.get('date'))}): {score}; {len(problems)} failing:")
    for failure in problems[:5]:
        console.print(f"    [red]✗[/] {esc(str(failure.get('cell')))}: {esc(str(failure.get('message', '')))}")
    if len(problems) > 5:
        console.print(f"    ... and {len(problems) - 5} more (`tito module test {mod.id}`)")
    return len(where.stubs)


def _date_time(iso: str | None) -> str:
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return "unknown date"


@module.command()
@click.argument("ident", metavar="[NN]", required=False)
@launch_options
def resume(ident: str | None, no_browser: bool, no_launch: bool, port: int | None) -> None:
    """Show where you left off in NN (default: the module you worked on last) and open your notebook again.

    Nothing is copied or backed up: you continue with your notebook as it is."""
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
    stubs = _show_left_off(course, mod)
    store.record_opened(course.root, mod.slug, course)
    _open(course, mod, path, not no_launch, no_browser, port, stubs)


# --- test / complete ------------------------------------------------------------------------------


def _print_report(report) -> None:
    # grade ids, messages and code lines are the student's or the test's text: escape all of it
    table = Table(title=f"{report.module.slug}: your notebook's tests")
    table.add_column("grade_id")
    table.add_column("result")
    table.add_column("points", justify="right")
    table.add_column("why it failed", overflow="fold")
    for cell in report.cells:
        result = "[green]pass[/]" if cell.passed else "[red]FAIL[/]"
        got = cell.points if cell.passed else 0
        why = "" if cell.passed else cell.message + (f"\n{cell.line}" if cell.line else "")
        table.add_row(esc(cell.grade_id), result, f"{got:g}/{cell.points:g}", esc(why))
    console.print(table)
    for error in report.errors:
        console.print(f"[red]error[/] in {esc(error)}")
    console.print(f"Score: [bold]{report.score:g}/{report.max_score:g}[/] points")
    if report.pytest_file is None:
        console.print("[dim]No package tests for this module.[/]")
    elif report.pytest_error:
        console.print(f"[red]Package tests could not run:[/] {esc(report.pytest_error)}")
    else:
        failed = [t for t in report.pytest if not t.passed]
        console.print(f"Package tests ({esc(report.pytest_file.name)}, on your exported code): "
                      f"{len(report.pytest) - len(failed)}/{len(report.pytest)} passed")
        for t in failed:
            console.print(f"  [red]FAIL[/] {esc(t.name)}: {esc(t.message)}")
    console.print(f"[dim]({report.seconds:.1f} s)[/]")


def _print_validation(exc) -> None:
    err_console.print(f"[bold red]error:[/] {esc(_rel_path(exc.path))} cannot be used as it is; "
                      "nothing was run or changed.")
    for p in exc.problems:
        err_console.print(f"  [bold]{esc(p.cell)}[/]: {esc(p.message)}")
        if p.fix:
            err_console.print(f"    fix: {esc(p.fix)}")


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
        raise TestsFailed(f"{mod.slug}: fix the notebook problems above first") from None
    _print_report(report)
    if not report.passed:
        raise TestsFailed(f"some tests fail. Fix them in your notebook and run `tito module test {mod.id}` again")
    console.print(f"[green]All tests pass.[/] Next: `tito module complete {mod.id}`")


@module.command()
@click.argument("ident", metavar="NN")
@click.option("--skip-tests", is_flag=True, help="Export without running the tests (recorded as such).")
@click.option("--timeout", default=120, show_default=True, help="Seconds a single cell may run.")
def complete(ident: str, skip_tests: bool, timeout: int) -> None:
    """Validate and test your notebook for NN, then export it into the course's package."""
    from ..student.complete import ValidationError
    from ..student.complete import complete as run

    course = _load()
    mod = course.resolve(ident)
    start = time.perf_counter()
    try:
        with console.status(f"Validating and testing {mod.slug}..."):
            result = run(course, mod, skip_tests, timeout)
    except ValidationError as exc:
        _print_validation(exc)
        raise TestsFailed(f"{mod.slug} not completed: fix the notebook problems above first") from None
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/] {esc(warning)}")
    if result.report:
        _print_report(result.report)
    if not result.completed:
        raise TestsFailed(f"not completed: tests fail, so {mod.package_file} and your progress are unchanged. "
                          f"Fix the failures and run `tito module complete {mod.id}` again")
    if skip_tests:
        console.print("[yellow]Tests skipped[/] (recorded in your progress as skipped).")
    console.print(f"[green]✓ {mod.id} {esc(mod.title)} completed.[/] Your code is now {mod.package_file} "
                  f"({time.perf_counter() - start:.1f} s)")
    if result.backup:
        console.print(f"  [dim]previous export backed up to {esc(_rel(course, result.backup))}[/]")
    if result.notebook_backup:
        console.print(f"  [dim]this notebook, as it passed, is kept at {esc(_rel(course, result.notebook_backup))}[/]")
    if result.working_again:
        console.print(f"  Your completed module{'s' if len(result.working_again) > 1 else ''} "
                      f"{', '.join(m.id for m in result.working_again)} import again.")
    console.print(f"  Try it:  python -c \"{mod.import_line}\"")
    if mod.exports:
        console.print(f"  or:      from {mod.top} import {', '.join(mod.exports)}")
    if result.milestone:
        console.print(f"  [bold magenta]Milestone unlocked:[/] {result.milestone}: `tito milestone run {result.milestone}`")
    if result.next_module:
        nxt = result.next_module
        console.print(f"  Next module: [bold]{nxt.id} {esc(nxt.title)}[/]: `tito module start {nxt.id}`")
    elif mod == course.modules[-1]:
        console.print("  That was the last module. Congratulations!")
    else:
        console.print("  Every module you can start now is completed: see `tito module status`.")


# --- status / list --------------------------------------------------------------------------------


def _date(iso: str | None) -> str:
    return (iso or "")[:10]


def _bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total) if total else 0
    return "█" * filled + "░" * (width - filled)


@module.command()
def status() -> None:
    """Your progress: every module, its state, the next one to do, and progress per tier."""
    from ..student.package import exported
    from ..student.plan import blocked, overview, working
    from ..student.workspace import release_changed

    course = _load()
    progress = _progress(course)
    completed, present = progress.completed(), exported(course)
    stuck = blocked(course, completed, present)
    table = Table(title=f"Your {esc(course.config.title)} progress")
    for col in ("module", "title", "tier", "status", "date", "score"):
        table.add_column(col, justify="right" if col == "score" else "left")
    for mod in course.modules:
        entry = progress.entry(mod.slug) or {}
        state = entry.get("status")
        if state == "completed":
            if mod.slug in stuck:  # kept as completed, but its code imports a module that no longer is
                shown = f"[yellow]needs {', '.join(s[:2] for s in stuck[mod.slug])}[/] (completed)"
            elif mod.slug not in present:
                shown = f"[yellow]export missing[/]: `tito module complete {mod.id}`"
            else:
                shown = "[green]completed[/]"
            shown += " [yellow](tests skipped)[/]" if entry.get("tests") == "skipped" else ""
            date = _date(entry.get("completed"))
            score = entry.get("score")
            score = f"{score:g}/{entry.get('max_score', 0):g}" if isinstance(score, (int, float)) else "-"
        elif state:
            shown, date, score = "[yellow]in progress[/]", _date(entry.get("started")), ""
        else:
            shown, date, score = "[dim]not started[/]", "", ""
        if release_changed(course, mod):
            shown += f" [magenta](course updated: `tito module refresh {mod.id}`)[/]"
        table.add_row(mod.id, esc(mod.title), mod.tier, shown, date, score)
    console.print(table)
    done = working(course, completed, present)
    for tier, mods in course.tiers():
        n = sum(m.slug in done for m in mods)
        console.print(f"  {tier:<13} {_bar(n, len(mods))} {n}/{len(mods)}")
    if stuck:
        needed = sorted({s for missing in stuck.values() for s in missing})
        ids, many, several = ", ".join(s[:2] for s in needed), len(stuck) > 1, len(needed) > 1
        console.print(f"\n[yellow]{', '.join(s[:2] for s in stuck)} {'stay' if many else 'stays'} completed in your "
                      f"progress, but {'their' if many else 'its'} code imports module{'s' if several else ''} {ids}, "
                      f"which {'are' if several else 'is'} not completed: {'they do' if many else 'it does'} not import "
                      f"until you complete {ids} again (`tito module complete {needed[0][:2]}`), and then "
                      f"{'work' if many else 'works'} as before.[/]")
    summary = overview(course, done)
    console.print()
    console.print(summary.progress_line)
    nxt = summary.next_module
    if nxt is None:
        console.print(f"Next: {summary.next_step}.")
    else:
        verb = "resume" if progress.status(nxt.slug) else "start"
        console.print(f"Next: {summary.next_step}: `tito module {verb} {nxt.id}` ({esc(nxt.title)})")


@module.command("list")
def list_() -> None:
    """Every module of the course with its title and summary."""
    course = _load()
    table = Table(title=f"{esc(course.config.title)} modules")
    for col in ("module", "title", "tier", "minutes", "summary"):
        table.add_column(col, overflow="fold")
    for mod in course.modules:
        table.add_row(mod.id, esc(mod.title), mod.tier, str(mod.minutes), esc(mod.summary))
    console.print(table)


# --- reset ---------------------------------------------------------------------------------------


class NotConfirmed(TitoError):
    """The student answered no: nothing was changed (exit 1)."""


def _confirm(question: str, yes_command: str) -> None:
    """Ask on the terminal. Without one, an answer piped to stdin counts; with none, a clear error (exit 2)."""
    try:
        agreed = click.confirm(question, default=False)
    except click.Abort as exc:
        _interrupted_at_prompt(exc)
        if _interactive():
            raise NotConfirmed("no answer; nothing was changed") from None
        click.echo()  # end the prompt's line
        raise UsageError(f"this changes your files, so it needs your confirmation, and there is no terminal to ask "
                         f"on; to confirm, run `{yes_command}`") from None
    if not _interactive():
        click.echo()
    if not agreed:
        raise NotConfirmed("not confirmed; nothing was changed")


def _list_backups(course: Course, mod: Module | None) -> None:
    from ..core.backups import BACKUP_DIR, DAMAGED
    from ..student import workspace
    from ..student.notebook import notebook_problem
    from ..student.recovery import why

    found = workspace.backups(course.root, mod)
    if not found:
        console.print("No backups yet.")
        return
    table = Table(title=f"Notebook backups (newest first) in {BACKUP_DIR.as_posix()}/")
    for col in ("BACKUP (use with --restore)", *(() if mod else ("module",)), "made", "why", "state"):
        table.add_column(col, overflow="fold")
    newest_good: set[str] = set()
    for backup in found:
        slug = backup.path.stem
        owner = mod or next((m for m in course.modules if m.slug == slug), None)
        bad = backup.reason == DAMAGED or notebook_problem(backup.path) is not None
        if bad:
            state = "[red]damaged: not a valid notebook[/]"
        elif slug in newest_good:
            state = "good"
        else:
            newest_good.add(slug)
            state = "[green]newest good copy[/]"
        reason = why(backup, owner) if owner else backup.reason
        made = f"{backup.made:%Y-%m-%d %H:%M:%S}" if backup.made else ""
        table.add_row(esc(backup.name), *(() if mod else (esc(slug),)), made, esc(reason), state)
    console.print(table)


def _explain_reset(course: Course, plan) -> None:
    """Everything the reset will change, said before the student is asked."""
    from ..student.reset import REFERENCE, REMOVED

    mod = plan.module
    console.print(f"[bold]Reset {mod.slug}[/]:")
    if plan.has_notebook:
        console.print(f"  • your notebook {esc(_rel(course, plan.notebook))} is backed up, then replaced by a fresh "
                      "copy of the course's notebook")
    else:
        console.print(f"  • a fresh copy of the course's notebook is put at {esc(_rel(course, plan.notebook))}")
    if plan.export == REMOVED:
        console.print(f"  • your export {plan.package_file.as_posix()} is backed up, then removed (this edition has "
                      "no reference code to put back)")
    elif plan.export == REFERENCE:
        console.print(f"  • {plan.package_file.as_posix()} goes back to the reference code (your export is backed "
                      "up first)")
    else:
        console.print(f"  • {plan.package_file.as_posix()} stays as it is (none of your code is in it)")
    if plan.dependents:
        users = ", ".join(f"{m.id} ({m.name})" for m in plan.dependents)
        console.print(f"  • what depends on it: you completed {users}; "
                      f"{'their' if len(plan.dependents) > 1 else 'its'} code imports module {mod.id}")
    if plan.stops_importing:
        console.print(f"  • what stops importing until you complete {mod.id} again:")
        for m in plan.stops_importing:
            names = ", ".join(m.exports) if m.exports else m.import_path
            console.print(f"      {m.id} ({m.name}): {esc(names)}")
        if plan.dependents:
            console.print(f"    Their progress is kept: `tito module status` shows them as \"needs {mod.id}\", and "
                          f"completing {mod.id} again brings them back.")
    elif plan.dependents and plan.export == REFERENCE:
        console.print(f"    They keep working, on the reference code of module {mod.id}.")


@module.command()
@click.argument("ident", metavar="NN", required=False)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (needed where there is no terminal).")
@click.option("--list-backups", is_flag=True, help="List the backups of your notebook for NN (or of all modules).")
@click.option("--restore", "restore", metavar="BACKUP", help="Put a backup (its folder name or path) back as your notebook.")
@click.option("--locked-cells", is_flag=True, help="Only restore the locked/test cells from the release; keep your code.")
def reset(ident: str | None, yes: bool, list_backups: bool, restore: str | None, locked_cells: bool) -> None:
    """Start NN over: back up your notebook, restore it from the release, undo its export and completion.

    Before asking, it says what changes: the export is removed in the student edition (it goes back to the
    reference code in the course repository), and which completed modules import NN."""
    from ..student import workspace
    from ..student.reset import plan_reset, restore_locked_cells
    from ..student.reset import reset as do_reset

    course = _load()
    mod = course.resolve(ident) if ident else None
    if list_backups:
        _list_backups(course, mod)
        return
    if mod is None:
        raise click.UsageError("name the module to reset, e.g. `tito module reset 01`")
    if restore:
        backup = workspace.find_backup(course.root, mod, restore)
        if not yes:
            _confirm(f"Replace your notebook for {mod.slug} by {backup}? (the current one is backed up)",
                     f"tito module reset {mod.id} --restore {restore} --yes")
        previous = workspace.restore_backup(course, mod, backup)
        console.print(f"[green]✓[/] Restored {esc(_rel(course, workspace.notebook_path(course.root, mod)))} "
                      f"from {esc(str(backup))}")
        if previous:
            console.print(f"  previous notebook backed up to {esc(_rel(course, previous))}")
        return
    if locked_cells:
        restored, backup = restore_locked_cells(course, mod)
        console.print(f"[green]✓[/] Restored {len(restored)} locked cell(s)"
                      + (f": {esc(', '.join(restored))}" if restored else "")
                      + f"; your notebook was backed up to {esc(_rel(course, backup))}")
        return
    plan = plan_reset(course, mod)
    if not yes:
        _explain_reset(course, plan)
        _confirm(f"Reset {mod.slug}?", f"tito module reset {mod.id} --yes")
    done = do_reset(course, mod)
    console.print(f"[green]✓[/] {mod.slug} reset: fresh notebook at "
                  f"{esc(_rel(course, workspace.notebook_path(course.root, mod)))}")
    for key, label in (("notebook_backup", "your notebook"), ("package_backup", f"your export ({mod.package_file})")):
        if done[key]:
            console.print(f"  {label} backed up to {esc(_rel(course, done[key]))}")
    if plan.stops_importing:
        others = ", ".join(m.id for m in plan.dependents)
        console.print(f"  {mod.package_file.as_posix()} is removed: until you complete {mod.id} again, "
                      f"{', '.join(mod.exports) or mod.import_path} does not import"
                      + (f", and neither does the code of {others} (`tito module status` shows "
                         f"{'them' if len(plan.dependents) > 1 else 'it'} as \"needs {mod.id}\")" if others else "")
                      + ".")
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
