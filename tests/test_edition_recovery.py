"""Recovering from mistakes in a freshly built student edition: resetting a module others import, a damaged
notebook, a locked milestone, and the smaller messages a student trial found wanting.

Everything runs the edition's own `tito` (`python -m tito` in the edition) with a light virtual environment
(helpers.edition.student_python), so kernels and package tests import the edition's `tinytorch` (the student's
exports), never the reference package. The module-scoped `foundation` edition has modules 01-06 completed by a
simulated student (the reference solutions written into the released notebooks); each test works on a copy.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from .helpers.course import REPO
from .helpers.edition import course_copy, course_tito, edition_run, student_python
from .helpers.notebooks import fill_solutions, load, save, source_of

FOUNDATION = ["01_tensor", "02_activations", "03_layers", "04_losses", "05_autograd", "06_optimizers"]
NOT_COMPLETED_01 = "ImportError: Tensor comes from module 01 (tensor); complete it with `tito module complete 01`"
BACKUPS = Path(".tito") / "backups"

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edition") / "tinytorch-student"
    done = course_tito(REPO, "dist", "student", str(out), "--version", "2026.12-recovery")
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="module")
def python(tmp_path_factory) -> str:
    return student_python(tmp_path_factory.mktemp("venv") / "venv")


def tito(edition: Path, python: str, *args: str, input: str = "") -> tuple[int, str, str]:
    done = edition_run(edition, "-m", "tito", *args, python=python, input=input)
    return done.returncode, done.stdout, done.stderr


def run_python(edition: Path, python: str, code: str):
    return edition_run(edition, "-c", code, python=python)


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def words(text: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


def solve(edition: Path, slug: str) -> Path:
    path = edition / "workspace" / slug / f"{slug}.ipynb"
    save(fill_solutions(load(path), load(REPO / "modules" / slug / f"{slug}.ipynb")), path)
    return path


@pytest.fixture(scope="module")
def foundation(built, python, tmp_path_factory) -> Path:
    """The edition after a student completed 01-06 (each completion as the student runs it)."""
    edition = tmp_path_factory.mktemp("foundation") / "edition"
    shutil.copytree(built, edition)
    for slug in FOUNDATION:
        code, out, err = tito(edition, python, "module", "start", slug[:2], "--no-launch")
        assert code == 0, out + err
        solve(edition, slug)
        code, out, err = tito(edition, python, "module", "complete", slug[:2])
        assert code == 0, f"{slug}:\n{out}\n{err}"
    return edition


@pytest.fixture
def edition(foundation, tmp_path) -> Path:
    copy = tmp_path / "edition"
    shutil.copytree(foundation, copy)
    return copy


def backups_of(edition: Path, name: str) -> list[Path]:
    return sorted((edition / BACKUPS).glob(f"*/**/{name}"))


def status_rows(out: str) -> dict[str, str]:
    return {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}


# --- 1: resetting a module that later modules import ----------------------------------------------


@pytest.mark.slow
@pytest.mark.xdist_group("edition-recovery")
def test_resetting_01_says_what_stops_importing_and_later_modules_come_back_with_it(edition, python):
    tensor = edition / "tinytorch" / "core" / "tensor.py"
    progress_file = edition / ".tito" / "progress.json"
    before = progress_file.read_bytes()

    # no terminal and no answer: what would change is said, then how to confirm; nothing changes (exit 2)
    code, out, err = tito(edition, python, "module", "reset", "01")
    said = words(out)
    assert code == 2, out + err
    assert "tinytorch/core/tensor.py is backed up, then removed" in said and "reference code to put back" in said
    assert "goes back to the reference code" not in said
    assert ("what depends on it: you completed 02 (activations), 03 (layers), 04 (losses), 05 (autograd), "
            "06 (optimizers)") in said
    assert "what stops importing until you complete 01 again:" in said
    for line in ("01 (tensor): Tensor", "02 (activations): ReLU, Sigmoid, Tanh, GELU, Softmax",
                 "03 (layers): Module, Linear, Sequential, Dropout", "06 (optimizers): SGD, Adam, AdamW"):
        assert line in said, said
    assert "Aborted" not in out + err
    assert "needs your confirmation" in words(err) and "`tito module reset 01 --yes`" in words(err)
    assert tensor.is_file() and progress_file.read_bytes() == before

    code, out, err = tito(edition, python, "module", "reset", "01", input="n\n")
    assert code == 1 and "nothing was changed" in err and tensor.is_file()

    code, out, err = tito(edition, python, "module", "reset", "01", "--yes")
    assert code == 0, out + err
    assert not tensor.exists()

    # the package still imports; each name says which module to complete, as before 01 was ever completed
    assert run_python(edition, python, "import tinytorch").returncode == 0
    direct = run_python(edition, python, "from tinytorch import Tensor")
    assert direct.returncode == 1 and last_line(direct.stderr) == NOT_COMPLETED_01
    later = run_python(edition, python, "from tinytorch import ReLU")
    assert last_line(later.stderr) == ("ImportError: ReLU comes from module 02 (activations), which needs module 01 "
                                       "(tensor); complete it with `tito module complete 01`")
    through = run_python(edition, python, "import tinytorch.core.layers")
    assert last_line(through.stderr) == ("ModuleNotFoundError: tinytorch.core.tensor comes from module 01 (tensor); "
                                         "complete it with `tito module complete 01`")

    # status is truthful: 02-06 need 01; their records are kept
    code, out, err = tito(edition, python, "module", "status")
    rows = status_rows(out)
    assert code == 0, err
    assert "in progress" in rows["01"]
    for number in ("02", "03", "04", "05", "06"):
        assert "needs 01" in rows[number] and "│ completed" not in rows[number], out
    assert "Progress: 0/20 modules" in out and "`tito module complete 01`" in words(out)
    kept = json.loads(progress_file.read_text())["modules"]
    assert all(kept[slug]["status"] == "completed" for slug in FOUNDATION[1:])

    # module 02's tests say what to do instead of failing with a NameError
    code, out, err = tito(edition, python, "module", "test", "02")
    assert code == 1
    assert "NameError" not in out + err and "Traceback" not in out + err
    assert "Complete module 01 first: `tito module complete 01`" in words(err), err

    # completing 01 again brings 02-06 back
    solve(edition, "01_tensor")
    code, out, err = tito(edition, python, "module", "complete", "01")
    assert code == 0, out + err
    assert "Your completed modules 02, 03, 04, 05, 06 import again." in words(out)
    rows = status_rows(tito(edition, python, "module", "status")[1])
    assert all("completed" in rows[s[:2]] and "needs" not in rows[s[:2]] for s in FOUNDATION)
    back = run_python(edition, python, "from tinytorch import ReLU, Linear, SGD; print(Linear(2, 3))")
    assert back.returncode == 0 and "Linear" in back.stdout, back.stderr


# --- 2: a damaged notebook ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.xdist_group("edition-recovery")
def test_every_complete_keeps_a_copy_of_the_notebook_that_passed(foundation):
    for slug in FOUNDATION:
        copies = [p for p in backups_of(foundation, f"{slug}.ipynb")
                  if p.relative_to(foundation / BACKUPS).parts[0].endswith("-completed")]
        notebook = foundation / "workspace" / slug / f"{slug}.ipynb"
        assert [p.read_bytes() for p in copies] == [notebook.read_bytes()], slug


@pytest.mark.slow
@pytest.mark.xdist_group("edition-recovery")
def test_a_truncated_notebook_is_reported_with_the_newest_good_backup_and_the_commands(edition, python):
    notebook = edition / "workspace" / "04_losses" / "04_losses.ipynb"
    good = notebook.read_bytes()
    notebook.write_bytes(good[: len(good) // 2])  # cut off, as by a crash mid-save
    damaged = notebook.read_bytes()
    before = backups_of(edition, "04_losses.ipynb")
    [last_good] = before
    name = last_good.relative_to(edition / BACKUPS).parts[0]

    for args in (("start", "04", "--no-launch"), ("resume", "04", "--no-launch"), ("complete", "04"), ("test", "04")):
        code, out, err = tito(edition, python, "module", *args)
        said = words(out + err)
        assert code == 1, (args, out, err)
        assert "your notebook for 04_losses is damaged" in said and "cut off" in said, said
        assert "your work is kept" not in said and "Resuming" not in said
        assert last_good.relative_to(edition).as_posix() in said
        assert f"`tito module reset 04 --restore {name}`" in said and "`tito module reset 04`" in said
        assert "NN" not in said.replace("NNN", "")
        assert notebook.read_bytes() == damaged
        assert backups_of(edition, "04_losses.ipynb") == before, "a damaged notebook is not backed up as good work"

    code, out, err = tito(edition, python, "module", "reset", "04", "--restore", name, "--yes")
    assert code == 0, out + err
    assert notebook.read_bytes() == good
    aside = [p for p in backups_of(edition, "04_losses.ipynb") if p not in before]
    assert [p.read_bytes() for p in aside] == [damaged]  # the damaged file is kept too, named so
    assert aside[0].relative_to(edition / BACKUPS).parts[0].endswith("-damaged")
    listed = tito(edition, python, "module", "reset", "04", "--list-backups")[1]
    rows = [line for line in listed.splitlines() if line.startswith("│")]
    assert "damaged" in rows[0] and name in rows[1] and "newest good copy" in rows[1], listed
    assert "passed `tito module complete 04`" in rows[1], listed


# --- 3: a locked milestone ---------------------------------------------------------------------------


def test_a_locked_milestone_in_the_edition_says_which_modules_to_complete(built, python, tmp_path):
    edition = tmp_path / "edition"
    shutil.copytree(built, edition)
    code, out, err = tito(edition, python, "milestone", "run", "03")
    said = words(err)
    assert code == 1
    assert "--force" not in said and "reference code" not in said
    assert re.search(r"is locked: it runs on your code of modules 01, 02, 03, 04, 05, 06, 07; complete 01 \(tensor\), "
                     r"02 \(activations\), .*07 \(training\) first\. Next: `tito module start 01`", said), said


def test_a_locked_milestone_in_the_course_repository_offers_the_reference_code(tmp_path):
    course = course_copy(tmp_path / "course")
    done = course_tito(course, "milestone", "run", "03")
    said = words(done.stderr)
    assert done.returncode == 1
    assert "complete 01 (tensor)" in said and "Next: `tito module start 01`" in said
    assert "--force to run it on tinytorch/ as it stands (the reference code of each module you have not completed)" in said


# --- 8: smaller messages -----------------------------------------------------------------------------


def test_system_info_in_the_edition_does_not_list_jupyter_book(built, python):
    done = edition_run(built, "-m", "tito", "system", "info", python=python)
    assert done.returncode == 0, done.stderr
    assert "nbgrader" in done.stdout and "jupyter-book" not in done.stdout and "│ ?" not in done.stdout


def test_reset_without_a_terminal_in_a_fresh_edition_says_how_to_confirm(built, python, tmp_path):
    edition = tmp_path / "edition"
    shutil.copytree(built, edition)
    assert tito(edition, python, "module", "start", "01", "--no-launch")[0] == 0
    notebook = (edition / "workspace" / "01_tensor" / "01_tensor.ipynb").read_bytes()
    code, out, err = tito(edition, python, "module", "reset", "01")
    assert code == 2 and "Aborted" not in out + err
    assert "`tito module reset 01 --yes`" in words(err)
    assert "tinytorch/core/tensor.py stays as it is (none of your code is in it)" in words(out)
    assert (edition / "workspace" / "01_tensor" / "01_tensor.ipynb").read_bytes() == notebook


@pytest.mark.slow
@pytest.mark.xdist_group("edition-recovery")
def test_a_package_test_failure_is_cut_on_a_word_boundary(edition, python):
    path = edition / "workspace" / "01_tensor" / "01_tensor.ipynb"
    notebook = load(path)
    cell = [c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("solution")][-1]
    cell["source"] = source_of(cell) + '\nTensor.__repr__ = lambda self: "a long description of my tensor " * 40'
    save(notebook, path)
    code, out, err = tito(edition, python, "module", "test", "01")
    assert code == 1
    said = words(out)
    failure = re.search(r"FAIL test_repr_shows_values_shape_and_dtype: (.*?) \(\d+\.\d s\)", said).group(1)
    assert "a long description" in failure and failure.endswith(" …"), failure
    assert failure[:-2].split()[-1].strip("'.") in {"a", "long", "description", "of", "my", "tensor"}, failure


@pytest.mark.slow
@pytest.mark.xdist_group("edition-recovery")
def test_a_quick_milestone_run_never_replaces_the_full_result(edition, python):
    code, out, err = tito(edition, python, "milestone", "run", "01")
    assert code == 0, out + err
    full = json.loads((edition / ".tito" / "progress.json").read_text())["milestones"]["01_perceptron"]
    assert full["passed"] is True and full["metrics"]
    code, out, err = tito(edition, python, "milestone", "run", "01", "--quick")
    assert code == 0, out + err

    stored = json.loads((edition / ".tito" / "progress.json").read_text())["milestones"]["01_perceptron"]
    assert {k: stored[k] for k in ("passed", "metrics", "date", "runs")} == \
        {k: full[k] for k in ("passed", "metrics", "date", "runs")}
    assert stored["quick"]["passed"] is True and stored["quick"]["runs"] == 1
    assert stored["quick"]["metrics"].keys() == full["metrics"].keys()
    status = edition_run(edition, "-m", "tito", "milestone", "status", python=python, columns=None).stdout  # no wrap
    assert ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in full["metrics"].items()) \
        in status, status
    assert "--quick:" not in status


@pytest.mark.slow
@pytest.mark.xdist_group("edition-recovery")
def test_the_milestone_story_panel_fits_a_log_when_piped(edition, python):
    # piped with no $COLUMNS, as into a log file: the story panel keeps to 100 columns
    done = edition_run(edition, "-m", "tito", "milestone", "run", "01", "--quick", python=python, columns=None)
    assert done.returncode == 0, done.stdout + done.stderr
    panel = [line for line in done.stdout.splitlines() if line.startswith(("╭", "│", "╰"))]
    assert panel and "Rosenblatt" in words(done.stdout)
    assert max(len(line) for line in panel) <= 100, max(len(line) for line in panel)


@pytest.mark.slow
@pytest.mark.xdist_group("edition-recovery")
def test_resume_counts_the_cells_left_and_mentions_a_course_update(edition, python):
    assert tito(edition, python, "module", "start", "07", "--no-launch")[0] == 0
    release = load(edition / "release" / "07_training" / "07_training.ipynb")
    cells = sum(bool(c["metadata"].get("nbgrader", {}).get("solution")) for c in release["cells"])
    said = words(tito(edition, python, "module", "resume", "07", "--no-launch")[1])
    assert f"Next: fill in the {cells} `# YOUR CODE HERE` cells still to write" in said, said

    code, out, err = tito(edition, python, "module", "resume", "06", "--no-launch")
    said = words(out)
    assert code == 0, err
    assert "fill in each" not in said and "every `# YOUR CODE HERE` is filled in" in said
    assert "refresh" not in said
    # the course updates module 06's notebook (as a `git pull` of a new edition would)
    path = edition / "release" / "06_optimizers" / "06_optimizers.ipynb"
    updated = load(path)
    updated["cells"].append({"cell_type": "markdown", "id": "an-update", "metadata": {}, "source": "A new note."})
    save(updated, path)
    said = words(tito(edition, python, "module", "resume", "06", "--no-launch")[1])
    assert "`tito module refresh 06`" in said, said
