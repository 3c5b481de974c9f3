"""Stopping tito with Ctrl-C (SIGINT) or SIGTERM: one exception, one exit code, one line.

`Interrupted` is a KeyboardInterrupt, so every `finally` and `except BaseException` cleanup on the
way up runs (kernels shut down, pytest killed, half-done writes rolled back). An engine step that
knows what it left untouched re-raises it with a `note` ("your package and progress are unchanged");
the CLI prints "interrupted; <note>" and exits 128 + the signal number (130 or 143).
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


class Interrupted(KeyboardInterrupt):
    def __init__(self, signum: int = signal.SIGINT, note: str = "", where: str = ""):
        super().__init__(signum)
        self.signum, self.note, self.where = signum, note, where

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum)

    @classmethod
    def of(cls, exc: BaseException, note: str = "") -> "Interrupted":
        """`exc` (any KeyboardInterrupt) as an Interrupted carrying `note`."""
        signum = getattr(exc, "signum", signal.SIGINT)
        return cls(signum, note or getattr(exc, "note", ""), getattr(exc, "where", ""))


def _raise(signum, frame) -> None:
    raise Interrupted(signum)


@contextmanager
def raise_on_signals():
    """Within the block, SIGINT and SIGTERM raise `Interrupted` in the main thread (the CLI wraps each command
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


def ignore_signals() -> None:
    """Once tito is on its way out, a second Ctrl-C must not turn the one-line exit into a traceback."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
