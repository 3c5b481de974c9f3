"""A private gradebook holding one assignment's definition (due date, notebooks, cells, source cells).

A worker grades against a copy of it, so nbgrader's own preprocessors (OverwriteCells, SaveAutoGrades,
AssignLatePenalties) run unchanged while the course gradebook is never opened outside the parent.
"""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from ...core.errors import TitoError


def assignment_snapshot(db_url: str, course_id: str, assignment: str) -> tuple[bytes, str]:
    """A fresh SQLite gradebook holding only `assignment` from the gradebook at `db_url`, as bytes, and a
    digest of that definition (the SQLite bytes differ run to run: nbgrader gives rows random ids)."""
    from nbgrader.api import Gradebook, MissingEntry

    digest = hashlib.sha256()

    with tempfile.TemporaryDirectory(prefix="tito-snapshot-") as tmp:
        path = Path(tmp) / "gradebook.db"
        stamp_schema(path)
        with Gradebook(db_url, course_id) as main, Gradebook(f"sqlite:///{path}", course_id) as snap:
            try:
                found = main.find_assignment(assignment)
            except MissingEntry:
                raise TitoError(f"{assignment} is not in the gradebook; run `tito nbgrader generate` for it "
                                "first") from None
            snap.update_or_create_assignment(assignment, duedate=found.duedate)
            digest.update(repr(found.duedate).encode())
            for nb in found.notebooks:
                snap.update_or_create_notebook(nb.name, assignment)
                for cell in nb.grade_cells:
                    snap.update_or_create_grade_cell(cell.name, nb.name, assignment,
                                                     max_score=cell.max_score, cell_type=cell.cell_type)
                for cell in nb.solution_cells:
                    snap.update_or_create_solution_cell(cell.name, nb.name, assignment)
                for cell in nb.task_cells:
                    snap.update_or_create_task_cell(cell.name, nb.name, assignment,
                                                    max_score=cell.max_score, cell_type=cell.cell_type)
                digest.update(repr(sorted((c.name, c.max_score) for c in nb.grade_cells + nb.task_cells)).encode())
                for cell in nb.source_cells:
                    digest.update(repr((cell.name, cell.locked, cell.source, cell.checksum)).encode())
                    snap.update_or_create_source_cell(cell.name, nb.name, assignment, cell_type=cell.cell_type,
                                                      locked=cell.locked, source=cell.source,
                                                      checksum=cell.checksum)
        return path.read_bytes(), digest.hexdigest()


def stamp_schema(path: Path) -> None:
    """Start a new SQLite gradebook with nbgrader's schema version already recorded.

    nbgrader's Gradebook creates a new database's tables itself, but learns which schema version to record by
    running the `alembic` command (2.6 s per new gradebook here). The version is the head of nbgrader's own
    migration scripts, which alembic's ScriptDirectory reads in milliseconds; with the row in place, Gradebook
    treats the file as existing and only creates its tables."""
    import sqlite3

    import nbgrader.api
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(Path(nbgrader.api.__file__).with_name("alembic"))).get_current_head()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        db.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (head,))
    db.close()
