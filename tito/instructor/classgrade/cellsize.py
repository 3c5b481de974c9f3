"""Cut cells too large to show (a 200 MB Markdown cell) out of the autograded notebook, and say so.

The submission itself stays as collected (grading/submitted/). The autograded notebook and the feedback
made from it keep the first part of each over-size cell with a note; the worker flags the submission
for a person to look at. Graded and locked cells are never cut: nbgrader checks and scores them.
"""
from __future__ import annotations

import json

from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_locked
from traitlets import Integer

META = "tito"
KEEP = 64 << 10  # characters of an over-size cell kept
NOTE = ("\n\n[tito: this cell ({size} bytes) was cut to its first {keep} characters in the graded copy; the submitted "
        "notebook is kept whole]\n")


class LimitCellSize(NbGraderPreprocessor):
    max_bytes = Integer(8 << 20, help="Largest cell source kept whole in the autograded notebook, in bytes.").tag(
        config=True)

    def preprocess(self, nb, resources):
        cut = {}
        for index, cell in enumerate(nb.cells):
            if is_grade(cell) or is_locked(cell):
                continue
            source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
            size = len(source.encode("utf-8", "replace")) + len(json.dumps(cell.get("attachments") or {}))
            if size > self.max_bytes:
                cell.source = source[:KEEP] + NOTE.format(size=size, keep=KEEP)
                cell.pop("attachments", None)
                cut[str(index)] = size
        if cut:
            nb.metadata.setdefault(META, {})["cells_cut"] = cut
        return nb, resources
