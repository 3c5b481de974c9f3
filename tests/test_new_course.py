"""`tito new COURSE_DIR --package NAME`: a working course an instructor starts a build-your-own-X course from.

Fast: the tree it makes, its refusals (exit 2, nothing written), and the new course's own checks (lint,
`export --check`, `source check` with every mutant) run inside it with this interpreter, the way an instructor
runs them there (cwd = the course, no TITO_ROOT): the course's own copy of tito answers.
Slow: the README's two commands, verbatim, in a fresh virtual environment (what a fresh machine does).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomllib
import yaml
from click.testing import CliRunner

from tito.cli import main
from tito.core.course import ROOT_ENV, Course
from tito.core.leaks import secret_lines

from .helpers.book import visible_text
from .helpers.course import REPO
from .helpers.edition import student_shell

FENCE = re.compile(r"^```bash\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
EXPECTED = ["pyproject.toml", "README.md", ".gitignore", ".ci/run", ".ci/test", "nbgrader_config.py", "constraints.txt",
            "setup-environment.sh", "activate.sh", "_config.yml", "_toc.yml", "src/01_statistics/01_statistics.py",
            "modules/01_statistics/01_statistics.ipynb", "tinycalc/__init__.py", "tinycalc/statistics.py",
            "tests/test_course.py", "tests/modules/test_01_statistics.py", "book/index.md", "book/tiers/basics.md",
            "book/_static/tito.css", "book/_static/mathjax/tex-mml-chtml.js", "vendor/static/mermaid/mermaid.esm.min.mjs",
            "vendor/mermaid.lock.json", "tito/cli/__init__.py", "tito/instructor/scaffold/create.py"]


def new_course(parent: Path, *args: str) -> subprocess.CompletedProcess:
    """This checkout's `tito new ...`, run from `parent` (a folder that is no course)."""
    env = {k: v for k, v in os.environ.items() if k not in ROOT_ENV}
    env.update(NO_COLOR="1", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "tito", "new", *args], cwd=parent, env=env, capture_output=True,
                          text=True, timeout=300)


def in_course(course: Path, *args: str, cache: Path) -> subprocess.CompletedProcess:
    """`python ARGS` with the course as working folder and no course variable: `python -m tito` is its own tito."""
    env = {k: v for k, v in os.environ.items() if k not in ROOT_ENV}
    env.update(NO_COLOR="1", COLUMNS="200", TITO_PARSE_CACHE=str(cache))
    return subprocess.run([sys.executable, *args], cwd=course, env=env, capture_output=True, text=True,
                          timeout=900)


def readme_commands(course: Path) -> list[str]:
    return [m.group("body").strip() for m in FENCE.finditer((course / "README.md").read_text(encoding="utf-8"))][:2]


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    parent = tmp_path_factory.mktemp("new")
    done = new_course(parent, "courses/tinycalc", "--package", "tinycalc", "--title", "Tiny Calc")
    return parent / "courses" / "tinycalc", done


