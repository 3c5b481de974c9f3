"""Mutants: known wrong implementations, declared in the source next to the solution they mutate.

A mutant cell (`# %% mutant={"name": ..., "target": ...}`, see AUTHORING.md) names a solution cell by
grade_id and gives wrong code for one of its `### BEGIN SOLUTION` regions, or for an exact piece of it.
This module holds the pure text transformation: apply a mutant to a cell's source, or to a whole
notebook. It imports nothing from tito, so the parser (tito/core/source.py) can lint mutants with it.
"""
from __future__ import annotations

import copy
import re
import textwrap
from dataclasses import dataclass

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_SOLUTION_EDGE = re.compile(r"^\s*###\s*(BEGIN|END)\s+SOLUTION\s*$")


class MutantError(ValueError):
    """A mutant that cannot be applied; the message says why (the caller adds file and line)."""


@dataclass(frozen=True)
class Mutant:
    name: str
    target: str  # grade_id of the solution cell
    region: int  # index of the solution region in that cell
    replace: str | None  # exact piece of the (dedented) region to replace; None: the whole region
    catches: tuple[str, ...]  # graded cells of which one must fail; empty: any graded cell
    code: str  # the wrong code, dedented, description comments removed
    description: str  # the body's leading `#` comment lines, without the `#`
    line: int  # source-file line of the `# %% mutant=` marker

    @property
    def label(self) -> str:
        return f"{self.name} (-> {self.target})"


def split_body(body: str) -> tuple[str, str]:
    """(description, code): leading `#` comment lines describe the mistake; the rest is the wrong code."""
    lines = body.strip("\n").split("\n")
    described = []
    while lines and lines[0].lstrip().startswith("#"):
        described.append(lines.pop(0).lstrip()[1:].strip())
    return " ".join(d for d in described if d), textwrap.dedent("\n".join(lines)).strip("\n")


def _regions(lines: list[str]) -> list[tuple[int, int]]:
    """(begin, end) line indices of each `### BEGIN/END SOLUTION` pair."""
    out, start = [], None
    for index, line in enumerate(lines):
        m = _SOLUTION_EDGE.match(line)
        if not m:
            continue
        if m.group(1) == "BEGIN":
            start = index
        elif start is not None:
            out.append((start, index))
            start = None
    return out


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _line_blocks(region: str, piece: str) -> list[tuple[int, str]]:
    """(first line, indentation) of every run of whole lines equal to `piece` indented as one block.

    Lets a multi-line `replace` be written dedented even when it sits inside a loop or branch.
    """
    want = textwrap.dedent(piece.strip("\n")).split("\n")
    lines = region.split("\n")
    found = []
    for start in range(len(lines) - len(want) + 1):
        indent = _indent_of(lines[start])
        block = lines[start:start + len(want)]
        if all((w == "" and b.strip() == "") or b == indent + w for w, b in zip(want, block)):
            found.append((start, indent))
    return found


def _replace_piece(region: str, piece: str, code: str) -> str:
    count = region.count(piece)
    if count == 0 and "\n" in piece.strip("\n"):
        blocks = _line_blocks(region, piece)
        if len(blocks) == 1:
            (start, indent), lines = blocks[0], region.split("\n")
            n = len(piece.strip("\n").split("\n"))
            new = [(indent + l) if l.strip() else l for l in code.split("\n")] if code.strip() else []
            return "\n".join(lines[:start] + new + lines[start + n:])
        count = len(blocks)
    if count == 0:
        raise MutantError(f"`replace` text {piece!r} does not occur in solution region")
    if count > 1:
        raise MutantError(f"`replace` text {piece!r} occurs {count} times in the solution region")
    at = region.index(piece)
    # A multi-line replacement continues at the indentation of the line where the piece starts.
    line_start = region.rfind("\n", 0, at) + 1
    indent = _indent_of(region[line_start:])
    code_lines = code.split("\n")
    code = "\n".join([code_lines[0]] + [(indent + l) if l.strip() else l for l in code_lines[1:]])
    return region[:at] + code + region[at + len(piece):]


def mutate_source(source: str, mutant: Mutant) -> str:
    """`source` (a solution cell) with the mutant's code in place of its region (or of the `replace` piece)."""
    lines = source.split("\n")
    regions = _regions(lines)
    if not regions:
        raise MutantError(f"cell `{mutant.target}` has no `### BEGIN SOLUTION` region")
    if not 0 <= mutant.region < len(regions):
        raise MutantError(f"region {mutant.region} does not exist: cell `{mutant.target}` has "
                          f"{len(regions)} solution region(s), numbered from 0")
    begin, end = regions[mutant.region]
    inner = lines[begin + 1:end]
    indent = _indent_of(lines[begin])
    dedented = textwrap.dedent("\n".join(inner))
    if mutant.replace is not None:
        new = _replace_piece(dedented, mutant.replace, mutant.code)
    else:
        new = mutant.code
    body = [(indent + l) if l.strip() else "" for l in new.split("\n")]
    return "\n".join(lines[:begin + 1] + body + lines[end:])


def _source_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def apply_to_notebook(notebook: dict, mutant: Mutant) -> dict:
    """A copy of `notebook` (the full nbgrader source notebook) with `mutant` applied to its target cell."""
    out = copy.deepcopy(notebook)
    for cell in out.get("cells", []):
        if (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id") == mutant.target:
            text = mutate_source(_source_text(cell), mutant)
            cell["source"] = text.splitlines(keepends=True)
            return out
    raise MutantError(f"the notebook has no cell with grade_id `{mutant.target}`")


def graded_ids(notebook: dict) -> list[str]:
    """grade_ids of the notebook's autograded test cells, in order."""
    ids = []
    for cell in notebook.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
            ids.append(meta.get("grade_id"))
    return ids


def truncate_after(notebook: dict, grade_ids: set[str]) -> dict:
    """`notebook` without the cells after the last of `grade_ids` (they cannot decide a mutant's fate)."""
    cells = notebook.get("cells", [])
    last = max((i for i, c in enumerate(cells)
                if (c.get("metadata", {}).get("nbgrader") or {}).get("grade_id") in grade_ids), default=len(cells) - 1)
    return dict(notebook, cells=cells[:last + 1])
