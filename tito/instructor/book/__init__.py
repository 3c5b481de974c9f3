"""The course book (Jupyter Book 1.x): generated pages, notebook execution cache, Sphinx build.

Layout: `_config.yml` and `_toc.yml` at the repo root, hand-written pages under `book/`, generated
pages (module chapters, landing grid, learning path, command reference) under `book/chapters/`
(git-ignored, rewritten only when their content changes so Sphinx rebuilds only what changed).
"""