def test_the_new_course_has_every_part(made):
    course, done = made
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Tiny Calc" in done.stdout and "build the course:" in done.stdout
    missing = [rel for rel in EXPECTED if not (course / rel).is_file()]
    assert missing == []
    assert not list(course.parent.glob(".tinycalc.new-*")), "the temporary folder was renamed, not left behind"
    for script in (".ci/run", ".ci/test", "setup-environment.sh"):
        assert os.access(course / script, os.X_OK), script

    pyproject = tomllib.loads((course / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["tito"]["package"] == "tinycalc" and pyproject["tool"]["tito"]["title"] == "Tiny Calc"
    assert pyproject["project"]["name"] == "tinycalc" and pyproject["project"]["scripts"]["tito"] == "tito.cli:main"
    ours = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert pyproject["project"]["dependencies"] == ours["dependencies"], "tito's own bounds come along"
    extras = pyproject["project"]["optional-dependencies"]
    for name in ("student", "grading", "book"):
        assert extras[name] == ours["optional-dependencies"][name], name
    assert extras["all"] == ["tinycalc[student,grading,book,test]"] and "pytest>=8" in extras["test"]
    assert "tinycalc*" in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert 'c.CourseDirectory.course_id = "tinycalc"' in (course / "nbgrader_config.py").read_text()
    assert (course / "constraints.txt").read_bytes() == (REPO / "constraints.txt").read_bytes()
    assert yaml.safe_load((course / "_config.yml").read_text(encoding="utf-8"))["title"] == "Tiny Calc"
    assert "Tiny Calc" in (course / "setup-environment.sh").read_text() and "-e \".[all]\"" in (
        course / "setup-environment.sh").read_text()

    # the README opens with the two commands, and CI runs the second verbatim
    build, test = readme_commands(course)
    assert build.endswith("tito source export --all && tito nbgrader generate --all && tito book build")
    assert test.endswith("tito source export --all --check && .ci/test") and "-c constraints.txt" in test
    assert (course / ".ci/run").read_text().rstrip().splitlines()[-1] == test

    # the course ships the running tito's source tree, without caches
    ours_tito = {p.relative_to(REPO / "tito") for p in (REPO / "tito").rglob("*.py") if "__pycache__" not in p.parts}
    theirs = {p.relative_to(course / "tito") for p in (course / "tito").rglob("*") if p.is_file()}
    assert theirs == ours_tito
    assert (course / "tito/core/config.py").read_bytes() == (REPO / "tito/core/config.py").read_bytes()
    assert (course / "vendor/static/mermaid/mermaid.esm.min.mjs").read_bytes() == (
        REPO / "vendor/static/mermaid/mermaid.esm.min.mjs").read_bytes()
    text = "\n".join(p.read_text(encoding="utf-8") for p in course.rglob("*")
                     if p.is_file() and "tito" not in p.relative_to(course).parts[:1] and p.suffix in (".md", ".py", ".toml", ".yml"))
    assert "tinytorch" not in text.lower(), "nothing of TinyTorch in the new course's own files"


def test_the_toc_lists_only_the_book_pages_the_course_has(made):
    course, _ = made
    toc = yaml.safe_load((course / "_toc.yml").read_text(encoding="utf-8"))
    docs = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert "book/chapters/01_statistics" in docs and "book/tiers/basics" in docs
    hand = [d for d in docs if not d.startswith("book/chapters/")]
    assert [d for d in hand if not (course / f"{d}.md").is_file()] == [], "a TOC entry without its page"
    assert "book/workflow" not in docs


def test_the_new_course_passes_its_own_checks_with_its_own_tito(made, tmp_path):
    course, done = made
    assert done.returncode == 0, done.stdout + done.stderr
    which = in_course(course, "-m", "tito", "--version", cache=tmp_path)
    assert which.returncode == 0, which.stderr
    where = in_course(course, "-c", "import tito; print(tito.__file__)", cache=tmp_path)
    assert Path(where.stdout.strip()) == course / "tito" / "__init__.py"
    for args in (("source", "lint", "--all"), ("source", "export", "--all", "--check")):
        run = in_course(course, "-m", "tito", *args, cache=tmp_path)
        assert run.returncode == 0, f"{args}:\n{run.stdout}\n{run.stderr}"
    check = in_course(course, "-m", "tito", "source", "check", "--all", cache=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    row = next(l for l in check.stdout.splitlines() if "01_statistics" in l)
    assert "pass" in row and "all fail" in row and "4/4" in row, row


def test_every_mutant_of_the_starter_module_is_caught_and_one_only_by_the_hidden_test(made, tmp_path):
    """The hidden test is not decoration: without it, the mutant that forgets the empty-input check survives."""
    course, _ = made
    copy = tmp_path / "course"
    subprocess.run(["cp", "-r", str(course), str(copy)], check=True)
    source = copy / "src/01_statistics/01_statistics.py"
    text = source.read_text(encoding="utf-8")
    start, end = text.index("### BEGIN HIDDEN TESTS"), text.index("### END HIDDEN TESTS") + len("### END HIDDEN TESTS")
    source.write_text(text[:start] + text[end:], encoding="utf-8")
    run = in_course(copy, "-m", "tito", "source", "check", "01", "--mutants-only", cache=tmp_path / "cache")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "3/4" in run.stdout and "SURVIVING MUTANT 01_statistics: `mean-empty-unchecked`" in run.stdout


@pytest.mark.parametrize("args, message", [
    (["--package", "Tiny-Calc"], "is not a lowercase importable name"),
    (["--package", "1calc"], "is not a lowercase importable name"),
    (["--package", "json"], "would shadow a Python keyword or standard-library module"),
    (["--package", "tito"], "would shadow tito"),
    (["--package", "tinycalc", "--title", "  "], "a title must be one line of printable text"),
    (["--package", "tinycalc", "--title", 'Tiny "Calc"'], "a title cannot hold \""),
])
def test_bad_names_exit_2_and_write_nothing(tmp_path, args, message):
    out = CliRunner().invoke(main, ["new", str(tmp_path / "course"), *args])
    assert out.exit_code == 2, out.output
    assert message in " ".join(out.output.split())
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_is_not_empty_is_refused(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "notes.md").write_text("mine")
    out = CliRunner().invoke(main, ["new", str(folder), "--package", "tinycalc"])
    assert out.exit_code == 2
    assert "the folder is not empty" in " ".join(out.output.split())
    assert [p.name for p in folder.iterdir()] == ["notes.md"] and sorted(tmp_path.iterdir()) == [folder]
    (tmp_path / "file").write_text("x")
    out = CliRunner().invoke(main, ["new", str(tmp_path / "file"), "--package", "tinycalc"])
    assert out.exit_code == 2 and "is a file" in " ".join(out.output.split())


def test_a_missing_package_option_is_a_usage_error(tmp_path):
    out = CliRunner().invoke(main, ["new", str(tmp_path / "course")])
    assert out.exit_code == 2 and "--package" in out.output
    assert list(tmp_path.iterdir()) == []


def test_an_empty_folder_is_used_and_a_failure_leaves_nothing(tmp_path, monkeypatch):
    from tito.instructor.scaffold import create as scaffold

    empty = tmp_path / "empty"
    empty.mkdir()
    made = scaffold.create(empty, "tinycalc")
    assert made.root == empty and (empty / "pyproject.toml").is_file() and made.title == "Tinycalc"

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(scaffold.export, "write", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        scaffold.create(tmp_path / "second", "tinycalc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"], "no half-made course, no temporary folder"


def test_the_student_edition_refuses_tito_new():
    from tito.core.edition import INSTRUCTOR_COMMANDS

    assert "new" in INSTRUCTOR_COMMANDS


@pytest.mark.slow
def test_the_readme_commands_pass_on_a_fresh_machine(tmp_path):
    """The README's build command, then its test command, verbatim in a fresh venv made by the first: every
    library from the package index, the course's own tito, nothing of this checkout's environment."""
    seconds = {}  # printed at the end (pytest -rA shows them): the figures the issue asks for
    started = time.perf_counter()
    done = new_course(tmp_path, "tinycalc", "--package", "tinycalc", "--title", "TinyCalc")
    seconds["tito new"] = round(time.perf_counter() - started, 2)
    assert done.returncode == 0, done.stdout + done.stderr
    course = tmp_path / "tinycalc"
    build, test = readme_commands(course)

    started = time.perf_counter()
    built = student_shell(course, build, timeout=3600)
    seconds["build command"] = round(time.perf_counter() - started, 1)
    assert built.returncode == 0, built.stdout[-5000:] + built.stderr[-5000:]
    assert (course / ".venv/bin/tito").is_file() and (course / "release/01_statistics/01_statistics.ipynb").is_file()
    index, chapter = course / "_build/html/index.html", course / "_build/html/book/chapters/01_statistics.html"
    assert index.is_file() and chapter.is_file()
    assert "raise NotImplementedError()" in visible_text(chapter)
    secrets = secret_lines(Course.load(course))
    assert "return sum(values) / len(values)" in secrets
    shown = {line.strip() for page in (course / "_build/html").rglob("*.html") for line in visible_text(page).splitlines()}
    assert not shown & secrets, "the book shows no solution, hidden-test or mutant line"
    assert (course / "_build/html/_static/mermaid/mermaid.esm.min.mjs").is_file(), "mermaid is served offline"
    learning = (course / "_build/html/book/learning-path.html").read_text(encoding="utf-8")
    assert "mermaid" in learning and not re.search(r"<script[^>]+src=\"https?://", learning), "no CDN script"

    # commit what the build made, as an instructor would: the test command must leave the checkout as it was
    git = "git init -q && git add -A && git commit -qm 'new course'"
    assert student_shell(course, git).returncode == 0
    started = time.perf_counter()
    tested = student_shell(course, test, timeout=3600)
    seconds["test command"] = round(time.perf_counter() - started, 1)
    assert tested.returncode == 0, tested.stdout[-5000:] + tested.stderr[-5000:]
    assert re.search(r"^\d+ passed", tested.stdout.splitlines()[-1]), tested.stdout[-2000:]
    assert student_shell(course, "git status --porcelain").stdout == "", "the tests wrote into the course"
    print(json.dumps({"seconds": seconds, "build_command": build, "test_command": test}, indent=1))
