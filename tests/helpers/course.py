"""The repo's location and small fixture courses written from source texts."""
from __future__ import annotations

import textwrap
from pathlib import Path

from tito.core.course import Course
from tito.instructor.export import plan, write

REPO = Path(__file__).resolve().parents[2]

HEADER = """\
# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   tinytorch:
#     title: {title}
#     summary: A fixture module.
#     prerequisites: {prereqs}
#     exports: [{exports}]
# ---
"""

BODY = '''
# %% [markdown]
# # Adding numbers
# A tiny module used by the tests.

# %%
#| default_exp core.{name}

# %%
#| export
import math

# %% nbgrader={{"grade": false, "grade_id": "add", "locked": false, "schema_version": 3, "solution": true, \
"task": false}}
#| export
def add(a, b):
    """Return a + b."""
    ### BEGIN SOLUTION
    return a + b
    ### END SOLUTION

# %% nbgrader={{"grade": true, "grade_id": "test-add", "locked": true, "points": 2, "schema_version": 3, \
"solution": false, "task": false}}
def test_add():
    assert add(2, 3) == 5, "add(2, 3) should be 5"
test_add()
### BEGIN HIDDEN TESTS
assert add(-1, 1) == 0
### END HIDDEN TESTS
'''


def module_text(name: str = "adder", title: str = "Adder", prereqs: str = "[]", exports: str = "add",
                body: str | None = None) -> str:
    return HEADER.format(title=title, prereqs=prereqs, exports=exports) + (
        BODY.format(name=name) if body is None else textwrap.dedent(body))


def write_module(root: Path, slug: str, text: str) -> Path:
    path = root / "src" / slug / f"{slug}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def exported(root: Path) -> Course:
    """Load the course at `root` and write every output of `tito source export --all`."""
    course = Course.load(root)
    write(course, plan(course, course.modules), course.modules)
    return course
