"""Every line number the parser reports holds what it claims: over every real module and over files built
to confuse it (`# %%` inside strings, no final newline, CRLF line ends)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tito.core.render.package import chunks_from_source
from tito.core.source import parse_text

from .helpers.course import REPO, module_text

SOURCES = sorted(REPO.glob("src/*/*.py"))
MARKER = re.compile(r"^# %%")
MAGIC = ("%", "!", "?")


def file_holds(file_line: str, cell_line: str, kind: str) -> bool:
    """Independent of the parser: how a percent-format file shows one line of a cell."""
    if file_line == cell_line:
        return True
    if kind != "code":  # markdown/raw lines are `#`-commented, a bare `#` is an empty line
        return file_line in (f"# {cell_line}", f"#{cell_line}") or (cell_line == "" and file_line.strip() == "#")
    return cell_line.lstrip().startswith(MAGIC) and file_line in (f"# {cell_line}", f"#{cell_line}")


def assert_lines_hold(text: str, label: str = "src") -> None:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    parsed = parse_text(text, Path(label))
    assert parsed.cells, parsed.problems
    for cell in parsed.cells:
        marker = lines[cell.line - 1]
        assert MARKER.match(marker) or cell.line == cell.body_line, f"{label}:{cell.line} is no cell marker: {marker!r}"
        if cell.source:
            for index, cell_line in enumerate(cell.lines):
                at = cell.line_of(index)
                assert file_holds(lines[at - 1], cell_line, cell.kind), (
                    f"{label}:{at} holds {lines[at - 1]!r}, the parser says {cell_line!r}")
        for region in cell.regions:
            edge = "SOLUTION" if region.kind == "solution" else "HIDDEN TESTS"
            assert lines[region.line - 1].strip() == f"### BEGIN {edge}", f"{label}:{region.line}"
            assert lines[cell.line_of(region.end) - 1].strip() == f"### END {edge}"
        for name in cell.directives:
            hits = [i for i, l in enumerate(cell.lines) if re.match(rf"^\s*#\|\s*{name}\b", l)]
            assert hits and re.match(rf"^\s*#\|\s*{name}\b", lines[cell.line_of(hits[0]) - 1])
    for chunk in chunks_from_source(parsed, label):  # the package's provenance comments
        line = int(chunk.where.rsplit(":", 1)[1])
        assert MARKER.match(lines[line - 1])
        first = chunk.code.split("\n")[0]
        assert first in lines[line:], f"exported code {first!r} is not below {label}:{line}"


@pytest.mark.parametrize("path", SOURCES, ids=[p.parent.name for p in SOURCES])
def test_every_reported_line_of_every_module_holds_what_it_claims(path: Path):
    text = path.read_text(encoding="utf-8")
    parsed = parse_text(text, path)
    assert not parsed.problems, [p.format() for p in parsed.problems]
    assert_lines_hold(text, str(path.relative_to(REPO)))


@pytest.mark.parametrize("path", SOURCES, ids=[p.parent.name for p in SOURCES])
def test_an_error_planted_in_any_module_is_reported_at_its_line(path: Path):
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    parsed = parse_text(text, path)
    # The last `def` line of a code cell: late in the file, so every earlier cell's line count matters.
    target = max(c.line_of(i) for c in parsed.cells if c.kind == "code"
                 for i, l in enumerate(c.lines) if l.startswith("def "))
    lines[target - 1] += " $"
    planted = parse_text("\n".join(lines), path)
    assert [(p.line, p.message.split(":")[0]) for p in planted.problems] == [(target, "Python syntax error")]


def test_the_corpus_is_the_whole_course():
    assert len(SOURCES) >= 20, "every module's source takes part in the line-fidelity test"


STRING_WITH_MARKERS = '''
# %%
#| default_exp core.adder

# %%
DOC = """
# %% this is text inside a string, not a cell
# %% [markdown]
"""

# %% [markdown]
# Some prose.

# %%
#| export
def add(a, b):
    return a + b

# %%
x = (1 +
'''


def syntax_problem(text: str):
    found = [p for p in parse_text(text, Path("src/01_adder/01_adder.py")).problems if "syntax error" in p.message]
    assert len(found) == 1, found
    return found[0]


def test_a_marker_inside_a_string_does_not_shift_later_cells():
    text = module_text(body=STRING_WITH_MARKERS)
    lines = text.split("\n")
    problem = syntax_problem(text)
    assert lines[problem.line - 1] == "x = (1 +", f"line {problem.line} holds {lines[problem.line - 1]!r}"
    parsed = parse_text(text.replace("x = (1 +", "x = 1"), Path("src/01_adder/01_adder.py"))
    assert not parsed.problems
    assert_lines_hold(text.replace("x = (1 +", "x = 1"))
    docstring = next(c for c in parsed.cells if c.source.startswith("DOC"))
    assert "# %% this is text inside a string" in docstring.source, "jupytext keeps the string in its cell"
    export = next(c for c in parsed.cells if c.exported)
    assert lines[export.line - 1] == "# %%" and lines[export.line] == "#| export"


def test_single_quoted_strings_and_comments_mentioning_markers():
    body = STRING_WITH_MARKERS.replace('"""', "'''").replace("x = (1 +", "x = 1  # the next cell starts at # %%")
    assert_lines_hold(module_text(body=body))


def test_file_without_final_newline():
    text = module_text().rstrip("\n")
    assert not text.endswith("\n")
    assert_lines_hold(text)
    broken = text.replace("    return a + b", "    return a +")
    lines = broken.split("\n")
    assert lines[syntax_problem(broken).line - 1] == "    return a +"
    last = text + "\nassert add(1, 2) == 3 +"  # the error on the very last line, no newline after it
    assert syntax_problem(last).line == len(last.split("\n"))


def test_crlf_line_ends_give_the_same_lines_as_lf():
    text = module_text()
    crlf = text.replace("\n", "\r\n")
    lf_cells = [(c.line, c.body_line, c.source) for c in parse_text(text, Path("a.py")).cells]
    crlf_cells = [(c.line, c.body_line, c.source) for c in parse_text(crlf, Path("a.py")).cells]
    assert crlf_cells == lf_cells
    assert_lines_hold(crlf)
    broken = crlf.replace("    return a + b", "    return a +")
    assert broken.split("\r\n")[syntax_problem(broken).line - 1] == "    return a +"


def test_every_problem_points_at_its_own_line():
    text = module_text(body=STRING_WITH_MARKERS.replace("x = (1 +", "#| exprot\nx = 1")) + (
        '\n# %% nbgrader={"grade": false, "grade_id": "s", "locked": false, "schema_version": 3, "solution": true}\n'
        "def f():\n    ### BEGIN SOLUTION\n    return 1\n")
    lines = text.split("\n")
    by_text = {p.message: p.line for p in parse_text(text, Path("a.py")).problems}
    unknown = next(line for message, line in by_text.items() if "unknown directive" in message)
    assert lines[unknown - 1] == "#| exprot"
    unclosed = next(line for message, line in by_text.items() if "never closed" in message)
    assert lines[unclosed - 1] == "    ### BEGIN SOLUTION"


def test_disagreement_with_jupytext_is_a_problem_not_a_shift():
    # A form feed is a line break to jupytext (str.splitlines) but not to an editor or to Python.
    text = module_text().replace("    return a + b\n", "    return a + b\x0c  # page break\n")
    parsed = parse_text(text, Path("src/01_adder/01_adder.py"))
    found = [p for p in parsed.problems if "cannot give exact source lines" in p.message]
    assert len(found) == 1 and not parsed.cells, parsed.problems
    assert text.split("\n")[found[0].line - 1] == "    return a + b\x0c  # page break", "it names the line"


def test_parse_cache_is_keyed_on_the_jupytext_version(tmp_path, monkeypatch):
    from tito.core import parsecache

    src = tmp_path / "src" / "01_adder" / "01_adder.py"
    src.parent.mkdir(parents=True)
    src.write_text(module_text(), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("[tool.tito]\npackage = 'tinytorch'\n", encoding="utf-8")
    entries = tmp_path / "parse-cache"
    monkeypatch.setenv("TITO_PARSE_CACHE", str(entries))
    monkeypatch.setattr(parsecache, "_parser_digest", None)
    parsecache.parse_cached(src, tmp_path)
    parsecache.parse_cached(src, tmp_path)
    assert len(list(entries.glob("*.pickle"))) == 1, "an unchanged file and jupytext reuse the entry"
    monkeypatch.setattr(parsecache, "_parser_digest", None)
    monkeypatch.setattr(parsecache, "jupytext_version", lambda: "0.0.0-another")
    parsecache.parse_cached(src, tmp_path)
    assert len(list(entries.glob("*.pickle"))) == 2, "another jupytext must parse afresh"


@pytest.mark.parametrize("blank_lines", [0, 1, 2, 3])
def test_code_before_the_first_marker_keeps_its_lines(blank_lines):
    # jupytext's header takes one blank line after it; any other line before the first `# %%` is a cell.
    text = module_text(body="") + "\n" * blank_lines + "import os\nx = (\n\n# %%\n#| default_exp core.adder\n"
    assert_lines_hold(text.replace("x = (", "x = 1"))
    lines = text.split("\n")
    assert lines[syntax_problem(text).line - 1] == "x = ("


def test_blank_lines_alone_before_the_first_marker():
    text = module_text(body="") + "\n\n\n# %%\n#| default_exp core.adder\nimport os\n"
    parsed = parse_text(text, Path("a.py"))
    assert not parsed.problems
    assert_lines_hold(text)


def test_a_header_key_outside_jupyter_is_named_at_its_line():
    text = module_text().replace("# jupyter:\n", "# title: stray\n# jupyter:\n", 1)
    parsed = parse_text(text, Path("a.py"))
    assert [(p.line, p.message.split(" (")[0]) for p in parsed.problems] == [
        (2, "header key `title` is outside `jupyter:`")]
    assert text.split("\n")[1] == "# title: stray"
    assert_lines_hold(text)  # the cells below keep their exact lines
