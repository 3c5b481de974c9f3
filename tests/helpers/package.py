"""The reference package, rendered from src/ by tito's export engine into a folder outside the checkout.

The suite imports `tinytorch` from there, never from the checkout's tinytorch/: a student who completed
modules in this checkout has their own exports there, and the package tests must judge the reference.
"""
from __future__ import annotations

import importlib.machinery
import sys
from pathlib import Path

from tito.core.course import Course
from tito.instructor.export import plan

from .course import REPO


def render_reference_package(folder: Path, root: Path = REPO) -> Path:
    """Write every package output of `tito source export --all` for `root` under `folder`; return `folder`.

    `datasets/` is linked beside the package, as in the repo, for code that finds data relative to it.
    """
    course = Course.load(root)
    outputs = [o for o in plan(course, course.modules) if o.path.parts[0] == "tinytorch"]
    if not any(o.kind == "package" for o in outputs):
        raise RuntimeError(f"{root / 'src'} renders no package module")
    for output in outputs:
        target = folder / output.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(output.content)
    if (root / "datasets").is_dir():
        (folder / "datasets").symlink_to((root / "datasets").resolve(), target_is_directory=True)
    return folder


class _PackageFinder:
    """Finds the top-level `tinytorch` in one folder, ahead of sys.path (pytest puts the checkout first there)."""

    def __init__(self, folder: Path):
        self.folder = str(folder)

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tinytorch":
            return None  # submodules follow the package's __path__
        return importlib.machinery.PathFinder.find_spec(fullname, [self.folder])


def import_tinytorch_from(folder: Path) -> None:
    """Make `import tinytorch` load `folder/tinytorch` in this process, whatever sys.path says."""
    if "tinytorch" in sys.modules:
        raise RuntimeError(f"tinytorch was already imported from {sys.modules['tinytorch'].__file__}")
    sys.meta_path.insert(0, _PackageFinder(folder))
