"""The course book as a reader gets it: built once from a copy of this repo, served on 127.0.0.1,
loaded page by page in headless Chromium. Also: no solution or hidden test anywhere in the site,
and no script from the network."""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .helpers.book import (
    chromium,
    copy_course,
    diagram_metrics,
    diagram_screenshots,
    load,
    page_title,
    secret_lines,
    served,
    tito,
    toc_pages,
    visible_text,
)

# One xdist worker runs them all, so the session-scoped book is built once.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("book")]

MERMAID_SOURCE = re.compile(r'<pre[^>]*class="mermaid"')
MERMAID_SVG = re.compile(r'<svg[^>]*aria-roledescription="[^"]+"')
PROCESSED = re.compile(r'<pre[^>]*class="mermaid"[^>]*data-processed="true"'
                       r'|<pre[^>]*data-processed="true"[^>]*class="mermaid"')
EXTERNAL_SCRIPT = re.compile(r'<script[^>]*\bsrc\s*=\s*["\']?(?:https?:)?//', re.IGNORECASE)
EXTERNAL_IMPORT = re.compile(r'\bimport\b[^;\n]*?["\'](?:https?:)?//|\bimport\(\s*["\'](?:https?:)?//')
BAD_CONSOLE = re.compile(r"Uncaught|rendering failed|SyntaxError|TypeError|ReferenceError")
LAPTOP = (1280, 900)  # a typical laptop browser window
MIN_TEXT_PX = 11      # smallest diagram text a reader can comfortably read on such a screen
MAX_SCROLL = 2.0      # a diagram may be at most this many times its box's width before it must be laid out anew


@pytest.fixture(scope="session")
def book(tmp_path_factory) -> Path:
    """A copy of the repo's book inputs, built once with the real `tito book build`."""
    root = copy_course(tmp_path_factory.mktemp("book"))
    out = tito(["book", "build"], root)
    assert out.returncode == 0, f"tito book build failed:\n{out.stdout}\n{out.stderr}"
    index = root / "_build" / "html" / "index.html"
    assert str(index) in out.stdout.replace("\n", ""), "the build must print the path of index.html"
    return root


@pytest.fixture(scope="session")
def screenshot_folder(tmp_path_factory) -> Path:
    return Path(os.environ.get("TINYTORCH_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots")).resolve()


@pytest.fixture
def screenshots(screenshot_folder, record_property) -> Path:
    """Where screenshots go for a human to look at: $TINYTORCH_SCREENSHOTS or a temporary folder (never the
    checkout); the session's last lines print it."""
    screenshot_folder.mkdir(parents=True, exist_ok=True)
    record_property("screenshots", str(screenshot_folder))
    return screenshot_folder


@pytest.fixture(scope="session")
def site(book):
    with served(book / "_build" / "html") as url:
        yield url


@pytest.fixture(scope="session")
def rendered(book, site) -> dict[str, tuple[str, list[str]]]:
    """{docname: (DOM after JavaScript, console messages)} for every page in _toc.yml."""
    browser = chromium()
    docs = toc_pages(book)
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = pool.map(lambda d: load(browser, f"{site}/{d}.html"), docs)
    return dict(zip(docs, results))


def test_every_page_renders_with_its_title(book, rendered):
    assert len(rendered) >= 8, "the landing page, the hand-written pages and the chapters"
    for doc, (dom, console) in rendered.items():
        assert dom, f"{doc}: Chromium returned no DOM"
        title = page_title(book, doc)
        head = re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
        h1 = re.sub(r"<[^>]+>", "", re.search(r"<h1[^>]*>(.*?)</h1>", dom, re.S).group(1))
        assert title in head.replace("&amp;", "&"), f"{doc}: <title> {head!r} lacks {title!r}"
        assert title in h1.replace("¶", "").replace("#", ""), f"{doc}: <h1> {h1!r} lacks {title!r}"
        # The theme's own scripts ran (they set these at load time), so the page is not half-rendered.
        assert 'data-theme="light"' in dom or 'data-theme="dark"' in dom, f"{doc}: theme JavaScript did not run"
        errors = [m for m in console if BAD_CONSOLE.search(m)]
        assert not errors, f"{doc}: JavaScript errors: {errors}"


def test_every_mermaid_block_becomes_an_svg(book, rendered):
    total = 0
    for doc, (dom, _) in rendered.items():
        built = (book / "_build" / "html" / f"{doc}.html").read_text(encoding="utf-8")
        blocks = len(MERMAID_SOURCE.findall(built))
        total += blocks
        if blocks:
            assert len(PROCESSED.findall(dom)) == blocks, f"{doc}: {blocks} mermaid block(s), not all processed"
            assert len(MERMAID_SVG.findall(dom)) >= blocks, f"{doc}: mermaid did not draw every diagram"
    assert total >= 3, "the workflow, instructor and learning-path pages have diagrams"


