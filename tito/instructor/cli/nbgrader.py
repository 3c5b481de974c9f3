"""`tito nbgrader ...`: release student notebooks and grade submissions with the real nbgrader."""
from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from ...cli.console import console, err_console, one_line, progress_bar
from ...core.course import Course
from ...core.errors import CheckFailed, UsageError
from ...core.leaks import find_leaks
from .. import nbgrader as grading
from ..collect import DEFAULT_MAX_MB
from ..sandbox import Limits


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
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--preset", type=click.Choice(["canvas", "moodle", "plain"]), default="plain", show_default=True,
              help="How the platform names files: canvas (lastfirst_123_456_x.ipynb), moodle "
                   "(Full Name_123_assignsubmission_file_/x.ipynb), plain (<student>.ipynb or <student>/x.ipynb).")
@click.option("--pattern", help="Your own regular expression over each file's path in SOURCE, with a "
                                "(?P<student>...) group; overrides --preset.")
@click.option("--timestamps", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV with columns student,timestamp (ISO 8601) overriding the download's file times "
                   "(UTF-8 or Excel's CSV UTF-8 / Unicode Text).")
@click.option("--max-mb", type=click.IntRange(min=1), default=DEFAULT_MAX_MB, show_default=True,
              help="Largest notebook accepted, in MiB; a bigger entry (or a zip bomb) is reported, not imported.")
def collect(module: str, source: Path, preset: str, pattern: str | None, timestamps: Path | None,
            max_mb: int) -> None:
    """Import SOURCE (a folder or an LMS .zip) into grading/submitted/<student>/<NN_name>/ with timestamp.txt.

    Every file that is not imported is named with the reason (not a notebook, a link, damaged, encrypted,
    too large, invalid id, older duplicate...) and the rest of the class is collected; re-collecting is
    idempotent. Exit 2 when SOURCE or the timestamps CSV cannot be used (nothing is written then).
    """
    from ..collect import collect as run_collect

    course = Course.load(strict=False)  # a broken module elsewhere must not stop grading this one
    chosen = course.resolve(module)
    api = grading.nbgrader_api(course.root)
    submitted = course.root / api.coursedir.submitted_directory
    with console.status(f"collecting {chosen.slug}"):
        report = run_collect(submitted, chosen.slug, source, preset, pattern, timestamps, max_mb=max_mb,
                             backup_root=course.root)
    table = Table(title=f"tito nbgrader collect {chosen.slug}")
    for col in ("student", "from", "submitted (UTC)", ""):
        table.add_column(col)
    for a in report.accepted:
        mark = {"new": "[green]new[/]", "updated": "[yellow]updated[/]", "unchanged": "[dim]unchanged[/]"}[a.status]
        table.add_row(one_line(a.student), one_line(a.source), a.time.strftime("%Y-%m-%d %H:%M:%S"), mark)
    if report.accepted:
        console.print(table)
    for r in report.rejected:
        console.print(f"[red]not imported:[/] {one_line(r.source)}: {one_line(r.reason)}", soft_wrap=True)
    for t in report.unused_times:
        console.print(f"[yellow]time not used:[/] {one_line(t.where)}: no submission from `{one_line(t.student)}` "
                      "was imported from this download", soft_wrap=True)
    console.print(f"{len(report.accepted)} submission(s) in {submitted.relative_to(course.root)}/, "
                  f"{len(report.rejected)} file(s) not imported")


@nbgrader.command()
@click.argument("module")
@click.argument("date")
def due(module: str, date: str) -> None:
    """Set MODULE's due date in the gradebook (e.g. "2026-12-08 23:59 UTC"); late work is penalised."""
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc

    course = Course.load(strict=False)  # a broken module elsewhere must not stop grading this one
    chosen = course.resolve(module)
    try:
        when = parse_utc(date)
    except (ValueError, OverflowError):
        raise UsageError(f"`{date}` is not a date; write e.g. \"2026-12-08 23:59 UTC\"") from None
    api = grading.nbgrader_api(course.root)
    grading.ensure_gradebook_entries(api, chosen)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        gb.update_or_create_assignment(chosen.slug, duedate=when)
    console.print(f"{chosen.slug} is due {when:%Y-%m-%d %H:%M} UTC")


