"""A second course, tests/fixtures/tinycalc (package `tinycalc`, two modules, one milestone, tiers of its own),
through every command an instructor and a student run: nothing in tito may assume the TinyTorch course.

Every test works on a copy in a temporary folder and drives the real command line (`python -m tito`) with the
copy as working folder and no course variable. The copy is not installed (this environment's editable install is
TinyTorch's): module 02 imports module 01's export, so `source check` must give its kernels the package of the
course it checks. The book's stylesheet, MathJax and mermaid are the same files in every course, so they are
copied from this checkout instead of living in the fixture twice.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from tito.core.course import ROOT_ENV, Course
from tito.core.leaks import secret_lines

from .helpers.book import visible_text
from .helpers.course import REPO
from .helpers.edition import edition_run
from .helpers.notebooks import fill_solutions, load, save

FIXTURE = REPO / "tests" / "fixtures" / "tinycalc"
SLUGS = ("01_statistics", "02_scaling")
WRONG_RESCALE = ("return [low + (x - smallest) * width for x in values]", "return [(x - smallest) * width for x in values]")


def tito(course: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    """The instructor's `tito ARGS` in the course folder."""
    env = {k: v for k, v in os.environ.items() if k not in (*ROOT_ENV, "TINYTORCH_WORKSPACE", "TITO_WORKSPACE")}
    env.update(NO_COLOR="1", COLUMNS="200", TITO_PARSE_CACHE=str(course.parent / "parse-cache"))
    return subprocess.run([sys.executable, "-m", "tito", *args], cwd=course, env=env, capture_output=True, text=True,
                          timeout=timeout)


def ok(done: subprocess.CompletedProcess) -> bool:
    print(done.args, done.stdout[-6000:], done.stderr[-6000:])  # shown by pytest when the test fails
    return done.returncode == 0


