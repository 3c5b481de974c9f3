"""The student edition's own files (README, pyproject.toml, scripts, JupyterLab settings): pure text.

`tito dist student` (tito/instructor/dist.py) places them; nothing here reads or writes files.
"""
from __future__ import annotations

import json

from ..core.course import Course

# nbgrader's instructor tools and JupyterLab's news prompt are switched off; Validate stays.
DISABLED_LAB_PLUGINS = ["@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader",
                        "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list",
                        "@jupyter/nbgrader:menu", "@jupyterlab/apputils-extension:announcements"]
DISABLED_SERVER_EXTENSIONS = ["nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list",
                              "nbgrader.server_extensions.assignment_list"]
JUPYTER_CONFIG = ".jupyter"  # the edition's Jupyter settings folder (on JUPYTER_CONFIG_PATH while tito runs Lab)


def readme(course: Course, version: str) -> str:
    first = course.modules[0] if course.modules else None
    start = f"tito module start {first.id}" if first else "tito module status"
    table = "\n".join(f"| {m.id} | {m.title} | {m.summary} |" for m in course.modules)
    settings, package = course.config, course.package
    about = f"{settings.tagline[:1].upper()}{settings.tagline[1:]}." if settings.tagline else ""
    example = next((f"from {package} import {m.exports[0]}" for m in course.modules if m.exports), f"import {package}")
    return f"""# {settings.title} (student edition {version})

{about}

Set up once, then run the first module:

```bash
./setup-environment.sh
source activate.sh && {start}
```

`./setup-environment.sh` makes a virtual environment in `.venv/` and installs what the course needs;
in every new shell, `source activate.sh` switches to it.

## How you work

```bash
tito system health          # is everything installed?
tito module start 01        # copy module 01's notebook to workspace/ and open JupyterLab
tito module complete 01     # test YOUR notebook, export YOUR code into {package}/, record progress
tito module status          # where am I? (also marks modules whose notebook the course updated)
tito milestone run 01       # run a historical milestone on your own code
```

Your notebooks live in `workspace/`, your exported code in `{package}/` and your progress in `.tito/`.
When `tito module status` says a module's notebook was updated, run `tito module refresh NN`: it rebuilds
your notebook from the new release, carries your code over cell by cell and backs up the old notebook first.

Until you complete a module, its names are not in the package:
`{example}` says which module to complete.

## Getting the course's updates

Your notebooks are yours to commit; your exports and progress stay out of git (`.gitignore`). The course
tracks none of them, so its updates merge with your work without conflict:

```bash
git add workspace && git commit -m "my work"     # as often as you like
git pull --no-edit                                # the course's updates, merged with your commits
```

`./setup-environment.sh` sets this clone to merge on `git pull` (`git config pull.rebase false`), so git
does not stop to ask how to reconcile your commits with the course's.

**Made from a template?** A repository created with GitHub's "Use this template" starts a history of its
own, unrelated to the course's. Link it to the course repository once (GitHub shows its address under your
repository's name: "generated from OWNER/NAME", so `https://github.com/OWNER/NAME.git`) and pull from it:

```bash
git remote add upstream COURSE_URL
git pull --no-edit --no-rebase --allow-unrelated-histories -X theirs upstream main   # the first time only
```

That first pull joins the two histories: where a course file differs between them, the course's version is
taken (`-X theirs`; git has no common version to compare them with yet). Your own files are not in the
course, so they stay as they are. Every later update:

```bash
git pull --no-edit --no-rebase upstream main
```

## Modules

| module | title | what you build |
|---|---|---|
{table}

This edition holds no solutions. It was built from the course source with `tito dist student`
(course version in `COURSE_VERSION`).
"""


def pyproject(course: Course, version: str, dependencies: list[str]) -> str:
    """The edition's pyproject.toml: `dependencies` are the course's own plus its `student` extra; the course's
    `[tool.tito]` settings carried over."""
    deps = "\n".join(f'    "{d}",' for d in dependencies)
    settings = course.config
    tiers = ", ".join(f'"{t}"' for t in settings.tiers)
    return f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{settings.package}"
version = "{_pep440(version)}"
description = {json.dumps(f"{settings.title} student edition" + (f": {settings.tagline}" if settings.tagline else ""))}
readme = "README.md"
requires-python = ">=3.10"
dependencies = [
{deps}
]

[project.scripts]
tito = "tito.cli:main"

[tool.tito]
package = "{settings.package}"
title = {json.dumps(settings.title)}
tagline = {json.dumps(settings.tagline)}
tiers = [{tiers}]
milestones = {json.dumps(settings.milestones)}

