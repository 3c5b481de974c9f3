"""A student's whole life in a freshly built student edition: clone it, set it up as its README says, work
through the foundation tier, run the milestones, then pull a course update and refresh the notebooks.

The course is a temporary copy (the instructor edits it to make the update); the simulated student writes the
reference solutions into their released notebooks and tags module 01's Tensor so the milestones provably run on
the student's exports.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from .helpers.course import REPO
from .helpers.edition import course_copy, course_tito, publish, student_shell
from .helpers.notebooks import fill_solutions, grade_id, load, source_of

FOUNDATION = ["01_tensor", "02_activations", "03_layers", "04_losses", "05_autograd", "06_optimizers", "07_training"]
MARKER = '\nTensor.written_by = "the student"'
LINEAR = "from tinytorch import Linear; print(Linear(10, 5))"
PROSE = ("# # Module 02: Activations", "# # Module 02: Activations, revised")
VISIBLE_TEST = ('f"bias gradient should be the column sums, got {out}"',
                'f"the bias gradient sums the batch axis away (column sums), got {out}"')

# One xdist worker runs both tests in order: the update test continues the first test's student clone.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("edition-journey")]


def shell(cwd: Path, script: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    return student_shell(cwd, script, timeout)


def tito(clone: Path, args: str) -> subprocess.CompletedProcess:
    return shell(clone, f"source activate.sh >/dev/null && tito {args}")


def python(clone: Path, code: str) -> subprocess.CompletedProcess:
    return shell(clone, f"source activate.sh >/dev/null && python -c '{code}'")


def solve(clone: Path, slug: str) -> Path:
    path = clone / "workspace" / slug / f"{slug}.ipynb"
    notebook = fill_solutions(load(path), load(REPO / "modules" / slug / f"{slug}.ipynb"))
    if slug == "01_tensor":
        cell = [c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("solution")][-1]
        cell["source"] = source_of(cell) + MARKER
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return path


def digest(paths: list[Path]) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return course_copy(tmp_path_factory.mktemp("course") / "tinytorch")


@pytest.fixture(scope="module")
def published(course, tmp_path_factory) -> Path:
    """Edition v1, built with --git: the repository the instructor publishes."""
    return publish(course, tmp_path_factory.mktemp("published") / "tinytorch-student", "v1")


@pytest.fixture(scope="module")
def clone(published, tmp_path_factory) -> Path:
    """The student's clone, set up with the README's first command."""
    home = tmp_path_factory.mktemp("student")
    assert shell(home, f"git clone --quiet {published} TinyTorch").returncode == 0
    clone = home / "TinyTorch"
    readme = (clone / "README.md").read_text()
    assert "./setup-environment.sh" in readme and "source activate.sh && tito module start 01" in readme
    setup = shell(clone, "./setup-environment.sh")
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    assert "Ready." in setup.stdout
    return clone


def test_a_student_completes_the_foundation_tier_in_a_fresh_edition(clone):
    health = tito(clone, "system health")
    assert health.returncode == 0 and "Ready." in health.stdout, health.stdout + health.stderr

    before = python(clone, "from tinytorch import Tensor")
    assert before.returncode == 1
    assert before.stderr.strip().splitlines()[-1] == \
        "ImportError: Tensor comes from module 01 (tensor); complete it with `tito module complete 01`"

    for slug in FOUNDATION:
        number = slug[:2]
        started = tito(clone, f"module start {number} --no-launch")
        assert started.returncode == 0, started.stdout + started.stderr
        solve(clone, slug)
        if slug == "03_layers":
            early = python(clone, LINEAR)
            assert early.returncode == 1
            assert early.stderr.strip().splitlines()[-1] == \
                "ImportError: Linear comes from module 03 (layers); complete it with `tito module complete 03`"
        done = tito(clone, f"module complete {number}")
        assert done.returncode == 0, f"{slug}:\n{done.stdout}\n{done.stderr}"
        if slug == "01_tensor":
            mine = python(clone, "from tinytorch import Tensor; print(Tensor.written_by)")
            assert mine.stdout.strip() == "the student", mine.stderr
        if slug == "03_layers":
            linear = python(clone, LINEAR)
            assert linear.returncode == 0 and "Linear" in linear.stdout, linear.stderr

    for number in ("01", "02", "03"):
        run = tito(clone, f"milestone run {number} --quick")
        assert run.returncode == 0 and "goal reached" in run.stdout, f"milestone {number}:\n{run.stdout}\n{run.stderr}"

    status = tito(clone, "module status")
    assert status.returncode == 0
    rows = [l for l in status.stdout.splitlines() if l.strip().startswith(("│ 0", "| 0"))]
    assert sum("completed" in r for r in rows) == len(FOUNDATION), status.stdout
    assert "Next:" in status.stdout and "08" in status.stdout.split("Next:")[1]
    # the student's exports are theirs: git sees nothing of them
    tracked = shell(clone, "git status --porcelain --untracked-files=all").stdout
    assert "tinytorch/" not in tracked and "workspace/" in tracked


def test_a_course_update_merges_without_conflict_and_refresh_keeps_the_students_code(course, published, clone):
    if not (clone / "workspace" / "05_autograd" / "05_autograd.ipynb").exists():
        # Run alone (or before the journey on its worker): walk the foundation tier first in this clone.
        test_a_student_completes_the_foundation_tier_in_a_fresh_edition(clone)
    # the student keeps a scratch cell of their own in module 05, then commits their workspace
    notebook_05 = clone / "workspace" / "05_autograd" / "05_autograd.ipynb"
    nb = load(notebook_05)
    nb["cells"].insert(3, {"cell_type": "code", "id": "my-scratch", "metadata": {}, "execution_count": None,
                           "outputs": [], "source": "my_scratch_note = 'checking shapes by hand'"})
    notebook_05.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    solutions_05 = {grade_id(c): source_of(c) for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution")}
    committed = shell(clone, "git add workspace && git commit --quiet -m 'my work on 01-07'")
    assert committed.returncode == 0, committed.stderr
    mine = sorted((clone / "workspace").rglob("*.ipynb")) + sorted(
        p for p in (clone / "tinytorch").rglob("*.py") if p.name != "__init__.py")
    before = digest(mine)

    # the instructor fixes prose in module 02 and a visible test in module 05, re-releases, builds v2
    for path, (old, new) in ((course / "src/02_activations/02_activations.py", PROSE),
                             (course / "src/05_autograd/05_autograd.py", VISIBLE_TEST)):
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
    for args in (("source", "export", "02", "05"), ("nbgrader", "generate", "02", "05"),
                 ("dist", "student", str(published), "--git", "--version", "v2")):
        done = course_tito(course, *args)
        assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"

    pulled = shell(clone, "git pull --no-rebase --no-edit --quiet")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert "CONFLICT" not in pulled.stdout + pulled.stderr
    changed = shell(clone, "git diff --name-only HEAD~1 HEAD").stdout.split()  # what the merge brought in
    assert "release/02_activations/02_activations.ipynb" in changed and "COURSE_VERSION" in changed
    assert not [c for c in changed if c.startswith(("workspace/", "tinytorch/core/"))]
    assert digest(mine) == before, "the pull must not touch the student's notebooks or exports"
    assert (clone / "COURSE_VERSION").read_text() == "v2\n"

    status = tito(clone, "module status")
    flagged = [l[:8] for l in status.stdout.splitlines() if "course updated" in l]
    assert [f for f in flagged if "02" in f] and [f for f in flagged if "05" in f], status.stdout
    assert len(flagged) == 2, status.stdout

    refreshed = tito(clone, "module refresh 05")
    out = " ".join(refreshed.stdout.split())
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    assert "backed up" in out and "my_scratch_note" in out
    nb = load(notebook_05)
    sources = [source_of(c) for c in nb["cells"]]
    assert any(VISIBLE_TEST[1] in s for s in sources) and not any(VISIBLE_TEST[0] in s for s in sources)
    assert {grade_id(c): source_of(c) for c in nb["cells"]
            if c["metadata"].get("nbgrader", {}).get("solution")} == solutions_05
    assert sum("my_scratch_note" in s for s in sources) == 1
    backups = list((clone / ".tito" / "backups").rglob("05_autograd.ipynb"))
    assert backups and any("my_scratch_note" in b.read_text() for b in backups)
    again = tito(clone, "module complete 05")
    assert again.returncode == 0, again.stdout + again.stderr

    assert tito(clone, "module refresh 02").returncode == 0
    prose = [source_of(c) for c in load(clone / "workspace/02_activations/02_activations.ipynb")["cells"]]
    assert any("Module 02: Activations, revised" in s for s in prose)
    status = tito(clone, "module status")
    assert "course updated" not in status.stdout
