"""The course manifest: every module, derived from `src/NN_name/NN_name.py`, never hand-kept.

Number and slug come from the folder name; title, summary, tier, minutes, prerequisites,
objectives, exported names and milestone come from the file's `jupyter: <package>:` header;
the package path comes from `#| default_exp`. The course's own settings (package name, title, tiers) come
from its pyproject.toml (`config.py`). The CLI, the renderers, the book and the tests all read this one
manifest.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable, TypeVar

from . import config as course_config
from .config import LEGACY, CourseConfig
from .edition import MODULE_FIELDS, is_edition
from .edition import read as read_edition
from .errors import LintError, Problem, UsageError
from .source import DIRECTIVE, ParsedSource, read_header

FOLDER = re.compile(r"^(?P<num>\d{2})_(?P<name>[a-z][a-z0-9_]*)$")
# $TITO_ROOT names the course folder; the legacy name from before courses were configurable still works.
ROOT_ENV = ("TITO_ROOT", f"{LEGACY.env_prefix}_ROOT")


class Numbered:
    """Course ids of a numbered item (a module or a milestone) from its `number` and `name` fields."""

    number: int
    name: str

    @property
    def id(self) -> str:
        return f"{self.number:02d}"

    @property
    def slug(self) -> str:
        return f"{self.id}_{self.name}"


@dataclass(frozen=True)
class Module(Numbered):
    number: int
    name: str  # "tensor"
    src: Path
    title: str
    summary: str
    tier: str
    minutes: int
    prerequisites: tuple[str, ...]
    objectives: tuple[str, ...]
    exports: tuple[str, ...]
    milestones: tuple[str, ...]  # header `milestone:` (one slug or a list); lint holds it to the milestones' requires
    package: str  # dotted path under the course's package, e.g. "core.tensor"
    aliases: tuple[str, ...] = ()  # extra import paths, e.g. ("autograd",) -> <top>.autograd
    top: str = LEGACY.package  # the course's package (its `[tool.tito] package`), e.g. "tinycalc"

    @property
    def milestone(self) -> str | None:
        """The first milestone this module unlocks, if any (see `milestones` for all of them)."""
        return self.milestones[0] if self.milestones else None

    @property
    def import_path(self) -> str:
        return f"{self.top}.{self.package}"

    @property
    def package_file(self) -> Path:
        """Relative path of the exported package file."""
        return Path(self.top, *self.package.split(".")).with_suffix(".py")

    @property
    def notebook_file(self) -> Path:
        """Relative path of the nbgrader source notebook."""
        return Path("modules", self.slug, f"{self.slug}.ipynb")

    @property
    def release_file(self) -> Path:
        return Path("release", self.slug, f"{self.slug}.ipynb")

    @property
    def import_line(self) -> str:
        names = ", ".join(self.exports) if self.exports else "*"
        return f"from {self.import_path} import {names}"


@dataclass
class Course:
    root: Path
    modules: list[Module] = field(default_factory=list)
    # Modules (by folder name) that cannot be used, with why. Only a lenient load keeps them here; a command
    # that needs one of them gets a LintError from resolve()/select(), every other command goes on.
    broken: dict[str, list[Problem]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path | None = None, strict: bool = True) -> "Course":
        """Scan `root/src` (root defaults to the course holding the cwd, or $TITO_ROOT).

        strict: any problem in any module raises LintError (export, lint, book: they need every module).
        Otherwise problems are collected per module into `broken` and the healthy modules load."""
        root = Path(root) if root is not None else find_root()
        settings = course_config.load(root)
        if is_edition(root) and not (root / "src").is_dir():  # a student edition: its manifest, no src/
            return cls(root, _edition_modules(root, settings))
        broken: dict[str, list[Problem]] = {}
        read: list[Module] = []
        folders = _module_dirs(root / "src", broken)
        for folder in folders:
            found: list[Problem] = []
            module = _read_module(folder, found, settings)
            if found:
                broken.setdefault(folder.name, []).extend(found)
            if module:
                read.append(module)
        _check_manifest(read, {f.name for f in folders}, broken)
        if strict and broken:
            raise LintError([p for problems in broken.values() for p in problems])
        modules = [m for m in read if m.slug not in broken]
        return cls(root, sorted(modules, key=lambda m: m.number), broken)

    @property
    def config(self) -> CourseConfig:
        """The course's settings (`[tool.tito]` in its pyproject.toml)."""
        return course_config.load(self.root)

    @property
    def package(self) -> str:
        """The importable package the modules export into (e.g. `tinycalc`)."""
        return self.config.package

    @property
    def problems(self) -> list[Problem]:
        return [p for problems in self.broken.values() for p in problems]

    def resolve(self, ident: str | int) -> Module:
        """Module for `01`, `1`, `01_tensor` or `tensor`; a UsageError lists the valid ids otherwise,
        a LintError when that module's source is broken (only a lenient load keeps broken modules)."""
        try:
            return resolve_ident(self.modules, ident, "module", empty="none: src/ has no modules")
        except UsageError:
            key = str(ident).strip().lower()
            for folder, problems in self.broken.items():
                m = FOLDER.match(folder)
                if key == folder or (m and key in (m.group("num"), str(int(m.group("num"))), m.group("name"))):
                    raise LintError(problems) from None
            raise

    def select(self, idents: tuple[str, ...] | list[str], all_: bool = False) -> list[Module]:
        if all_ or not idents:
            if self.broken:
                raise LintError(self.problems)
            return list(self.modules)
        chosen = [self.resolve(i) for i in idents]
        return sorted(dict.fromkeys(chosen), key=lambda m: m.number)

    def parse(self, module: Module) -> ParsedSource:
        return self._parsed(module.src)

    @cached_property
    def _cache(self) -> dict:
        return {}

    def _parsed(self, path: Path) -> ParsedSource:
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in self._cache:
            from .parsecache import parse_cached

            self._cache[key] = parse_cached(path, self.root)
        return self._cache[key]

    def tiers(self) -> list[tuple[str, list[Module]]]:
        return [(t, [m for m in self.modules if m.tier == t]) for t in self.config.tiers
                if any(m.tier == t for m in self.modules)]

    def next_after(self, module: Module) -> Module | None:
        later = [m for m in self.modules if m.number > module.number]
        return later[0] if later else None


