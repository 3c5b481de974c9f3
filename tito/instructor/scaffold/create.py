"""`tito new COURSE_DIR --package NAME`: a working course to start a build-your-own-X course from.

The course is assembled in a temporary folder beside COURSE_DIR and renamed into place at the end, so an error
or Ctrl-C leaves nothing behind. What it holds:

- the project files (`project.py`), the book (`book_pages.py`) and the first module with its tests (`starter.py`);
- a copy of the running tito (tito is not published on its own: a course ships its engine);
- from the course that tito came from: the library bounds of its pyproject.toml, its `constraints.txt`, and the
  web assets its book serves offline (mermaid under vendor/, MathJax and the stylesheet under book/_static/);
- every output of `tito source export --all`, so the new course passes `export --check` as it arrives.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import tomllib

from ...core import config
from ...core.course import Course
from ...core.errors import TitoError, UsageError
from .. import edition_files, export
from . import book_pages, project, starter

TITO = Path(__file__).resolve().parents[2]
SOURCE = TITO.parent  # the course this tito belongs to
ASSETS = ("vendor", "book/_static")  # the book's offline web assets, copied whole
SKIP = ("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store")
EXTRAS = ("student", "grading", "book", "cluster", "postgres")  # the extras of tito's own features
TIER = "basics"
EXECUTABLE = (".ci/run", ".ci/test", "setup-environment.sh")


@dataclass
class NewCourse:
    root: Path
    package: str
    title: str
    module: str  # the starter module's slug
    files: int
    exported: int  # files `tito source export --all` wrote
    seconds: float
    pins: bool  # constraints.txt was copied (the README's commands use it)

    @property
    def build_command(self) -> str:
        return project.build_command(self.pins)

    @property
    def test_command(self) -> str:
        return project.test_command(self.pins)


def default_title(package: str) -> str:
    return package.replace("_", " ").title()


def check_title(title: str) -> str:
    """A title goes into TOML, YAML, Markdown and shell scripts: one line of text, no shell quoting characters."""
    title = title.strip()
    problem = config.title_problem(title)
    if problem:
        raise UsageError(f"--title {title!r}: a title {problem}; e.g. --title \"TinyCalc\"")
    return title


def check_target(course_dir: Path) -> Path:
    """COURSE_DIR as an absolute path: it must not exist yet, or be an empty folder outside what tito copies."""
    target = Path(os.path.abspath(course_dir))
    if target.exists() and not target.is_dir():
        raise UsageError(f"{course_dir}: exists and is not a folder; choose a new folder for the course")
    if target.is_dir() and any(target.iterdir()):
        raise UsageError(f"{course_dir}: the folder is not empty; `tito new` makes a course in a new or empty folder "
                         "and never writes into existing work")
    for copied in (TITO, *(SOURCE / a for a in ASSETS)):
        if target == copied or copied in target.parents:
            raise UsageError(f"{course_dir}: inside {copied}, which the new course copies; choose a folder elsewhere")
    return target


def source_files() -> tuple[list[str], dict[str, list[str]], Path | None]:
    """tito's dependencies and extras (from the pyproject.toml of the course tito came from) and its
    constraints.txt (None without one); a TitoError when tito is not inside a course checkout."""
    path = SOURCE / "pyproject.toml"
    missing = [a for a in ASSETS if not (SOURCE / a).is_dir()]
    if not path.is_file() or missing:
        lacking = "pyproject.toml" if not path.is_file() else ", ".join(missing)
        raise TitoError(f"tito at {TITO} is not inside a course checkout (no {lacking} in {SOURCE}): run `tito new` "
                        "from a course's own tito, e.g. after `pip install -e .` in a clone of one")
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("project", {})
    except (OSError, ValueError) as exc:
        raise TitoError(f"{path}: cannot read it ({exc})") from None
    extras = table.get("optional-dependencies", {})
    if "student" not in extras:
        raise TitoError(f"{path}: no `student` extra to copy (what the student edition installs)")
    constraints = SOURCE / "constraints.txt"
    return (list(table.get("dependencies", [])), {name: list(extras[name]) for name in EXTRAS if name in extras},
            constraints if constraints.is_file() else None)


def texts(package: str, title: str, dependencies: list[str], extras: dict[str, list[str]], pins: bool) -> dict[str, str]:
    """Relative path -> text of every file the course is written from (tito and the assets aside)."""
    slug = starter.SLUG
    out = {
        "pyproject.toml": project.pyproject(package, title, TIER, dependencies, extras),
        "README.md": project.readme(package, title, slug, pins),
        ".gitignore": project.GITIGNORE,
        ".ci/run": project.fill(project.CI_RUN, test=project.test_command(pins)),
        ".ci/test": project.CI_TEST,
        "nbgrader_config.py": project.fill(project.NBGRADER_CONFIG, package=package, title=title),
        "setup-environment.sh": edition_files.setup_script(title, extras="all"),
        "activate.sh": edition_files.activate_script(title),
        f"src/{slug}/{slug}.py": project.fill(starter.MODULE, package=package, tier=TIER),
        f"tests/modules/test_{slug}.py": project.fill(starter.PACKAGE_TEST, package=package),
        "tests/test_course.py": project.COURSE_TEST,
        "_config.yml": book_pages.config(package, title),
    }
    out.update(book_pages.pages(package, title, (TIER,)))
    return out


def create(course_dir: Path, package: str, title: str | None = None) -> NewCourse:
    """Make the course in `course_dir` (new or empty); UsageError for bad input, nothing written then."""
    started = time.perf_counter()
    problem = config.package_problem(package)
    if problem:
        raise UsageError(f"--package {package!r} {problem}; choose a name like `tinycalc`")
    title = check_title(default_title(package) if title is None else title)
    target = check_target(course_dir)
    dependencies, extras, constraints = source_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        staging.chmod(0o755)
        for rel, text in texts(package, title, dependencies, extras, constraints is not None).items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            path.chmod(0o755 if rel in EXECUTABLE else 0o644)
        shutil.copytree(TITO, staging / "tito", ignore=shutil.ignore_patterns(*SKIP))
        for asset in ASSETS:
            shutil.copytree(SOURCE / asset, staging / asset, ignore=shutil.ignore_patterns(*SKIP), dirs_exist_ok=True)
        if constraints is not None:
            shutil.copyfile(constraints, staging / "constraints.txt")
        course = Course.load(staging)
        written = export.write(course, export.plan(course, course.modules), course.modules)
        files = sum(1 for p in staging.rglob("*") if p.is_file())
        try:
            os.rename(staging, target)  # replaces an empty folder; fails if it is no longer empty
        except OSError as exc:
            raise UsageError(f"{course_dir}: cannot put the course there ({exc.strerror}); was the folder filled "
                             "meanwhile?") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return NewCourse(target, package, title, starter.SLUG, files, sum(r.status == "written" for r in written),
                     time.perf_counter() - started, constraints is not None)
