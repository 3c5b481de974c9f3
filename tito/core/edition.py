"""The student edition's marker and manifest: `edition.json` at the root of an edition.

An edition has no `src/`, so its course manifest (modules, titles, package paths, exports) is the one
`tito dist student` wrote into `edition.json`. The marker sits beside the edition's `tito/` package,
which is how an installed `tito` knows it is the student edition (it then offers only student commands).
"""
from __future__ import annotations

import json
from pathlib import Path

MARKER = "edition.json"
SCHEMA = 1
STUDENT_COMMANDS = ("module", "system", "milestone")
INSTRUCTOR_COMMANDS = ("source", "nbgrader", "book", "dist", "new")
INSTRUCTOR_MESSAGE = "this is the student edition of the course; run it in the course source repository"
MODULE_FIELDS = ("number", "name", "title", "summary", "tier", "minutes", "prerequisites", "objectives",
                 "exports", "milestones", "package", "aliases")


def is_edition(root: Path) -> bool:
    return (Path(root) / MARKER).is_file()


def installed_as_edition() -> bool:
    """True when this `tito` package was shipped inside a student edition (the marker is its sibling)."""
    return is_edition(Path(__file__).resolve().parent.parent)


def read(root: Path) -> dict:
    """The edition's manifest; a damaged one is a clear error (re-clone or pull the edition)."""
    from .errors import UsageError

    path = Path(root) / MARKER
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read the edition manifest ({exc}); restore it with "
                         f"`git checkout -- {MARKER}`") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("modules"), list):
        raise UsageError(f"{path}: not a student edition manifest (schema {SCHEMA}); restore it with "
                         f"`git checkout -- {MARKER}`")
    return data


def module_record(module) -> dict:
    record = {name: getattr(module, name) for name in MODULE_FIELDS}
    return {name: list(value) if isinstance(value, tuple) else value for name, value in record.items()}
