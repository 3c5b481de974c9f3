"""Shared fixtures: the real repo root, and throwaway courses built from small source texts."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

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

# %% nbgrader={{"grade": false, "grade_id": "add", "locked": false, "schema_version": 3, "solution": true, "task": false}}
#| export
def add(a, b):
    """Return a + b."""
    ### BEGIN SOLUTION
    return a + b
    ### END SOLUTION

# %% nbgrader={{"grade": true, "grade_id": "test-add", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}}
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


@pytest.fixture
def course_dir(tmp_path: Path) -> Path:
    """An empty course: pyproject.toml + src/ + the repo's nbgrader_config.py."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'fixture'\n\n[tool.tinytorch]\ncourse = 'fixture'\n")
    (tmp_path / "src").mkdir()
    shutil.copy(REPO / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    return tmp_path


@pytest.fixture
def adder_course(course_dir: Path) -> Path:
    write_module(course_dir, "01_adder", module_text())
    return course_dir
