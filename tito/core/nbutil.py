"""Notebook helpers every part of tito shares: reading, cell sources and names, nbgrader checksums.

Plain data in, plain data out (notebooks are the JSON dicts nbformat writes); nbformat and nbgrader are
imported only by the functions that need them, so importing this module stays cheap.
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import TitoError

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # colour codes in tracebacks and tool output
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def joined(value) -> str:
    """An nbformat multiline string (a cell's source, an output's text) as one string: files store a list
    of lines, nbformat in memory a string."""
    return "".join(value) if isinstance(value, list) else str(value)


def source_of(cell: dict) -> str:
    return joined(cell.get("source", ""))


def as_node(notebook: dict):
    """A NotebookNode (a deep copy) with each cell's source and each output's text joined into one string, as
    nbformat.read gives it. The notebook is a v4 dict that tito made or already read: nbformat's schema
    validation (about 60 ms on first use, to compile its validator) is skipped."""
    from . import fastimport

    fastimport.prepare()
    import nbformat
    from nbformat.v4.rwbase import rejoin_lines

    return rejoin_lines(nbformat.from_dict(json.loads(json.dumps(notebook))))


# --- cells ----------------------------------------------------------------------------------------


def nbgrader_meta(cell: dict) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def is_test_cell(cell: dict) -> bool:
    """An autograded test: graded, not an answer the student writes."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_protected(cell: dict) -> bool:
    """A cell the student must leave as released (tests and locked cells), so its checksum must hold."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("locked") or meta.get("grade")) and not meta.get("solution")


def cell_id(cell: dict, index: int) -> str:
    """The cell's grade id, else its 1-based position ("cell 7")."""
    return nbgrader_meta(cell).get("grade_id") or f"cell {index + 1}"


def heading(cell: dict) -> str | None:
    """The last heading of a markdown cell (the section the cells after it belong to)."""
    if cell.get("cell_type") != "markdown":
        return None
    found = None
    fenced = False
    for line in source_of(cell).split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and (m := HEADING.match(line)):
            found = m.group(2).strip()
    return found


def cell_name(cells: list[dict], index: int) -> str:
    """How a person finds the cell in JupyterLab: `Section › grade-id`, or `Section › code cell 2` (the
    2nd code cell after that heading) for a cell without a grade id. JupyterLab shows headings, not numbers."""
    if not 0 <= index < len(cells):
        return f"cell {index + 1}"
    section, position = None, 0
    for cell in cells[: index + 1]:
        title = heading(cell)
        if title is not None:
            section, position = title, 0
        elif cell.get("cell_type") == "code":
            position += 1
    gid = nbgrader_meta(cells[index]).get("grade_id")
    if gid:
        own = gid
    elif cells[index].get("cell_type") == "code":
        own = f"code cell {position}"
    else:
        own = f"cell {index + 1}"
    return f"{section} › {own}" if section else own


# --- files ----------------------------------------------------------------------------------------


def read_notebook(path: Path, error: type[TitoError] = TitoError, hint: str = "", schema: bool = False) -> dict:
    """The notebook at `path` as a dict; `error` (naming file, line and `hint`) when it cannot be one.
    `schema=True` also validates it against the nbformat schema."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such notebook") from None
    return parse_notebook(data, path, error, hint, schema)


def parse_notebook(data: bytes, path: Path, error: type[TitoError] = TitoError, hint: str = "",
                   schema: bool = False) -> dict:
    """`read_notebook` on bytes already read from `path` (what was checked is then exactly what was read)."""
    suffix = f"; {hint}" if hint else ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{path} is not a text file, so not a valid notebook{suffix}") from None
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as exc:
        # the text ends inside a string or where more JSON must follow: the file stops before the notebook does
        cut = exc.msg.startswith("Unterminated string") or exc.pos >= len(text.rstrip())
        why = ("the file ends before the notebook does: it was cut off (a crash, a full disk, an interrupted copy)"
               if cut else "the file was damaged outside Jupyter")
        raise error(f"{path}:{exc.lineno}:{exc.colno}: not a valid notebook: not valid JSON ({exc.msg}); "
                    f"{why}{suffix}") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise error(f"{path} is JSON but not a valid notebook (no `cells` list){suffix}")
    if schema:
        from . import fastimport

        fastimport.prepare()
        import nbformat

        try:
            nbformat.validate(nbformat.from_dict(notebook))
        except nbformat.ValidationError as exc:
            raise error(f"{path}: not a valid notebook ({exc.message}){suffix}") from None
    return notebook


# --- nbgrader checksums ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    index: int
    grade_id: str
    stored: str | None  # None: the cell carries no checksum at all


def nbgrader_checksum():
    """nbgrader's own `compute_checksum`, without importing the nbgrader package (its __init__ loads the
    server extensions, over a second). nbgrader/utils.py itself only needs light imports."""
    loaded = sys.modules.get("nbgrader.utils")
    if loaded is not None:
        return loaded.compute_checksum
    import importlib.util

    from . import fastimport

    fastimport.prepare()
    name = "_tito_nbgrader_utils"
    if name not in sys.modules:
        spec = importlib.util.find_spec("nbgrader")
        if spec is None or not spec.submodule_search_locations:
            raise TitoError("nbgrader is not installed; run `pip install -e '.[student]'`")
        utils = Path(list(spec.submodule_search_locations)[0]) / "utils.py"
        module_spec = importlib.util.spec_from_file_location(name, utils)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name].compute_checksum


def checksum_mismatches(notebook: dict) -> list[Mismatch]:
    """Protected cells (tests, locked cells) whose content no longer matches the checksum nbgrader stored
    when it released them, or that carry none."""
    from nbformat import from_dict

    compute = nbgrader_checksum()
    found = []
    for index, cell in enumerate(notebook["cells"]):
        if not is_protected(cell):
            continue
        stored = nbgrader_meta(cell).get("checksum")
        ok = False
        if stored is not None:
            node = from_dict({"cell_type": cell.get("cell_type"), "source": source_of(cell),
                              "metadata": cell.get("metadata", {})})
            try:
                ok = compute(node) == stored
            except (KeyError, ValueError, TypeError):
                ok = False
        if not ok:
            found.append(Mismatch(index, nbgrader_meta(cell).get("grade_id") or f"cell {index + 1}", stored))
    return found
