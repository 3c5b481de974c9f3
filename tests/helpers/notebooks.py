"""Reading, writing and editing notebooks as JSON, as a student's editor would."""
from __future__ import annotations

import json
from pathlib import Path

from tito.core.render.package import export_code


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


def fill_solutions(student_nb: dict, reference_nb: dict, extra: str = "", body: str | None = None) -> dict:
    """Write the reference code into every solution cell, as a student who solved everything would.

    `extra` is appended to every solution; `body` replaces the solution code (`#|` directives are kept).
    """
    reference = {grade_id(c): source_of(c) for c in reference_nb["cells"] if grade_id(c)}
    for cell in student_nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and cell["cell_type"] == "code":
            full = reference[meta["grade_id"]]
            keep = [line for line in full.split("\n") if line.lstrip().startswith("#|")]
            code = export_code(full) if body is None else body
            cell["source"] = "\n".join(keep + [code + extra])
    return student_nb


def edit_cell(nb: dict, gid: str, new_source: str) -> dict:
    for cell in nb["cells"]:
        if grade_id(cell) == gid:
            cell["source"] = new_source
            return nb
    raise KeyError(gid)
