"""Parse and lint one course source file (`src/NN_name/NN_name.py`, jupytext percent format).

jupytext does the parsing; this module adds what the course needs on top: the line in the
source file where every cell and every line starts, the nbgrader role of each cell, the nbdev
style directives (`#| export`, `#| default_exp`, `#| hide`, `#| hide_output`), the solution and
hidden-test regions, and the lint rules of AUTHORING.md. All problems are collected and
reported together; nothing here writes files.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .config import LEGACY
from .errors import Problem
from .mutants import NAME as MUTANT_NAME
from .mutants import Mutant, MutantError, mutate_source, split_body

MARKER = re.compile(r"^# %%(?P<rest>.*)$")
DIRECTIVE = re.compile(r"^\s*#\|\s*(?P<name>[\w-]+)\s*(?P<arg>.*?)\s*$")
IMPORT = re.compile(r"^\s*(import\s+\w|from\s+[\w.]+\s+import\b)")
REGION = re.compile(r"^\s*###\s*(?P<edge>BEGIN|END)\s+(?P<kind>SOLUTION|HIDDEN TESTS)\s*$")
KNOWN_DIRECTIVES = {"export", "default_exp", "hide", "hide_output"}
# libyaml's safe loader when PyYAML was built with it (several times faster), else the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
JUPYTEXT_CELL_KEYS = {"lines_to_next_cell", "cell_marker", "lines_to_end_of_cell_marker"}


@dataclass(frozen=True)
class Region:
    """A `### BEGIN X` .. `### END X` block; indices are into the cell's source lines."""

    kind: str  # "solution" or "hidden"
    begin: int
    end: int
    line: int  # source-file line of the BEGIN marker


@dataclass
class Cell:
    kind: str  # "markdown" | "code" | "raw"
    source: str
    metadata: dict
    line: int  # source-file line of the `# %%` marker (1 for an implicit first cell)
    body_line: int  # source-file line of the first source line
    directives: dict[str, str] = field(default_factory=dict)
    regions: list[Region] = field(default_factory=list)

    @property
    def nbgrader(self) -> dict:
        return self.metadata.get("nbgrader") or {}

    @property
    def grade_id(self) -> str | None:
        return self.nbgrader.get("grade_id")

    @property
    def is_solution(self) -> bool:
        return bool(self.nbgrader.get("solution"))

    @property
    def is_graded(self) -> bool:
        return bool(self.nbgrader.get("grade"))

    @property
    def is_test(self) -> bool:
        """An autograded test cell: graded, locked code that is not itself an answer."""
        return self.kind == "code" and self.is_graded and not self.is_solution

    @property
    def points(self) -> float:
        return float(self.nbgrader.get("points") or 0)

    @property
    def exported(self) -> bool:
        return self.kind == "code" and "export" in self.directives

    @property
    def lines(self) -> list[str]:
        return self.source.split("\n")

    def region_lines(self, kind: str) -> list[str]:
        """The lines strictly inside every region of `kind`."""
        out: list[str] = []
        for region in self.regions:
            if region.kind == kind:
                out.extend(self.lines[region.begin + 1 : region.end])
        return out

    def line_of(self, index: int) -> int:
        return self.body_line + index


@dataclass
class ParsedSource:
    path: Path
    header: dict  # the `jupyter:` mapping of the YAML header
    cells: list[Cell]
    problems: list[Problem]
    default_exp: str | None = None
    default_exp_line: int = 0
    # Mutant cells are taken out of `cells` (so no renderer can show them) and kept here.
    mutants: list[Mutant] = field(default_factory=list)
    mutant_cells: list[Cell] = field(default_factory=list)
    meta_key: str = LEGACY.header_key  # the header's course-metadata key (the course's package name)

    @property
    def course_meta(self) -> dict:
        meta = self.header.get(self.meta_key)
        return meta if isinstance(meta, dict) else {}

    def solution_lines(self) -> list[str]:
        return [l for c in self.cells for l in c.region_lines("solution")]

    def hidden_lines(self) -> list[str]:
        return [l for c in self.cells for l in c.region_lines("hidden")]

    def mutant_lines(self) -> list[str]:
        return [l for c in self.mutant_cells for l in c.lines]


