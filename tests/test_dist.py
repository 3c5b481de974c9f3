"""`tito dist student`: what the edition holds, what it never holds, its leak check, determinism and git."""
from __future__ import annotations

import html
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tito.core.course import Course
from tito.core.leaks import secret_lines
from tito.core.render.package import package_inits

from .helpers.book import secret_lines as independent_secrets
from .helpers.book import visible_text
from .helpers.course import REPO
from .helpers.edition import course_copy, course_tito, edition_run


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edition") / "tinytorch-student"
    done = course_tito(REPO, "dist", "student", str(out), "--version", "2026.12-test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no solution or hidden-test line" in done.stdout
    return out


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def test_the_edition_holds_the_student_course(built):
    course = Course.load(REPO)
    names = set(files_of(built))
    for module in course.modules:
        assert module.release_file.as_posix() in names
    for expected in ("tito/cli/module.py", "tito/cli/system.py", "tito/cli/milestone.py", "tinytorch/__init__.py",
                     "tinytorch/core/__init__.py", "tests/modules/test_01_tensor.py", "milestones/01_perceptron/run.py",
                     "milestones/_data.py", "datasets/digits.npz", "README.md", "pyproject.toml", ".gitignore",
                     "setup-environment.sh", "activate.sh", "COURSE_VERSION", "edition.json", "constraints.txt",
                     ".jupyter/labconfig/page_config.json", ".jupyter/jupyter_server_config.json"):
        assert expected in names, expected
    assert os.access(built / "setup-environment.sh", os.X_OK)
    assert (built / "COURSE_VERSION").read_text() == "2026.12-test\n"
    readme = (built / "README.md").read_text()
    assert "./setup-environment.sh\n" in readme and "source activate.sh && tito module start 01" in readme
    pyproject = (built / "pyproject.toml").read_text()
    assert '"nbgrader' in pyproject and "jupyter-book" not in pyproject and "[project.optional-dependencies]" not in pyproject


def test_the_edition_never_holds_answers_or_instructor_material(built):
    names = set(files_of(built))
    for folder in ("src/", "modules/", "book/", "benchmarks/", "tito/instructor/", ".tito/"):
        assert not any(n.startswith(folder) for n in names), folder
    for name in ("nbgrader_config.py", "AUTHORING.md", "_toc.yml", "_config.yml"):
        assert name not in names, name
    skeleton = {path.as_posix() for path, _ in package_inits(Course.load(REPO))}  # __init__ and alias files
    implementation = [n for n in names if n.startswith("tinytorch/") and n not in skeleton]
    assert implementation == [], "the skeleton must hold no module implementation"
    assert all(n.endswith("__init__.py") or "sys.modules[__name__]" in (built / n).read_text() for n in skeleton)
    # An independent scan (the book tests' reader): no solution or hidden-test line in any readable file.
    secrets = independent_secrets(REPO)
    found = []
    for name in names:
        path = built / name
        try:
            text = visible_text(path)
        except (UnicodeDecodeError, ValueError):
            continue
        found += [f"{name}: {line.strip()}" for line in text.splitlines() if line.strip() in secrets]
    assert found == []


def test_two_builds_are_byte_identical(built, tmp_path):
    again = tmp_path / "again"
    done = course_tito(REPO, "dist", "student", str(again), "--version", "2026.12-test")
    assert done.returncode == 0, done.stderr
    assert files_of(again) == files_of(built)
    # rebuilding over an existing edition gives the same bytes too
    done = course_tito(REPO, "dist", "student", str(again), "--version", "2026.12-test")
    assert done.returncode == 0 and files_of(again) == files_of(built)


def test_instructor_commands_refuse_in_the_edition(built):
    for args in (["source", "export", "--all"], ["nbgrader", "generate", "--all"], ["book", "build"], ["dist", "--help"]):
        done = edition_run(built, "-m", "tito", *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "this is the student edition of the course; run it in the course source repository" in \
            " ".join(done.stderr.split())
        assert "Traceback" not in done.stderr
    listed = edition_run(built, "-m", "tito", "--help")
    assert listed.returncode == 0 and "module" in listed.stdout and "nbgrader" not in listed.stdout
    modules = edition_run(built, "-m", "tito", "module", "list")
    assert modules.returncode == 0 and "Tensor" in modules.stdout, modules.stderr


def test_an_uncompleted_module_says_which_module_to_complete(built):
    done = edition_run(built, "-c", "from tinytorch import Tensor")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == \
        "ImportError: Tensor comes from module 01 (tensor); complete it with `tito module complete 01`"
    assert edition_run(built, "-c", "import tinytorch").returncode == 0


def test_student_exports_are_not_tracked_by_the_edition(built, tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["cp", "-r", str(built), str(clone)], check=True)
    subprocess.run(["git", "init", "-q"], cwd=clone, check=True)
    (clone / "tinytorch" / "core" / "tensor.py").write_text("# the student's export\n")
    (clone / "tinytorch" / "capstone.py").write_text("# the student's export\n")
    ignored = subprocess.run(["git", "check-ignore", "tinytorch/core/tensor.py", "tinytorch/capstone.py",
                              "tinytorch/__init__.py", "tinytorch/core/__init__.py", "workspace/01_tensor/01_tensor.ipynb"],
                             cwd=clone, capture_output=True, text=True)
    assert ignored.stdout.split() == ["tinytorch/core/tensor.py", "tinytorch/capstone.py"]


# --- the leak check -------------------------------------------------------------------------------


def _secret_from(course: Course, slug: str, hidden: bool) -> str:
    secrets = secret_lines(course)
    parsed = course.parse(course.resolve(slug))
    lines = parsed.hidden_lines() if hidden else parsed.solution_lines()
    return next(l for l in lines if l.strip() in secrets and len(l.strip()) > 25)


def test_a_planted_solution_and_hidden_test_fail_the_build_and_leave_no_edition(tmp_path):
    root = course_copy(tmp_path / "course")
    course = Course.load(root)
    solution = _secret_from(course, "03_layers", hidden=False)
    hidden = _secret_from(course, "02_activations", hidden=True)
    milestone = root / "milestones" / "01_perceptron" / "run.py"
    milestone.write_text(milestone.read_text() + f"\n{solution.strip()}\n")
    package_test = root / "tests" / "modules" / "test_02_activations.py"
    package_test.write_text(package_test.read_text() + f"\n\ndef test_planted():\n    {hidden.strip()}\n")
    milestone_line = milestone.read_text().split("\n").index(solution.strip()) + 1
    test_line = package_test.read_text().split("\n").index(f"    {hidden.strip()}") + 1

    out = tmp_path / "edition"
    done = course_tito(root, "dist", "student", str(out))
    report = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, report
    assert f"milestones/01_perceptron/run.py:{milestone_line}: {solution.strip()}" in report
    assert f"tests/modules/test_02_activations.py:{test_line}: {hidden.strip()}" in report
    assert not out.exists() and not list(tmp_path.glob(".edition*")), "a failed build must leave nothing behind"


def test_a_failed_rebuild_leaves_the_previous_edition_as_it_was(tmp_path):
    root = course_copy(tmp_path / "course")
    out = tmp_path / "edition"
    assert course_tito(root, "dist", "student", str(out)).returncode == 0
    before = files_of(out)
    solution = _secret_from(Course.load(root), "01_tensor", hidden=False)
    (root / "milestones" / "_ui.py").write_text((root / "milestones" / "_ui.py").read_text() + f"\n{solution.strip()}\n")
    assert course_tito(root, "dist", "student", str(out)).returncode == 1
    assert files_of(out) == before


def test_check_scans_notebook_outputs_html_and_text_of_an_existing_edition(built, tmp_path):
    course = Course.load(REPO)
    edition = tmp_path / "edition"
    subprocess.run(["cp", "-r", str(built), str(edition)], check=True)
    clean = course_tito(REPO, "dist", "student", str(edition), "--check")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "file(s)" in clean.stdout and "line(s) checked" in clean.stdout

    solution = _secret_from(course, "04_losses", hidden=False)
    hidden = _secret_from(course, "06_optimizers", hidden=True)
    release = edition / "release" / "01_tensor" / "01_tensor.ipynb"
    notebook = json.loads(release.read_text())
    code = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": [f"{solution.strip()}\n"]}]
    release.write_text(json.dumps(notebook, indent=1))
    (edition / "notes.html").write_text(f"<pre><span>{html.escape(hidden.strip())}</span></pre>\n")
    leaked = course_tito(REPO, "dist", "student", str(edition), "--check")
    report = " ".join((leaked.stdout + leaked.stderr).split())
    assert leaked.returncode == 1, report
    assert "release/01_tensor/01_tensor.ipynb (cell" in report and f"output, line 1): {solution.strip()}" in report
    assert f"notes.html:1: {hidden.strip()}" in report


def test_check_refuses_a_folder_that_is_no_edition(tmp_path):
    done = course_tito(REPO, "dist", "student", str(tmp_path), "--check")
    assert done.returncode == 2 and "no student edition here" in " ".join(done.stderr.split())


def test_build_refuses_to_overwrite_a_folder_that_is_no_edition(tmp_path):
    (tmp_path / "thesis.txt").write_text("precious")
    done = course_tito(REPO, "dist", "student", str(tmp_path))
    assert done.returncode == 2 and (tmp_path / "thesis.txt").read_text() == "precious"


def test_git_makes_one_commit_per_build_named_after_the_version(tmp_path):
    root = course_copy(tmp_path / "course")
    out = tmp_path / "edition"
    assert course_tito(root, "dist", "student", str(out), "--git", "--version", "v1").returncode == 0
    assert course_tito(root, "dist", "student", str(out), "--git", "--version", "v1").returncode == 0  # unchanged
    src = root / "src" / "02_activations" / "02_activations.py"
    src.write_text(src.read_text().replace("# # Module 02: Activations", "# # Module 02: Activations (revised)", 1))
    assert course_tito(root, "source", "export", "02").returncode == 0
    assert course_tito(root, "nbgrader", "generate", "02").returncode == 0
    done = course_tito(root, "dist", "student", str(out), "--git", "--version", "v2")
    assert done.returncode == 0, done.stdout + done.stderr
    log = subprocess.run(["git", "log", "--format=%s"], cwd=out, capture_output=True, text=True).stdout.split("\n")
    assert log[:2] == ["TinyTorch student edition v2", "TinyTorch student edition v1"] and log[2] == ""
    changed = subprocess.run(["git", "diff", "--name-only", "HEAD~1", "HEAD"], cwd=out, capture_output=True,
                             text=True).stdout.split()
    assert "release/02_activations/02_activations.ipynb" in changed and "COURSE_VERSION" in changed


def test_this_repository_has_the_same_setup_scripts_as_the_edition():
    from tito.instructor.edition_files import activate_script, setup_script

    title = Course.load(REPO).config.title
    assert (REPO / "setup-environment.sh").read_text() == setup_script(title, "all")
    assert os.access(REPO / "setup-environment.sh", os.X_OK)
    assert (REPO / "activate.sh").read_text() == activate_script(title)
    # nbgrader's configuration is the one `tito new` writes for a course of this name
    from tito.instructor.scaffold import project

    settings = Course.load(REPO).config
    assert (REPO / "nbgrader_config.py").read_text() == project.fill(project.NBGRADER_CONFIG, package=settings.package,
                                                                      title=settings.title)
    script = subprocess.run(["bash", "-n", str(REPO / "setup-environment.sh")], capture_output=True, text=True)
    assert script.returncode == 0, script.stderr


def test_reset_in_the_edition_removes_the_export_instead_of_restoring_reference_code(built, tmp_path):
    edition = tmp_path / "edition"
    subprocess.run(["cp", "-r", str(built), str(edition)], check=True)
    assert edition_run(edition, "-m", "tito", "module", "start", "01", "--no-launch").returncode == 0
    export = edition / "tinytorch" / "core" / "tensor.py"
    export.write_text("# AUTOGENERATED FILE: DO NOT EDIT.\n# tito-origin: workspace/01_tensor/01_tensor.ipynb\n"
                      "class Tensor:\n    pass\n")
    assert edition_run(edition, "-c", "from tinytorch import Tensor").returncode == 0
    done = edition_run(edition, "-m", "tito", "module", "reset", "01", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not export.exists()
    assert list((edition / ".tito" / "backups").rglob("tensor.py")), "the student's export is backed up first"
    again = edition_run(edition, "-c", "from tinytorch import Tensor")
    assert "Tensor comes from module 01 (tensor)" in again.stderr


def test_a_forced_milestone_on_an_empty_edition_says_which_module_to_complete(built):
    done = edition_run(built, "-m", "tito", "milestone", "run", "01", "--force", "--quick")
    message = " ".join(done.stderr.split())
    assert done.returncode == 1, done.stdout + done.stderr
    # The milestone's first import of a package the student has not exported names its module.
    assert re.search(r"needs tinytorch\.core\.(\w+), which module (\d\d) \(\1\) exports; "
                     r"complete it with `tito module complete \2`", message), message
    assert "Traceback" not in done.stderr


def _git(root: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="Instructor", GIT_AUTHOR_EMAIL="instructor@example.invalid",
               GIT_COMMITTER_NAME="Instructor", GIT_COMMITTER_EMAIL="instructor@example.invalid")
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_build_from_uncommitted_changes_is_named_by_their_content(tmp_path):
    root = course_copy(tmp_path / "course")
    _git(root, "init", "--quiet", "--initial-branch=main")
    _git(root, "add", "--all")
    _git(root, "commit", "--quiet", "-m", "course")
    head = _git(root, "rev-parse", "--short=10", "HEAD")
    out = tmp_path / "edition"

    def build() -> str:
        done = course_tito(root, "dist", "student", str(out), "--git")
        assert done.returncode == 0, done.stdout + done.stderr
        return (out / "COURSE_VERSION").read_text().strip()

    def last_message() -> str:
        return _git(out, "log", "-1", "--format=%s")

    clean = build()
    assert clean == f"0.1.0+{head}" and last_message() == f"TinyTorch student edition {clean}"

    notebook = root / "release" / "02_activations" / "02_activations.ipynb"
    original = notebook.read_text()
    notebook.write_text(original.replace("Activations", "Activation functions", 1))
    first = build()
    assert re.fullmatch(rf"0\.1\.0\+{head}\.dirty\.[0-9a-f]{{8}}", first), first
    assert last_message() == f"TinyTorch student edition {first}", "a different course got the clean build's name"
    assert "Activation functions" in (out / "release/02_activations/02_activations.ipynb").read_text()

    notebook.write_text(original.replace("Activations", "Activation layers", 1))  # other edits, other name
    second = build()
    assert second != first and second.startswith(f"0.1.0+{head}.dirty.")
    notebook.write_text(original.replace("Activations", "Activation functions", 1))  # the same edits: same name
    assert build() == first

    notebook.write_text(original)
    (root / "milestones" / "notes.txt").write_text("an untracked file the edition ships\n")
    untracked = build()
    assert untracked.startswith(f"0.1.0+{head}.dirty.") and untracked not in (first, second)
    done = course_tito(root, "dist", "student", str(out))
    assert "uncommitted changes" in " ".join(done.stdout.split())

    _git(root, "add", "--all")
    _git(root, "commit", "--quiet", "-m", "notes")
    assert build() == f"0.1.0+{_git(root, 'rev-parse', '--short=10', 'HEAD')}"
    assert course_tito(root, "dist", "student", str(out), "--version", "2027.1").returncode == 0
    assert (out / "COURSE_VERSION").read_text() == "2027.1\n", "--version is taken as given"
