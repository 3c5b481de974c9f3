"""`tito`: the command line. Thin: parse arguments, call the engine, print with rich.

Exit codes: 0 success; 1 a check or test failed (stale outputs, failing tests, leaks);
2 bad input (unknown module, invalid source, bad arguments); 130 interrupted.
"""
from __future__ import annotations

import sys

import click
from rich.markup import escape

from ..errors import LintError, TitoError
from ..interrupt import ignore_signals, raise_on_signals
from .console import console, err_console, print_problems


class TitoGroup(click.Group):
    """Turns engine errors into a clear message and a meaningful exit code."""

    def invoke(self, ctx: click.Context):
        try:
            with raise_on_signals():  # SIGTERM unwinds like Ctrl-C: kernels and pytest are stopped, exit 143
                return super().invoke(ctx)
        except LintError as exc:
            print_problems(exc)
            sys.exit(exc.exit_code)
        except TitoError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt as exc:  # SIGINT or SIGTERM (tito.interrupt): cleanup already ran on the way up
            ignore_signals()
            note = getattr(exc, "note", "")
            err_console.print("[yellow]interrupted[/]" + (f"; {escape(note)}" if note else ""), highlight=False)
            sys.exit(getattr(exc, "exit_code", 130))


@click.group(cls=TitoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tinytorch", prog_name="tito")
def main() -> None:
    """tito: build the TinyTorch course and work through it.

    \b
    Students:     tito module start 01 / complete 01 / status
    Instructors:  tito source export --all / tito nbgrader generate --all
    Maintainers:  tito book build
    """


def _register() -> None:
    from . import source

    main.add_command(source.source)
    for name in ("module", "nbgrader", "book", "system", "milestone"):
        try:
            command_module = __import__(f"{__name__}.{name}", fromlist=[name])
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        main.add_command(getattr(command_module, name))


_register()
