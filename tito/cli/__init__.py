"""`tito`: the command line. Thin: parse arguments, call the engine, print with rich.

Exit codes: 0 success; 1 a check or test failed (stale outputs, failing tests, leaks);
2 bad input (unknown module, invalid source, bad arguments); 130 interrupted. They come from the
exception raised (tito.errors subclasses click.ClickException), shown here in one place.
"""
from __future__ import annotations

import click

from ..errors import TitoError
from ..interrupt import as_error, raise_on_signals, signals_ignored
from .console import show_error


class TitoGroup(click.Group):
    """Shows engine errors with rich, then exits with the error's own code."""

    def invoke(self, ctx: click.Context):
        try:
            try:
                with raise_on_signals():  # SIGTERM unwinds like Ctrl-C: kernels and pytest stop, exit 143
                    return super().invoke(ctx)
            except KeyboardInterrupt as exc:  # cleanup already ran on the way up
                raise as_error(exc) from None
        except TitoError as exc:
            with signals_ignored():
                show_error(exc)
            raise click.exceptions.Exit(exc.exit_code) from None


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
    """Every command group, imported explicitly: a missing or broken one fails loudly here."""
    from .book import book
    from .milestone import milestone
    from .module import module
    from .nbgrader import nbgrader
    from .source import source
    from .system import system

    for group in (source, module, nbgrader, book, system, milestone):
        main.add_command(group)


_register()
