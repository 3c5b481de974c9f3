"""Reading, validating and exporting the student's own notebook.

Validation finds every problem before anything runs: the file must be a notebook (valid JSON), each
locked or graded cell must still match the checksum nbgrader stored when it released the module
(a student who edits a test would be grading themselves), and every code cell must be valid Python.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from ..core import nbutil
from ..core.course import Module
from ..core.errors import TitoError
from ..core.nbutil import cell_id, cell_name, is_test_cell, nbgrader_meta, source_of
from ..core.render.package import Chunk, export_code
from ..core.source import DIRECTIVE

# IPython-only lines (magics, shell escapes, help) are not Python; blank them before compiling.
IPYTHON_LINE = re.compile(r"^\s*(%|!|\?)|\?\s*$")


class NotebookError(TitoError):
    """The workspace notebook cannot be used (not JSON, edited tests, syntax errors); nothing was changed."""


@dataclass(frozen=True)
class CellProblem:
    cell: str  # "Section › grade-id" (nbutil.cell_name)
    message: str
    fix: str = ""


def notebook_problem(path: Path, shown: str | None = None) -> str | None:
    """Why the file at `path` (named `shown` in the message) is not a usable notebook (None: it is one)."""
    try:
        nbutil.parse_notebook(Path(path).read_bytes(), Path(shown or path), NotebookError)
    except NotebookError as exc:
        return str(exc)
    except OSError as exc:
        return f"{path}: cannot be read ({exc.strerror or exc})"
    return None


def checksum_problems(notebook: dict, module: Module, release: dict | None = None) -> list[CellProblem]:
    """Locked/graded cells whose content no longer matches nbgrader's checksum, or that were deleted."""
    restore = (f"undo your edit (the original is in {module.release_file}), or run "
               f"`tito module reset {module.id} --locked-cells` to restore every locked cell (your notebook is backed up)")
    cells = notebook["cells"]
    problems = []
    for found in nbutil.checksum_mismatches(notebook):
        if found.stored is None:
            continue  # cells released without a checksum cannot be checked
        kind = "test cell" if is_test_cell(cells[found.index]) else "locked cell"
        problems.append(CellProblem(cell_name(cells, found.index), f"this {kind} was edited (it no longer matches "
                                    "the released version); tests must stay as released", restore))
    seen = {nbgrader_meta(c).get("grade_id") for c in cells}
    release_cells = (release or {}).get("cells", [])
    for index, cell in enumerate(release_cells):
        gid = nbgrader_meta(cell).get("grade_id")
        if gid and gid not in seen and nbutil.is_protected(cell):
            problems.append(CellProblem(cell_name(release_cells, index), "this graded cell was deleted from your "
                                        "notebook", restore))
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
            problems.append(CellProblem(cell_name(notebook["cells"], index), f"Python syntax error on line {exc.lineno} of the "
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
    return [Chunk(f"{origin} {cell_id(cell, i)}", export_code(python_source(source_of(cell))))
            for i, cell in enumerate(notebook["cells"]) if is_exported(cell)]


def render_student_package(module: Module, notebook: dict, origin: str) -> str:
    from ..core.render.package import render_package

    chunks = student_chunks(notebook, origin)
    if not chunks:
        raise NotebookError(f"your notebook has no `#| export` cells, so there is nothing to put into "
                            f"{module.package_file}; restore them from {module.release_file}")
    return render_package(module, chunks, origin=origin,
                          how_to_regenerate=f"Exported from your notebook by `tito module complete {module.id}`; "
                                            "edit the notebook and complete the module again.")
