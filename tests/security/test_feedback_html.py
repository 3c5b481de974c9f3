"""Feedback pages as an instructor or a student opens them: no JavaScript from a submission runs.

A class of two is graded in the sandbox and given feedback with the real commands; one submission carries
payloads in its outputs (HTML with <script>, an img onerror, Markdown with raw HTML, an SVG from _repr_html_,
an SVG image, Javascript, an isolated iframe) and in Markdown cells (script, img onerror, meta refresh, a
remote image). The pages are served on 127.0.0.1 and loaded in headless Chromium; each payload would change the
title, mark the root element and request /pwned/<name> from the same server. Two layers are checked separately:
the sanitized HTML holds no script at all, and the page's Content-Security-Policy stops a script that a
sanitizer missed (the same page without that policy runs it, so the harness can see a payload that runs).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tito.instructor import sandbox

from ..helpers.book import chromium, load, recording_server
from ..helpers.class_submissions import submit, tensor_course, variants
from ..helpers.grading import tito
from ..helpers.payloads import names, script, with_payloads

pytestmark = [pytest.mark.browser, pytest.mark.slow]
STUDENTS = ("ada", "mallory")  # ada: a perfect submission; mallory: perfect plus every payload
PAGE = "{student}/01_tensor/01_tensor.html"


def page_path(root: Path, student: str) -> Path:
    return root / "grading" / "feedback" / PAGE.format(student=student)


def root_tag(dom: str) -> str:
    """The <html ...> start tag, where a payload that ran leaves its mark (the page text may quote the payload)."""
    return re.search(r"<html[^>]*>", dom).group(0)


@pytest.fixture(scope="module")
def feedback(tmp_path_factory):
    assert sandbox.probe() is None, sandbox.INSTALL_HINT
    course, module = tensor_course(tmp_path_factory.mktemp("feedback"))
    root = course.root
    with recording_server(root / "grading" / "feedback") as (base, requests):
        perfect = variants(course, module)["perfect"]
        submit(root, "ada", perfect)
        submit(root, "mallory", with_payloads(perfect, base))
        graded = tito("nbgrader", "autograde", "01", "--all", "--jobs", "2", "--timeout", "30", cwd=root)
        written = tito("nbgrader", "feedback", "01", "--all", cwd=root)
        browser = chromium()
        pages = {s: load(browser, f"{base}/{PAGE.format(student=s)}") for s in STUDENTS}
    return dict(course=course, base=base, requests=requests, graded=graded, written=written, pages=pages)


def test_the_payloads_reached_the_feedback(feedback):
    """The payloads were executed and are in the autograded notebook, so their absence below means something."""
    root = feedback["course"].root
    assert "graded 2, failed 0" in feedback["graded"].stdout, feedback["graded"].stdout
    autograded = (root / "grading" / "autograded" / "mallory" / "01_tensor" / "01_tensor.ipynb").read_text()
    for name in names():
        assert f"/pwned/{name}" in autograded, name
    assert "application/javascript" in autograded and "image/svg+xml" in autograded


def test_no_payload_runs_in_the_browser(feedback):
    hits = [p for p in feedback["requests"] if "/pwned/" in p]
    assert hits == [], f"payloads reached the listener: {hits}"
    for student, (dom, console) in feedback["pages"].items():
        assert dom, f"{student}: Chromium returned no DOM"
        ran = re.findall(r"data-pwned-([\w-]+)", root_tag(dom))
        assert not ran, f"{student}: payloads ran: {ran}"
        title = re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
        assert title == "01_tensor", f"{student}: the page became {title!r}"
        # nbgrader's Bootstrap CSS asks for its icon font, which feedback never shipped (a 404 before the policy).
        blocked = [m for m in console if "Content Security Policy" in m and "glyphicons-halflings" not in m]
        assert blocked == [], f"{student}: the sanitized page still tried something the policy refused: {blocked}"
    # Nothing but the pages themselves was requested: no CDN script, font or remote image was even tried.
    assert sorted(feedback["requests"]) == sorted(f"/{PAGE.format(student=s)}" for s in STUDENTS)


def test_scores_tests_and_payload_text_still_show(feedback):
    text = {s: re.sub(r"\s+", " ", BeautifulSoup(dom, "html.parser").get_text(" "))
            for s, (dom, _) in feedback["pages"].items()}
    for student in STUDENTS:
        assert "01_tensor (Score: 17.0 / 17.0)" in text[student], text[student][:500]
        for test, output in (("test-tensor-init", "creation: OK"), ("test-tensor-matmul", "matmul: OK")):
            assert f"Grade cell: {test} Score: 3.0 / 3.0" in text[student], (student, test)
            assert output in text[student], (student, output)
    # What mallory tried is shown to the reader as text, not run.
    shown = text["mallory"]
    assert "<script>document.title='PWNED html-script'" in shown
    assert "raw HTML in Markdown" in shown and "My notes" in shown
    assert 'onerror="document.title' in shown


def test_the_html_holds_no_script_and_forbids_scripts(feedback):
    root = feedback["course"].root
    for student in STUDENTS:
        soup = BeautifulSoup(page_path(root, student).read_text(encoding="utf-8"), "html.parser")
        assert soup.find_all("script") == [], student
        handlers = [(t.name, a) for t in soup.find_all(True) for a in t.attrs if a.lower().startswith("on")]
        assert handlers == [], f"{student}: event handler attributes {handlers}"
        assert soup.find("meta", attrs={"http-equiv": "refresh"}) is None
        assert soup.find("iframe") is None
        policy = soup.head.find("meta")  # first in <head>: it governs everything after it
        assert policy is not None and policy.get("http-equiv") == "Content-Security-Policy", student
        directives = dict(d.strip().split(" ", 1) for d in policy["content"].split(";"))
        assert directives["default-src"] == "'none'" and directives.get("script-src", "'none'") == "'none'"
        assert {directives.get(d, "'none'") for d in ("frame-src", "connect-src", "object-src")} == {"'none'"}
    assert "no hidden-test line" in feedback["written"].stdout


def test_the_policy_stops_a_script_the_sanitizer_missed(feedback, tmp_path):
    """Layer two alone: a script put into a real feedback page after sanitizing does not run; the same page with
    the policy taken out runs it (proof that this harness sees a payload that runs)."""
    page = page_path(feedback["course"].root, "mallory").read_text(encoding="utf-8")
    browser = chromium()
    with recording_server(tmp_path) as (base, requests):
        injected = (f"<script>{script('missed-script', base)}</script>"
                    f"<img src=\"x\" onerror=\"{script('missed-handler', base)}\">")
        (tmp_path / "with-policy.html").write_text(page.replace("<body>", "<body>" + injected, 1), encoding="utf-8")
        without = re.sub(r"<meta[^>]*Content-Security-Policy[^>]*>", "", page, count=1)
        assert without != page
        (tmp_path / "without-policy.html").write_text(without.replace("<body>", "<body>" + injected, 1),
                                                      encoding="utf-8")
        kept_dom, _ = load(browser, f"{base}/with-policy.html")
        open_dom, _ = load(browser, f"{base}/without-policy.html")
    assert "PWNED" not in re.search(r"<title>(.*?)</title>", kept_dom, re.S).group(1)
    assert "data-pwned" not in root_tag(kept_dom) and "data-pwned-missed" in root_tag(open_dom)
    assert "PWNED missed-" in re.search(r"<title>(.*?)</title>", open_dom, re.S).group(1)
    hits = [p for p in requests if "/pwned/" in p]
    assert sorted(hits) == ["/pwned/missed-handler", "/pwned/missed-script"], hits
