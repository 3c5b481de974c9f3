"""Where a student left a module: `tito module resume` shows it before reopening the notebook."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..core.course import Course, Module
from ..core.nbutil import cell_name, nbgrader_meta, source_of
from . import runs
from .recovery import read_notebook
from .workspace import notebook_path

# nbgrader's code stub (nbgrader_config.py: ClearSolutions.code_stub), as indented in its cell: a solution may
# raise NotImplementedError itself (an abstract method), so the pair is what marks code still to write
STUB = re.compile(r"#\s*YOUR CODE HERE[ \t]*\n[ \t]*raise NotImplementedError\(\)")


@dataclass
class LeftOff:
    module: Module
    notebook: Path
    edited: datetime  # the notebook's last save, local time
    stubs: list[str] = field(default_factory=list)  # solution cells still holding the stub, in order
    solutions: int = 0  # solution cells in the notebook
    last_test: dict | None = None  # runs.last(): the module's last test run, if any

    @property
    def first_stub(self) -> str | None:
        return self.stubs[0] if self.stubs else None


def left_off(course: Course, module: Module) -> LeftOff:
    """Read-only summary of the student's notebook and last test run (the notebook must exist)."""
    path = notebook_path(course.root, module)
    notebook = read_notebook(path, course.root, module)
    cells = notebook["cells"]
    solutions = [i for i, c in enumerate(cells) if c.get("cell_type") == "code" and nbgrader_meta(c).get("solution")]
    stubs = [cell_name(cells, i) for i in solutions if STUB.search(source_of(cells[i]))]
    return LeftOff(module, path, datetime.fromtimestamp(path.stat().st_mtime), stubs, len(solutions),
                   runs.last(course.root, module.slug))
