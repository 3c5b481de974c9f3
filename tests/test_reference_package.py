"""The suite imports the reference package rendered from src/, never the checkout's tinytorch/ (which a student
may have filled with their own exports)."""
from __future__ import annotations

from pathlib import Path

from tito.core.course import Course
from tito.instructor.export import plan

from .helpers.course import REPO, module_text, write_module
from .helpers.package import render_reference_package


def test_tinytorch_is_imported_from_the_rendered_reference(reference_package):
    import tinytorch
    import tinytorch.core.tensor

    assert reference_package in Path(tinytorch.__file__).parents
    assert REPO not in Path(tinytorch.core.tensor.__file__).parents
    course = Course.load(REPO)
    for output in plan(course, course.modules):
        if output.path.parts[0] == "tinytorch":
            assert (reference_package / output.path).read_bytes() == output.content, output.path


def test_rendering_ignores_a_students_exports_in_the_course(course_dir, tmp_path):
    write_module(course_dir, "01_adder", module_text())
    student = course_dir / "tinytorch" / "core" / "adder.py"
    student.parent.mkdir(parents=True)
    student.write_text("# tito-origin: workspace/01_adder/01_adder.ipynb\ndef add(a, b):\n    return 0\n")
    out = render_reference_package(tmp_path / "rendered", course_dir)
    text = (out / "tinytorch" / "core" / "adder.py").read_text()
    assert "return a + b" in text and "return 0" not in text
    assert (out / "tinytorch" / "__init__.py").is_file()
