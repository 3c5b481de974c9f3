"""The instructor's command groups (course sources, nbgrader, the book, the student edition)."""
from __future__ import annotations


def register(main) -> None:
    """Add every instructor command group (and `tito new`) to the `tito` group."""
    from .book import book
    from .dist import dist
    from .nbgrader import nbgrader
    from .new import new
    from .source import source

    for group in (source, nbgrader, book, dist, new):
        main.add_command(group)
