"""`tito book ...`: build and serve the course book (Jupyter Book 1.x)."""
from __future__ import annotations

import time
from pathlib import Path

import click
from rich.markup import escape

from ...cli.console import PhaseBar, console, err_console, progress_bar
from ...core.course import Course
from ...core.errors import CheckFailed


@click.group()
def book() -> None:
    """Build the course book from src/ and book/ into _build/html, or serve it."""


def _serve(html: Path, port: int) -> None:
    from ..book.build import serve

    server = serve(html, port)
    host, real_port = server.server_address[:2]
    console.print(f"serving [bold]{html}[/] at [link]http://{host}:{real_port}/[/link]  (Ctrl+C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.server_close()


@book.command()
@click.option("--all", "all_", is_flag=True,
              help="Rebuild everything: regenerate every chapter page and rewrite every HTML page "
                   "(notebook outputs still come from the content-hash cache).")
@click.option("--serve", "port", type=click.IntRange(0, 65535), default=None, metavar="PORT",
              help="After a successful build, serve _build/html on http://127.0.0.1:PORT until Ctrl+C.")
@click.option("--timeout", default=300, show_default=True, type=click.FloatRange(min=1),
              help="Seconds a single notebook cell may run.")
def build(all_: bool, port: int | None, timeout: float) -> None:
    """Regenerate stale chapter pages, run the Jupyter Book build, print the path of index.html.

    Module chapters are rendered from src/ in the student view (no solutions, no hidden tests) with
    the outputs of a correct run; notebooks run only when their code or the package changed. Exits 1
    when Sphinx reports a broken page (unknown document, bad reference, missing image or include).
    """
    from ..book.build import build as run_build

    start = time.perf_counter()
    course = Course.load()
    with progress_bar() as progress:
        # The command reference page is generated from this very CLI, handed over as its Click root.
        report = run_build(course, click.get_current_context().find_root().command, force=all_,
                           progress=PhaseBar(progress), timeout=timeout)
    if report.executed:
        console.print(f"executed {len(report.executed)} notebook(s): {', '.join(report.executed)}")
    if report.chapters:
        console.print(f"regenerated {len(report.chapters)} chapter page(s): {', '.join(report.chapters)}")
    if report.fragments:
        console.print(f"regenerated {', '.join(report.fragments)}")
    minor = [w for w in report.warnings if w not in report.broken]
    for warning in minor:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    for warning in report.broken:
        err_console.print(f"[red]broken:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    console.print(f"read {report.pages_read} page(s), wrote {report.pages_written} in "
                  f"{time.perf_counter() - start:.1f} s")
    if not report.ok:
        console.print(str(report.index))
        raise CheckFailed(f"{len(report.broken)} broken-page warning(s); the book has errors")
    console.print(f"[green]✓[/] {report.index}")
    if port is not None:
        _serve(report.index.parent, port)


@book.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
def serve(port: int) -> None:
    """Serve the last build (_build/html) on http://127.0.0.1:PORT until Ctrl+C."""
    from ..book.build import HTML_DIR

    _serve(Course.load().root / HTML_DIR, port)


@book.command()
def clean() -> None:
    """Delete _build/ and the generated pages in book/chapters/ (the notebook output cache is kept)."""
    from ..book.build import clean as run_clean

    removed = run_clean(Course.load().root)
    console.print(f"removed {', '.join(map(str, removed))}" if removed else "nothing to remove")
