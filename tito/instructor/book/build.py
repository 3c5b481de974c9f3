"""`tito book build`: regenerate the stale generated pages, then run the Jupyter Book build.

Generated pages are rewritten only when their content changes (each chapter carries a key over
everything it is made from), so Sphinx, which rebuilds by modification time, re-reads only them.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import click

from ...core.course import Course, Module
from ...core.errors import TitoError
from ...core.fsutil import atomic_write, read_bytes
from ...core.leaks import leak_lines
from ...core.render import book as chapter_renderer
from ...core.render import toc
from ...core.render.notebook import dumps
from ...core.render.toc import CHAPTERS, TOC_FILE, chapter_file
from .. import export as engine
from ..nbgrader import student_view
from . import execute, pages
from .sphinx_build import Progress, run_sphinx

BUILD_DIR = Path("_build")
HTML_DIR = BUILD_DIR / "html"
STATE_FILE = execute.CACHE_DIR / "broken-warnings.json"


@dataclass
class BuildReport:
    index: Path
    chapters: list[str] = field(default_factory=list)  # chapter pages rewritten
    executed: list[str] = field(default_factory=list)  # notebooks run in a kernel (cache misses)
    fragments: list[str] = field(default_factory=list)  # other generated pages rewritten
    warnings: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    pages_read: int = 0
    pages_written: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.broken


@dataclass
class _Plan:
    module: Module
    notebook: dict
    exec_key: str
    chapter_key: str


def _renderer_digest() -> str:
    """Changing how chapters are rendered (here, in render/book.py or the links of render/toc.py) must
    regenerate them."""
    h = hashlib.sha256()
    for path in (Path(__file__), Path(chapter_renderer.__file__), Path(toc.__file__), Path(execute.__file__)):
        h.update(path.read_bytes())
    return h.hexdigest()


def _card_inputs(course: Course, module: Module) -> list:
    prereqs = [course.resolve(p) for p in module.prerequisites]
    return [module.id, module.title, module.summary, module.tier, module.minutes, list(module.objectives),
            module.import_line, list(module.milestones), [(p.slug, p.title) for p in prereqs]]


def _write_if_changed(root: Path, rel: Path, text: str) -> bool:
    data = text.encode("utf-8")
    if read_bytes(root / rel) == data:
        return False
    atomic_write(root / rel, data)
    return True


def _existing_key(path: Path, meta_key: str) -> str | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))["metadata"][meta_key]["book_key"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError):
        return None


def _plan(course: Course, outputs: list, digest: str) -> list[_Plan]:
    renderer = _renderer_digest()
    plans = []
    for output in outputs:
        if output.kind != "notebook":
            continue
        notebook = json.loads(output.content)
        exec_key = execute.execution_key(notebook, digest)
        chapter_key = hashlib.sha256(json.dumps(
            [renderer, exec_key, output.content.decode(), _card_inputs(course, output.module)]).encode()).hexdigest()
        plans.append(_Plan(output.module, notebook, exec_key, chapter_key))
    return plans


def _outputs(root: Path, plans: list[_Plan], package: list[tuple[str, bytes]], digest: str,
             progress: Progress, report: BuildReport, timeout: float = execute.TIMEOUT) -> dict[str, list[dict]]:
    """Cached outputs for every plan; notebooks missing from the cache run now (in parallel)."""
    found = {p.module.slug: execute.load_outputs(root, p.module.slug, p.exec_key) for p in plans}
    missing = [p for p in plans if found[p.module.slug] is None]
    if not missing:
        return found
    folder = root / execute.CACHE_DIR / "package" / digest[:16]
    if not folder.exists():  # written aside, then renamed: a crash never leaves half a package
        shutil.rmtree(folder.parent, ignore_errors=True)
        partial = folder.with_name(folder.name + ".partial")
        execute.write_package(partial, package, root)
        partial.rename(folder)
    keys = {p.module.slug: p.exec_key for p in missing}
    progress("executing notebooks", 0, len(missing))

    def landed(slug: str, outputs: list[dict]) -> None:
        execute.store_outputs(root, slug, keys[slug], outputs)
        found[slug] = outputs
        report.executed.append(slug)
        progress("executing notebooks", len(report.executed), len(missing))

    execute.execute_all([(p.module.slug, p.notebook) for p in missing], folder, root, on_result=landed,
                        timeout=timeout)
    return found


def _fragments(course: Course, commands: click.Command) -> dict[str, str]:
    fragments = {pages.GRID_FILE: pages.modules_grid(course), pages.PATH_FILE: pages.learning_path(course),
                 pages.COMMANDS_FILE: pages.command_reference(commands),
                 pages.README_FILE: pages.readme_commands(course.root)}
    fragments.update({pages.tier_file(tier): pages.tier_fragment(course, tier) for tier, _ in course.tiers()})
    return fragments


def _curve(root: Path, chart: dict) -> bytes:
    """A chart's PNG, drawn once per content: matplotlib takes seconds a chart, an incremental build none."""
    from . import curves

    key = hashlib.sha256(json.dumps(chart, sort_keys=True).encode()
                         + Path(curves.__file__).read_bytes()).hexdigest()[:24]
    cached = root / execute.CACHE_DIR / "curves" / f"{key}.png"
    data = read_bytes(cached)
    if data is None:
        data = curves.render_png(chart)
        atomic_write(cached, data)
    return data


