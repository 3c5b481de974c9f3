"""The student's copy of the course's package as it stands: which modules' code is in it, and what that code
needs.

In the student edition a module's package file exists only once the student completed it (a reset removes
it); in the course repository the reference code fills every file the student has not exported.
"""
from __future__ import annotations

from ..core.course import Course, Module
from ..core.errors import TitoError
from .plan import requirements


class PrerequisiteMissing(TitoError):
    """A module's code imports modules whose code is not in the package: nothing was run (exit 1)."""


def exported(course: Course) -> set[str]:
    """Slugs of the modules whose package file is in the package."""
    return {m.slug for m in course.modules if (course.root / m.package_file).is_file()}


def missing_requirements(course: Course, module: Module) -> list[Module]:
    """The modules `module` builds on whose code is not in the package."""
    present = exported(course)
    return [m for m in requirements(course, module) if m.slug not in present]


def require_prerequisites(course: Course, module: Module) -> None:
    """Raise PrerequisiteMissing when `module`'s code would import a module whose code is not in the package:
    its tests could only fail with a NameError or ModuleNotFoundError."""
    missing = missing_requirements(course, module)
    if not missing:
        return
    listed = ", ".join(f"{m.id} ({m.name})" for m in missing)
    files = ", ".join(m.package_file.as_posix() for m in missing)
    first = missing[0]
    raise PrerequisiteMissing(
        f"module {module.id} ({module.name}) builds on module{'s' if len(missing) > 1 else ''} {listed}, whose "
        f"code is not in your package ({files} {'are' if len(missing) > 1 else 'is'} missing: not completed, or "
        f"reset). Complete module {first.id} first: `tito module complete {first.id}` "
        f"(or `tito module start {first.id}` if you have no notebook for it), then run this again")