def _class_table(report) -> Table:
    table = Table(title=f"tito nbgrader autograde {report.module.slug}")
    for col, justify in (("student", "left"), ("score", "right"), ("", "left"), ("time", "right"),
                         ("problems", "left")):
        table.add_column(col, justify=justify)
    for r in report.results:
        mark = "[red]failed[/]" if not r.ok else ("[green]✓[/]" if r.score >= r.max_score else
                                                   "[yellow]~[/]" if r.score else "[red]✗[/]")
        score = f"{r.score:g} / {r.max_score:g}" if r.ok else "-"
        problems = "; ".join(r.flags) + (f" ({r.error.splitlines()[-1]})" if r.error and not r.ok else "")
        table.add_row(escape(r.student), score, mark, f"{r.seconds:.1f}s", escape(problems))
    return table


def _class_summary(report) -> str:
    ok = [r for r in report.results if r.ok]
    names = report.ungraded[:10] + (["..."] if len(report.ungraded) > 10 else [])
    return (f"graded {len(ok)}, failed {len(report.failed)}, unchanged {len(report.skipped)}; "
            f"{len(report.ungraded)} still ungraded" + (f" ({escape(', '.join(names))})" if names else ""))


@nbgrader.command()
@click.argument("module")
@click.option("--all", "all_", is_flag=True, help="Grade every collected submission of MODULE.")
@click.option("--student", help="Grade one student (their collected submission, or --notebook).")
@click.option("--notebook", "notebook", type=click.Path(path_type=Path),
              help="With --student: put this .ipynb into the submitted layout first, then grade it.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes [default: cores + 1].")
@click.option("--force", is_flag=True, help="Grade again even submissions unchanged since they were graded.")
@click.option("--cluster", metavar="tcp://HOST:PORT", help="Grade on this Dask distributed scheduler's workers.")
@click.option("--timeout", default=60, show_default=True, help="Seconds a single cell may run.")
@click.option("--wall-timeout", default=600, show_default=True, help="Seconds one whole submission may run.")
@click.option("--memory-mb", default=4096, show_default=True, help="Address-space limit of each student process.")
@click.option("--no-sandbox", is_flag=True,
              help="Run submissions WITHOUT bubblewrap isolation (only for notebooks you trust): they can then "
                   "read answers, change grades and use the network.")