def _milestone_pages(course: Course, report: BuildReport) -> None:
    """The milestones fragment and its training-curve images (drawn now from the recorded histories)."""
    root = course.root
    text, images = pages.milestones_fragment(course)
    if _write_if_changed(root, CHAPTERS / pages.MILESTONES_FILE, text):
        report.fragments.append(pages.MILESTONES_FILE)
    for rel, chart in images.items():
        data = _curve(root, chart)
        if read_bytes(root / CHAPTERS / rel) != data:
            atomic_write(root / CHAPTERS / rel, data)
            report.fragments.append(rel)
    folder = root / CHAPTERS / pages.FIGURES
    for old in sorted(folder.glob("*.png")) if folder.is_dir() else []:
        if f"{pages.FIGURES}/{old.name}" not in images:
            old.unlink()


def student_chapter(module: Module, executed: dict, prerequisites: list[Module], secrets: set[str],
                    src_label: str, key: str) -> str:
    """The chapter page for `module` from its executed full notebook; refuses a page whose outputs
    would show a solution or hidden-test line (the renderer only reports them)."""
    student = student_view(executed)  # nbgrader's own preprocessors strip solutions and hidden tests
    chapter = chapter_renderer.chapter_notebook(module, student, prerequisites, secrets, src_label, key)
    leaks = chapter_renderer.output_leaks(chapter, secrets)
    if leaks:
        cell, line = leaks[0]
        raise TitoError(f"{src_label}: an output of cell `{cell}` shows solution/hidden-test line `{line}`; "
                        "tag the cell `#| hide_output` or change it")
    return dumps(chapter)


def generate(course: Course, commands: click.Command, force: bool = False, progress: Progress | None = None,
             report: BuildReport | None = None, timeout: float = execute.TIMEOUT) -> BuildReport:
    """Bring every generated page under book/chapters/ up to date; run notebooks only on cache misses
    (`timeout` seconds per cell).

    `commands` is the root of the Click command tree the command reference is generated from (the CLI
    passes its own; the engine never imports the CLI).
    """
    root = course.root
    report = report or BuildReport(index=root / HTML_DIR / "index.html")
    progress = progress or (lambda phase, done, total: None)
    start = time.perf_counter()
    outputs = engine.plan(course, course.modules)  # lints every module first
    package = [(o.path.as_posix(), o.content) for o in outputs if o.kind in ("package", "init")]
    digest = execute.package_digest(package)
    plans = _plan(course, outputs, digest)
    stale = plans if force else [p for p in plans if _existing_key(root / chapter_file(p.module), p.module.top) != p.chapter_key]
    report.seconds["plan"] = time.perf_counter() - start

    start = time.perf_counter()
    cell_outputs = _outputs(root, stale, package, digest, progress, report, timeout)
    report.seconds["execute"] = time.perf_counter() - start

    start = time.perf_counter()
    for p in stale:
        module = p.module
        text = student_chapter(
            module, execute.with_outputs(p.notebook, cell_outputs[module.slug]),
            [course.resolve(x) for x in module.prerequisites], leak_lines(course, module),
            engine.src_label(course, module), p.chapter_key)
        if _write_if_changed(root, chapter_file(module), text):
            report.chapters.append(module.slug)
    wanted = {chapter_file(m).name for m in course.modules}
    for old in sorted((root / CHAPTERS).glob("*.ipynb")):
        if old.name not in wanted:
            old.unlink()
    for name, text in _fragments(course, commands).items():
        if _write_if_changed(root, CHAPTERS / name, text):
            report.fragments.append(name)
    _milestone_pages(course, report)
    if _write_if_changed(root, TOC_FILE, engine.toc(course)):
        report.fragments.append(TOC_FILE.name)
    report.seconds["render"] = time.perf_counter() - start
    return report


def build(course: Course, commands: click.Command, force: bool = False,
          progress: Progress | None = None, timeout: float = execute.TIMEOUT) -> BuildReport:
    """Generate what is stale, build the HTML into _build/html, and report; `force` rebuilds every page."""
    root = course.root
    report = generate(course, commands, force=force, progress=progress, timeout=timeout)
    start = time.perf_counter()
    result = run_sphinx(root, root / HTML_DIR, fresh=force, progress=progress, state_file=root / STATE_FILE)
    report.seconds["sphinx"] = time.perf_counter() - start
    report.warnings, report.broken = result.warnings, result.broken
    report.pages_read, report.pages_written = len(result.read), result.written
    if result.status and not result.broken:
        report.broken.append(f"Sphinx exited with status {result.status}")
    if not report.index.exists():
        raise TitoError(f"the build wrote no {report.index}; see the warnings above")
    return report


def clean(root: Path) -> list[Path]:
    """Remove the HTML build and the generated pages (the execution cache stays: it is keyed by content)."""
    removed = []
    for rel in (BUILD_DIR, CHAPTERS):
        if (root / rel).exists():
            shutil.rmtree(root / rel)
            removed.append(rel)
    return removed


def serve_handler(directory: Path) -> Callable:
    """A quiet SimpleHTTPRequestHandler bound to `directory` (also used by the browser tests)."""
    import functools
    from http.server import SimpleHTTPRequestHandler

    class Handler(SimpleHTTPRequestHandler):
        extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                          ".js": "text/javascript", ".woff2": "font/woff2"}

        def log_message(self, *args) -> None:  # keep the console for tito's own output
            pass

    return functools.partial(Handler, directory=str(directory))


def serve(directory: Path, port: int):
    """A ThreadingHTTPServer for `directory` on 127.0.0.1:`port` (port 0 picks a free one)."""
    from http.server import ThreadingHTTPServer

    if not (directory / "index.html").exists():
        raise TitoError(f"nothing to serve: {directory}/index.html does not exist; run `tito book build` first")
    return ThreadingHTTPServer(("127.0.0.1", port), serve_handler(directory))
