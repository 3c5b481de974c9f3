"""One execution driver for grading, sandboxed or not: the course's configured autograde chain is kept (with
tito's execute step in it), and `--no-sandbox` gets the same limits and guard as the sandbox."""
from __future__ import annotations

import json
import textwrap

import pytest
from traitlets.config import Config

from tito.core.errors import UsageError
from tito.instructor import nbgrader as grading
from tito.instructor.classgrade.batch import grade_class
from tito.instructor.classgrade.chain import GRADING_EXECUTE, LIMIT_CELL_SIZE, grading_chain
from tito.instructor.sandbox import Limits

from .helpers.class_submissions import tensor_course, variants
from .helpers.notebooks import grade_id

STAMP = '''
from nbgrader.preprocessors import NbGraderPreprocessor


class Stamp(NbGraderPreprocessor):
    """An instructor's own step: records that it ran, after execution."""

    def preprocess(self, nb, resources):
        nb.metadata["stamped"] = [c.get("execution_count") for c in nb.cells if c.cell_type == "code"][:3]
        return nb, resources
'''


def test_the_default_chain_gets_tito_s_execute_step_and_keeps_the_rest():
    chain = grading_chain(Config())
    assert chain[0] == GRADING_EXECUTE and chain[1] == LIMIT_CELL_SIZE
    assert "nbgrader.preprocessors.saveautogrades.SaveAutoGrades" in chain
    assert not any(name.endswith(".Execute") for name in chain)


def test_a_configured_chain_is_kept_with_its_execute_step_replaced():
    config = Config()
    config.Autograde.autograde_preprocessors = ["nbgrader.preprocessors.Execute", "nbgrader.preprocessors.LimitOutput",
                                                "nbgrader.preprocessors.SaveAutoGrades"]
    assert grading_chain(config) == [GRADING_EXECUTE, LIMIT_CELL_SIZE, "nbgrader.preprocessors.LimitOutput",
                                     "nbgrader.preprocessors.SaveAutoGrades"]


def test_a_step_defined_inside_the_config_file_is_refused_with_the_fix():
    class Local:  # what a class defined in nbgrader_config.py looks like: not importable by name
        pass

    config = Config()
    config.Autograde.autograde_preprocessors = ["nbgrader.preprocessors.Execute", Local]
    with pytest.raises(UsageError, match=r"nbgrader_config.py: the autograde step .* cannot be imported by name"):
        grading_chain(config)


def test_a_chain_without_an_execute_step_is_refused():
    config = Config()
    config.Autograde.autograde_preprocessors = ["nbgrader.preprocessors.SaveAutoGrades"]
    with pytest.raises(UsageError, match="no execute step"):
        grading_chain(config)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return tensor_course(tmp_path_factory.mktemp("driver"))


def submit(course, module, student: str, nb: dict) -> None:
    folder = course.root / "grading" / "submitted" / student / module.slug
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module.slug}.ipynb").write_text(json.dumps(nb))


@pytest.mark.slow
@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "no-sandbox"])
def test_the_instructors_own_step_runs_in_the_workers(course, tmp_path, monkeypatch, sandboxed):
    course, module = course
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "course_steps.py").write_text(STAMP)
    monkeypatch.syspath_prepend(str(package))  # importable here and in the spawned workers, like an installed module
    monkeypatch.setenv("PYTHONPATH", str(package))
    config_file = course.root / "nbgrader_config.py"
    original = config_file.read_text()
    config_file.write_text(original + textwrap.dedent('''
        c.Autograde.autograde_preprocessors = [
            "nbgrader.preprocessors.Execute", "course_steps.Stamp", "nbgrader.preprocessors.SaveAutoGrades",
            "nbgrader.preprocessors.AssignLatePenalties", "nbgrader.preprocessors.CheckCellMetadata"]
    '''))
    try:
        student = f"stamped-{sandboxed}"
        submit(course, module, student, variants(course, module)["perfect"])
        report = grade_class(course, module, student=student, workers=1, sandbox=sandboxed, force=True)
    finally:
        config_file.write_text(original)
    (result,) = report.results
    assert result.ok and result.score == result.max_score == 17, (result.flags, result.error[-500:])
    autograded = json.loads(result.autograded)
    assert autograded["metadata"]["stamped"] == [1, 2, 3], "the instructor's step ran after tito's execute step"