def copy_fixture(dst: Path) -> Path:
    shutil.copytree(FIXTURE, dst, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "book" / "_static", dst / "book" / "_static")
    shutil.copytree(REPO / "vendor", dst / "vendor", ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def mentions_tinytorch(root: Path, skip: tuple[str, ...] = ()) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
                  and not str(p.relative_to(root)).startswith(skip) and b"tinytorch" in p.read_bytes().lower())


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The fixture course, exported and released (`source export --all`, `nbgrader generate --all`)."""
    root = copy_fixture(tmp_path_factory.mktemp("second") / "tinycalc")
    assert ok(tito(root, "source", "export", "--all"))
    assert ok(tito(root, "nbgrader", "generate", "--all"))
    return root


def test_the_course_is_its_own_configuration():
    config = tomllib.loads((FIXTURE / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["tito"]
    assert config["package"] == "tinycalc" and config["tiers"] == ["basics", "extras"]
    loaded = Course.load(FIXTURE)
    assert loaded.config.title == "TinyCalc" and [m.slug for m in loaded.modules] == list(SLUGS)
    assert [m.tier for m in loaded.modules] == ["basics", "extras"]
    assert mentions_tinytorch(FIXTURE) == [], "the fixture is a course of its own"


def test_lint_and_export_write_the_course_package(tmp_path):
    root = copy_fixture(tmp_path / "tinycalc")
    assert ok(tito(root, "source", "lint", "--all"))
    before = {p for p in root.rglob("*") if p.is_file()}
    done = tito(root, "source", "export", "--all")
    assert ok(done)
    generated = sorted(str(p.relative_to(root)) for p in set(root.rglob("*")) - before
                       if p.is_file() and ".tito" not in p.parts)
    assert generated == ["_toc.yml", "modules/01_statistics/01_statistics.ipynb", "modules/02_scaling/02_scaling.ipynb",
                         "tinycalc/__init__.py", "tinycalc/scaling.py", "tinycalc/statistics.py"]
    assert ok(tito(root, "source", "export", "--all", "--check"))
    assert not [g for g in generated if b"tinytorch" in (root / g).read_bytes().lower()]
    scaling = (root / "tinycalc" / "scaling.py").read_text(encoding="utf-8")
    assert "from tinycalc.statistics import mean, variance" in scaling and "def rescale(" in scaling
    toc = (root / "_toc.yml").read_text(encoding="utf-8")
    assert "caption: Basics tier" in toc and "caption: Extras tier" in toc and "book/milestones" in toc
    imported = subprocess.run([sys.executable, "-c", "from tinycalc import standardize; print(standardize([1, 3]))"],
                              cwd=root, capture_output=True, text=True)
    assert imported.stdout.strip() == "[-1.0, 1.0]", imported.stderr


@pytest.mark.slow
def test_releases_and_the_integrity_check_with_every_mutant(course):
    for slug in SLUGS:
        release = (course / "release" / slug / f"{slug}.ipynb").read_text(encoding="utf-8")
        assert "raise NotImplementedError()" in release and "BEGIN HIDDEN TESTS" not in release
    done = tito(course, "source", "check", "--all")
    assert ok(done)
    rows = {slug: next(line for line in done.stdout.splitlines() if slug in line) for slug in SLUGS}
    assert all("pass" in row and "all fail" in row and "4/4" in row for row in rows.values()), rows
    assert "8/8 mutants killed" in done.stdout


@pytest.mark.slow
def test_the_book_has_every_chapter_and_no_answer(course):
    assert ok(tito(course, "book", "build"))
    html = course / "_build" / "html"
    for page in ("index", "book/chapters/01_statistics", "book/chapters/02_scaling", "book/tiers/extras",
                 "book/milestones"):
        assert (html / f"{page}.html").is_file(), page
    assert "raise NotImplementedError()" in visible_text(html / "book/chapters/02_scaling.html")
    assert "Curving an exam" in visible_text(html / "book/milestones.html")
    secrets = secret_lines(Course.load(course))
    assert "return [low + (x - smallest) * width for x in values]" in secrets
    shown = {line.strip() for page in html.rglob("*.html") for line in visible_text(page).splitlines()}
    assert not shown & secrets, "the book shows no solution, hidden-test or mutant line"
    assert mentions_tinytorch(html) == []


def student_solves(course: Path, edition: Path, slug: str) -> None:
    """Write the reference solutions into the student's workspace notebook, each marked as the student's."""
    path = edition / "workspace" / slug / f"{slug}.ipynb"
    save(fill_solutions(load(path), load(course / "modules" / slug / f"{slug}.ipynb"),
                        extra="\n# solved by the student"), path)


def in_edition(edition: Path, *args: str) -> subprocess.CompletedProcess:
    return edition_run(edition, *args, timeout=900)


@pytest.mark.slow
def test_the_student_edition_and_a_students_journey_through_it(course, tmp_path):
    edition = tmp_path / "edition"
    assert ok(tito(course, "dist", "student", str(edition)))
    config = tomllib.loads((edition / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["tito"]
    assert config["package"] == "tinycalc" and config["title"] == "TinyCalc"
    assert (edition / "milestones/01_curve/run.py").is_file() and (edition / "tests/modules/test_02_scaling.py").is_file()
    # tito's own source keeps one legacy default (course_config.LEGACY: a pyproject.toml with the older table)
    assert mentions_tinytorch(edition) == ["tito/core/config.py"]
    assert "TinyCalc" in (edition / "README.md").read_text(encoding="utf-8")

    assert "complete it with `tito module complete 01`" in in_edition(edition, "-c", "from tinycalc import mean").stderr
    for number, slug in zip(("01", "02"), SLUGS):
        assert ok(in_edition(edition, "-m", "tito", "module", "start", number, "--no-launch"))
        student_solves(course, edition, slug)
        assert ok(in_edition(edition, "-m", "tito", "module", "complete", number))
    for name in ("statistics", "scaling"):
        assert "# solved by the student" in (edition / "tinycalc" / f"{name}.py").read_text(encoding="utf-8")
    used = in_edition(edition, "-c", "from tinycalc import mean, variance, standardize, rescale; "
                                     "print(mean([1, 2]), variance([2, 4, 4, 6]), rescale([1, 2, 3], 50, 100))")
    assert used.stdout.strip() == "1.5 2.0 [50.0, 75.0, 100.0]", used.stderr
    milestone = in_edition(edition, "-m", "tito", "milestone", "run", "01")
    assert ok(milestone) and "PASSED" in milestone.stdout

    # a student whose rescale forgets `low` fails the milestone: it runs on the student's code
    wrong = edition / "tinycalc" / "scaling.py"
    wrong.write_text(wrong.read_text(encoding="utf-8").replace(*WRONG_RESCALE), encoding="utf-8")
    assert in_edition(edition, "-m", "tito", "milestone", "run", "01").returncode == 1


@pytest.mark.slow
def test_class_autograde_in_the_sandbox(course, tmp_path):
    """Module 02 imports module 01's export: the sandbox gives each submission the course's package."""
    slug = SLUGS[1]
    release = load(course / "release" / slug / f"{slug}.ipynb")
    honest = fill_solutions(load(course / "release" / slug / f"{slug}.ipynb"), load(course / "modules" / slug / f"{slug}.ipynb"))
    wrong = fill_solutions(release, load(course / "modules" / slug / f"{slug}.ipynb"))
    for cell in wrong["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        cell["source"] = text.replace(*WRONG_RESCALE)
    assert honest != wrong
    inbox = tmp_path / "inbox"
    save(honest, inbox / "alice.ipynb")
    save(wrong, inbox / "bob.ipynb")
    assert ok(tito(course, "nbgrader", "collect", "02", str(inbox)))
    assert ok(tito(course, "nbgrader", "autograde", "02", "--all", "--jobs", "2", "--timeout", "30"))
    assert ok(tito(course, "nbgrader", "export", "grades.csv"))
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO((course / "grades.csv").read_text(encoding="utf-8")))}
    assert sorted(rows) == ["alice", "bob"]
    assert float(rows["alice"]["score"]) == float(rows["alice"]["max_score"]) == 6.0
    assert float(rows["bob"]["score"]) == 3.0, "bob's rescale fails test-rescale (3 points), standardize passes"
