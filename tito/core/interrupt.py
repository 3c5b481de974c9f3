"""Stopping tito with Ctrl-C (SIGINT) or SIGTERM: one exception on the way up, one line and 130/143 at the top.

On the way up the stop is `Signalled`, a KeyboardInterrupt: every `finally` and `except BaseException`
cleanup runs (kernels shut down, pytest killed, half-done writes rolled back), and no `except Exception`
can mistake it for a failure. An engine step that knows what it left untouched re-raises it with a
`note` ("your package and progress are unchanged"). The CLI turns it into `errors.Interrupted`
("interrupted; <note>", exit 128 + the signal number) with `as_error`.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

from .errors import Interrupted


class Signalled(KeyboardInterrupt):
    def __init__(self, signum: int = signal.SIGINT, note: str = "", where: str = ""):
        super().__init__(signum)
        self.signum, self.note, self.where = signum, note, where

    @classmethod
    def of(cls, exc: BaseException, note: str = "") -> "Signalled":
        """`exc` (any KeyboardInterrupt) as a Signalled carrying `note`."""
        return cls(getattr(exc, "signum", signal.SIGINT), note or getattr(exc, "note", ""), getattr(exc, "where", ""))


def as_error(exc: BaseException) -> Interrupted:
    """What the CLI shows for a KeyboardInterrupt: "interrupted[; note]", exit 130 (SIGINT) or 143 (SIGTERM)."""
    note = getattr(exc, "note", "")
    return Interrupted("interrupted" + (f"; {note}" if note else ""),
                       128 + int(getattr(exc, "signum", signal.SIGINT)))


def _raise(signum, frame) -> None:
    raise Signalled(signum)


@contextmanager
def raise_on_signals():
    """Within the block, SIGINT and SIGTERM raise `Signalled` in the main thread (the CLI wraps each command
    in it); the previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def signals_ignored():
    """While tito prints its last words, a second Ctrl-C must not turn the one-line exit into a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
