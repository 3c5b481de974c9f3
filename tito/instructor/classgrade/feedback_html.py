"""The HTML exporter of feedback pages: nbconvert's HTMLExporter with everything a submission controls inert.

A submission controls its Markdown cells and every output of its code (HTML, Markdown, SVG, JavaScript), and the
page is opened by the instructor and by the student. Two independent layers:

1. Sanitizing (bleach, in nbconvert's own `sanitize_html` mode): HTML outputs, Markdown outputs and Markdown cells
   are cleaned after they are rendered, so markup outside a small allowlist is shown as text and no attribute can
   run code; JavaScript and widget outputs are dropped; SVG is shown as an <img> (where SVG scripts never run).
   nbconvert's SanitizeHTML preprocessor would clean Markdown *source* instead, which turns `a < b` in code
   spans and `> quotes` into visible entities; nbgrader's feedback template renders Markdown cells without the
   sanitize switch, so markdown2html cleans its own output here.
2. The page forbids what a missed payload would need: a Content-Security-Policy <meta> allows no script, frame,
   form or remote resource (styles are inline, images are data: URIs). The page needs no script: nbgrader's
   template only adds MathJax from a CDN, which graders cannot reach, so script elements are removed (math
   shows as its LaTeX source).
"""
from __future__ import annotations

import copy

import bleach
from bs4 import BeautifulSoup
from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter
from traitlets import Bool

POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
          "base-uri 'none'; form-action 'none'")

# Formatting, tables and images: what course prose, test output and a student's written answers use.
TAGS = frozenset(bleach.ALLOWED_TAGS) | {
    "p", "div", "span", "pre", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tfoot",
    "tr", "th", "td", "caption", "img", "sub", "sup", "del", "ins", "kbd", "s", "u", "dl", "dt", "dd", "small",
    "details", "summary"}
IMAGE_DATA = ("data:image/png;", "data:image/jpeg;", "data:image/gif;")


def _image_attribute(tag: str, name: str, value: str) -> bool:
    """Embedded raster images only (a pasted screenshot is an attachment: a data: URI); a remote image would
    tell its author when the page was opened."""
    return name in ("alt", "title", "width", "height") or (name == "src" and value.startswith(IMAGE_DATA))


def _link_attribute(tag: str, name: str, value: str) -> bool:
    return name in ("title", "name") or (name == "href" and not value.lower().lstrip().startswith("data:"))


ATTRIBUTES = {"*": ["class", "id", "title"], "a": _link_attribute, "img": _image_attribute,
              "th": ["colspan", "rowspan", "align"], "td": ["colspan", "rowspan", "align"]}
PROTOCOLS = frozenset(bleach.ALLOWED_PROTOCOLS) | {"data"}  # data: only passes the image rule above


def clean(html: str) -> str:
    """Student-controlled HTML made inert: tags outside TAGS shown as text, unknown attributes dropped."""
    html = html.decode() if isinstance(html, bytes) else str(html)
    return bleach.clean(html, tags=TAGS, attributes=ATTRIBUTES, protocols=PROTOCOLS, strip=False,
                        strip_comments=True)


def harden(page: str) -> str:
    """`page` without script elements and with the policy as the first element of its <head>."""
    soup = BeautifulSoup(page, features="html.parser")
    for element in soup.find_all("script"):
        element.decompose()
    head = soup.head
    if head is None:
        head = soup.new_tag("head")
        (soup.html or soup).insert(0, head)
    head.insert(0, soup.new_tag("meta", attrs={"http-equiv": "Content-Security-Policy", "content": POLICY}))
    return str(soup)


class InertFeedbackExporter(HTMLExporter):
    """HTMLExporter for nbgrader's GenerateFeedback (set as GenerateFeedback.exporter_class)."""

    sanitize_html = Bool(True, help="Always on for feedback: every page holds a submission's output.").tag(config=True)

    def default_filters(self):
        yield from super().default_filters()
        yield ("clean_html", clean)  # nbconvert's own allowlist escapes headings, paragraphs and table headers

    @pass_context
    def markdown2html(self, context, source):
        return clean(super().markdown2html(context, source))

    def from_notebook_node(self, nb, resources=None, **kw):
        nb = copy.deepcopy(nb)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                # An "isolated" HTML output becomes a data: iframe, which the policy refuses; show it inline.
                output.get("metadata", {}).get("text/html", {}).pop("isolated", None)
        page, resources = super().from_notebook_node(nb, resources, **kw)
        return harden(page), resources