def read_header(text: str, path: Path, key: str = LEGACY.header_key) -> tuple[dict, int, list[Problem]]:
    """The YAML header's `jupyter:` mapping, the number of header lines, and header problems; `key` is the
    course-metadata mapping under `jupyter:` (the course's package name)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "# ---":
        return {}, 0, [Problem(path, 1, "missing jupytext header (`# ---` block with `jupyter:` metadata)",
                               "start the file with the header shown in AUTHORING.md")]
    for end in range(1, len(lines)):
        if lines[end].strip() == "# ---":
            break
    else:
        return {}, 0, [Problem(path, 1, "jupytext header is never closed", "end the header with a `# ---` line")]
    body = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in lines[1:end])
    try:
        data = yaml.load(body, Loader=_YAML_LOADER) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return {}, end + 1, [Problem(path, line, f"malformed YAML in header: {reason}",
                                     "fix the indentation/quoting of this header line")]
    jupyter = data.get("jupyter") if isinstance(data, dict) else None
    if not isinstance(jupyter, dict):
        return {}, end + 1, [Problem(path, 2, "header has no `jupyter:` mapping",
                                     "put the notebook metadata under `jupyter:` as in AUTHORING.md")]
    meta = jupyter.get(key, {})
    if meta is not None and not isinstance(meta, dict):
        return jupyter, end + 1, [Problem(path, 2, f"`jupyter: {key}:` must be a mapping of course metadata",
                                          f"write `{key}:` followed by indented `key: value` lines")]
    # jupytext turns keys beside `jupyter:` into an extra raw cell at the top of the notebook.
    stray = [(i + 1, k) for i, l in enumerate(lines[1:end], start=1) for k in data
             if k != "jupyter" and re.match(rf"^#\s?{re.escape(str(k))}\s*:", l)]
    return jupyter, end + 1, [Problem(path, line, f"header key `{name}` is outside `jupyter:` (jupytext would add "
                                      "it to the notebook as an extra raw cell)",
                                      f"indent it under `jupyter:` / `{key}:`, or delete it") for line, name in stray]


QUOTES = ('"""', "'''")


def _is_blank(line: str) -> bool:
    return not line.strip()


def _same_line(file_line: str, cell_line: str, commented: bool) -> bool:
    """Does `file_line` hold `cell_line` as jupytext reads it? Markdown and raw cells are `#`-commented in
    the file; in code cells jupytext uncomments escaped magics (`# %timeit` -> `%timeit`)."""
    if file_line == cell_line:
        return True
    if commented:
        return file_line in ("# " + cell_line, "#" + cell_line) or (not cell_line and file_line.strip() == "#")
    return file_line in ("# " + cell_line, "#" + cell_line) and cell_line.lstrip().startswith(("%", "!", "?"))


