"""`tito module refresh NN`: rebuild the student's notebook from an updated release, keeping their work.

The new release is the skeleton. Into it go, cell by cell:
- the student's code of every solution cell, matched by nbgrader `grade_id`;
- every cell the student added or edited (anything that is not release content as released), placed
  after the release cell it followed.
Release content the student never touched is replaced by its new version. A solution cell whose
grade_id the new release no longer has cannot be placed: it is kept at the end of the notebook and
reported. The old notebook is backed up first; nothing the student wrote is dropped.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..core.course import Course, Module
from ..core.errors import TitoError
from ..core.fsutil import atomic_write
from .notebook import nbgrader_meta, source_of
from .recovery import read_notebook
from .workspace import backup_notebook, base_path, notebook_path, record_base, release_notebook


@dataclass
class Refresh:
    module: Module
    path: Path
    backup: Path | None = None
    carried: list[str] = field(default_factory=list)  # solution cells whose code moved into the new release
    kept: list[str] = field(default_factory=list)  # the student's own or edited cells, kept in place
    unplaced: list[str] = field(default_factory=list)  # cells kept at the end: no place in the new release
    relocked: list[str] = field(default_factory=list)  # locked cells the student had edited: back as released
    changed: bool = False  # False: the notebook already matched the release it came from


def _label(cell: dict, index: int) -> str:
    gid = nbgrader_meta(cell).get("grade_id")
    first = next((l.strip() for l in source_of(cell).split("\n") if l.strip()), "(empty)")
    return gid or f"cell {index + 1} ({first[:40]})"


def _fresh(cell: dict) -> dict:
    cell = copy.deepcopy(cell)
    if cell.get("cell_type") == "code":
        cell["outputs"], cell["execution_count"] = [], None
    return cell


def _own(cell: dict) -> dict:
    """A kept student cell: no nbgrader metadata (a copied grade_id would clash with the release's)."""
    cell = _fresh(cell)
    cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k != "nbgrader"}
    return cell


def _with_source(release_cell: dict, student_cell: dict) -> dict:
    cell = _fresh(release_cell)
    cell["source"] = student_cell.get("source", "")
    return cell


def merge(student: dict, new: dict, base: dict | None) -> tuple[dict, Refresh]:
    """(merged notebook, what happened) without touching any file; `base` is the release the student started from."""
    report = Refresh(module=None, path=Path())  # type: ignore[arg-type]
    new_cells = new.get("cells", [])
    by_gid = {nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(new_cells) if nbgrader_meta(c).get("grade_id")}
    by_id = {c.get("id"): i for i, c in enumerate(new_cells) if c.get("id")}
    released = {(c.get("id"), source_of(c)) for c in (base or {}).get("cells", [])}
    released_sources = {source_of(c) for c in (base or {}).get("cells", [])}
    merged = [_fresh(c) for c in new_cells]
    after: dict[int, list[dict]] = {}  # student cells to insert after release cell i (-1: at the top)
    tail: list[dict] = []
    anchor = -1
    for index, cell in enumerate(student.get("cells", [])):
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if gid in by_gid:
            j = by_gid[gid]
            anchor = j
            target = nbgrader_meta(new_cells[j])
            if target.get("solution") and not target.get("locked"):
                merged[j] = _with_source(new_cells[j], cell)
                if source_of(cell) != source_of(new_cells[j]):
                    report.carried.append(gid)
            elif source_of(cell) != source_of(new_cells[j]) and (cell.get("id"), source_of(cell)) not in released:
                report.relocked.append(gid)
            continue
        if gid and meta.get("solution"):  # the student's answer, but the new release has no such cell
            tail.append(_own(cell))
            report.unplaced.append(_label(cell, index))
            continue
        as_released = (cell.get("id"), source_of(cell)) in released or (
            cell.get("id") not in by_id and source_of(cell) in released_sources)
        if cell.get("id") in by_id:
            j = by_id[cell.get("id")]
            anchor = j
            if source_of(cell) == source_of(new_cells[j]) or as_released:
                continue  # release content: its new version is already there
            if nbgrader_meta(new_cells[j]).get("locked"):
                report.relocked.append(_label(cell, index))  # a locked (test) cell is the course's, not the student's
                continue
            after.setdefault(j, []).append(_own(cell))  # the student edited a release cell: keep the edit next to it
            report.kept.append(_label(cell, index))
            continue
        if as_released or not source_of(cell).strip():
            continue  # old release content the new release replaced, or an empty cell
        after.setdefault(anchor, []).append(_own(cell))
        report.kept.append(_label(cell, index))
    cells = list(after.get(-1, []))
    for j, cell in enumerate(merged):
        cells.append(cell)
        cells.extend(after.get(j, []))
    if tail:
        cells.append({"cell_type": "markdown", "id": "tito-refresh-unplaced", "metadata": {},
                      "source": "## Your cells that the updated module no longer has a place for\n"
                                "`tito module refresh` kept them here; move what you need into the cells above."})
        cells.extend(tail)
    notebook = dict(copy.deepcopy(new), cells=cells)
    return notebook, report


def refresh(course: Course, module: Module) -> Refresh:
    path = notebook_path(course.root, module)
    if not path.exists():
        raise TitoError(f"you have no notebook for {module.slug}; run `tito module start {module.id}`")
    student = read_notebook(path, course.root, module)
    release_file = release_notebook(course, module)
    release_bytes = release_file.read_bytes()
    new = json.loads(release_bytes)
    base_file = base_path(course.root, module)
    base = json.loads(base_file.read_text(encoding="utf-8")) if base_file.is_file() else None
    if base_file.is_file() and base_file.read_bytes() == release_bytes:
        return Refresh(module, path)  # the release has not changed since the notebook was made
    notebook, report = merge(student, new, base)
    report.module, report.path = module, path
    text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    report.changed = text != path.read_text(encoding="utf-8")
    if report.changed:
        report.backup = backup_notebook(course.root, path, "refresh")
        atomic_write(path, text)
    record_base(course.root, module, release_bytes)
    return report
