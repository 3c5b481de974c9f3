"""The course manifest: every module, derived from `src/NN_name/NN_name.py`, never hand-kept.

Number and slug come from the folder name; title, summary, tier, minutes, prerequisites,
objectives, exported names and milestone come from the file's `jupyter: tinytorch:` header;
the package path comes from `#| default_exp`. The CLI, the renderers, the book and the tests
all read this one manifest.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable, TypeVar

from .errors import LintError, Problem, UsageError
from .source import DIRECTIVE, ParsedSource, read_header

FOLDER = re.compile(r"^(?P<num>\d{2})_(?P<name>[a-z][a-z0-9_]*)$")
TIERS = ("foundation", "architecture", "optimization", "capstone")


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
    package: str  # dotted path under tinytorch, e.g. "core.tensor"

    @property
    def milestone(self) -> str | None:
        """The first milestone this module unlocks, if any (see `milestones` for all of them)."""
        return self.milestones[0] if self.milestones else None

    @property
    def import_path(self) -> str:
        return f"tinytorch.{self.package}"

    @property
    def package_file(self) -> Path:
        """Relative path of the exported package file."""
        return Path("tinytorch", *self.package.split(".")).with_suffix(".py")

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

    @classmethod
    def load(cls, root: Path | None = None) -> "Course":
        """Scan `root/src` (root defaults to the repo holding the cwd, or $TINYTORCH_ROOT)."""
        root = Path(root) if root is not None else find_root()
        problems: list[Problem] = []
        modules = [m for m in (_read_module(d, problems) for d in _module_dirs(root / "src", problems)) if m]
        _check_manifest(modules, problems)
        if problems:
            raise LintError(problems)
        return cls(root, sorted(modules, key=lambda m: m.number))

    def resolve(self, ident: str | int) -> Module:
        """Module for `01`, `1`, `01_tensor` or `tensor`; a UsageError lists the valid ids otherwise."""
        return resolve_ident(self.modules, ident, "module", empty="none: src/ has no modules")

    def select(self, idents: tuple[str, ...] | list[str], all_: bool = False) -> list[Module]:
        if all_ or not idents:
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
        return [(t, [m for m in self.modules if m.tier == t]) for t in TIERS if any(m.tier == t for m in self.modules)]

    def next_after(self, module: Module) -> Module | None:
        later = [m for m in self.modules if m.number > module.number]
        return later[0] if later else None


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
    """The course repo: $TINYTORCH_ROOT, else the nearest parent of `start` holding src/ and pyproject.toml."""
    env = os.environ.get("TINYTORCH_ROOT")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "src").is_dir() and (candidate / "pyproject.toml").is_file():
            return candidate
    package_root = Path(__file__).resolve().parent.parent
    if (package_root / "src").is_dir():
        return package_root
    raise UsageError(f"no TinyTorch course found at or above {here}; run tito from the repository "
                     "or set TINYTORCH_ROOT")


def _module_dirs(src: Path, problems: list[Problem]) -> list[Path]:
    if not src.is_dir():
        return []
    dirs = []
    for entry in sorted(src.iterdir()):
        if not entry.is_dir() or entry.name.startswith((".", "_")):
            continue
        if not FOLDER.match(entry.name):
            problems.append(Problem(entry, 1, f"folder `{entry.name}` is not named NN_name",
                                    "rename it like `src/01_tensor/` (two digits, underscore, lowercase name)"))
            continue
        if not (entry / f"{entry.name}.py").is_file():
            problems.append(Problem(entry / f"{entry.name}.py", 1, "module folder without its source file",
                                    f"create src/{entry.name}/{entry.name}.py (AUTHORING.md)"))
            continue
        dirs.append(entry)
    return dirs


def _read_module(folder: Path, problems: list[Problem]) -> Module | None:
    """Read the header and `#| default_exp` only: the manifest must be cheap to build."""
    path = folder / f"{folder.name}.py"
    text = path.read_text(encoding="utf-8")
    header, _, header_problems = read_header(text, path)
    problems.extend(header_problems)
    m = FOLDER.match(folder.name)
    number, name = int(m.group("num")), m.group("name")
    meta = header.get("tinytorch") or {}
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

    def field_line(key: str) -> int:
        return field_line(path, key, text)

    def listing(key: str) -> tuple[str, ...]:
        value = meta.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            problems.append(Problem(path, field_line(key), f"header field `{key}` must be a list of strings",
                                    f"write `{key}: [a, b]`"))
            return ()
        return tuple(str(v) for v in value)

    tier = str(meta.get("tier") or "foundation")
    if tier not in TIERS:
        problems.append(Problem(path, field_line("tier"), f"unknown tier `{tier}`", f"use one of: {', '.join(TIERS)}"))
    minutes = meta.get("minutes", 60)
    if not isinstance(minutes, int) or minutes <= 0:
        problems.append(Problem(path, field_line("minutes"), f"`minutes` must be a positive integer, not {minutes!r}",
                                "write e.g. `minutes: 90`"))
        minutes = 60
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
    )


def _check_manifest(modules: list[Module], problems: list[Problem]) -> None:
    by_slug = {m.slug: m for m in modules}
    numbers: dict[int, Module] = {}
    packages: dict[str, Module] = {}
    for module in modules:
        if module.number in numbers:
            problems.append(Problem(module.src, 1, f"module number {module.id} also used by {numbers[module.number].slug}",
                                    "give every module its own number"))
        numbers[module.number] = module
        if module.package in packages:
            problems.append(Problem(module.src, 1, f"`#| default_exp {module.package}` also used by "
                                    f"{packages[module.package].slug}", "export each module to its own package path"))
        packages[module.package] = module
        for prereq in module.prerequisites:
            target = by_slug.get(prereq)
            if target is None:
                problems.append(Problem(module.src, field_line(module.src, "prerequisites"),
                                        f"unknown prerequisite `{prereq}`",
                                        f"use module slugs such as {', '.join(list(by_slug)[:3])}"))
            elif target.number >= module.number:
                problems.append(Problem(module.src, field_line(module.src, "prerequisites"),
                                        f"prerequisite `{prereq}` does not come before this module",
                                        "a module can only build on earlier modules"))


def field_line(path: Path, key: str, text: str | None = None) -> int:
    """Line of the course header field `key:` (2, the `jupyter:` line, when absent)."""
    text = path.read_text(encoding="utf-8") if text is None else text
    for i, line in enumerate(text.split("\n")):
        if re.match(rf"^#\s+{key}\s*:", line):
            return i + 1
        if i > 0 and line.strip() == "# ---":
            break
    return 2