def _locate(lines: list[str], nb_cells: list, start: int) -> tuple[list[tuple[int, int, str]], tuple[int, str] | None]:
    """Where each of jupytext's cells sits in the file: (marker line, first body line, marker options).

    One walk over the file in step with jupytext's cells: a cell's marker is the first line after the
    previous cell's body, and its body must hold the cell's lines there, so a `# %%` inside a string
    (which jupytext rightly leaves in its cell) cannot shift later cells. The second value is None, or
    (line, why) where the file and jupytext first disagree.
    """
    placed: list[tuple[int, int, str]] = []
    end = len(lines) - 1 if lines and lines[-1] == "" else len(lines)  # jupytext's count (str.splitlines)
    if start and start < end and lines[start].strip() in ("", "#"):
        start += 1  # jupytext's header takes the one blank line after it
    cursor = start  # 0-based index of the first line not yet accounted for
    for index, cell in enumerate(nb_cells):
        quoted = cell.cell_type == "markdown" and str(cell.metadata.get("cell_marker", "")).startswith(QUOTES)
        commented = cell.cell_type != "code" and not quoted
        if index == 0 and cursor < end and not MARKER.match(lines[cursor]):
            # Anything before the first `# %%`, blank lines included, is a cell of its own.
            marker, body, rest = cursor, cursor, ""
        else:
            while cursor < len(lines) and _is_blank(lines[cursor]):
                cursor += 1
            m = MARKER.match(lines[cursor]) if cursor < len(lines) else None
            if m is None:
                return placed, (min(cursor, len(lines) - 1) + 1,
                                f"jupytext reads a cell #{index + 1} here that does not start with a `# %%` line")
            marker, rest = cursor, m.group("rest")
            body = cursor + 1 + int(quoted)  # a `"""` markdown cell opens on the line after its marker
        cell_lines = str(cell.source).split("\n") if cell.source else []
        for offset, cell_line in enumerate(cell_lines):
            at = body + offset
            if at >= len(lines) or not _same_line(lines[at], cell_line, commented):
                found = lines[at].strip()[:60] if at < len(lines) else "<end of file>"
                return placed, (min(at, len(lines) - 1) + 1, f"jupytext reads `{cell_line.strip()[:60]}` in the cell "
                                f"starting at line {marker + 1}, but this line holds `{found}`")
        cursor = body + len(cell_lines) + int(quoted)
        placed.append((marker + 1, body + 1, rest))
    leftover = [i for i in range(cursor, len(lines)) if not _is_blank(lines[i])]
    if leftover:
        return placed, (leftover[0] + 1, "this line belongs to no cell jupytext reads")
    return placed, None


def _directives(cell: Cell, path: Path, problems: list[Problem]) -> None:
    for index, line in enumerate(cell.lines):
        m = DIRECTIVE.match(line)
        if not m:
            continue
        name, arg = m.group("name"), m.group("arg")
        if name not in KNOWN_DIRECTIVES:
            problems.append(Problem(path, cell.line_of(index), f"unknown directive `#| {name}`",
                                    f"use one of: {', '.join(sorted('#| ' + d for d in KNOWN_DIRECTIVES))}"))
            continue
        cell.directives[name] = arg


def _regions(cell: Cell, path: Path, problems: list[Problem]) -> None:
    open_region: tuple[str, int] | None = None
    for index, line in enumerate(cell.lines):
        m = REGION.match(line)
        if not m:
            continue
        kind = "solution" if m.group("kind") == "SOLUTION" else "hidden"
        label = m.group("kind")
        if m.group("edge") == "BEGIN":
            if open_region is not None:
                problems.append(Problem(path, cell.line_of(index), f"`### BEGIN {label}` nested inside another region "
                                        f"opened at line {cell.line_of(open_region[1])}",
                                        "close the first region with its `### END` line before opening another"))
                continue
            open_region = (kind, index)
        else:
            if open_region is None or open_region[0] != kind:
                problems.append(Problem(path, cell.line_of(index), f"`### END {label}` without a matching BEGIN",
                                        f"add `### BEGIN {label}` above it or delete this line"))
                continue
            cell.regions.append(Region(kind, open_region[1], index, cell.line_of(open_region[1])))
            open_region = None
    if open_region is not None:
        label = "SOLUTION" if open_region[0] == "solution" else "HIDDEN TESTS"
        problems.append(Problem(path, cell.line_of(open_region[1]), f"`### BEGIN {label}` is never closed",
                                f"add `### END {label}` at the end of the region"))


def _json_problem(payload: str, otherwise: str) -> str:
    """Why jupytext could not read `key=<payload>` cell options: the JSON error, or `otherwise` when the JSON is
    fine (then something else on the marker line is wrong)."""
    try:
        json.loads(payload)
    except json.JSONDecodeError as exc:
        return f"{exc.msg} at column {exc.colno}"
    return otherwise