def test_every_mermaid_diagram_is_readable_at_laptop_width(book, site, screenshots):
    """Every diagram's text is drawn at a readable size in a 1280 px window: diagrams are never shrunk to the
    column; one wider than its box scrolls sideways inside it (and stays in the column), and none is so wide
    that most of it is out of sight. Screenshots of each diagram as shown are saved for a human to look at."""
    browser = chromium()
    html_dir = book / "_build" / "html"
    docs = [d for d in toc_pages(book) if MERMAID_SOURCE.search((html_dir / f"{d}.html").read_text(encoding="utf-8"))]
    assert "book/chapters/11_embeddings" in docs and len(docs) >= 5, f"pages with diagrams: {docs}"
    problems, seen = [], 0
    for doc in docs:
        metrics = diagram_metrics(browser, site, html_dir, doc, LAPTOP)
        assert metrics["ready"], f"{doc}: mermaid did not draw every diagram"
        assert metrics["viewport"] <= LAPTOP[0]
        for d in metrics["diagrams"]:
            seen += 1
            name = f"{doc}, diagram {d['index'] + 1} ({d['source']!r} under {d['heading']!r})"
            assert d["labels"], f"{name}: no text found in the SVG"
            smallest, width = d["smallest"], d["rendered"][0]
            if smallest["px"] < MIN_TEXT_PX:
                problems.append(f"{name}: text {smallest['text']!r} is {smallest['px']:.1f} px on screen (drawn at "
                                f"{d['scale']:.2f} x its natural size, {d['viewBox'][0]:.0f} px wide in a "
                                f"{d['clientWidth']} px box); lay it out top-down (flowchart TD) or let it scroll")
            if width > d["clientWidth"] and (d["overflowX"] not in ("auto", "scroll") or d["scrollWidth"] < width):
                problems.append(f"{name}: {width:.0f} px wide in a {d['clientWidth']} px box that does not scroll")
            if d["box"][0] < d["column"][0] - 1 or d["box"][1] > d["column"][1] + 1:
                problems.append(f"{name}: its box {d['box']} sticks out of the text column {d['column']}")
            if width > MAX_SCROLL * d["clientWidth"]:
                problems.append(f"{name}: {width:.0f} px wide, more than {MAX_SCROLL:g} x its {d['clientWidth']} px "
                                f"box; lay it out top-down (flowchart TD)")
        for shot in diagram_screenshots(browser, site, doc, LAPTOP[0], metrics, screenshots):
            assert shot.stat().st_size > 2_000, f"{shot.name}: an empty screenshot"
    assert seen >= 8, f"only {seen} diagrams measured"
    assert not problems, "diagrams too small to read at 1280 px:\n" + "\n".join(problems)