TAMPER = "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
IGNORE_SIGINT = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"


def with_cell(nb: dict, code: str, after: str) -> dict:
    nb = json.loads(json.dumps(nb))
    at = next(i for i, c in enumerate(nb["cells"]) if grade_id(c) == after)
    nb["cells"].insert(at + 1, {"cell_type": "code", "id": f"extra-{len(nb['cells'])}", "metadata": {}, "outputs": [],
                                "execution_count": None, "source": code})
    return nb


@pytest.mark.slow
def test_no_sandbox_runs_the_same_driver_limits_and_guard(course):
    """--no-sandbox: the same escalation at the cell timeout (earlier points kept), the wall-time limit, and
    the guard (a tamper costs the points)."""
    course, module = course
    kinds = variants(course, module)
    submit(course, module, "bare-stuck", with_cell(kinds["perfect"], IGNORE_SIGINT, "test-tensor-arithmetic"))
    submit(course, module, "bare-tamper", with_cell(kinds["wrong"], TAMPER, "tensor-arithmetic"))
    submit(course, module, "bare-wrong", kinds["wrong"])
    slow = kinds["perfect"]
    for _ in range(8):  # each under the cell timeout, together over the wall-time limit
        slow = with_cell(slow, "import time\ntime.sleep(4)\n", "test-tensor-arithmetic")
    submit(course, module, "bare-slow", slow)
    results = {}
    for student, limits in (("bare-stuck", Limits(wall_seconds=120)), ("bare-tamper", Limits()),
                            ("bare-wrong", Limits()), ("bare-slow", Limits(wall_seconds=25))):
        (result,) = grade_class(course, module, student=student, workers=1, sandbox=False, force=True, timeout=5,
                                limits=limits).results
        results[student] = result
    stuck = results["bare-stuck"]
    assert stuck.score == 17 and any(f.startswith("kernel replaced") for f in stuck.flags), stuck.flags
    assert results["bare-tamper"].score < results["bare-wrong"].score
    assert any(f.startswith("tampering after") for f in results["bare-tamper"].flags), results["bare-tamper"].flags
    slow = results["bare-slow"]
    assert any(f.startswith("stopped:") and "wall-time limit" in f for f in slow.flags), slow.flags
    earned = {g.cell: g.auto_score for g in slow.grades}
    assert earned["test-tensor-init"] > 0 and earned["test-tensor-arithmetic"] > 0, "points earned before are kept"
    assert earned["test-tensor-matmul"] == 0


def test_grading_config_carries_no_run_time_class(tmp_path):
    """The config the parent hands to workers pickles (Dask and spawned workers need it)."""
    import pickle

    from tito.instructor.classgrade.batch import portable

    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    config = portable(grading.nbgrader_config(tmp_path))
    assert pickle.loads(pickle.dumps(config)).Autograde.autograde_preprocessors[0] == GRADING_EXECUTE


def test_a_snapshot_gradebook_has_exactly_the_schema_nbgrader_makes(tmp_path):
    """The snapshot skips nbgrader's `alembic` subprocess by recording the schema version itself: the tables,
    indexes and version row must be what nbgrader's own Gradebook creates."""
    import sqlite3

    from nbgrader.api import Gradebook

    from tito.instructor.classgrade.snapshot import stamp_schema

    stamp_schema(tmp_path / "ours.db")
    for name in ("ours.db", "nbgraders.db"):
        Gradebook(f"sqlite:///{tmp_path / name}").close()

    def schema(name):
        db = sqlite3.connect(tmp_path / name)
        try:
            return (sorted(db.execute("SELECT type, name, sql FROM sqlite_master").fetchall()),
                    db.execute("SELECT version_num FROM alembic_version").fetchall())
        finally:
            db.close()

    assert schema("ours.db") == schema("nbgraders.db")
