"""`tito dist student OUT`: the student edition, a self-contained course with no answer in it.

plan() lists every file of the edition as bytes (nothing is read from a previous build, so two builds are
identical). build() writes the plan into a temporary folder beside OUT, scans every file for secret lines
(core.leaks.secret_lines: solutions, hidden tests and mutants), and only then swaps it into place; a leak leaves OUT as
it was. With `git`, OUT is a git repository and each build that changes something is one commit named
after the course version.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core import edition
from ..core.course import Course
from ..core.errors import TitoError, UsageError
from ..core.leaks import LeakScan, scan_folder, secret_lines
from ..core.render.package import package_inits
from . import edition_files as files
from . import sourcestate

TITO = Path(__file__).resolve().parents[1]
# What the edition's tito is, by package: the entry points, the student commands, and core. Never `instructor`
# (tests/test_structure.py holds these packages to never importing it).
SHIPPED = ("__init__.py", "__main__.py", "cli", "core", "student")
SKIP = {"__pycache__", ".ipynb_checkpoints", ".DS_Store"}


@dataclass(frozen=True)
class EditionFile:
    path: Path  # relative to the edition root
    content: bytes
    executable: bool = False


@dataclass
class BuildReport:
    out: Path
    version: str
    files: list[EditionFile] = field(default_factory=list)
    scan: LeakScan | None = None
    seconds: float = 0.0
    commit: str | None = None  # the git commit made (None: no --git, or nothing changed)
    dirty: bool = False  # built from a course checkout with uncommitted changes (the version says so)

    @property
    def size(self) -> int:
        return sum(len(f.content) for f in self.files)


class LeakFound(TitoError):
    """The edition would hold a solution or hidden-test line; nothing was written."""

    def __init__(self, scan: LeakScan):
        self.scan = scan
        shown = "\n".join(f"  {leak}" for leak in scan.leaks[:30])
        more = f"\n  ... and {len(scan.leaks) - 30} more" if len(scan.leaks) > 30 else ""
        super().__init__(f"{len(scan.leaks)} solution or hidden-test line(s) would reach the student edition:\n"
                         f"{shown}{more}\nfix: remove each line from the file named (or make it visible in the "
                         "source, outside BEGIN SOLUTION / BEGIN HIDDEN TESTS); no edition was written")


# --- what goes in ---------------------------------------------------------------------------------


def _project(course: Course) -> dict:
    """The course's pyproject.toml `[project]` table."""
    import tomllib

    path = course.root / "pyproject.toml"
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")).get("project", {})
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read it ({exc})") from None


def student_dependencies(course: Course) -> list[str]:
    """The course's `dependencies` plus its `student` extra: what the edition installs, nothing for the book."""
    project = _project(course)
    student = project.get("optional-dependencies", {}).get("student")
    if student is None:
        raise UsageError(f"{course.root / 'pyproject.toml'}: no `student` extra; add a `student = ...` list of "
                         "what `tito module` needs under `project.optional-dependencies`")
    return list(dict.fromkeys([*project.get("dependencies", []), *student]))


def course_version(course: Course, override: str | None = None) -> str:
    """`--version`, else the project version plus the source commit (when the course is a git checkout), marked
    `.dirty.<digest>` when the checkout has uncommitted changes (sourcestate.describe)."""
    if override:
        return override.strip()
    version = str(_project(course).get("version", "0"))
    state = sourcestate.describe(course.root)
    return f"{version}+{state}" if state else version


def tito_files() -> list[Path]:
    """The tito files the edition ships (relative to the tito package): the SHIPPED packages, whole."""
    found = []
    for item in SHIPPED:
        path = TITO / item
        paths = [path] if path.is_file() else sorted(path.rglob("*.py"))
        found += [p.relative_to(TITO) for p in paths if not SKIP.intersection(p.relative_to(TITO).parts)]
    return sorted(found)


def _tree(root: Path, folder: str) -> list[EditionFile]:
    base = root / folder
    if not base.is_dir():
        return []
    found = []
    for path in sorted(base.rglob("*")):
        if path.is_file() and not SKIP.intersection(path.relative_to(root).parts) and path.suffix != ".pyc":
            found.append(EditionFile(path.relative_to(root), path.read_bytes()))
    return found


