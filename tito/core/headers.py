"""Lint rules that tie a module's header to its code and to the milestones.

- `exports:` names must be defined by the module's `#| export` cells, so `from <package> import X`
  cannot fail after a clean export.
- `milestone:` must name milestones whose `requires` include the module, and must list every milestone
  the module unlocks (derived from the milestones' `requires` alone: the one each milestone needs last).
  A course copy without a milestones/ folder (a few modules for a test or a benchmark) has nothing to
  hold the field to, so only the export rule applies there.
Problems point at the header field's line.
"""
from __future__ import annotations

import ast

from .course import Module, field_line
from .errors import Problem
from .milestones import Milestone, unlocked_by
from .render.package import chunks_from_source
from .source import ParsedSource


def defined_names(code: str) -> set[str]:
    """Every name bound at the top level of `code`: functions, classes, assignments and imports."""
    names: set[str] = set()
    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
    return names


def export_problems(module: Module, parsed: ParsedSource) -> list[Problem]:
    code = "\n\n".join(chunk.code for chunk in chunks_from_source(parsed, module.slug))
    try:
        defined = defined_names(code)
    except SyntaxError:  # reported at its own line by the parser already
        return []
    missing = [name for name in module.exports if name not in defined]
    if not missing:
        return []
    listed = ", ".join(f"`{name}`" for name in missing)
    return [Problem(module.src, field_line(module.src, "exports"),
                    f"`exports:` lists {listed}, which no `#| export` cell defines",
                    "fix the spelling in the header, or define the name in a `#| export` cell")]


def milestone_problems(module: Module, milestones: list[Milestone]) -> list[Problem]:
    line = field_line(module.src, "milestone")
    by_slug = {m.slug: m for m in milestones}
    problems = []
    for named in module.milestones:
        milestone = by_slug.get(named) or next((m for m in milestones if named in (m.id, m.name)), None)
        if milestone is None:
            valid = ", ".join(by_slug) or "none: milestones/ is empty"
            problems.append(Problem(module.src, line, f"`milestone: {named}` names no milestone",
                                    f"use a folder name under milestones/: {valid}"))
        elif module.slug not in milestone.requires:
            problems.append(Problem(module.src, line, f"`milestone: {named}`, but {milestone.path.parent.name}/run.py "
                                    f"does not require {module.slug}",
                                    "name a milestone whose `requires` includes this module, or add it there"))
    named = set(module.milestones)
    unlocks = [m.slug for m in unlocked_by(milestones, module.slug)]
    forgotten = [slug for slug in unlocks if slug not in named and slug[:2] not in named]
    if forgotten:
        problems.append(Problem(module.src, line, f"this module unlocks {', '.join(forgotten)} (it is the last module "
                                "their `requires` lists), but its header does not say so",
                                f"write `milestone: [{', '.join(unlocks)}]`"))
    return problems


def header_problems(module: Module, parsed: ParsedSource, milestones: list[Milestone] | None) -> list[Problem]:
    """Both rules; `milestones` is None when the course has no milestones/ folder."""
    problems = export_problems(module, parsed)
    if milestones is not None:
        problems += milestone_problems(module, milestones)
    return problems
