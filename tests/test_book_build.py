"""`tito book build` on small fixture courses: the chapters, the TOC, incremental rebuilds, broken pages."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tito.cli import main
from tito.core.course import Course
from tito.core.errors import TitoError

from .helpers.book import copy_course, tito, visible_text
from .helpers.course import module_text, write_module

SCALER = '''
# %% [markdown]
# # Scaling
# Multiply by a constant.
#
# ```{mermaid}
# flowchart LR
#   x --> scale --> y
# ```

# %%
#| default_exp core.scaler

# %%
#| export
from tinytorch.core.adder import add

# %% nbgrader={"grade": false, "grade_id": "scale", "locked": false, "schema_version": 3, "solution": true, \
"task": false}
#| export
def scale(x, k):
    """Return x * k."""
    ### BEGIN SOLUTION
    product_for_the_book = x * k
    return product_for_the_book
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test-scale", "locked": true, "points": 1, "schema_version": 3, \
"solution": false, "task": false}
assert scale(2, 3) == 6, "scale(2, 3) should be 6"
### BEGIN HIDDEN TESTS
assert scale(-4, 0.5) == -2.0, "hidden edge case"
### END HIDDEN TESTS

# %%
#| hide
print("a cell for the notebook only")

# %%
#| hide_output
print("output kept out of the book")

# %%
print("scaled:", scale(add(1, 2), 10))
'''


@pytest.fixture
def book_course(tmp_path: Path) -> Path:
    root = copy_course(tmp_path / "course", with_src=False)
    write_module(root, "01_adder", module_text())
    write_module(root, "02_scaler", module_text(name="scaler", title="Scaler", prereqs="[01_adder]",
                                                exports="scale", body=SCALER))
    return root


def _chapter(root: Path, slug: str) -> dict:
    return json.loads((root / "book" / "chapters" / f"{slug}.ipynb").read_text(encoding="utf-8"))


def _text(nb: dict) -> str:
    return "\n".join("".join(c["source"]) + "".join(o.get("text", "") for o in c.get("outputs", []))
                     for c in nb["cells"])


def test_toc_lists_hand_pages_then_tiers(book_course):
    from tito.core.render.toc import render_toc

    toc = render_toc(Course.load(book_course))
    lines = toc.splitlines()
    assert "root: book/index" in lines
    files = [l.split("file: ")[1] for l in lines if "file: " in l]
    assert files[-2:] == ["book/chapters/01_adder", "book/chapters/02_scaler"]
    assert files.index("book/getting-started") < files.index("book/chapters/01_adder")
    assert "  - caption: Foundation tier" in lines
    for doc in files[:-2] + ["book/index"]:
        assert (book_course / f"{doc}.md").exists(), f"{doc} is in the TOC but has no page"


def test_learning_path_draws_direct_dependencies_only(book_course):
    from tito.instructor.book.pages import learning_path

    write_module(book_course, "03_both", module_text(name="both", title="Both", exports="add",
                                                     prereqs="[01_adder, 02_scaler]"))
    text = learning_path(Course.load(book_course))
    assert "m01 --> m02" in text and "m02 --> m03" in text
    assert "m01 --> m03" not in text, "01 -> 03 is implied by 01 -> 02 -> 03"
    assert "`01 </book/chapters/01_adder>`, {doc}`02 </book/chapters/02_scaler>`" in text, "the table lists all"


def test_source_export_check_fails_when_toc_is_stale(book_course):
    assert tito(["source", "export", "--all"], book_course).returncode == 0
    assert tito(["source", "export", "--all", "--check"], book_course).returncode == 0
    write_module(book_course, "03_extra", module_text(name="extra", title="Extra", exports="add"))
    (book_course / "src/03_extra/03_extra.py").write_text(
        module_text(name="extra", title="Extra", exports="add").replace("tier: foundation", "tier: capstone"))
    out = tito(["source", "export", "--all", "--check"], book_course)
    assert out.returncode == 1
    assert "_toc.yml" in out.stdout


def test_chapters_are_the_student_view_with_real_outputs(book_course):
    from tito.instructor.book.build import generate

    report = generate(Course.load(book_course), main)
    assert sorted(report.executed) == ["01_adder", "02_scaler"]
    scaler = _chapter(book_course, "02_scaler")
    text = _text(scaler)
    assert "product_for_the_book" not in text and "hidden edge case" not in text
    assert "# YOUR CODE HERE" in text and "raise NotImplementedError()" in text
    assert "scaled: 30" in text, "the outputs of a correct run are shown"
    assert "a cell for the notebook only" not in text, "#| hide cells are removed, not just hidden"
    assert "print(\"output kept out of the book\")" in text and "output kept out of the book\n" not in text
    assert "#| default_exp" not in text and "#| hide" not in text
    assert all("nbgrader" not in c["metadata"] for c in scaler["cells"])
    card = next(c for c in scaler["cells"] if c["id"] == "card-02")
    assert scaler["cells"][0]["source"] == "# Scaling", "the card sits right under the title"
    assert scaler["cells"][1] is card
    assert "tito module start 02" in card["source"]
    assert "from tinytorch.core.scaler import scale" in card["source"]
    assert "</book/chapters/01_adder>" in card["source"], "prerequisites are linked"
    assert "Multiply by a constant." in _text(scaler)
    # The grid, learning path and command reference are generated next to the chapters.
    chapters = book_course / "book" / "chapters"
    assert "02 · Scaler" in (chapters / "_modules_grid.md").read_text()
    assert "m01 --> m02" in (chapters / "_learning_path.md").read_text()


@pytest.mark.slow
def test_markdown_edit_rebuilds_one_chapter_without_a_kernel(book_course):
    from tito.instructor.book.build import build

    first = build(Course.load(book_course), main)
    assert first.ok, first.broken
    assert (book_course / "_build" / "html" / "book" / "chapters" / "02_scaler.html").exists()
    again = build(Course.load(book_course), main)
    assert again.executed == [] and again.chapters == [] and again.pages_read == 0
    src = book_course / "src" / "02_scaler" / "02_scaler.py"
    src.write_text(src.read_text().replace("# Multiply by a constant.", "# Multiply by a constant, k."))
    edited = build(Course.load(book_course), main)
    assert edited.executed == [], "prose edits reuse the cached outputs"
    assert edited.chapters == ["02_scaler"]
    assert edited.pages_read == 1
    html = (book_course / "_build" / "html" / "book" / "chapters" / "02_scaler.html").read_text()
    assert "Multiply by a constant, k." in html


def test_code_edit_reexecutes_that_module(book_course):
    from tito.instructor.book.build import generate

    generate(Course.load(book_course), main)
    src = book_course / "src" / "02_scaler" / "02_scaler.py"
    src.write_text(src.read_text().replace('print("scaled:", scale(add(1, 2), 10))',
                                           'print("scaled:", scale(add(1, 2), 100))'))
    report = generate(Course.load(book_course), main)
    assert report.executed == ["02_scaler"] and report.chapters == ["02_scaler"]
    assert "scaled: 300" in _text(_chapter(book_course, "02_scaler"))


def test_failing_notebook_fails_the_build_naming_the_cell(book_course):
    from tito.instructor.book.build import generate

    src = book_course / "src" / "02_scaler" / "02_scaler.py"
    src.write_text(src.read_text().replace('print("scaled:", scale(add(1, 2), 10))', "1 / 0"))
    with pytest.raises(TitoError, match="02_scaler.*ZeroDivisionError"):
        generate(Course.load(book_course), main)
    cache = book_course / ".tito" / "cache" / "book"
    assert list(cache.glob("01_adder-*.json")), "the module that ran fine keeps its outputs"
    assert not list(cache.glob("02_scaler-*.json"))


def test_an_output_that_shows_a_solution_line_is_refused():
    from tito.core.course import Module
    from tito.core.render.book import chapter_notebook, output_leaks
    from tito.instructor.book.build import student_chapter

    module = Module(number=1, name="t", src=Path("src/01_t/01_t.py"), title="T", summary="", tier="foundation",
                    minutes=30, prerequisites=(), objectives=(), exports=(), milestones=(), package="core.t")
    nb = {"cells": [
        {"cell_type": "markdown", "id": "t", "metadata": {}, "source": "# T"},
        {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": 1, "source": "show()",
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "return secret_value * 2\n"}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    secrets = {"return secret_value * 2"}
    # The renderer is pure: it reports the leak and leaves refusing to the caller.
    assert output_leaks(chapter_notebook(module, nb, [], secrets, "src", "key"), secrets) == [
        ("c", "return secret_value * 2")]
    with pytest.raises(TitoError, match="src/01_t/01_t.py: an output of cell `c`.*hide_output"):
        student_chapter(module, nb, [], secrets, "src/01_t/01_t.py", "key")
    nb["cells"][1]["metadata"] = {"tags": ["remove-output"]}
    assert "secret_value" not in student_chapter(module, nb, [], secrets, "src", "key")


@pytest.mark.slow
def test_broken_reference_fails_the_build_every_time(book_course):
    page = book_course / "book" / "workflow.md"
    page.write_text(page.read_text() + "\nSee {doc}`a page that does not exist <nowhere>`.\n")
    out = tito(["book", "build"], book_course)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "unknown document" in out.stderr and "workflow.md" in out.stderr
    out = tito(["book", "build"], book_course)  # nothing re-read: the failure is remembered
    assert out.returncode == 1
    page.write_text(page.read_text().replace("See {doc}`a page that does not exist <nowhere>`.", ""))
    out = tito(["book", "build"], book_course)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "index.html" in out.stdout


def test_command_reference_is_generated_from_the_cli_help():
    from tito.cli import main
    from tito.instructor.book.pages import command_reference

    text = command_reference(main)
    main.list_commands(None)  # registers every group (done on first use)
    for name, command in main.commands.items():
        assert f"## tito {name}\n" in text
        for sub in getattr(command, "commands", {}):
            assert f"### tito {name} {sub}\n" in text
    assert "--serve PORT" in text, "options come from the commands' own help"


def test_book_commands_have_help(book_course):
    for args in (["book", "--help"], ["book", "build", "--help"], ["book", "serve", "--help"]):
        out = tito(args, book_course)
        assert out.returncode == 0 and "Usage:" in out.stdout
    assert tito(["book", "build", "--serve", "nope"], book_course).returncode == 2


def test_served_site_uses_only_local_addresses(book_course):
    from tito.instructor.book.build import serve

    (book_course / "_build" / "html").mkdir(parents=True)
    with pytest.raises(TitoError, match="tito book build"):
        serve(book_course / "_build" / "html", 0)
    (book_course / "_build" / "html" / "index.html").write_text("<title>x</title>")
    server = serve(book_course / "_build" / "html", 0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_visible_text_sees_through_syntax_highlighting(tmp_path):
    page = tmp_path / "p.html"
    page.write_text('<pre><span class="k">return</span> <span class="n">a</span> <span class="o">+</span> b</pre>')
    assert "return a + b" in visible_text(page)
