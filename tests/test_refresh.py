"""`tito module refresh`: the merge of a student's notebook into an updated release, cell by cell."""
from __future__ import annotations

import json

from tito.student.refresh import merge


def cell(kind: str, source: str, ident: str, gid: str | None = None, solution: bool = False, locked: bool = False) -> dict:
    metadata = {}
    if gid:
        metadata["nbgrader"] = {"grade_id": gid, "solution": solution, "locked": locked, "grade": locked,
                                "schema_version": 3}
    out = {"cell_type": kind, "id": ident, "metadata": metadata, "source": source}
    if kind == "code":
        out.update(outputs=[], execution_count=None)
    return out


def notebook(*cells: dict) -> dict:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


V1 = notebook(cell("markdown", "# Adder\nOld prose.", "ma-1"),
              cell("code", "# YOUR CODE HERE\nraise NotImplementedError()", "add", "add", solution=True),
              cell("code", "assert add(2, 3) == 5", "test-add", "test-add", locked=True),
              cell("code", "# YOUR CODE HERE\nraise NotImplementedError()", "sub", "sub", solution=True))
V2 = notebook(cell("markdown", "# Adder\nNew prose.", "ma-2"),
              cell("code", "# YOUR CODE HERE\nraise NotImplementedError()", "add", "add", solution=True),
              cell("code", "assert add(2, 3) == 5, 'add(2, 3) is 5'", "test-add", "test-add", locked=True))


def student_v1() -> dict:
    nb = json.loads(json.dumps(V1))
    nb["cells"][1]["source"] = "def add(a, b):\n    return a + b"
    nb["cells"][3]["source"] = "def sub(a, b):\n    return a - b"
    nb["cells"].insert(2, cell("code", "print(add(1, 1))  # my check", "scratch"))
    return nb


def sources(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"]]


def test_code_carries_over_by_grade_id_and_new_release_content_replaces_the_old():
    merged, report = merge(student_v1(), V2, V1)
    got = sources(merged)
    assert got[0] == "# Adder\nNew prose." and "# Adder\nOld prose." not in got
    assert got[1] == "def add(a, b):\n    return a + b"
    assert got[2] == "print(add(1, 1))  # my check", "a cell the student added stays after the cell it followed"
    assert got[3] == "assert add(2, 3) == 5, 'add(2, 3) is 5'"
    assert report.carried == ["add"] and report.kept == ["cell 3 (print(add(1, 1))  # my check)"]


def test_a_solution_cell_the_new_release_lacks_is_reported_and_kept_at_the_end():
    merged, report = merge(student_v1(), V2, V1)
    assert report.unplaced == ["sub"]
    assert sources(merged)[-1] == "def sub(a, b):\n    return a - b"
    assert "nbgrader" not in merged["cells"][-1]["metadata"], "a kept cell must not clash with release grade_ids"


def test_an_edited_locked_cell_goes_back_as_released_and_is_reported():
    student = student_v1()
    student["cells"][3]["source"] = "pass  # tests switched off"
    merged, report = merge(student, V2, V1)
    assert report.relocked == ["test-add"]
    assert "pass  # tests switched off" not in sources(merged)


def test_without_the_starting_release_unknown_cells_are_kept_not_dropped():
    merged, report = merge(student_v1(), V2, None)
    got = sources(merged)
    assert "# Adder\nOld prose." in got and "print(add(1, 1))  # my check" in got
    assert "cell 1 (# Adder)" in report.kept
