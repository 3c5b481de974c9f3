"""The new course's project files: pyproject.toml, README.md, the CI scripts, nbgrader_config.py, .gitignore and
the course's own test of itself. Pure text; `fill` puts the course's names in.

Templates are strings in code, not package data: each is one short document, most need values computed here
(the dependency lists, the README's commands), and strings ship wherever tito's code does, with nothing for
setuptools to declare. Placeholders are `{{name}}`, so the bash, TOML and Python braces in them need no escaping.
"""
from __future__ import annotations

import json
import re

PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def fill(template: str, **values: str) -> str:
    """`template` with every `{{name}}` replaced by `values[name]`; a placeholder without a value is a bug here."""
    def value(match: re.Match) -> str:
        return values[match.group(1)]

    return PLACEHOLDER.sub(value, template)


def toml_list(items: list[str], indent: str = "    ") -> str:
    return "[\n" + "".join(f"{indent}{json.dumps(item)},\n" for item in items) + "]"


def pyproject(package: str, title: str, tier: str, dependencies: list[str], extras: dict[str, list[str]]) -> str:
    """`dependencies` and `extras` are tito's own (from the course tito came from); the course adds its own."""
    groups = "\n".join(f"{name} = {toml_list(items)}" for name, items in extras.items())
    everything = [name for name in ("student", "grading", "book", "test") if name in extras or name == "test"]
    return fill(PYPROJECT, package=package, title=json.dumps(title),
                tagline=json.dumps(f"build {package} yourself, one module at a time"),
                description=json.dumps(f"{title}: a course made with tito"), tier=json.dumps(tier),
                dependencies=toml_list(dependencies), extras=groups,
                all=json.dumps(f"{package}[{','.join(everything)}]"))


PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{{package}}"
version = "0.1.0"
description = {{description}}
readme = "README.md"
requires-python = ">=3.10"
# What tito needs, with the bounds of the course it was copied from (tito relies on these libraries' internals).
# Add what your own modules import (e.g. "numpy>=2").
dependencies = {{dependencies}}

[project.optional-dependencies]
# student: what `tito module start/test/complete` needs (the student edition installs dependencies + student);
# grading: `tito nbgrader`; book: `tito book build`; test: the course's own tests (tests/).
{{extras}}
test = ["pytest>=8"]
all = [{{all}}]

[project.scripts]
tito = "tito.cli:main"

# This table makes the folder a course (tito looks for it) and configures it: the package students build,
# the title, the tiers in book order (a module's `tier:` is one of them) and the milestones folder.
[tool.tito]
package = "{{package}}"
title = {{title}}
tagline = {{tagline}}
tiers = [{{tier}}]
milestones = "milestones"

[tool.setuptools.packages.find]
include = ["tito*", "{{package}}*"]

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-ra"
"""


def install_command(pins: bool) -> str:
    return f'python3 -m venv .venv && . .venv/bin/activate && pip install {"-c constraints.txt " if pins else ""}-e ".[all]"'


def build_command(pins: bool) -> str:
    """The README's first command: build the whole course."""
    return f"{install_command(pins)} && tito source export --all && tito nbgrader generate --all && tito book build"


def test_command(pins: bool) -> str:
    """The README's second command, which `.ci/run` runs verbatim."""
    return f"{install_command(pins)} && tito source export --all --check && .ci/test"


def readme(package: str, title: str, slug: str, pins: bool) -> str:
    pinned = ("`constraints.txt` pins the library versions tito was last tested with. " if pins else "")
    return fill(README, package=package, title=title, slug=slug, build=build_command(pins), test=test_command(pins),
                pinned=pinned)


