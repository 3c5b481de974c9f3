"""Class grading on both gradebooks (SQLite, a real PostgreSQL), on a Dask cluster, and one bad submission
among good ones (kernel crash, memory blow-up). Scores are compared with plain sequential nbgrader."""
from __future__ import annotations

import json
import shutil

import pytest

from tito.instructor.classgrade.batch import grade_class

from .helpers.class_submissions import submit, tensor_course, variants
from .helpers.grading import plain_scores, run, tito
from .helpers.postgres import Server

KINDS = ("perfect", "stubbed", "wrong", "syntax")


def db_scores(db_url: str) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(db_url, "tinytorch") as gb:
        return {s.student.id: {g.cell.name: float(g.score) for nb in s.notebooks for g in nb.grades}
                for s in gb.find_assignment("01_tensor").submissions}


@pytest.fixture(scope="module")
def expected(tmp_path_factory):
    """Four kinds of submission, graded by plain `nbgrader autograde` (sequential, SQLite)."""
    course, module = tensor_course(tmp_path_factory.mktemp("plain"))
    for kind, nb in variants(course, module).items():
        if kind in KINDS:
            submit(course.root, kind, nb)
    run(["nbgrader", "autograde", "01_tensor", "--force"], course.root)
    scores = plain_scores(course.root / "gradebook.db")
    assert sorted(scores) == sorted(KINDS)
    return course, scores


def copy_course(expected, dest):
    course, _ = expected
    shutil.copytree(course.root, dest, ignore=shutil.ignore_patterns("autograded", "gradebook.db", ".tito"))
    run(["nbgrader", "generate_assignment", "01_tensor", "--force"], dest)
    return dest


@pytest.fixture
def postgres():
    server = Server()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_parallel_graders_lose_no_update(backend, expected, tmp_path, request):
    """PostgreSQL is configured as the instructor guide says: its db_url line, word for word but for the
    server's user, host, port and database (`postgresql://` is psycopg 3 in SQLAlchemy 2)."""
    root = tmp_path / "course"
    shutil.copytree(expected[0].root, root, ignore=shutil.ignore_patterns("autograded", "gradebook.db", ".tito"))
    if backend == "postgresql":
        server = request.getfixturevalue("postgres")
        url = server.guide_url()
        assert url.startswith("postgresql://"), url
        with open(root / "nbgrader_config.py", "a") as config:
            config.write(f'\nc.CourseDirectory.db_url = "{url}"\n')
    else:
        url = f"sqlite:///{root / 'gradebook.db'}"
    tito("nbgrader", "generate", "01", "--force", cwd=root)
    out = tito("nbgrader", "autograde", "01", "--all", "--jobs", "2", cwd=root).stdout
    assert "graded 4, failed 0" in out, out
    assert db_scores(url) == expected[1]
    if backend == "postgresql":  # the psycopg2 driver, named explicitly, reads the same gradebook
        assert db_scores(server.url("postgresql+psycopg2")) == expected[1]


def test_dask_cluster_grades_like_plain_nbgrader(expected, tmp_path):
    from distributed import LocalCluster

    root = tmp_path / "course"
    shutil.copytree(expected[0].root, root, ignore=shutil.ignore_patterns("autograded", "gradebook.db", ".tito"))
    tito("nbgrader", "generate", "01", "--force", cwd=root)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        out = tito("nbgrader", "autograde", "01", "--all", "--cluster", cluster.scheduler_address, cwd=root).stdout
        workers = {w for w in cluster.scheduler.workers}
    assert len(workers) == 2
    assert "graded 4, failed 0" in out, out
    assert plain_scores(root / "gradebook.db") == expected[1]


def test_crash_and_memory_blowup_fail_only_their_submission(expected, tmp_path):
    from tito.core.course import Course
    from tito.instructor.sandbox import Limits

    course, _ = expected
    root = tmp_path / "course"
    shutil.copytree(course.root, root, ignore=shutil.ignore_patterns("submitted", "autograded", "gradebook.db", ".tito"))
    course = Course.load(root)
    module = course.resolve("01")
    kinds = variants(course, module)
    perfect = kinds["perfect"]
    crash, hog = json.loads(json.dumps(perfect)), json.loads(json.dumps(perfect))
    for nb, code in ((crash, "import os\nos._exit(1)\n"), (hog, "hog = bytearray(3 * 1024 ** 3)\n")):
        cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "tensor-matmul")
        cell["source"] = code + "".join(cell["source"])
    for student, nb in (("crash", crash), ("hog", hog), ("ok", perfect)):
        submit(root, student, nb)
    report = grade_class(course, module, workers=2, limits=Limits(memory_bytes=1536 << 20), timeout=30)
    by = {r.student: r for r in report.results}
    # The cells before the crash were graded; the crashed cell and every one after it score nothing.
    assert by["crash"].ok and "kernel crash" in by["crash"].flags, (by["crash"].flags, by["crash"].error)
    assert 0 < by["crash"].score < by["crash"].max_score
    assert "DeadKernelError" in by["crash"].autograded and "CellNotRun" in by["crash"].autograded
    assert by["hog"].ok and 0 < by["hog"].score < by["hog"].max_score
    assert "MemoryError" in by["hog"].autograded
    assert by["ok"].ok and by["ok"].score == by["ok"].max_score == 17
    scores = db_scores(f"sqlite:///{root / 'gradebook.db'}")
    assert sum(scores["crash"].values()) == by["crash"].score and sum(scores["ok"].values()) == 17
