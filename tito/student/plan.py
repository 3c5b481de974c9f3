"""Course logic over a student's progress: what to do next, what is still missing, how far along they are.

Pure functions of the manifest and the set of completed slugs; the CLI only prints what they return.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..core.course import Course, Module


def missing_prerequisites(module: Module, done: set[str]) -> list[str]:
    """Prerequisite slugs of `module` the student has not completed (the gate `module start` applies)."""
    return [slug for slug in module.prerequisites if slug not in done]


def requirements(course: Course, module: Module) -> list[Module]:
    """Every module `module` builds on: its prerequisites, theirs, and so on, in course order."""
    by_slug = {m.slug: m for m in course.modules}
    found: set[str] = set()
    todo = list(module.prerequisites)
    while todo:
        slug = todo.pop()
        if slug in found or slug not in by_slug:
            continue
        found.add(slug)
        todo.extend(by_slug[slug].prerequisites)
    return [m for m in course.modules if m.slug in found]


def dependents(course: Course, module: Module) -> list[Module]:
    """The modules that build on `module` (directly or through another module), in course order."""
    return [m for m in course.modules if module in requirements(course, m)]


def blocked(course: Course, done: set[str], exported: set[str]) -> dict[str, list[str]]:
    """Completed modules whose code cannot import: slug -> the slugs of the modules it builds on whose code
    is not in the package (after `tito module reset` of one of them). Their progress is kept: completing
    those modules again makes them work again."""
    stuck = {}
    for module in course.modules:
        if module.slug in done:
            missing = [m.slug for m in requirements(course, module) if m.slug not in exported]
            if missing:
                stuck[module.slug] = missing
    return stuck


def working(course: Course, done: set[str], exported: set[str]) -> set[str]:
    """The completed modules whose code is in the package and imports: what counts as done for the course."""
    stuck = blocked(course, done, exported)
    return {slug for slug in done if slug in exported and slug not in stuck}


def recommended(course: Course, done: set[str]) -> Module | None:
    """The first module, in course order, not completed yet and whose prerequisites all are.

    After re-completing 01 with 02-05 done, this is 06, not 02: the course order decides, not the
    module just completed."""
    for module in course.modules:
        if module.slug not in done and not missing_prerequisites(module, done):
            return module
    return None


@dataclass(frozen=True)
class Overview:
    done: int
    total: int
    next_module: Module | None
    next_step: str  # "complete module 04 to continue the Foundation tier"

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def progress_line(self) -> str:
        return f"Progress: {self.done}/{self.total} modules ({self.percent}%)"


def overview(course: Course, done: set[str]) -> Overview:
    completed = [m for m in course.modules if m.slug in done]
    nxt = recommended(course, done)
    if nxt is None:
        step = "every module is completed" if course.modules else "the course has no modules yet"
    else:
        tier_started = any(m.tier == nxt.tier for m in completed)
        step = (f"complete module {nxt.id} to {'continue' if tier_started else 'start'} "
                f"the {nxt.tier.capitalize()} tier")
    return Overview(len(completed), len(course.modules), nxt, step)
