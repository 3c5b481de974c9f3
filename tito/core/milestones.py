"""Milestones: historical results students reproduce on their own exports of the course's package.

Each `milestones/NN_name/run.py` declares `MILESTONE = {"title", "year", "requires", "goal"}` and
`run(quick=False, console=None) -> {"passed": bool, "metrics": {...}}` (a training milestone also takes
`seed=0`, which tito leaves at its default). Metadata is read without
executing the script (it is a literal), so listing milestones never imports the package.
"""
from __future__ import annotations

import ast
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .course import Course, Numbered, resolve_ident
from .errors import TitoError

FOLDER = re.compile(r"^(?P<num>\d{2})_(?P<name>[a-z][a-z0-9_]*)$")


@dataclass(frozen=True)
class Milestone(Numbered):
    number: int
    name: str
    path: Path
    title: str
    year: str
    requires: tuple[str, ...]
    goal: str


def _literal(path: Path) -> dict:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "MILESTONE" for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                raise TitoError(f"{path}:{node.lineno}: MILESTONE must be a literal dict") from None
            if isinstance(value, dict):
                return value
    raise TitoError(f"{path}: no `MILESTONE = {{...}}` dict; see AUTHORING.md (Milestones)")


def discover(course: Course) -> list[Milestone]:
    folder = course.root / course.config.milestones
    found = []
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        m = FOLDER.match(entry.name)
        if not m or not (entry / "run.py").is_file():
            continue
        meta = _literal(entry / "run.py")
        requires = tuple(course.resolve(r).slug for r in meta.get("requires", []))
        found.append(Milestone(int(m.group("num")), m.group("name"), entry / "run.py", str(meta.get("title", entry.name)),
                               str(meta.get("year", "")), requires, str(meta.get("goal", ""))))
    return found


def resolve(course: Course, ident: str) -> Milestone:
    return resolve_ident(discover(course), ident, "milestone")


def unlocked_by(milestones: list[Milestone], module_slug: str) -> list[Milestone]:
    """The milestones `module_slug` unlocks: those whose `requires` end with it (its highest-numbered module).

    Derived from the milestones' `requires` alone; a module header's `milestone:` is checked against it."""
    return [m for m in milestones if m.requires and max(m.requires) == module_slug]


def missing_modules(milestone: Milestone, completed: set[str]) -> list[str]:
    return [slug for slug in milestone.requires if slug not in completed]


def run(milestone: Milestone, quick: bool = False, console=None, course: Course | None = None) -> dict:
    """Import the milestone script fresh and run it; its result dict must say `passed`."""
    name = f"_tito_milestone_{milestone.slug}"
    spec = importlib.util.spec_from_file_location(name, milestone.path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        result = module.run(quick=quick, console=console)
    except ModuleNotFoundError as exc:  # a package module the student has not exported (e.g. after --force)
        owner = next((m for m in course.modules if m.import_path == exc.name), None) if course else None
        if owner is None:
            raise
        raise TitoError(f"{milestone.title} needs {exc.name}, which module {owner.id} ({owner.name}) exports; "
                        f"complete it with `tito module complete {owner.id}`") from None
    finally:
        sys.modules.pop(name, None)
    if not isinstance(result, dict) or "passed" not in result:
        raise TitoError(f"{milestone.path}: run() must return a dict with `passed` and `metrics`")
    return result


REFERENCE = "reference.json"


def reference_path(milestone: Milestone) -> Path:
    return milestone.path.parent / REFERENCE


def record_reference(milestone: Milestone, result: dict, quick: bool) -> Path:
    """Keep a run as the milestone's reference run (`milestones/NN_name/reference.json`): the figures and
    training histories the book's milestones page shows. Instructors record it on the reference package."""
    import json

    from .fsutil import atomic_write

    data = {"milestone": milestone.slug, "passed": bool(result.get("passed")), "quick": quick,
            "metrics": _plain(result.get("metrics", {})), "history": _rounded(_plain(result.get("history", [])))}
    path = reference_path(milestone)
    atomic_write(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path


def reference_run(milestone: Milestone) -> dict | None:
    """The recorded reference run, or None when there is none (or it is unreadable)."""
    import json

    try:
        data = json.loads(reference_path(milestone).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _plain(value):
    """NumPy scalars and tuples as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    try:
        return value.item()
    except AttributeError:
        return str(value)


def description(milestone: Milestone) -> str:
    """What the milestone proves: its script's docstring (read, not executed)."""
    tree = ast.parse(milestone.path.read_text(encoding="utf-8"), str(milestone.path))
    return (ast.get_docstring(tree) or milestone.goal).strip()


def _rounded(value):
    """Curves need no more than 5 significant digits; it keeps reference.json small enough to review."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    if isinstance(value, float):
        return float(f"{value:.5g}")
    return value
