"""`tito module reset NN`: start a module over, and say first what that changes.

A reset backs up the student's notebook and export, puts a fresh copy of the release in the workspace and
forgets the module's completion. In the course repository the package file goes back to the reference
code; a student edition has none, so there the export is removed and every completed module whose code
imports it stops importing until the module is completed again (their progress is kept).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..core.backups import KEEP, backup_file
from ..core.course import Course, Module
from ..core.edition import is_edition
from ..core.fsutil import atomic_write, read_bytes
from ..core.render.package import reference_package as render_reference
from . import progress as store
from .complete import workspace_notebook
from .package import exported
from .plan import dependents
from .workspace import backup_notebook, notebook_path, restore_from_release

REMOVED, REFERENCE, UNCHANGED = "removed", "reference", "unchanged"


@dataclass
class ResetPlan:
    """What `reset` will do, for the confirmation prompt."""

    module: Module
    notebook: Path
    has_notebook: bool
    export: str  # REMOVED (edition), REFERENCE (course repository) or UNCHANGED (nothing exported to undo)
    dependents: list[Module] = field(default_factory=list)  # completed modules whose code imports this one
    stops_importing: list[Module] = field(default_factory=list)  # modules whose names stop importing

    @property
    def package_file(self) -> Path:
        return self.module.package_file


def plan_reset(course: Course, module: Module) -> ResetPlan:
    target = course.root / module.package_file
    present = exported(course)
    done = store.load(course.root, course).completed()
    users = [m for m in dependents(course, module) if m.slug in done and m.slug in present]
    if is_edition(course.root):
        export = REMOVED if target.is_file() else UNCHANGED
    else:
        export = UNCHANGED if read_bytes(target) == reference_package(course, module) else REFERENCE
    stops = [module, *users] if export == REMOVED else []
    path = notebook_path(course.root, module)
    return ResetPlan(module, path, path.exists(), export, users, stops)


def reference_package(course: Course, module: Module) -> bytes:
    return render_reference(course, module).encode()


def reset(course: Course, module: Module) -> dict:
    """Workspace notebook back to the release (backed up), package file back to the reference export (removed
    in a student edition, which has no reference code), completion forgotten. Returns the backups made."""
    done: dict[str, Path | None] = {"notebook_backup": restore_from_release(course, module), "package_backup": None}
    target = course.root / module.package_file
    reference = None if is_edition(course.root) else reference_package(course, module)
    current = read_bytes(target)
    if current != reference:
        if current is not None:
            done["package_backup"] = backup_file(course.root, target, "reset", keep=KEEP)
        if reference is None:
            target.unlink()
        else:
            atomic_write(target, reference, read_only=True)
    store.forget_completion(course.root, module.slug, course)
    return done


def restore_locked_cells(course: Course, module: Module) -> tuple[list[str], Path]:
    """Put every locked/graded cell back as released; the student's own cells are untouched."""
    from .notebook import nbgrader_meta
    from .workspace import release_notebook

    path, notebook = workspace_notebook(course, module)
    release = json.loads(release_notebook(course, module).read_text(encoding="utf-8"))
    originals = {nbgrader_meta(c).get("grade_id"): c for c in release["cells"]
                 if nbgrader_meta(c).get("locked") or (nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution"))}
    restored, cells, present = [], [], set()
    for cell in notebook["cells"]:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in originals:
            present.add(gid)
            if cell.get("source") != originals[gid]["source"] or cell.get("metadata") != originals[gid]["metadata"]:
                cell = dict(cell, source=originals[gid]["source"], metadata=originals[gid]["metadata"])
                restored.append(gid)
        cells.append(cell)
    # A deleted locked cell goes back where it was: after the nearest cell that precedes it in the release
    # and is still in the notebook (matched by cell id, else grade id), or first if none is left.
    def key(cell: dict):
        return cell.get("id") or nbgrader_meta(cell).get("grade_id")

    release_cells = release["cells"]
    for gid, original in originals.items():
        if gid in present:
            continue
        at = next(i for i, c in enumerate(release_cells) if nbgrader_meta(c).get("grade_id") == gid)
        position = 0
        for earlier in reversed(release_cells[:at]):
            k = key(earlier)
            found = next((i for i, c in enumerate(cells) if k is not None and key(c) == k), None)
            if found is not None:
                position = found + 1
                break
        cells.insert(position, dict(original, outputs=[], execution_count=None)
                     if original.get("cell_type") == "code" else dict(original))
        restored.append(gid)
    backup = backup_notebook(course.root, path, "locked-cells")
    if restored:
        atomic_write(path, json.dumps(dict(notebook, cells=cells), indent=1, ensure_ascii=False) + "\n")
    return restored, backup
