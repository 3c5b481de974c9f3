"""A class's worth of module 01 submissions, as students really hand them in (tests and the benchmark)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from tito.core.course import Course
from tito.instructor import nbgrader as grading
from tito.instructor.export import plan, write

from .course import REPO  # noqa: E402
from .notebooks import fill_solutions, grade_id, load, source_of

KINDS = ("perfect", "stubbed", "wrong", "loop", "syntax")


def tensor_course(root: Path) -> tuple[Course, object]:
    """A copy of the course with module 01 only, exported and released (gradebook entries created)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "pyproject.toml", root)
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(REPO / "src" / "01_tensor", root / "src" / "01_tensor")
    course = Course.load(root)
    write(course, plan(course, course.modules), course.modules)
    module = course.resolve("01")
    report = grading.generate_release(course, module)
    assert report.ok, report.leaks + report.bad_checksums
    return course, module


def submit(root: Path, student: str, nb: dict | str, slug: str = "01_tensor") -> Path:
    """Put a notebook (or any text: a broken file) where `tito nbgrader collect` would have put it."""
    path = root / "grading" / "submitted" / student / slug / f"{slug}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nb if isinstance(nb, str) else json.dumps(nb), encoding="utf-8")
    return path


def _copy(nb: dict) -> dict:
    return json.loads(json.dumps(nb))


def _replace_in(nb: dict, gid: str, old: str, new: str) -> dict:
    for cell in nb["cells"]:
        if grade_id(cell) == gid:
            text = source_of(cell)
            assert old in text, f"{old!r} not in cell {gid}"
            cell["source"] = text.replace(old, new, 1)
            return nb
    raise KeyError(gid)


def _prepend(nb: dict, gid: str, code: str) -> dict:
    for cell in nb["cells"]:
        if grade_id(cell) == gid:
            cell["source"] = code + source_of(cell)
            return nb
    raise KeyError(gid)


def variants(course: Course, module) -> dict[str, dict]:
    """kind -> submitted notebook. `wrong` flips one operand order; `loop` never ends; `syntax` cannot parse."""
    release = load(course.root / module.release_file)
    reference = load(course.root / module.notebook_file)
    perfect = fill_solutions(_copy(release), reference)
    out = {"perfect": perfect, "stubbed": _copy(release)}
    out["wrong"] = _replace_in(_copy(perfect), "tensor-arithmetic", "self.data - _unwrap(other)",
                               "_unwrap(other) - self.data")
    out["loop"] = _prepend(_copy(perfect), "tensor-matmul", "while True:  # never ends\n    pass\n")
    out["syntax"] = _replace_in(_copy(perfect), "tensor-neg-pow", "def _neg(self):", "def _neg(self)")
    return out


def edited_locked(course: Course, module) -> dict:
    """Solved, but the first test cell's assertions replaced by `pass` (nbgrader restores the original)."""
    nb = variants(course, module)["stubbed"]
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade"))
    cell["source"] = "pass  # tests deleted\n"
    return nb


def deleted_test(course: Course, module, gid: str = "test-tensor-matmul") -> dict:
    nb = variants(course, module)["perfect"]
    nb["cells"] = [c for c in nb["cells"] if grade_id(c) != gid]
    return nb