def _nbgrader(cell: Cell, raw_options: str, path: Path, problems: list[Problem], seen: dict[str, int]) -> None:
    bad = cell.metadata.get("incorrectly_encoded_metadata")
    if bad is not None and "nbgrader" in bad:
        reason = _json_problem(raw_options.split("nbgrader=", 1)[-1].strip(), "could not be read as cell metadata")
        problems.append(Problem(path, cell.line, f"malformed JSON after `nbgrader=`: {reason}",
                                'write valid JSON, e.g. nbgrader={"grade": true, "grade_id": "test-x", "locked": true, '
                                '"points": 1, "schema_version": 3, "solution": false}'))
        return
    if bad is not None and "mutant=" in bad:
        return  # reported by _mutants with the mutant syntax
    if bad is not None:
        problems.append(Problem(path, cell.line, f"unreadable cell options `{bad}`",
                                "cell options are `key=<json>` pairs, e.g. nbgrader={...}"))
    meta = cell.metadata.get("nbgrader")
    if meta is None:
        return
    if not isinstance(meta, dict):
        problems.append(Problem(path, cell.line, "`nbgrader=` must be a JSON object", 'use nbgrader={"grade": ...}'))
        cell.metadata.pop("nbgrader")
        return
    if meta.get("schema_version") is None:
        problems.append(Problem(path, cell.line, "nbgrader metadata has no `schema_version`",
                                'add "schema_version": 3'))
    gid = meta.get("grade_id")
    if (meta.get("grade") or meta.get("solution") or meta.get("locked")) and not gid:
        problems.append(Problem(path, cell.line, "nbgrader cell has no `grade_id`", 'add a unique "grade_id": "..."'))
    if gid:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", str(gid)):
            problems.append(Problem(path, cell.line, f"grade_id `{gid}` has characters other than letters, digits, - and _",
                                    "rename it, e.g. `test-tensor-add`"))
        if gid in seen:
            problems.append(Problem(path, cell.line, f"duplicate grade_id `{gid}` (first used at line {seen[gid]})",
                                    "give every nbgrader cell its own grade_id"))
        else:
            seen[gid] = cell.line
    if meta.get("grade"):
        points = meta.get("points")
        if points is None:
            problems.append(Problem(path, cell.line, f"graded cell `{gid}` has no `points`", 'add "points": N'))
        elif not isinstance(points, (int, float)) or points < 0:
            problems.append(Problem(path, cell.line, f"graded cell `{gid}` has invalid points {points!r}",
                                    "points must be a non-negative number"))


def _cell_rules(cell: Cell, path: Path, problems: list[Problem]) -> None:
    if _is_mutant(cell):
        return  # a mutant body is a fragment of a solution region: _mutants lints it
    for region in cell.regions:
        if region.kind == "solution" and not cell.is_solution:
            problems.append(Problem(path, region.line, "solution region in a cell that is not a solution cell",
                                    'add nbgrader={"solution": true, "grade": false, "locked": false, '
                                    '"grade_id": "...", "schema_version": 3} to the cell marker'))
        if region.kind == "hidden" and not cell.is_graded:
            problems.append(Problem(path, region.line, "hidden tests outside a graded cell",
                                    'move them into a test cell marked nbgrader={"grade": true, "points": N, ...}'))
        if region.kind == "solution":
            for offset, line in enumerate(cell.lines[region.begin + 1 : region.end], start=region.begin + 1):
                if DIRECTIVE.match(line) and DIRECTIVE.match(line).group("name") == "default_exp":
                    problems.append(Problem(path, cell.line_of(offset), "`#| default_exp` inside a solution region",
                                            "move it to its own cell near the top of the module"))
                elif IMPORT.match(line):
                    problems.append(Problem(path, cell.line_of(offset), "import inside a solution region "
                                            "(the student's stub would lose it)",
                                            "move the import above `### BEGIN SOLUTION` or into an export cell"))
    opened = any((m := REGION.match(line)) and m.group("edge") == "BEGIN" and m.group("kind") == "SOLUTION"
                 for line in cell.lines)  # an unclosed region is already reported, once
    if cell.kind == "code" and cell.is_solution and not cell.is_graded and not cell.regions and not opened:
        problems.append(Problem(path, cell.line, f"solution cell `{cell.grade_id}` has no `### BEGIN SOLUTION` region "
                                "(nbgrader would replace the whole cell)",
                                "wrap the reference code in ### BEGIN SOLUTION / ### END SOLUTION"))
    if cell.is_test and "export" in cell.directives:
        problems.append(Problem(path, cell.line, f"`#| export` in graded test cell `{cell.grade_id}`",
                                "tests never go into the package: remove `#| export` or split the cell"))
    if cell.kind == "code":
        _syntax(cell, path, problems)
    if cell.is_test:
        _uncalled_tests(cell, path, problems)