[tool.setuptools.packages.find]
include = ["tito*", "{settings.package}*"]
"""


def _pep440(version: str) -> str:
    """The numeric release part of the course version (pip wants PEP 440; the full version is in COURSE_VERSION)."""
    head = version.split("+")[0].lstrip("v")
    parts = [p for p in head.split(".") if p.isdigit()]
    return ".".join(parts) if parts else "0"


def gitignore(course: Course) -> str:
    """Student exports are never tracked: only the package's generated __init__ and alias files are."""
    top = course.package
    aliases = "".join(f"!{top}/{'/'.join(a.split('.'))}.py\n" for m in course.modules for a in m.aliases)
    return GITIGNORE.format(package=top, aliases=aliases)


GITIGNORE = """\
# Your exports: `tito module complete` writes {package}/<path>.py from your notebook. The edition tracks only
# the package's __init__ (and alias) files, so a course update never conflicts with your code.
{package}/**/*.py
!{package}/**/__init__.py
!{package}/__init__.py
{aliases}
# tool state and backups (your notebooks in workspace/ are yours to commit)
.tito/
.venv/
__pycache__/
*.pyc
*.egg-info/
.ipynb_checkpoints/
.pytest_cache/
"""


def setup_script(title: str, extras: str = "", edition: bool = False) -> str:
    """`./setup-environment.sh`: a virtual environment in .venv with the project installed (editable).

    The student edition's script also installs the edition's JupyterLab settings into that environment, and
    makes `git pull` merge in its clone."""
    target = f'".[{extras}]"' if extras else "."
    git_pull = EDITION_GIT_PULL if edition else ""
    jupyter = EDITION_JUPYTER.format(config=JUPYTER_CONFIG, name=EDITION_SETTINGS) if edition else ""
    return f"""#!/usr/bin/env bash
# Set up {title} once: a virtual environment in .venv with everything the course needs.
# Then, in each new shell: source activate.sh
set -euo pipefail
cd "$(dirname "${{BASH_SOURCE[0]}}")"
PYTHON="${{PYTHON:-python3}}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "error: {title} needs Python 3.10 or newer; set PYTHON=/path/to/python3.x and run this again" >&2
    exit 2
fi
{git_pull}if [ ! -x .venv/bin/python ]; then
    echo "Creating the virtual environment in .venv ..."
    "$PYTHON" -m venv .venv
fi
echo "Installing {title} and its dependencies ..."
PINS=()
if [ -f constraints.txt ]; then PINS=(-c constraints.txt); fi  # the versions the course was tested with
.venv/bin/python -m pip install --quiet ${{PINS[@]+"${{PINS[@]}}"}} -e {target}
{jupyter}.venv/bin/tito system health
echo
echo "Ready. In each new shell run:  source activate.sh"
"""


EDITION_SETTINGS = "tito.json"  # sorts after nbgrader.json in jupyter_server_config.d, so it wins
EDITION_GIT_PULL = """\
if command -v git >/dev/null && [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ] \\
        && ! git config pull.rebase >/dev/null; then
    git config pull.rebase false  # `git pull` merges the course's updates into your commits, without asking how
fi
"""
# Jupyter reads the settings of the environment it runs from ({sys.prefix}/etc/jupyter), however JupyterLab is
# started (tito, `jupyter lab` after activate.sh, `.venv/bin/jupyter lab`): the edition's go there as drop-in files.
EDITION_JUPYTER = """\
mkdir -p .venv/etc/jupyter/labconfig/page_config.d .venv/etc/jupyter/jupyter_server_config.d
cp {config}/labconfig/page_config.json .venv/etc/jupyter/labconfig/page_config.d/{name}
cp {config}/jupyter_server_config.json .venv/etc/jupyter/jupyter_server_config.d/{name}
"""


def activate_script(title: str) -> str:
    """`activate.sh`: switch a shell to the course's environment."""
    return ACTIVATE.replace("{title}", title)


ACTIVATE = """\
# Use {title}'s environment in this shell:  source activate.sh   (after ./setup-environment.sh once)
_tito_course_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
if [ ! -f "$_tito_course_root/.venv/bin/activate" ]; then
    echo "error: no environment yet; run ./setup-environment.sh first" >&2
else
    . "$_tito_course_root/.venv/bin/activate"
    if [ -d "$_tito_course_root/.jupyter" ]; then
        export JUPYTER_CONFIG_PATH="$_tito_course_root/.jupyter${JUPYTER_CONFIG_PATH:+:$JUPYTER_CONFIG_PATH}"
    fi
    echo "{title} environment active ($(python --version 2>&1)). Try: tito system health"
fi
unset _tito_course_root
"""


def lab_page_config() -> str:
    return json.dumps({"disabledExtensions": {p: True for p in DISABLED_LAB_PLUGINS}}, indent=2, sort_keys=True) + "\n"


def server_config() -> str:
    return json.dumps({"ServerApp": {"jpserver_extensions": {e: False for e in DISABLED_SERVER_EXTENSIONS}}},
                      indent=2, sort_keys=True) + "\n"
