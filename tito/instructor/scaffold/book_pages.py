"""The new course's book: `_config.yml` and the hand-written pages under `book/` (pure text).

The pages are a subset of the ones tito's table of contents knows (`tito.core.render.toc.HAND_PARTS`); each
`{include}`s a fragment `tito book build` generates from the course (the module grid, the learning path, a
tier's modules, the command reference), so they stay true as modules are added.
"""
from __future__ import annotations

import datetime
import json

from ...core.render.toc import tier_doc
from .project import fill


def config(package: str, title: str) -> str:
    return fill(CONFIG, package=package, title=json.dumps(title), author=json.dumps(f"The {title} course authors"),
                year=json.dumps(str(datetime.date.today().year)))


CONFIG = """\
# Jupyter Book 1.x configuration for the course book. Build with `tito book build`.
# Hand-written pages live in book/, module chapters are generated into book/chapters/ (git-ignored),
# and _toc.yml is generated from the course manifest by `tito source export`.
title: {{title}}
author: {{author}}
copyright: {{year}}
logo: ""
only_build_toc_files: true
exclude_patterns:
  - src
  - modules
  - workspace
  - release
  - grading
  - _build
  - {{package}}
  - tests
  - tito
  - milestones
  - vendor
  - .tito
  - .ci
  - .git
  - .venv
  - venv
  - "*.egg-info"
  - .pytest_cache
  - README.md
  - "book/chapters/_*.md"

# tito executes each module notebook itself (cached by content hash) and strips the solutions before
# Sphinx sees it, so Jupyter Book never runs anything.
execute:
  execute_notebooks: "off"

parse:
  myst_enable_extensions:
    - colon_fence
    - deflist
    - dollarmath
    - amsmath
    - fieldlist
    - substitution
    - tasklist

# Offline site: no launch buttons, no Thebe, no repository links.
launch_buttons:
  notebook_interface: jupyterlab
  binderhub_url: ""
  jupyterhub_url: ""
  colab_url: ""
  deepnote_url: ""
  thebe: false

repository:
  url: ""
  path_to_book: ""
  branch: main

html:
  use_edit_page_button: false
  use_repository_button: false
  use_issues_button: false
  use_multitoc_numbering: false
  home_page_in_navbar: true
  extra_footer: "Built with <code>tito book build</code>."

latex:
  use_jupyterbook_latex: false

sphinx:
  config:
    # The full extension list (replaces Jupyter Book's default): no sphinx_thebe (it embeds a CDN URL
    # for live code), no sphinx_comments, no intersphinx (network); plus sphinx-design and mermaid.
    extensions:
      - sphinx_togglebutton
      - sphinx_copybutton
      - myst_nb
      - jupyter_book
      - sphinx_external_toc
      - sphinx_design
      - sphinx_book_theme
      - sphinxcontrib.mermaid
    html_static_path: [book/_static, vendor/static]
    html_css_files: [tito.css]
    # Mermaid (vendor/static/mermaid, pinned by vendor/mermaid.lock.json) and MathJax (book/_static/mathjax)
    # are served from _static/ so no page needs a CDN.
    mermaid_use_local: mermaid/mermaid.esm.min.mjs
    mermaid_d3_zoom: false
    mermaid_height: auto
    mermaid_fullscreen_button: "⤢"
    mermaid_include_elk: false
    mermaid_include_zenuml: false
    mathjax_path: mathjax/tex-mml-chtml.js
    html_show_sourcelink: true
    html_last_updated_fmt: null  # no build date: pages stay identical between builds
    suppress_warnings: ["myst.header"]
"""


def pages(package: str, title: str, tiers: tuple[str, ...]) -> dict[str, str]:
    """Relative path -> text of every hand-written page."""
    found = {
        "book/index.md": fill(INDEX, title=title, package=package),
        "book/getting-started.md": fill(GETTING_STARTED, package=package),
        "book/learning-path.md": LEARNING_PATH,
        "book/reference/commands.md": COMMANDS,
    }
    for tier in tiers:
        found[f"{tier_doc(tier)}.md"] = fill(TIER, tier=tier, caption=tier.replace("_", " ").title())
    return found


INDEX = """\
# {{title}}

**Build `{{package}}` yourself, one module at a time, and run every test on the code you wrote.**

Each module of this course asks you to implement one piece of `{{package}}`. Each piece is small enough to
understand completely, and it is tested as you go. When you finish a module, `tito` copies *your* code into the
`{{package}}` package, so the modules after it build on what you wrote.

::::{grid} 1 2 2 2
:gutter: 3

:::{grid-item-card} Getting started
:link: getting-started
:link-type: doc

Install the course, check your setup and open module 01.
:::

:::{grid-item-card} Learning path
:link: learning-path
:link-type: doc

Which module builds on which, and how long each one takes.
:::
::::

## How a chapter works

Each module chapter below is the notebook you will work in, shown the way you receive it: the explanations,
the code you are given, and the tests your code must pass. The places where you write code say
`# YOUR CODE HERE`. The outputs under the cells are what a correct implementation prints, so you can compare
your results as you go. Some tests stay hidden until grading: passing the visible tests is necessary but not
always sufficient, so read each docstring.

## The modules

```{include} chapters/_modules_grid.md
```
"""

GETTING_STARTED = """\
# Getting started

You need Python 3.10 or newer, `pip` and `git`. Everything else is installed into a virtual environment of
the course's own.

## Install

Clone the course repository your instructor gives you (the student edition), then, inside it:

```bash
./setup-environment.sh
source activate.sh
```

`./setup-environment.sh` makes the environment in `.venv/` once; `source activate.sh` switches each new
terminal to it. `tito system health` checks that everything is in place and says how to fix what is not.

## The loop, for every module

```bash
tito module start 01        # copy module 01's notebook into workspace/ and open JupyterLab
tito module complete 01     # test YOUR notebook, then export YOUR code into {{package}}/
tito module status          # where am I, and what comes next?
```

Fill in every `# YOUR CODE HERE` in the notebook and run its cells as you go: each test cell says what is
still wrong. `complete` runs the tests on your notebook in a fresh kernel; when they pass, your code becomes
part of the `{{package}}` package that later modules import.
"""

LEARNING_PATH = """\
# Learning path

The modules build on each other: a module can only import what earlier modules export. An arrow below points
from a module to the modules that build directly on it (the table lists every prerequisite). `tito module
start` checks that what a module needs is complete, and `tito module status` suggests what to do next.

```{include} chapters/_learning_path.md
```
"""

COMMANDS = """\
# `tito` command reference

Every command and option of `tito`, as printed by `tito COMMAND --help`. This page is generated from the
commands themselves each time the book is built, so it always matches the installed version.

Exit codes are the same everywhere: `0` success, `1` a check or a test failed, `2` bad input (an unknown
module, an invalid source file, a bad option).

```{include} ../chapters/_commands.md
```
"""

TIER = """\
# {{caption}}

The modules of this part, in order: each one imports what the previous ones exported. The loop, for every
module, is `tito module start NN`, edit the notebook, `tito module complete NN`.

```{include} ../chapters/_tier_{{tier}}.md
```
"""