def is_course_root(folder: Path) -> bool:
    """A course (instructor repo or student edition) declares itself with a `[tool.tito]` table (or the legacy
    table of course_config.LEGACY) in its pyproject.toml; a folder that merely has src/ and a pyproject.toml is
    someone else's project. A pyproject.toml that is not valid TOML counts when it names the table, so that
    `course_config.load` can report the error instead of tito looking further up."""
    try:
        text = (Path(folder) / "pyproject.toml").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    try:
        return course_config.course_table(text) is not None
    except ValueError:
        return any(re.search(rf"^\s*\[\s*tool\s*\.\s*{name}\s*[\].]", text, re.MULTILINE)
                   for name in (course_config.TABLE, LEGACY.package))


N = TypeVar("N", bound=Numbered)


def resolve_ident(items: Iterable[N], ident: str | int, what: str, empty: str = "none") -> N:
    """The one resolver of course ids (modules, milestones): `01`, `1`, `01_tensor` or `tensor`.

    A UsageError names every valid id otherwise."""
    items = list(items)
    key = str(ident).strip().lower()
    for item in items:
        if key in (item.id, str(item.number), item.slug, item.name):
            return item
    valid = ", ".join(f"{i.id} ({i.name})" for i in items) or empty
    raise UsageError(f"unknown {what} `{ident}`; valid {what}s: {valid}")


def find_root(start: Path | None = None) -> Path:
    """The course: $TITO_ROOT, else the nearest parent of `start` (or of the cwd) whose pyproject.toml
    has a `[tool.tito]` table. Never a guess: outside a course, tito says so and writes nothing."""
    env = next((os.environ[name] for name in ROOT_ENV if os.environ.get(name)), None)
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if is_course_root(candidate):
            return candidate
    raise UsageError(f"no course found at or above {here} (a course's pyproject.toml has a "
                     f"`[tool.{course_config.TABLE}]` table); run tito from the course folder or set {ROOT_ENV[0]}")


def _edition_modules(root: Path, settings: CourseConfig) -> list[Module]:
    """A student edition's manifest (it has no src/ to scan)."""
    modules = []
    for record in read_edition(root)["modules"]:
        try:
            values = {name: record[name] for name in MODULE_FIELDS}
        except (KeyError, TypeError):
            raise UsageError(f"{root / 'edition.json'}: a module entry lacks a field; restore the file with "
                             "`git checkout -- edition.json`") from None
        values = {name: tuple(value) if isinstance(value, list) else value for name, value in values.items()}
        slug = f"{int(values['number']):02d}_{values['name']}"
        modules.append(Module(src=Path(root) / "src" / slug / f"{slug}.py", top=settings.package, **values))
    return sorted(modules, key=lambda m: m.number)


def _module_dirs(src: Path, broken: dict[str, list[Problem]]) -> list[Path]:
    if not src.is_dir():
        return []
    dirs = []
    for entry in sorted(src.iterdir()):
        if not entry.is_dir() or entry.name.startswith((".", "_")):
            continue
        if not FOLDER.match(entry.name):
            broken.setdefault(entry.name, []).append(Problem(entry, 1, f"folder `{entry.name}` is not named NN_name",
                                    "rename it like `src/01_tensor/` (two digits, underscore, lowercase name)"))
            continue
        if not (entry / f"{entry.name}.py").is_file():
            broken.setdefault(entry.name, []).append(Problem(entry / f"{entry.name}.py", 1, "module folder without its source file",
                                    f"create src/{entry.name}/{entry.name}.py (AUTHORING.md)"))
            continue
        dirs.append(entry)
    return dirs