README = """\
# {{title}}

Build the course (export every module, release the student notebooks with nbgrader, build the book):

```bash
{{build}}
```

Run the tests (CI runs exactly this through `.ci/run`):

```bash
{{test}}
```

Both work on a fresh machine with Python 3.10 or newer and pip. {{pinned}}Or set up once with
`./setup-environment.sh` (a `.venv` with everything installed), then `source activate.sh` in each new shell.

## What this is

{{title}} is a build-your-own-X course: students write the `{{package}}` package one module at a time, in
notebooks, and every module's tests run on the code they wrote. The course was made with `tito new`; `tito`
renders each module's one source, `src/NN_name/NN_name.py`, into:

| output | for | made by |
|---|---|---|
| `modules/NN_name/NN_name.ipynb` | instructors: the nbgrader source notebook (solutions + hidden tests) | `tito source export` |
| `{{package}}/<path>.py` | the reference package (a student's `tito module complete` replaces it with their code) | `tito source export` |
| `_toc.yml` | the book's table of contents | `tito source export` |
| `release/NN_name/NN_name.ipynb` | students: solutions stubbed, hidden tests removed | `tito nbgrader generate` (nbgrader) |
| `_build/html/` | the course book | `tito book build` (Jupyter Book) |

Generated files carry a "do not edit" mark and are reproducible byte for byte; `tito source export --all --check`
fails when a committed output is stale.

## Commands

```bash
tito source lint --all            # the source format: file:line and a fix for each problem
tito source export --all          # src/ -> modules/, {{package}}/ and _toc.yml
tito source check --all           # tests pass on the reference, fail on the stubs, and catch every mutant
tito nbgrader generate --all      # the student notebooks in release/ (checked for leaks)
tito book build                   # the book in _build/html (`--serve 8000` to look at it)
tito dist student ../{{package}}-student --git   # the student edition: what students clone
tito module start 01              # try a module the way a student does (workspace/, git-ignored)
```

Grading a class (`tito nbgrader collect / autograde / feedback / export`) runs each submission in a
bubblewrap sandbox (`apt-get install bubblewrap`); `tito COMMAND --help` tells the rest.

## Writing modules

`src/{{slug}}/{{slug}}.py` is a complete module: prose, an export target, solution cells, graded tests with
a hidden part, mutants (wrong code the tests must catch) and a measurement. Copy it to `src/02_name/02_name.py`
and make it yours; `tito source lint` explains every rule it breaks. The parts of a source file:

- a jupytext header whose `{{package}}:` block holds the module's title, summary, tier, minutes, prerequisites,
  objectives and exported names;
- `# %% [markdown]` cells of prose, `# %%` code cells, `#| default_exp path` once (where the module's code goes in
  `{{package}}`), `#| export` on each cell whose code goes there, `#| hide` for cells the book leaves out;
- solution cells (`nbgrader={... "solution": true ...}`) with `### BEGIN SOLUTION` / `### END SOLUTION` regions,
  graded test cells (`"grade": true`, `"points": N`) with optional `### BEGIN HIDDEN TESTS` regions;
- `# %% mutant={"name": ..., "target": ..., "replace": ...}` cells right after the solution cell they break.

Package tests students run on their own code go in `tests/modules/test_NN_name.py`. Every module's `tier:` is one
of the `tiers` in `pyproject.toml`'s `[tool.tito]` table; each tier has a page in `book/tiers/`.

## Layout

```
src/          module sources (the only hand-edited course content)
{{package}}/  generated package               modules/ release/   generated notebooks
tests/        the course's checks (test_course.py) and package tests (modules/)
book/         hand-written book pages         _config.yml _toc.yml  Jupyter Book configuration
tito/         the course engine (below)       vendor/   pinned web assets the book serves offline
.ci/          run (CI: installs, then runs the test command) and test (the suite)
```

`tito/` is a copy of the tito this course was made with (tito is not published on its own): `pip install -e .`
installs it with the course. To update it, replace the folder with a newer copy and run the tests.
"""


CI_RUN = """\
#!/usr/bin/env bash
# CI entry point: install what the tests need, then run the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages (Debian) the tests need, one list; add a package here. The course's own tests need none yet
# (grading a class needs bubblewrap, the grading sandbox; the book's browser checks, if you add any, chromium).
APT_PACKAGES=()

missing=()
for package in ${APT_PACKAGES[@]+"${APT_PACKAGES[@]}"}; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The README's test command, verbatim.
{{test}}
"""

CI_TEST = """\
#!/usr/bin/env bash
# The test suite (README and .ci/run): the course's own checks through tito (tests/test_course.py) and the
# package tests (tests/modules/). Extra arguments go to pytest (e.g. `.ci/test -x`).
set -euo pipefail
cd "$(dirname "$0")/.."
# One BLAS thread: the kernels tito starts run small array code, which threads only slow down.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
python -m pytest -q "$@"
"""

