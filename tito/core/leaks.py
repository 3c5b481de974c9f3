"""Leak scanning: the lines no student artifact may hold, and a scan of a folder for them.

A secret line is a solution, hidden-test or mutant line of a module's source that appears in the visible part
of no source of the course (`secret_lines`). Every artifact check uses this one set: the release (nbgrader),
the book's HTML and sources, the student edition, the grading sandbox's files, feedback (hidden tests only).
Files are read the way a person would read them: a notebook's cell sources and outputs, HTML unescaped.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course, Module
from .nbutil import joined, source_of

# Lines too generic to count as a leak when they also appear in a student notebook.
TRIVIAL = re.compile(r"^\s*(pass|return|continue|break|raise|else:|try:|finally:|except( [\w.]+)?:"
                     r"|(return|yield) [(\[{]+|[-+]?\d[\d_]*(\.\d*)?([eE][-+]?\d+)?,?|[()\[\]{},:]*|#.*|\"\"\"|''')?\s*$")


def significant(lines: list[str]) -> set[str]:
    return {l.strip() for l in lines if not TRIVIAL.match(l)}


def public_lines(course: Course, module: Module) -> set[str]:
    """Every line of `module`'s source outside solution and hidden-test regions, stripped."""
    parsed = course.parse(module)
    public: set[str] = set()
    for cell in parsed.cells:
        inside = set()
        for region in cell.regions:
            inside.update(range(region.begin, region.end + 1))
        public.update(l.strip() for i, l in enumerate(cell.lines) if i not in inside)
    return public


def secret_lines(course: Course, modules: list[Module] | None = None, hidden_only: bool = False) -> set[str]:
    """The lines no student artifact may hold: solution, hidden-test and mutant lines of `modules` (default:
    every module) that appear in the visible part of no source of the course. Every leak check uses this set;
    a new kind of secret is added here."""
    chosen = course.modules if modules is None else modules
    secret: set[str] = set()
    for module in chosen:
        parsed = course.parse(module)
        secret |= significant(parsed.hidden_lines())
        if not hidden_only:  # a student's feedback legitimately shows their own solution
            secret |= significant(parsed.solution_lines()) | significant(parsed.mutant_lines())
    public: set[str] = set()
    for module in course.modules:
        public |= public_lines(course, module)
    return secret - public


def leak_lines(course: Course, module: Module, hidden_only: bool = False) -> set[str]:
    """Secret lines of one module (see `secret_lines`); with `hidden_only`, its hidden-test lines alone."""
    return secret_lines(course, [module], hidden_only)


@dataclass(frozen=True)
class Leak:
    path: str  # as shown: relative to the scanned folder's label root
    line: int  # 1-based line in the file, or in the notebook cell named by `where`
    text: str
    where: str = ""  # "cell 12 source" / "cell 12 output" for notebooks

    def __str__(self) -> str:
        place = f"{self.path}:{self.line}" if not self.where else f"{self.path} ({self.where}, line {self.line})"
        return f"{place}: {self.text}"


@dataclass
class LeakScan:
    files: int = 0
    lines: int = 0
    binary: list[str] = field(default_factory=list)  # files that are not UTF-8 text (data), not line-scanned
    leaks: list[Leak] = field(default_factory=list)


_TAG = re.compile(r"<[^>]+>")


def _html_text(text: str) -> str:

    return html.unescape(_TAG.sub("", text))


def _output_texts(output: dict) -> list[str]:
    texts = []
    if "text" in output:
        texts.append(joined(output["text"]))
    for mime, value in (output.get("data") or {}).items():
        if isinstance(value, (str, list)) and (mime.startswith("text/") or mime.endswith(("json", "javascript"))):
            texts.append(_html_text(joined(value)) if mime == "text/html" else joined(value))
    texts.extend(str(t) for t in output.get("traceback") or [])
    return texts


def readable_lines(path: Path, text: str) -> list[tuple[str, int, str]]:
    """(where, line number, line) for every line a person could read in the file: a notebook's cell sources
    and outputs (parsed as JSON), an HTML file unescaped, any other text as it is."""
    if path.suffix == ".ipynb":
        try:
            notebook = json.loads(text)
        except ValueError:
            notebook = None
        if isinstance(notebook, dict):
            found = []
            for index, cell in enumerate(notebook.get("cells") or []):
                for n, line in enumerate(source_of(cell).split("\n"), 1):
                    found.append((f"cell {index + 1} source", n, line))
                for output in cell.get("outputs") or []:
                    for chunk in _output_texts(output):
                        found.extend((f"cell {index + 1} output", n, l) for n, l in enumerate(chunk.split("\n"), 1))
            return found
    if path.suffix in (".html", ".htm", ".xml", ".svg"):
        text = _html_text(text)
    return [("", n, line) for n, line in enumerate(text.splitlines(), 1)]


def scan_folder(folder: Path, secrets: set[str], shown_from: Path | None = None) -> LeakScan:
    """Every secret line found in any file under `folder` (paths shown relative to `shown_from`)."""
    folder = Path(folder)
    base = Path(shown_from) if shown_from is not None else folder
    scan = LeakScan()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.relative_to(folder).parts):
        scan.files += 1
        shown = path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            scan.binary.append(shown)
            continue
        for where, number, line in readable_lines(path, text):
            scan.lines += 1
            stripped = line.strip()
            if stripped in secrets:
                scan.leaks.append(Leak(shown, number, stripped, where))
    return scan


def find_leaks(course: Course, module: Module, folder: Path, hidden_only: bool = False) -> list[str]:
    """Every secret line of `module` found in any file under `folder`, as `file: line`."""
    shown_from = course.root if Path(folder).is_relative_to(course.root) else Path(folder)
    return [str(leak) for leak in scan_folder(folder, leak_lines(course, module, hidden_only), shown_from).leaks]