def _read_module(folder: Path, problems: list[Problem], settings: CourseConfig) -> Module | None:
    """Read the header and `#| default_exp` only: the manifest must be cheap to build."""
    path = folder / f"{folder.name}.py"
    text = path.read_text(encoding="utf-8")
    header, _, header_problems = read_header(text, path, settings.header_key)
    problems.extend(header_problems)
    m = FOLDER.match(folder.name)
    number, name = int(m.group("num")), m.group("name")
    meta = header.get(settings.header_key) or {}
    package = None
    for line in text.split("\n"):
        d = DIRECTIVE.match(line)
        if d and d.group("name") == "default_exp":
            package = d.group("arg")
            break
    if package is None:
        problems.append(Problem(path, 1, "no `#| default_exp` in this module",
                                "add a code cell `#| default_exp core.<name>` near the top"))
        return None

    def line_of(key: str) -> int:  # (not named field_line: that would shadow the module function it calls)
        return field_line(path, key, text)

    def listing(key: str) -> tuple[str, ...]:
        value = meta.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            problems.append(Problem(path, line_of(key), f"header field `{key}` must be a list of strings",
                                    f"write `{key}: [a, b]`"))
            return ()
        return tuple(str(v) for v in value)

    tier = str(meta.get("tier") or settings.tiers[0])
    if tier not in settings.tiers:
        problems.append(Problem(path, line_of("tier"), f"unknown tier `{tier}`",
                                f"use one of: {', '.join(settings.tiers)} ({settings.origin or 'pyproject.toml'} `tiers`)"))
    minutes = meta.get("minutes", 60)
    if not isinstance(minutes, int) or minutes <= 0:
        problems.append(Problem(path, line_of("minutes"), f"`minutes` must be a positive integer, not {minutes!r}",
                                "write e.g. `minutes: 90`"))
        minutes = 60
    aliases = listing("aliases")
    for alias in aliases:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", alias) or alias == package:
            problems.append(Problem(path, line_of("aliases"), f"alias `{alias}` is not a top-level module name "
                                    "distinct from `#| default_exp`", "write e.g. `aliases: [autograd]`"))
    return Module(
        number=number,
        name=name,
        src=path,
        title=str(meta.get("title") or name.replace("_", " ").title()),
        summary=str(meta.get("summary") or ""),
        tier=tier,
        minutes=minutes,
        prerequisites=listing("prerequisites"),
        objectives=listing("objectives"),
        exports=listing("exports"),
        milestones=listing("milestone"),
        package=package,
        aliases=aliases,
        top=settings.package,
    )


def _check_manifest(modules: list[Module], folders: set[str], broken: dict[str, list[Problem]]) -> None:
    """Cross-module rules; each problem is charged to the module that has it."""
    def problem(module: Module, line: int, message: str, hint: str) -> None:
        broken.setdefault(module.slug, []).append(Problem(module.src, line, message, hint))

    numbers: dict[int, Module] = {}
    packages: dict[str, Module] = {}
    for module in modules:
        if module.number in numbers:
            problem(module, 1, f"module number {module.id} also used by {numbers[module.number].slug}",
                    "give every module its own number")
        numbers.setdefault(module.number, module)
        if module.package in packages:
            problem(module, 1, f"`#| default_exp {module.package}` also used by {packages[module.package].slug}",
                    "export each module to its own package path")
        packages.setdefault(module.package, module)
        for alias in module.aliases:
            if alias in packages and packages[alias] is not module:
                problem(module, field_line(module.src, "aliases"), f"alias `{alias}` is already the package "
                        f"path of {packages[alias].slug}", "choose another alias")
            packages.setdefault(alias, module)
        for prereq in module.prerequisites:
            # a prerequisite whose own source is broken still exists: that is its problem, not this module's
            m = FOLDER.match(prereq)
            if prereq not in folders or not m:
                problem(module, field_line(module.src, "prerequisites"), f"unknown prerequisite `{prereq}`",
                        f"use module slugs such as {', '.join(sorted(folders)[:3])}")
            elif int(m.group("num")) >= module.number:
                problem(module, field_line(module.src, "prerequisites"),
                        f"prerequisite `{prereq}` does not come before this module",
                        "a module can only build on earlier modules")


def field_line(path: Path, key: str, text: str | None = None) -> int:
    """Line of the course header field `key:` (2, the `jupyter:` line, when absent)."""
    text = path.read_text(encoding="utf-8") if text is None else text
    for i, line in enumerate(text.split("\n")):
        if re.match(rf"^#\s+{key}\s*:", line):
            return i + 1
        if i > 0 and line.strip() == "# ---":
            break
    return 2
