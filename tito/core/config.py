"""The course's settings: the `[tool.tito]` table of its pyproject.toml.

tito knows nothing about any one course: the package students build, the course's title, its tiers and where
its milestones live are read here, once per pyproject.toml version. A course written before `[tool.tito]`
existed declares itself with the table named after its package (`[tool.<package>]`, e.g. `course = "x"`);
that legacy form gets `LEGACY`'s settings.

    [tool.tito]
    package = "tinycalc"                      # required: the importable package the modules export into
    title = "TinyCalc"                        # shown in tables, the edition's README and the book
    tagline = "build a calculator from scratch, one module at a time"
    tiers = ["basics", "advanced"]            # the order of the book's parts; a module's `tier:` is one of them
    milestones = "milestones"                 # folder of NN_name/run.py milestone scripts
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import tomllib

from .errors import UsageError

TABLE = "tito"
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True)
class CourseConfig:
    package: str
    title: str
    tagline: str = ""
    tiers: tuple[str, ...] = ("core",)
    milestones: str = "milestones"
    # Where the settings came from (for messages): "pyproject.toml [tool.tito]".
    origin: str = field(default="", compare=False)

    @property
    def header_key(self) -> str:
        """The key of a module's course metadata in its source header (`jupyter: <package>:`) and in the
        notebooks tito renders (`metadata.<package>`)."""
        return self.package

    @property
    def env_prefix(self) -> str:
        """Prefix of the course's environment variables (`<PACKAGE>_ROOT`, `<PACKAGE>_WORKSPACE`)."""
        return self.package.upper()


# The TinyTorch course's settings, for editions and clones whose pyproject.toml still has `[tool.tinytorch]`.
LEGACY = CourseConfig(package="tinytorch", title="TinyTorch",
                      tagline="build a deep-learning framework from NumPy, one module at a time",
                      tiers=("foundation", "architecture", "optimization", "capstone"))
KEYS = {"package", "title", "tagline", "tiers", "milestones"}


def package_problem(name: object) -> str | None:
    """Why `name` cannot be a course's package (None when it can): it must be a lowercase importable name that
    shadows neither tito, the course's `src/` or `tests/` folders, a Python keyword nor a standard-library module
    (the course's own code and its kernels import both)."""
    import keyword
    import sys

    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
        return "is not a lowercase importable name (letters, digits and `_`, not starting with a digit)"
    if name in ("tito", "src", "tests"):
        return f"would shadow {'tito' if name == 'tito' else f'the course folder {name}/'}"
    if keyword.iskeyword(name) or name in sys.stdlib_module_names:
        return "would shadow a Python keyword or standard-library module"
    return None


def title_problem(title: str) -> str | None:
    """Why `title` cannot be a course's title (None when it can). A title goes into TOML, YAML, Markdown and the
    course's shell scripts: one line of printable text without shell quoting characters."""
    if not title.strip() or not title.isprintable():
        return "must be one line of printable text"
    bad = sorted({c for c in title if c in '"`$\\'})
    if bad:
        return f"cannot hold {' '.join(bad)} (it is written into the course's shell scripts)"
    return None


def course_table(text: str) -> tuple[str, dict] | None:
    """(table name, table) of the course declaration in a pyproject.toml's text: `[tool.tito]`, else the
    legacy `[tool.<LEGACY.package>]`; None when there is neither."""
    tool = tomllib.loads(text).get("tool")
    if not isinstance(tool, dict):
        return None
    for name in (TABLE, LEGACY.package):
        if isinstance(tool.get(name), dict):
            return name, tool[name]
    return None


def load(root: Path) -> CourseConfig:
    """The settings of the course at `root`; a UsageError names the file, the line and the fix."""
    path = Path(root) / "pyproject.toml"
    try:
        stat = path.stat()
    except OSError:
        raise UsageError(f"{path}: no pyproject.toml; a course declares itself with a `[tool.{TABLE}]` table "
                         "(`tito new` makes one)") from None
    return _load(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=16)
def _load(path: Path, _mtime: int, _size: int) -> CourseConfig:
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        found = course_table(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc}); fix that line") from None
    if found is None:
        raise UsageError(f"{path}: no `[tool.{TABLE}]` table; add one with at least `package = \"<name>\"`")
    name, table = found
    if name != TABLE:
        return LEGACY
    line = _line_of(text, f"[tool.{TABLE}]")

    def bad(message: str, fix: str) -> UsageError:
        return UsageError(f"{path}:{line}: [tool.{TABLE}] {message}; {fix}")

    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise bad(f"has unknown key(s) {', '.join(unknown)}", f"use only {', '.join(sorted(KEYS))}")
    package = table.get("package")
    problem = package_problem(package)
    if problem:
        raise bad(f"`package = {package!r}` {problem}", 'write e.g. `package = "tinycalc"`')
    title = table.get("title", package)
    tagline = table.get("tagline", "")
    milestones = table.get("milestones", "milestones")
    for key, value in (("title", title), ("tagline", tagline), ("milestones", milestones)):
        if not isinstance(value, str):
            raise bad(f"`{key}` must be a string", f'write `{key} = "..."`')
    problem = title_problem(title)
    if problem:
        raise bad(f"`title = {title!r}` {problem}", 'write e.g. `title = "TinyCalc"`')
    if Path(milestones).is_absolute() or ".." in Path(milestones).parts:
        raise bad(f"`milestones = {milestones!r}` leaves the course", "name a folder inside the course")
    tiers = table.get("tiers", ["core"])
    if (not isinstance(tiers, list) or not tiers or len(set(tiers)) != len(tiers)
            or not all(isinstance(t, str) and IDENTIFIER.fullmatch(t) for t in tiers)):
        raise bad("`tiers` must be a non-empty list of distinct lowercase names", 'write e.g. `tiers = ["basics"]`')
    return CourseConfig(package, title.strip(), tagline.strip(), tuple(tiers), milestones,
                        origin=f"{path.name} [tool.{TABLE}]")


def _line_of(text: str, header: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().replace(" ", "") == header:
            return number
    return 1
