"""`tito system health`: is this machine ready for the course? Each check says how to fix itself."""
from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..core import config as course_config

MIN_PYTHON = (3, 10)
INSTALL = "pip install -e '.[student]'"
# (import name, distribution name, required)
PACKAGES = [
    ("numpy", "numpy", True), ("click", "click", True), ("rich", "rich", True), ("yaml", "pyyaml", True),
    ("jupytext", "jupytext", True), ("nbformat", "nbformat", True), ("nbclient", "nbclient", True),
    ("ipykernel", "ipykernel", True), ("jupyter_client", "jupyter_client", True), ("pytest", "pytest", True),
    ("nbgrader", "nbgrader", True), ("jupyterlab", "jupyterlab", True), ("jupyter_book", "jupyter-book", False),
]
# Importing these costs over a second and proves little more than finding them.
FIND_ONLY = {"nbgrader", "jupyterlab", "jupyter_book"}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _python() -> Check:
    ok = sys.version_info >= MIN_PYTHON
    return Check("Python", ok, f"{sys.version.split()[0]} ({sys.executable})",
                 "" if ok else f"install Python {'.'.join(map(str, MIN_PYTHON))}+ and recreate the virtual environment")


def _venv() -> Check:
    active = sys.prefix != sys.base_prefix or bool(os.environ.get("CONDA_PREFIX"))
    return Check("virtual environment", active, sys.prefix if active else "none (using the system Python)",
                 "" if active else "python -m venv .venv && source .venv/bin/activate && " + INSTALL, required=False)


def _package(name: str, dist: str, required: bool) -> Check:
    from ..core import fastimport

    fastimport.prepare()
    try:
        if name in FIND_ONLY:
            if importlib.util.find_spec(name) is None:
                raise ImportError(f"No module named {name!r}")
        else:
            importlib.import_module(name)
    except Exception as exc:  # a broken install raises anything
        return Check(f"package {dist}", False, f"not importable ({type(exc).__name__}: {exc})",
                     f"pip install {dist}" if not required else INSTALL, required)
    return Check(f"package {dist}", True, version(dist), required=required)


def _from_repo(name: str, root: Path) -> Check:
    spec = importlib.util.find_spec(name)
    origin = Path(spec.origin).resolve() if spec and spec.origin else None
    if origin is None:
        return Check(f"`{name}` from this repo", False, "not importable", f"cd {root} && pip install -e .")
    inside = origin.is_relative_to(Path(root).resolve())
    return Check(f"`{name}` from this repo", inside, str(origin.parent),
                 "" if inside else f"another copy is installed; cd {root} && pip install -e .")


def _kernel() -> Check:
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        spec = KernelSpecManager().get_kernel_spec("python3")
    except Exception as exc:
        return Check("Jupyter kernel python3", False, f"missing ({exc})", "python -m ipykernel install --user")
    python = spec.argv[0]
    resolved = python if os.path.isabs(python) else (sys.executable if python in ("python", "python3") else python)
    return Check("Jupyter kernel python3", True, f"{spec.display_name} ({resolved})")


def _writable(label: str, folder: Path) -> Check:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".tito-health-"):
            pass
    except OSError as exc:
        return Check(f"{label} writable", False, f"{folder}: {exc.strerror or exc}",
                     f"make {folder} writable (chmod u+w) or set TITO_WORKSPACE to a folder you own")
    return Check(f"{label} writable", True, str(folder))


def packages(root: Path) -> list[tuple[str, str, bool]]:
    """The packages this checkout uses: the book is built in the course source repository, never in a student
    edition, so an edition does not list jupyter-book."""
    from ..core.edition import is_edition

    return [p for p in PACKAGES if not (is_edition(root) and p[0] == "jupyter_book")]


def checks(root: Path) -> list[Check]:
    from .workspace import workspace_root

    found = [_python(), _venv()]
    found += [_package(name, dist, required) for name, dist, required in packages(root)]
    found += [_from_repo("tito", root), _from_repo(course_package(root), root), _kernel(),
              _writable("workspace", workspace_root(root)), _writable(".tito", Path(root) / ".tito")]
    return found


def info(root: Path) -> list[tuple[str, str]]:
    """Versions and paths, for bug reports."""
    from ..core.backups import BACKUP_DIR
    from .progress import STORE
    from .workspace import ENV, workspace_root

    rows = [("python", f"{sys.version.split()[0]} ({sys.executable})"), ("platform", sys.platform),
            (f"{course_package(root)} (tito)", version(course_package(root)))]
    rows += [(dist, found if (found := version(dist)) != "?" else "not installed") for _, dist, _ in packages(root)]
    rows += [("course root", str(root)), ("workspace", f"{workspace_root(root)}"
                                          + "".join(f"  (from ${name})" for name in ENV[:1] if os.environ.get(name))),
             ("progress", str(Path(root) / STORE)), ("backups", str(Path(root) / BACKUP_DIR)),
             ("package", str(Path(root) / course_package(root))), ("release", str(Path(root) / "release"))]
    return rows


def course_package(root: Path) -> str:
    """The course's package name (`[tool.tito] package`), or `?` when the course's settings are unreadable
    (health must report, not crash)."""
    try:
        return course_config.load(root).package
    except Exception:
        return "?"
