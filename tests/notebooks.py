"""Test helpers that act like a student editing a notebook."""
from __future__ import annotations

import json
from pathlib import Path

from tito.render.package import export_code


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def save(nb: dict, path: Path) -> Path:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return Path(path)


def source_of(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def fill_solutions(student_nb: dict, reference_nb: dict) -> dict:
    """Write the reference code into every solution cell, as a student who solved everything would."""
    reference = {grade_id(c): source_of(c) for c in reference_nb["cells"] if grade_id(c)}
    for cell in student_nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and cell["cell_type"] == "code":
            keep = [l for l in reference[meta["grade_id"]].split("\n") if l.lstrip().startswith("#|")]
            body = export_code(reference[meta["grade_id"]])
            cell["source"] = "\n".join(keep + [body])
    return student_nb


def edit_cell(nb: dict, gid: str, new_source: str) -> dict:
    for cell in nb["cells"]:
        if grade_id(cell) == gid:
            cell["source"] = new_source
            return nb
    raise KeyError(gid)