def test_no_page_loads_a_script_from_the_network(book):
    html_dir = book / "_build" / "html"
    pages = sorted(html_dir.rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not EXTERNAL_SCRIPT.search(text), f"{page.relative_to(html_dir)} loads a script over the network"
        assert not EXTERNAL_IMPORT.search(text), f"{page.relative_to(html_dir)} imports a module over the network"
    for script in sorted((html_dir / "_static").rglob("*.mjs")):
        head = script.read_text(encoding="utf-8", errors="replace")
        assert not EXTERNAL_IMPORT.search(head), f"{script.name} imports a module over the network"


def test_no_solution_or_hidden_test_line_anywhere_in_the_site(book):
    secrets = secret_lines(book)
    assert secrets, "src/ has no module with solution regions, so there is nothing to check"
    html_dir = book / "_build" / "html"
    leaks = []
    for path in sorted(p for p in html_dir.rglob("*") if p.is_file()):
        if path.suffix in (".png", ".svg", ".woff", ".woff2", ".ico", ".inv", ".pickle"):
            continue
        present = {l.strip() for l in visible_text(path).splitlines()}
        leaks += [f"{path.relative_to(html_dir)}: {line}  ({secrets[line]})"
                  for line in sorted(present & secrets.keys())]
    assert not leaks, "solution/hidden-test lines in the built book:\n" + "\n".join(leaks[:20])


def test_chapters_show_the_student_view(book):
    from tito.core.course import Course

    course = Course.load(book)
    assert course.modules, "src/ has no modules"
    for module in course.modules:
        html = (book / "_build" / "html" / "book" / "chapters" / f"{module.slug}.html").read_text(encoding="utf-8")
        text = visible_text(book / "_build" / "html" / "book" / "chapters" / f"{module.slug}.html")
        assert "tito-module-card" in html, f"{module.slug}: the chapter card is missing"
        assert f"tito module start {module.id}" in text
        assert module.import_line in text
        if any(c.regions for c in course.parse(module).cells if c.is_solution):
            assert "# YOUR CODE HERE" in text, f"{module.slug}: the scaffolds are missing"
        download = book / "_build" / "html" / "_sources" / "book" / "chapters" / f"{module.slug}.ipynb"
        assert download.exists(), f"{module.slug}: the page's .ipynb download is missing"


def test_screenshots_of_the_landing_page_the_workflow_and_a_chapter(book, site, screenshots):
    """For a human to look at: saved to $TINYTORCH_SCREENSHOTS or a temporary folder, whose path the test
    session prints at the end. They must be real images."""
    from tito.core.course import Course

    browser = chromium()
    course = Course.load(book)
    assert course.modules, "src/ has no modules"
    folder = screenshots
    shots = {"landing.png": "book/index", "workflow.png": "book/workflow",
             f"chapter-{course.modules[0].slug}.png": f"book/chapters/{course.modules[0].slug}"}
    for name, doc in shots.items():
        target = folder / name
        target.unlink(missing_ok=True)
        load(browser, f"{site}/{doc}.html", screenshot=target)
        assert target.exists() and target.stat().st_size > 20_000, f"{name}: no usable screenshot"
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_milestones_page_shows_training_curves_of_the_reference_runs(book, site, rendered, screenshots):
    """Each recorded reference run's history is drawn as images at build time, and the page shows them."""
    import urllib.request

    from tito.core import milestones
    from tito.core.course import Course

    course = Course.load(book)
    found = milestones.discover(course)
    assert found, "milestones/ has no milestones"
    dom, _ = rendered["book/milestones"]
    text = visible_text(book / "_build" / "html" / "book" / "milestones.html")
    images = re.findall(r'<img[^>]*src="([^"]+\.png)"', dom)
    charts = 0
    for m in found:
        assert f"{m.id} · {m.title}" in text and m.goal in text, f"{m.slug}: title or target missing"
        assert f"tito milestone run {m.id}" in text
        reference = milestones.reference_run(m)
        if reference:
            charts += len(reference.get("history") or [])
            for name in (reference.get("metrics") or {}):
                if isinstance(reference["metrics"][name], (int, float)):
                    assert name.replace("_", " ") in text, f"{m.slug}: reference figure {name} missing"
    assert charts >= 5, "the milestones with training record at least five curves"
    assert len(images) == charts, f"{charts} curves recorded, {len(images)} images on the page"
    for src in images:
        with urllib.request.urlopen(f"{site}/book/{src}" if not src.startswith("/") else f"{site}{src}") as reply:
            assert reply.headers["Content-Type"] == "image/png"
            width, height = _png_size(reply.read())
        assert width >= 400 and height >= 200, f"{src}: {width}x{height} is not a readable chart"
    shot = screenshots / "milestones.png"
    shot.unlink(missing_ok=True)
    load(chromium(), f"{site}/book/milestones.html", screenshot=shot)
    assert shot.exists() and shot.stat().st_size > 40_000, "the milestones screenshot shows no curves"


def test_workflow_page_links_tiers_milestones_and_troubleshooting(book, site, rendered, screenshots):
    html = (book / "_build" / "html" / "book" / "workflow.html").read_text(encoding="utf-8")
    for target in ("tiers/foundation.html", "milestones.html", "troubleshooting.html"):
        assert f'href="{target}' in html, f"the workflow page does not link {target}"
    text = visible_text(book / "_build" / "html" / "book" / "workflow.html")
    assert 'python -c "from tinytorch import Linear; print(Linear(10, 5))"' in text
    assert "from tinytorch.autograd import backward" in text and "y.backward()" in text
    for tier in ("foundation", "architecture", "optimization", "capstone"):
        page = book / "_build" / "html" / "book" / "tiers" / f"{tier}.html"
        tier_html = page.read_text(encoding="utf-8")
        dom, _ = rendered[f"book/tiers/{tier}"]
        assert f"{tier.title()} tier" in dom
        assert tier_html.count('href="../chapters/') >= 1, f"{tier}: no link to its chapters"
    trouble = visible_text(book / "_build" / "html" / "book" / "troubleshooting.html")
    for failure in ("no course found", "--locked-cells", "progress.json was unreadable",
                    "cannot be read", "resume, or start over"):
        assert failure in trouble, failure
    folder = screenshots
    for name, doc in (("troubleshooting.png", "book/troubleshooting"),
                      ("tier-foundation.png", "book/tiers/foundation")):
        (folder / name).unlink(missing_ok=True)
        load(chromium(), f"{site}/{doc}.html", screenshot=folder / name)
        assert (folder / name).stat().st_size > 20_000, name