def plan(course: Course, version: str) -> list[EditionFile]:
    """Every file of the edition, in path order. Raises if the course has not been released."""
    if not course.modules:
        raise UsageError(f"{course.root}: the course has no modules (src/ is empty)")
    missing = [m.release_file.as_posix() for m in course.modules if not (course.root / m.release_file).is_file()]
    if missing:
        raise TitoError(f"the student notebooks are not released yet: {', '.join(missing[:5])}"
                        f"{' ...' if len(missing) > 5 else ''}; run `tito nbgrader generate --all` first")
    out: list[EditionFile] = []
    for relative in tito_files():
        out.append(EditionFile(Path("tito") / relative, (TITO / relative).read_bytes()))
    for module in course.modules:
        out.extend(_tree(course.root, module.release_file.parent.as_posix()))
        tests = course.root / "tests" / "modules" / f"test_{module.slug}.py"
        if tests.is_file():
            out.append(EditionFile(tests.relative_to(course.root), tests.read_bytes()))
    out.extend(EditionFile(path, text.encode()) for path, text in package_inits(course))
    if (course.root / "constraints.txt").is_file():  # the versions the course was tested with
        out.append(EditionFile(Path("constraints.txt"), (course.root / "constraints.txt").read_bytes()))
    out.extend(_tree(course.root, course.config.milestones))
    out.extend(_tree(course.root, "datasets"))
    manifest = {"schema": edition.SCHEMA, "edition": "student", "course_version": version,
                "modules": [edition.module_record(m) for m in course.modules]}
    config = Path(files.JUPYTER_CONFIG)
    out += [
        EditionFile(Path(edition.MARKER), (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()),
        EditionFile(Path("COURSE_VERSION"), f"{version}\n".encode()),
        EditionFile(Path("README.md"), files.readme(course, version).encode()),
        EditionFile(Path("pyproject.toml"), files.pyproject(course, version, student_dependencies(course)).encode()),
        EditionFile(Path(".gitignore"), files.gitignore(course).encode()),
        EditionFile(Path("setup-environment.sh"), files.setup_script(course.config.title, edition=True).encode(), executable=True),
        EditionFile(Path("activate.sh"), files.activate_script(course.config.title).encode()),
        EditionFile(config / "labconfig" / "page_config.json", files.lab_page_config().encode()),
        EditionFile(config / "jupyter_server_config.json", files.server_config().encode()),
    ]
    return sorted(out, key=lambda f: f.path.as_posix())


# --- writing and checking -------------------------------------------------------------------------


def _write_tree(folder: Path, planned: list[EditionFile]) -> None:
    for item in planned:
        target = folder / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.content)
        target.chmod(0o755 if item.executable else 0o644)


def scan(course: Course, folder: Path) -> LeakScan:
    """Every file under `folder` (the .git folder aside) checked for solution and hidden-test lines."""
    return scan_folder(folder, secret_lines(course), Path(folder))


def build(course: Course, out: Path, version: str | None = None, git: bool = False) -> BuildReport:
    """Build the edition into `out` (replaced whole, its .git kept); raise LeakFound and leave `out` alone on a leak."""
    started = time.perf_counter()
    out = Path(out).resolve()
    _refuse_unsafe(course, out)
    named = course_version(course, version)
    report = BuildReport(out, named, plan(course, named), dirty=not version and sourcestate.DIRTY in named)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        staging.chmod(0o755)
        _write_tree(staging, report.files)
        report.scan = scan(course, staging)
        if report.scan.leaks:
            raise LeakFound(report.scan)
        _swap_in(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if git:
        report.commit = commit(out, named, course.config.title)
    report.seconds = time.perf_counter() - started
    return report


def _refuse_unsafe(course: Course, out: Path) -> None:
    root = course.root.resolve()
    if out == root or root.is_relative_to(out) or out.is_relative_to(root):
        raise UsageError(f"{out}: build the edition outside the course repository (e.g. ../{course.package}-student)")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file; name a folder for the edition")
    if out.is_dir() and any(out.iterdir()) and not edition.is_edition(out):
        raise UsageError(f"{out} is not empty and holds no student edition; name an empty or new folder "
                         "(tito replaces an edition folder whole and will not overwrite anything else)")


def _swap_in(staging: Path, out: Path) -> None:
    """Replace `out` by `staging` with renames; an existing edition's .git moves across."""
    if out.exists():
        if (out / ".git").exists():
            os.replace(out / ".git", staging / ".git")
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
        try:
            os.replace(staging, out)
        except BaseException:
            os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, out)


def check(course: Course, out: Path) -> LeakScan:
    """`tito dist student OUT --check`: scan an existing edition (exit 1 in the CLI on any leak)."""
    out = Path(out)
    if not edition.is_edition(out):
        raise UsageError(f"{out}: no student edition here ({edition.MARKER} is missing); build one with "
                         f"`tito dist student {out}`")
    return scan(course, out)


def commit(out: Path, version: str, title: str) -> str | None:
    """Commit the edition as it stands; None when nothing changed since the last build."""
    def git(*args: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, GIT_AUTHOR_NAME=os.environ.get("GIT_AUTHOR_NAME", "tito dist"),
                   GIT_AUTHOR_EMAIL=os.environ.get("GIT_AUTHOR_EMAIL", "tito@localhost.invalid"),
                   GIT_COMMITTER_NAME=os.environ.get("GIT_COMMITTER_NAME", "tito dist"),
                   GIT_COMMITTER_EMAIL=os.environ.get("GIT_COMMITTER_EMAIL", "tito@localhost.invalid"))
        result = subprocess.run(["git", *args], cwd=out, capture_output=True, text=True, env=env, timeout=120)
        if result.returncode != 0:
            raise TitoError(f"git {' '.join(args)} failed in {out}: {result.stderr.strip() or result.stdout.strip()}")
        return result

    if shutil.which("git") is None:
        raise TitoError("--git needs git; install it (apt-get install git) or build without --git")
    if not (out / ".git").exists():
        git("init", "--quiet", "--initial-branch=main")
    git("add", "--all")
    if not git("status", "--porcelain").stdout.strip():
        return None
    git("commit", "--quiet", "-m", f"{title} student edition {version}")
    return git("rev-parse", "HEAD").stdout.strip()
