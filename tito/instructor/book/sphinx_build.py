"""Run the Jupyter Book (Sphinx) HTML build in-process, report progress, sort out the warnings that matter.

Same configuration path as `jupyter-book build .` (its `get_final_config` reads `_config.yml` and
`_toc.yml`), but the Sphinx app is ours, so progress comes from Sphinx events and warnings are
captured instead of printed. Warnings that mean a broken page (unknown document, bad reference,
missing image or include, unknown directive) fail the build; they are remembered per document so an
incremental build that does not re-read a broken page still fails.
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ...core.fsutil import atomic_write
from ...core.nbutil import strip_ansi

BROKEN = re.compile(
    r"unknown document|undefined label|reference target not found|cross-reference target not found"
    r"|image file not readable|image file not found|could not find image|nonexisting document"
    r"|unknown directive type|unknown interpreted text role|include.*(not found|not readable)"
    r"|problems with \"include\" directive|toctree contains reference|failed to import|document not found",
    re.IGNORECASE)
LEVEL = re.compile(r"(?P<where>^.*?):?\s*(?P<level>WARNING|ERROR|CRITICAL|SEVERE):\s*(?P<msg>.*)$")
REDIRECT = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>\n'
            '<meta http-equiv="Refresh" content="0; url={target}"></head>\n'
            '<body><p><a href="{target}">{title}</a></p></body></html>\n')
Progress = Callable[[str, int, "int | None"], None]


@dataclass
class SphinxResult:
    status: int
    outdir: Path
    warnings: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    read: list[str] = field(default_factory=list)  # documents (re)read this build
    written: int = 0


def _split_warnings(text: str) -> list[str]:
    """One string per warning (continuation lines stay attached)."""
    found: list[str] = []
    for line in strip_ansi(text).splitlines():
        if LEVEL.match(line):
            found.append(line)
        elif found and line.strip():
            found[-1] += "\n" + line
    return found


def _docname(warning: str, srcdir: Path) -> str | None:
    where = warning.split(": ", 1)[0].split(":")[0]
    try:
        rel = Path(where).resolve().relative_to(srcdir.resolve())
    except (ValueError, OSError):
        return None
    return rel.with_suffix("").as_posix()


def is_broken(warning: str) -> bool:
    m = LEVEL.match(warning.split("\n", 1)[0])
    return bool(m) and (m.group("level") in ("ERROR", "CRITICAL", "SEVERE") or bool(BROKEN.search(warning)))


def run_sphinx(root: Path, outdir: Path, *, fresh: bool = False, progress: Progress | None = None,
               state_file: Path | None = None) -> SphinxResult:
    from jupyter_book.config import get_final_config
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    progress = progress or (lambda phase, done, total: None)
    sphinx_config, _ = get_final_config(user_yaml=root / "_config.yml",
                                        cli_config={"external_toc_path": (root / "_toc.yml").as_posix(),
                                                    "latex_individualpages": False},
                                        sourcedir=root, use_external_toc=True)
    if "sphinx_comments" not in sphinx_config.get("extensions", []):
        sphinx_config.pop("comments_config", None)  # Jupyter Book's default for an extension we do not load
    status, warning = io.StringIO(), io.StringIO()
    result = SphinxResult(0, outdir)
    counts = {"read": 0, "to_read": 0}

    def before_read(app, env, docnames):
        result.read = list(docnames)
        counts["to_read"] = len(docnames)
        progress("reading pages", 0, len(docnames))

    def doctree_read(app, doctree):
        counts["read"] += 1
        progress("reading pages", counts["read"], counts["to_read"])

    def page_context(app, pagename, templatename, context, doctree):
        result.written += 1
        progress("writing pages", result.written, None)

    with patch_docutils(root), docutils_namespace():
        app = Sphinx(srcdir=root, confdir=None, outdir=outdir, doctreedir=outdir.parent / ".doctrees",
                     buildername="html", confoverrides=sphinx_config, status=status, warning=warning,
                     freshenv=fresh, warningiserror=False, verbosity=0, parallel=1, keep_going=True)
        app.connect("env-before-read-docs", before_read)
        app.connect("doctree-read", doctree_read)
        app.connect("html-page-context", page_context)
        app.build(force_all=fresh)
        result.status = app.statuscode
        root_doc = app.config.root_doc
        title = app.config.html_title or app.config.project
    target = f"{root_doc}.html"
    if target != "index.html":
        atomic_write(outdir / "index.html", REDIRECT.format(title=title, target=target))
    result.warnings = _split_warnings(warning.getvalue())
    result.broken = _remember(root, state_file, result) if state_file else [w for w in result.warnings if is_broken(w)]
    return result


def _remember(root: Path, state_file: Path, result: SphinxResult) -> list[str]:
    """Broken-page warnings of this build plus those of earlier builds for pages not re-read now."""
    try:
        previous = json.loads(state_file.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        previous = {}
    current: dict[str, list[str]] = {}
    general: list[str] = []
    for w in result.warnings:
        if not is_broken(w):
            continue
        doc = _docname(w, root)
        (current.setdefault(doc, []) if doc else general).append(w)
    reread = set(result.read)
    # An included fragment (`_name.md`) is never read as a page: its old warnings go once it was rewritten
    # (every page that includes it was re-read then, so its current warnings are in this build's).
    since = state_file.stat().st_mtime if state_file.exists() else 0.0
    reread |= {doc for doc in previous if Path(doc).name.startswith("_") and _newer(root, doc, since)}
    kept = {doc: ws for doc, ws in previous.items()
            if doc not in reread and doc not in current and _exists(root, doc)}
    merged = {**kept, **current}
    atomic_write(state_file, json.dumps(merged, indent=1, sort_keys=True))
    return general + [w for doc in sorted(merged) for w in merged[doc]]


def _newer(root: Path, doc: str, since: float) -> bool:
    return any((root / f"{doc}{suffix}").exists() and (root / f"{doc}{suffix}").stat().st_mtime > since
               for suffix in (".md", ".ipynb", ".rst"))


def _exists(root: Path, doc: str) -> bool:
    return any((root / f"{doc}{suffix}").exists() for suffix in (".md", ".ipynb", ".rst"))