NBGRADER_CONFIG = '''\
"""nbgrader configuration for {{title}} (run `nbgrader ...` from the course root; tito reads it too).

Source notebooks are generated by `tito source export` into modules/; student releases go to release/.
Student work and grades live in grading/ (git-ignored); grades go to gradebook.db at the course root (also
git-ignored). For a PostgreSQL server instead set  c.CourseDirectory.db_url = "postgresql://USER@HOST/DBNAME"
"""
c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.root = "."
c.CourseDirectory.course_id = "{{package}}"
c.CourseDirectory.source_directory = "modules"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "grading/submitted"
c.CourseDirectory.autograded_directory = "grading/autograded"
c.CourseDirectory.feedback_directory = "grading/feedback"

# The stub students see in place of each ### BEGIN SOLUTION region.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}
# A cell that runs longer than this while autograding is stopped and reported.
c.ExecutePreprocessor.timeout = 60
# Late work (timestamp.txt after the due date set with `tito nbgrader due NN DATE`) loses this share of its score
# for every started day late, capped at the whole score.
c.AssignLatePenalties.plugin_class = "tito.instructor.classgrade.late.PerDayPenalty"
c.PerDayPenalty.percent_per_day = 10.0
'''

GITIGNORE = """\
__pycache__/
*.pyc
*.egg-info/
.venv/
venv/
build/
dist/
.pytest_cache/
.ipynb_checkpoints/

# student work and tool state (never committed)
workspace/
.tito/
gradebook.db
grading/

# book build output and generated chapter pages
_build/
book/chapters/
"""

COURSE_TEST = '''\
"""The course's own checks, run through tito's command line the way an instructor runs them.

Lint, `export --check` and `source check` read the course as it is; releasing the notebooks and building the
student edition write, so they work on a copy in a temporary folder. tito's parse cache goes to a temporary
folder too: the suite never writes into the checkout.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tito.core.course import ROOT_ENV, Course
from tito.core.leaks import secret_lines

ROOT = Path(__file__).resolve().parents[1]
# Top-level folders a copy for releasing leaves behind: builds, environments, tool state, the book's assets.
LEFT_BEHIND = {".git", ".venv", "venv", "_build", "book", "vendor", "grading", "workspace", ".tito", ".pytest_cache"}


def tito(*args: str, cache: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ROOT_ENV}
    env.update(NO_COLOR="1", COLUMNS="200", TITO_PARSE_CACHE=str(cache))
    return subprocess.run([sys.executable, "-m", "tito", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=1800)


def passes(done: subprocess.CompletedProcess) -> bool:
    print(done.stdout[-4000:], done.stderr[-4000:])  # shown by pytest when the test fails
    return done.returncode == 0


def test_every_source_follows_the_format(tmp_path):
    assert passes(tito("source", "lint", "--all", cache=tmp_path))


def test_the_committed_generated_files_are_current(tmp_path):
    assert passes(tito("source", "export", "--all", "--check", cache=tmp_path))


def test_graded_tests_pass_on_the_reference_fail_on_stubs_and_catch_every_mutant(tmp_path):
    assert passes(tito("source", "check", "--all", cache=tmp_path))


def copy_course(dst: Path) -> Path:
    def skip(folder: str, names: list[str]) -> set[str]:
        top = LEFT_BEHIND if Path(folder) == ROOT else set()
        return {n for n in names if n in top or n == "__pycache__" or n.endswith(".egg-info")}

    shutil.copytree(ROOT, dst, ignore=skip)
    return dst


def test_the_student_edition_has_every_notebook_and_no_answer(tmp_path):
    course = copy_course(tmp_path / "course")
    edition = tmp_path / "edition"
    for args in (("nbgrader", "generate", "--all"), ("dist", "student", str(edition)),
                 ("dist", "student", str(edition), "--check")):
        assert passes(tito(*args, cache=tmp_path / "cache", cwd=course)), args
    modules = Course.load(ROOT).modules
    assert modules, "the course has no module"
    secrets = secret_lines(Course.load(ROOT))
    assert secrets, "the modules have solution lines: the scan below must have something to look for"
    for module in modules:
        notebook = json.loads((edition / module.release_file).read_text(encoding="utf-8"))
        text = "\\n".join("".join(cell["source"]) for cell in notebook["cells"])
        assert "raise NotImplementedError()" in text, f"{module.slug}: the release has no stub to fill in"
        assert not {line.strip() for line in text.splitlines()} & secrets, f"{module.slug}: a solution line"
    assert not (edition / "src").exists() and not (edition / "modules").exists()
'''
