"""Course logic over a student's progress: what to do next, what is still missing, how far along they are.

Pure functions of the manifest and the set of completed slugs; the CLI only prints what they return.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..course import Course, Module


def missing_prerequisites(module: Module, done: set[str]) -> list[str]:
    """Prerequisite slugs of `module` the student has not completed (the gate `module start` applies)."""
    return [slug for slug in module.prerequisites if slug not in done]


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
