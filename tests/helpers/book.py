"""The book tests' helpers: course copies, `tito` as a subprocess, a local server, headless Chromium."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from .course import REPO

TITO = [sys.executable, "-m", "tito"]
# What a book build reads; everything else in the repo is irrelevant to it.
BOOK_INPUTS = ("src", "milestones", "book", "vendor", "datasets", "_config.yml",
               "_toc.yml", "README.md", "AUTHORING.md", "pyproject.toml", "nbgrader_config.py")
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--virtual-time-budget=5000"]
TAG = re.compile(r"<[^>]+>")
PROBE = Path(__file__).with_name("mermaid_probe.js")


def copy_course(dst: Path, source: Path = REPO, with_src: bool = True) -> Path:
    """A copy of the book's inputs (generated chapters excluded) plus the content-keyed output cache."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in BOOK_INPUTS:
        item = source / name
        if name in ("src", "milestones") and not with_src:  # the milestones need the real modules
            continue
        elif item.is_dir():
            shutil.copytree(item, dst / name, ignore=shutil.ignore_patterns("chapters", "__pycache__",
                                                                            ".ipynb_checkpoints"))
        elif item.is_file():
            shutil.copy2(item, dst / name)
    (dst / "src").mkdir(exist_ok=True)
    cache = source / ".tito" / "cache" / "book"
    if cache.is_dir():  # keyed by content, so sharing it is safe; it only saves kernel time
        shutil.copytree(cache, dst / ".tito" / "cache" / "book", ignore=shutil.ignore_patterns("package", "*.tmp"))
    return dst


def tito(args: list[str], cwd: Path, timeout: int = 1200) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", TINYTORCH_ROOT=str(cwd))
    return subprocess.run(TITO + args, cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout)


def toc_pages(root: Path) -> list[str]:
    """Every docname in _toc.yml, root page first."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    return [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part.get("chapters", [])]


def page_title(root: Path, doc: str) -> str:
    """The first `# heading` of a page's source, as plain text."""
    ipynb, md = root / f"{doc}.ipynb", root / f"{doc}.md"
    if ipynb.exists():
        cells = json.loads(ipynb.read_text(encoding="utf-8"))["cells"]
        lines = [l for c in cells if c["cell_type"] == "markdown" for l in "".join(c["source"]).split("\n")]
    else:
        lines = md.read_text(encoding="utf-8").split("\n")
    heading = next(l for l in lines if l.startswith("# "))
    return re.sub(r"[`*_]", "", heading[2:]).strip()


@contextmanager
def served(directory: Path):
    """Serve `directory` on 127.0.0.1 (a free port) from a thread; yield the base URL."""
    from tito.instructor.book.build import serve

    server = serve(directory, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def recording_server(directory: Path):
    """Serve `directory` on 127.0.0.1 and record every requested path; yield (base URL, paths). The list is
    complete once the block has ended (closing the server waits for the request threads)."""
    from http.server import ThreadingHTTPServer

    from tito.instructor.book.build import serve_handler

    paths: list[str] = []
    base = serve_handler(directory)

    class Recording(base.func):
        def parse_request(self) -> bool:
            ok = super().parse_request()
            if ok:
                paths.append(self.path)
            return ok

    server = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: Recording(*a, **base.keywords))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", paths
    finally:
        server.shutdown()
        server.server_close()


