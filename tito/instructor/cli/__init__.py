"""The instructor's command groups (course sources, nbgrader, the book, the student edition)."""
from __future__ import annotations


def register(main) -> None:
    """Add every instructor command group (and `tito new`) to the `tito` group, and let `tito module start`
    make a missing release with nbgrader in the course source repository (tito.core.hooks)."""
    from ...core.hooks import provide_release_maker
    from .book import book
    from .dist import dist
    from .nbgrader import nbgrader
    from .new import new
    from .source import source

    for group in (source, nbgrader, book, dist, new):
        main.add_command(group)
    provide_release_maker(_make_release)


def _make_release(course, module):
    from ..nbgrader import ensure_release  # imported when needed: nbgrader is slow to import

    return ensure_release(course, module)