def autograde(module: str, all_: bool, student: str | None, notebook: Path | None, jobs: int | None, force: bool,
              cluster: str | None, timeout: int, wall_timeout: int, memory_mb: int, no_sandbox: bool) -> None:
    """Autograde submissions with nbgrader's own preprocessors, in parallel, each in a sandbox; print scores.

    Every submission runs in a bubblewrap sandbox that sees only itself, the tests and the package of the
    earlier modules: no course files, no gradebook, no other submission, no network. Exit 1 when any
    submission could not be graded (it is recorded with score 0, the others are graded, and the next run tries
    it again); exit 2 when bubblewrap is missing.
    """
    course = Course.load(strict=False)  # a broken module elsewhere must not stop grading this one
    chosen = course.resolve(module)
    limits = Limits(wall_seconds=wall_timeout, memory_bytes=memory_mb << 20)
    if no_sandbox:
        err_console.print("[bold yellow]warning:[/] --no-sandbox: submissions run with your rights, unisolated; they can "
                      "read the answers, change the gradebook and reach the network")
    from ..classgrade.batch import grade_class, grade_one

    if notebook is not None:
        if not student:
            raise UsageError("--notebook needs --student ID")
        report = grade_one(course, chosen, student, notebook.resolve(), timeout=timeout, limits=limits,
                           sandbox=not no_sandbox)
        console.print(_grade_table(report))
        for cell in report.edited_cells:
            console.print(f"[yellow]flagged:[/] locked cell `{escape(cell)}` was edited; nbgrader graded it with the "
                          "original test restored")
        for flag in report.flags:
            console.print(f"[yellow]flagged:[/] {escape(flag)}")
        return
    if bool(all_) == bool(student):
        raise UsageError("give --all or --student ID (with --notebook PATH to grade a file not yet collected)")

    with progress_bar() as bar:
        task = bar.add_task(f"grading {chosen.slug}", total=None)

        def started(batch):
            bar.update(task, total=len(batch.jobs))
            if batch.skipped:
                bar.console.print(f"{len(batch.skipped)} submission(s) unchanged since last graded "
                                  "(--force grades them again)")

        def graded(result):
            bar.advance(task)

        report = grade_class(course, chosen, workers=jobs, cluster=cluster, student=student, force=force,
                             timeout=timeout, limits=limits, sandbox=not no_sandbox, on_start=started,
                             on_result=graded)
    if report.results:
        console.print(_class_table(report))
    console.print(_class_summary(report))
    if report.failed:
        raise CheckFailed(f"{len(report.failed)} submission(s) could not be graded (recorded with score 0, "
                          "needs manual grading); the others were graded. The next run tries them again")
    if report.ungraded:
        console.print(f"[yellow]{len(report.ungraded)} submission(s) of {chosen.slug} failed to grade earlier; "
                      f"`tito nbgrader autograde {chosen.id} --all` tries them again[/]")


@nbgrader.command()
@click.argument("module")
@click.option("--all", "all_", is_flag=True, help="Write feedback for every autograded student.")
@click.option("--student", help="Write feedback for one student.")
def feedback(module: str, all_: bool, student: str | None) -> None:
    """Write one HTML feedback file per student: scores and pass/fail kept, hidden-test source removed.

    Exit 1 if any hidden-test line is found in the feedback folder afterwards.
    """
    from ..classgrade.feedback import class_feedback

    if bool(all_) == bool(student):
        raise UsageError("give --all or --student ID")
    course = Course.load(strict=False)  # a broken module elsewhere must not stop grading this one
    chosen = course.resolve(module)
    with console.status(f"writing feedback for {chosen.slug}"):
        paths = class_feedback(course, chosen, student)
    folder = course.root / grading.nbgrader_api(course.root).coursedir.feedback_directory
    leaks = find_leaks(course, chosen, folder, hidden_only=True)
    for path in paths:
        console.print(f"feedback: {path.relative_to(course.root)}")
    for leak in leaks:
        console.print(f"[red]LEAK[/] {escape(leak)}")
    if leaks:
        raise CheckFailed(f"{len(leaks)} hidden-test line(s) in the feedback; do not send it")
    console.print(f"[green]✓[/] {len(paths)} feedback file(s); no hidden-test line in {folder.relative_to(course.root)}/")


@nbgrader.command(name="export")
@click.argument("out", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--per-test", is_flag=True, help="One row per student, module and test instead of per module.")
@click.option("--module", "modules", multiple=True, help="Only this module (repeatable).")
def export_grades(out: Path | None, per_test: bool, modules: tuple[str, ...]) -> None:
    """Write grades as CSV to OUT (default: stdout): one row per student and module, with late penalty and flags."""
    from ...core.fsutil import atomic_write
    from ..classgrade.batch import STATE_FILE
    from ..classgrade.export import rows, to_csv
    from ..classgrade.state import GradingState

    course = Course.load(strict=False)  # a broken module elsewhere must not stop grading this one
    slugs = [course.resolve(m).slug for m in modules]
    api = grading.nbgrader_api(course.root)
    db_url = api.coursedir.db_url
    records = rows(db_url, api.coursedir.course_id, GradingState(course.root / STATE_FILE, db_url), per_test, slugs)
    text = to_csv(records, per_test)
    if out is None:
        click.echo(text, nl=False)
        return
    atomic_write(out, text)
    console.print(f"wrote {len(records)} row(s) to {escape(str(out))}")
