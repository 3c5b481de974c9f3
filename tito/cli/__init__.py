"""`tito`: the command line. Thin: parse arguments, call the engine, print with rich.

Exit codes: 0 success; 1 a check or test failed (stale outputs, failing tests, leaks);
2 bad input (unknown module, invalid source, bad arguments); 130 interrupted. They come from the
exception raised (tito.core.errors subclasses click.ClickException), shown here in one place.
"""
from __future__ import annotations

import importlib.util

import click

from ..core import fastimport
from ..core.edition import INSTRUCTOR_COMMANDS, INSTRUCTOR_MESSAGE, installed_as_edition
from ..core.errors import TitoError, UsageError
from ..core.interrupt import as_error, raise_on_signals, signals_ignored
from .console import show_error


def _distribution() -> str:
    """The installed distribution that holds this `tito` (the course's own, named in its pyproject.toml) for --version."""
    from importlib.metadata import packages_distributions

    return next(iter(packages_distributions().get("tito", [])), "tito")


class TitoGroup(click.Group):
    """Shows engine errors with rich, then exits with the error's own code. The command groups are registered
    on first use, not at import: the instructor's groups import this package's console in turn."""

    registered = False

    def _ensure_registered(self) -> None:
        if not TitoGroup.registered:
            TitoGroup.registered = True
            _register()

    def get_command(self, ctx, cmd_name):
        self._ensure_registered()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        self._ensure_registered()
        return super().list_commands(ctx)

    def format_help_text(self, ctx, formatter):
        self._ensure_registered()  # registration decides the text (the edition has its own)
        super().format_help_text(ctx, formatter)

    def invoke(self, ctx: click.Context):
        fastimport.prepare()  # before anything imports jsonschema (nbformat, nbgrader): most of a second saved
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
@click.version_option(version=None, prog_name="tito", package_name=_distribution())
def main() -> None:
    """tito: build a course and work through it.

    \b
    Students:     tito module start 01 / complete 01 / status
    Instructors:  tito source export --all / tito nbgrader generate --all
    Maintainers:  tito book build
    """


def _edition_refusal(name: str) -> click.Command:
    """What an instructor command is in the student edition: a clear message and exit code 2."""

    def refuse() -> None:
        raise UsageError(f"`tito {name}`: {INSTRUCTOR_MESSAGE}")

    return click.Command(name, callback=refuse, add_help_option=False, hidden=True,
                         help=f"(instructor command) {INSTRUCTOR_MESSAGE}.",
                         context_settings={"ignore_unknown_options": True, "allow_extra_args": True})


def _register() -> None:
    """Every command group, imported explicitly: a missing or broken one fails loudly here. The student
    commands (tito/cli, tito/student, tito/core) are always there; the instructor commands only where the
    `tito.instructor` package is installed. The student edition ships without it, so there each instructor
    command is a refusal. This is the one place student-side code reaches for instructor code."""
    from .milestone import milestone
    from .module import module
    from .system import system

    for group in (module, system, milestone):
        main.add_command(group)
    if importlib.util.find_spec("tito.instructor") is None or installed_as_edition():
        main.help = ("tito: work through the course (student edition).\n\n\b\n"
                     "Start here:  tito system health / tito module start 01\n"
                     "Then:        tito module complete 01 / tito module status / tito milestone run 01")
        for name in INSTRUCTOR_COMMANDS:
            main.add_command(_edition_refusal(name))
        return
    from ..instructor.cli import register

    register(main)
