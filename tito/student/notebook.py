"""Reading, validating and exporting the student's own notebook.

Validation finds every problem before anything runs: the file must be a notebook (valid JSON), each
locked or graded cell must still match the checksum nbgrader stored when it released the module
(a student who edits a test would be grading themselves), and every code cell must be valid Python.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..course import Module
from ..errors import TitoError
from ..render.package import Chunk, export_code
from ..source import DIRECTIVE

# IPython-only lines (magics, shell escapes, help) are not Python; blank them before compiling.
IPYTHON_LINE = re.compile(r"^\s*(%|!|\?)|\?\s*$")


class NotebookError(TitoError):
    """The workspace notebook cannot be used (not JSON, edited tests, syntax errors); nothing was changed."""


@dataclass(frozen=True)
class CellProblem:
    cell: str  # grade_id or "cell N"
    message: str
    fix: str = ""


def read_notebook(path: Path) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotebookError(f"{path} does not exist") from None
    except UnicodeDecodeError:
        raise NotebookError(f"{path} is not a text file; restore it with `tito module reset --restore`") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}). The file was damaged "
                            "outside Jupyter; restore a backup (`tito module reset NN --list-backups`)") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError(f"{path} is JSON but not a notebook (no `cells` list)")
    return data


def source_of(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def nbgrader_meta(cell: dict) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def cell_name(cell: dict, index: int) -> str:
    return nbgrader_meta(cell).get("grade_id") or f"cell {index + 1}"


def is_test_cell(cell: dict) -> bool:
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _compute_checksum():
    """nbgrader's own `compute_checksum`, without importing the nbgrader package (its __init__ loads the
    server extensions, over a second). nbgrader/utils.py itself only needs light imports."""
    import sys

    loaded = sys.modules.get("nbgrader.utils")
    if loaded is not None:
        return loaded.compute_checksum
    import importlib.util

    from .. import fastimport

    fastimport.prepare()
    spec = importlib.util.find_spec("nbgrader")
    if spec is None or not spec.submodule_search_locations:
        raise TitoError("nbgrader is not installed; run `pip install -e '.[student]'`")
    utils = Path(list(spec.submodule_search_locations)[0]) / "utils.py"
    name = "_tito_nbgrader_utils"
    if name not in sys.modules:
        module_spec = importlib.util.spec_from_file_location(name, utils)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name].compute_checksum


def checksum_problems(notebook: dict, module: Module, release: dict | None = None) -> list[CellProblem]:
    """Locked/graded cells whose content no longer matches nbgrader's checksum, or that were deleted."""
    from nbformat import from_dict

    compute = _compute_checksum()
    problems = []
    seen = set()
    restore = (f"undo your edit (the original is in {module.release_file}), or run "
               f"`tito module reset {module.id} --locked-cells` to restore every locked cell (your notebook is backed up)")
    for index, cell in enumerate(notebook["cells"]):
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        seen.add(meta.get("grade_id"))
        if not (meta.get("grade") or meta.get("locked")) or meta.get("solution"):
            continue
        stored = meta.get("checksum")
        if stored is None:
            continue  # cells released without a checksum cannot be checked
        node = from_dict({"cell_type": cell.get("cell_type"), "source": source_of(cell),
                          "metadata": cell.get("metadata", {})})
        try:
            ok = compute(node) == stored
        except (KeyError, ValueError, TypeError):
            ok = False
        if not ok:
            kind = "test cell" if is_test_cell(cell) else "locked cell"
            problems.append(CellProblem(cell_name(cell, index), f"this {kind} was edited (it no longer matches the "
                                        "released version); tests must stay as released", restore))
    for cell in (release or {}).get("cells", []):
        gid = nbgrader_meta(cell).get("grade_id")
        if gid and gid not in seen and (is_test_cell(cell) or nbgrader_meta(cell).get("locked")):
            problems.append(CellProblem(gid, "this graded cell was deleted from your notebook", restore))
    return problems


def python_source(source: str) -> str:
    return "\n".join("" if IPYTHON_LINE.search(line) else line for line in source.split("\n"))


def syntax_problems(notebook: dict) -> list[CellProblem]:
    problems = []
    for index, cell in enumerate(notebook["cells"]):
        if cell.get("cell_type") != "code":
            continue
        try:
            ast.parse(python_source(source_of(cell)))
        except SyntaxError as exc:
            line = (exc.text or "").rstrip()
            problems.append(CellProblem(cell_name(cell, index), f"Python syntax error on line {exc.lineno} of the "
                                        f"cell: {exc.msg}" + (f": `{line.strip()}`" if line else ""),
                                        "fix that line in Jupyter and save the notebook"))
    return problems


def validate(notebook: dict, module: Module, release: dict | None = None) -> list[CellProblem]:
    return checksum_problems(notebook, module, release) + syntax_problems(notebook)


def is_exported(cell: dict) -> bool:
    if cell.get("cell_type") != "code":
        return False
    return any((m := DIRECTIVE.match(line)) and m.group("name") == "export" for line in source_of(cell).split("\n"))


def student_chunks(notebook: dict, origin: str) -> list[Chunk]:
    """The student's `#| export` cells, in notebook order, as the package renderer takes them."""
    return [Chunk(f"{origin} {cell_name(cell, i)}", export_code(python_source(source_of(cell))))
            for i, cell in enumerate(notebook["cells"]) if is_exported(cell)]


def render_student_package(module: Module, notebook: dict, origin: str) -> str:
    from ..render.package import render_package

    chunks = student_chunks(notebook, origin)
    if not chunks:
        raise NotebookError(f"your notebook has no `#| export` cells, so there is nothing to put into "
                            f"{module.package_file}; restore them from {module.release_file}")
    return render_package(module, chunks, origin=origin,
                          how_to_regenerate=f"Exported from your notebook by `tito module complete {module.id}`; "
                                            "edit the notebook and complete the module again.")
