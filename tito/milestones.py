"""Milestones: historical results students reproduce on their own `tinytorch` exports.

Each `milestones/NN_name/run.py` declares `MILESTONE = {"title", "year", "requires", "goal"}` and
`run(quick=False, console=None) -> {"passed": bool, "metrics": {...}}`. Metadata is read without
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
    folder = course.root / "milestones"
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


def run(milestone: Milestone, quick: bool = False, console=None) -> dict:
    """Import the milestone script fresh and run it; its result dict must say `passed`."""
    name = f"_tinytorch_milestone_{milestone.slug}"
    spec = importlib.util.spec_from_file_location(name, milestone.path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        result = module.run(quick=quick, console=console)
    finally:
        sys.modules.pop(name, None)
    if not isinstance(result, dict) or "passed" not in result:
        raise TitoError(f"{milestone.path}: run() must return a dict with `passed` and `metrics`")
    return result