def chromium() -> str:
    """Path of a Chromium binary; a missing browser fails the test (deselect these with -m "not browser")."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    pytest.fail("headless Chromium not found: install it (apt-get install chromium) or deselect the browser tests "
                "with -m 'not browser'")


def load(browser: str, url: str, screenshot: Path | None = None,
         window: tuple[int, int] | None = None) -> tuple[str, list[str]]:
    """(DOM after scripts ran, console messages) of `url` in a fresh headless profile; with `screenshot`,
    a PNG of the window (1280 x 1600 unless `window` says otherwise) instead of the DOM."""
    with tempfile.TemporaryDirectory(prefix="tito-chrome-") as profile:
        args = [browser, *CHROME_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]
        if screenshot is not None:
            window = window or (1280, 1600)
        if window is not None:
            args.append(f"--window-size={window[0]},{window[1]}")
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            args.append(f"--screenshot={screenshot}")
        else:
            args += ["--dump-dom"]
        out = subprocess.run(args + [url], capture_output=True, text=True, timeout=120)
    console = [l.split("] ", 1)[-1] for l in out.stderr.splitlines() if ":CONSOLE" in l]
    return out.stdout, console


def diagram_metrics(browser: str, site: str, html_dir: Path, doc: str, window: tuple[int, int]) -> dict:
    """How large the text of each mermaid diagram of page `doc` is on screen in a `window`-sized browser:
    {"ready", "viewport", "diagrams": [{"scale", "smallest": {"text", "px"}, "overflowX", ...}]} (see
    mermaid_probe.js). The probe runs in a copy of the built page next to it (same relative links), removed
    afterwards."""
    page = html_dir / f"{doc}.html"
    probe = page.with_name(f"{page.stem}.tito-probe.html")
    text = page.read_text(encoding="utf-8")
    assert "</body>" in text, f"{page}: no </body>"
    probe.write_text(text.replace("</body>", f"<script>{PROBE.read_text(encoding='utf-8')}</script></body>", 1),
                     encoding="utf-8")
    try:
        dom, _ = load(browser, f"{site}/{doc}.tito-probe.html", window=window)
    finally:
        probe.unlink()
    found = re.search(r'<html[^>]*\sdata-tito-diagrams="([^"]*)"', dom)
    assert found, f"{doc}: the diagram probe left no measurements (did the page load?)"
    return json.loads(html.unescape(found.group(1)))


def diagram_screenshots(browser: str, site: str, doc: str, width: int, metrics: dict, folder: Path) -> list[Path]:
    """One PNG per diagram of `doc` as a reader sees it at `width`: the page shot in a window tall enough to
    hold every diagram (a scrolled headless page paints blank), cropped to each diagram's box."""
    from PIL import Image

    diagrams = metrics["diagrams"]
    whole = folder / f"{doc.replace('/', '-')}.page.png"
    load(browser, f"{site}/{doc}.html", screenshot=whole, window=(width, int(max(d["bottom"] for d in diagrams)) + 40))
    shots = []
    with Image.open(whole) as image:
        for d in diagrams:
            left, right = d["column"]
            target = folder / f"diagram-{doc.rsplit('/', 1)[-1]}-{d['index']}.png"
            image.crop((int(left), max(0, int(d["top"]) - 20), int(right), int(d["bottom"]) + 20)).save(target)
            shots.append(target)
    whole.unlink()
    return shots


def visible_text(path: Path) -> str:
    """What a reader could see or download from a built file: HTML as text, notebooks as sources + outputs."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        return html.unescape(TAG.sub("", raw))
    if path.suffix == ".ipynb":
        parts = []
        for cell in json.loads(raw).get("cells", []):
            parts.append("".join(cell.get("source", "")))
            for output in cell.get("outputs", []):
                parts.append("".join(output.get("text", "")))
                parts.append("\n".join(output.get("traceback", [])))
                for value in (output.get("data") or {}).values():
                    parts.append("".join(value) if isinstance(value, list) else str(value))
        return "\n".join(parts)
    return raw


def secret_lines(root: Path) -> dict[str, str]:
    """{stripped line: module} for every solution and hidden-test line of every module, minus trivial
    lines (blank, pass, return, brackets, comments) and lines that also appear outside any region."""
    from tito.core.course import Course
    from tito.core.leaks import TRIVIAL

    course = Course.load(root)
    secrets: dict[str, str] = {}
    public: set[str] = set()
    for module in course.modules:
        parsed = course.parse(module)
        for line in parsed.solution_lines() + parsed.hidden_lines():
            if not TRIVIAL.match(line):
                secrets.setdefault(line.strip(), module.slug)
        for cell in parsed.cells:
            inside = {i for r in cell.regions for i in range(r.begin, r.end + 1)}
            public.update(l.strip() for i, l in enumerate(cell.lines) if i not in inside)
    return {line: slug for line, slug in secrets.items() if line not in public}
