"""What the instructor package adds to the student workflow where it is installed, without the student side
importing it: the instructor registers a function here, student code asks for it.

Today that is one thing: making a module's release (nbgrader generate) when `tito module start` finds none in
the course source repository. The student edition ships without `tito.instructor`, so nothing is registered
there and a missing release is a clear error instead.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

_release_maker: Callable | None = None


def provide_release_maker(make: Callable) -> None:
    """`make(course, module) -> Path`: generate the module's student release and return its path."""
    global _release_maker
    _release_maker = make


def release_maker() -> Callable[..., Path] | None:
    return _release_maker