def _uncalled_tests(cell: Cell, path: Path, problems: list[Problem]) -> None:
    """A test function a graded cell defines but never calls passes without testing anything."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.lines)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return  # reported by _syntax
    called = {node.func.id for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test") \
                and node.name not in called:
            problems.append(Problem(path, cell.line_of(node.lineno - 1),
                                    f"test function `{node.name}` is defined in graded cell `{cell.grade_id}` but "
                                    "never called there, so the cell passes without testing anything",
                                    f"call it at the end of the cell: `{node.name}()`"))


def _syntax(cell: Cell, path: Path, problems: list[Problem]) -> None:
    # IPython magics and shell escapes are not Python; blank them so line numbers stay put.
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.lines)
    try:
        compile(code, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = cell.line_of((exc.lineno or 1) - 1)
        problems.append(Problem(path, line, f"Python syntax error: {exc.msg}", "fix the code on this line"))


def parse_text(text: str, path: Path, key: str = LEGACY.header_key) -> ParsedSource:
    """Parse source text; `problems` lists every lint error found (empty when the file is valid). `key`: the
    course-metadata key of the header (`CourseConfig.header_key`)."""
    path = Path(path)
    # One line break per CRLF or lone CR, as editors and Python count them, so every line number holds.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    header, header_lines, problems = read_header(text, path, key)
    from .fastimport import prepare

    prepare()
    import jupytext  # imported here: it pulls in nbformat, which the manifest alone does not need

    try:
        notebook = jupytext.reads(text, fmt="py:percent")
    except Exception as exc:  # jupytext raises assorted errors on broken headers
        problems.append(Problem(path, 1, f"jupytext could not read the file: {exc}", "compare with AUTHORING.md"))
        return ParsedSource(path, header, [], problems, meta_key=key)
    nb_cells = list(notebook.cells)
    if nb_cells and nb_cells[0].cell_type == "raw" and str(nb_cells[0].source).startswith("---") and any(
            "outside `jupyter:`" in p.message for p in problems):
        nb_cells.pop(0)  # the header's stray keys, already reported; it has no lines of its own below the header
    placed, disagreement = _locate(text.split("\n"), nb_cells, header_lines)
    if disagreement:
        line, why = disagreement
        problems.append(Problem(path, line, f"cannot give exact source lines: {why}",
                                "look for an unclosed string, or a `# %%` line that is not a cell marker, near here"))
        return ParsedSource(path, header, [], problems, meta_key=key)
    cells: list[Cell] = []
    seen: dict[str, int] = {}
    for nb_cell, (line, body, rest) in zip(nb_cells, placed):
        # Plain dicts, not nbformat's NotebookNode: parses are cached and must unpickle without nbformat.
        metadata = json.loads(json.dumps({k: v for k, v in nb_cell.metadata.items() if k not in JUPYTEXT_CELL_KEYS}))
        cell = Cell(str(nb_cell.cell_type), str(nb_cell.source), metadata, line, body)
        _nbgrader(cell, rest, path, problems, seen)
        if cell.kind == "code":
            _directives(cell, path, problems)
            _regions(cell, path, problems)
        _cell_rules(cell, path, problems)
        cells.append(cell)
    parsed = ParsedSource(path, json.loads(json.dumps(header, default=str)), cells, problems, meta_key=key)
    _default_exp(parsed)
    _mutants(parsed)
    return parsed


def _default_exp(parsed: ParsedSource) -> None:
    path, problems = parsed.path, parsed.problems
    for cell in parsed.cells:
        if "default_exp" not in cell.directives:
            continue
        target = cell.directives["default_exp"]
        index = next(i for i, l in enumerate(cell.lines) if DIRECTIVE.match(l) and "default_exp" in l)
        if parsed.default_exp is not None:
            problems.append(Problem(path, cell.line_of(index), "second `#| default_exp`",
                                    f"a module exports to one place (first set at line {parsed.default_exp_line})"))
        elif not re.fullmatch(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*", target):
            problems.append(Problem(path, cell.line_of(index), f"`#| default_exp {target}` is not a dotted module path",
                                    "write e.g. `#| default_exp core.tensor`"))
        else:
            parsed.default_exp, parsed.default_exp_line = target, cell.line_of(index)
    if parsed.default_exp is None and not any(p.message.startswith("`#| default_exp") for p in problems):
        first_export = next((c for c in parsed.cells if c.exported), None)
        line = first_export.line if first_export else 1
        problems.append(Problem(path, line, "no `#| default_exp` in this module",
                                "add a code cell `#| default_exp core.<name>` near the top"))


def parse_file(path: Path, key: str = LEGACY.header_key) -> ParsedSource:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return ParsedSource(path, {}, [], [Problem(path, 1, f"not UTF-8 text: {exc}", "save the file as UTF-8")],
                            meta_key=key)
    return parse_text(text, path, key)


# --- mutants (AUTHORING.md, "Mutants") ------------------------------------------------------------
MUTANT_KEYS = {"name", "target", "region", "replace", "catches"}
MUTANT_EXAMPLE = 'mutant={"name": "add-subtracts", "target": "tensor-add", "catches": ["test-tensor-add"]}'


def _is_mutant(cell: Cell) -> bool:
    return "mutant" in cell.metadata or "mutant=" in str(cell.metadata.get("incorrectly_encoded_metadata", ""))


def _mutants(parsed: ParsedSource) -> None:
    """Move mutant cells out of `parsed.cells` into `parsed.mutants`, checking each against its target."""
    path, problems = parsed.path, parsed.problems
    by_id = {c.grade_id: c for c in parsed.cells if c.grade_id and not _is_mutant(c)}
    names: dict[str, int] = {}
    kept: list[Cell] = []
    previous: Cell | None = None  # the last non-mutant cell before the current one
    for cell in parsed.cells:
        if not _is_mutant(cell):
            kept.append(cell)
            previous = cell
            continue
        parsed.mutant_cells.append(cell)
        before = len(problems)
        mutant = _read_mutant(cell, path, problems)
        if mutant is None:
            continue
        if mutant.name in names:
            problems.append(Problem(path, cell.line, f"duplicate mutant name `{mutant.name}` "
                                    f"(first used at line {names[mutant.name]})", "give every mutant its own name"))
        else:
            names[mutant.name] = cell.line
        target = by_id.get(mutant.target)
        if target is None or not target.is_solution or not any(r.kind == "solution" for r in target.regions):
            known = ", ".join(c.grade_id for c in parsed.cells if c.is_solution and c.regions and c.grade_id)
            problems.append(Problem(path, cell.line, f"mutant `{mutant.name}`: unknown target `{mutant.target}` "
                                    "(not a solution cell with a `### BEGIN SOLUTION` region)",
                                    f"use the grade_id of a solution cell: {known or 'none in this module'}"))
            continue
        if previous is not target:
            problems.append(Problem(path, cell.line, f"mutant `{mutant.name}` is not right after its target "
                                    f"`{mutant.target}` (line {target.line})",
                                    "move the mutant cell to just below the solution cell it mutates"))
        for gid in mutant.catches:
            graded = by_id.get(gid)
            if graded is None or not graded.is_test:
                tests = ", ".join(c.grade_id for c in parsed.cells if c.is_test and c.grade_id)
                problems.append(Problem(path, cell.line, f"mutant `{mutant.name}`: `catches` names `{gid}`, "
                                        "which is not a graded test cell", f"use graded test ids: {tests or 'none'}"))
        try:
            mutated = mutate_source(target.source, mutant)
        except MutantError as exc:
            problems.append(Problem(path, cell.line, f"mutant `{mutant.name}`: {exc}",
                                    "copy the `replace` text exactly from the region (it must occur once), "
                                    "or fix `region`"))
            continue
        code = "\n".join("" if l.lstrip().startswith(("%", "!")) else l for l in mutated.split("\n"))
        try:
            compile(code, str(path), "exec", dont_inherit=True)
        except SyntaxError as exc:
            problems.append(Problem(path, cell.line, f"mutant `{mutant.name}`: the mutated cell `{mutant.target}` "
                                    f"does not compile: {exc.msg} (line {exc.lineno} of the mutated cell)",
                                    "write the body at column 0 as it would read inside the region"))
            continue
        if len(problems) == before:
            parsed.mutants.append(mutant)
    parsed.cells = kept


def _read_mutant(cell: Cell, path: Path, problems: list[Problem]) -> Mutant | None:
    def bad(message: str, fix: str = f"write {MUTANT_EXAMPLE}") -> None:
        problems.append(Problem(path, cell.line, message, fix))

    if "mutant" not in cell.metadata:
        raw = str(cell.metadata.get("incorrectly_encoded_metadata", ""))
        reason = _json_problem(raw.split("mutant=", 1)[-1].strip(),
                               "could not be read as cell metadata (one `mutant={...}` per marker, nothing else)")
        bad(f"malformed JSON after `mutant=`: {reason}")
        return None
    meta = cell.metadata["mutant"]
    if not isinstance(meta, dict):
        bad("`mutant=` must be a JSON object")
        return None
    if cell.kind != "code":
        bad("a mutant cell must be a code cell", "write `# %% mutant={...}` without [markdown]")
        return None
    if set(cell.metadata) - {"mutant"}:
        bad("a mutant cell carries only `mutant=` metadata", "remove the other cell options from this marker")
    unknown = sorted(set(meta) - MUTANT_KEYS)
    if unknown:
        bad(f"unknown mutant key(s) {', '.join(unknown)}", f"use only: {', '.join(sorted(MUTANT_KEYS))}")
    name, target = meta.get("name"), meta.get("target")
    if not isinstance(name, str) or not MUTANT_NAME.match(name):
        bad(f"mutant name {name!r} is missing or not lowercase letters, digits and -", 'e.g. "name": "add-subtracts"')
        return None
    if not isinstance(target, str) or not target:
        bad(f"mutant `{name}` has no `target`", 'add "target": "<grade_id of the solution cell>"')
        return None
    region = meta.get("region", 0)
    if not isinstance(region, int) or isinstance(region, bool) or region < 0:
        bad(f"mutant `{name}`: `region` must be a non-negative integer", '"region": 1 picks the second region')
        return None
    replace = meta.get("replace")
    if replace is not None and (not isinstance(replace, str) or not replace.strip()):
        bad(f"mutant `{name}`: `replace` must be a non-empty string", 'e.g. "replace": "a + b"')
        return None
    catches = meta.get("catches", [])
    if isinstance(catches, str):
        catches = [catches]
    if not isinstance(catches, list) or not all(isinstance(c, str) for c in catches):
        bad(f"mutant `{name}`: `catches` must be a list of grade_ids", '"catches": ["test-tensor-add"]')
        return None
    for index, line in enumerate(cell.lines):
        if REGION.match(line) or DIRECTIVE.match(line):
            problems.append(Problem(path, cell.line_of(index), f"mutant `{name}`: region markers and `#|` "
                                    "directives do not belong in a mutant body", "delete this line"))
            return None
    description, code = split_body(cell.source)
    if not code.strip() and replace is None:  # with `replace`, an empty body deletes the piece
        bad(f"mutant `{name}` has no code", "write the wrong code below the marker (comments first describe it), "
            'or give "replace" to delete that piece')
        return None
    return Mutant(name, target, region, replace, tuple(catches), code, description, cell.line)
