"""Execute module notebooks (the full reference version) and report the slowest cells.

Usage: python benchmarks/bench_notebooks.py [NN ...] [--top 5]
Every notebook must run well under a minute on a 2-core machine (AUTHORING.md); this shows where the
time goes. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def time_cells(path: Path) -> tuple[float, list[tuple[float, int, str]]]:
    """Run the notebook as tito does (tito.core.kernel, tito's kernel environment); time each code cell."""
    from tito.core.kernel import execute
    from tito.core.kernelenv import kernel_env
    from tito.core.nbutil import source_of

    notebook = json.loads(path.read_text(encoding="utf-8"))
    marks: list[tuple[float, int]] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        run = execute(notebook, cwd=Path(scratch), env=kernel_env(), cell_timeout=600,
                      on_cell_start=lambda index, cell: marks.append((time.perf_counter(), index)))
    total = time.perf_counter() - start
    if run.aborted:
        print(f"  {path.name}: {run.aborted}")
    ends = [t for t, _ in marks[1:]] + [start + total]
    spans = []
    for (began, index), ended in zip(marks, ends):
        cell = notebook["cells"][index]
        if cell["cell_type"] == "code":
            first = next((l for l in source_of(cell).splitlines() if l.strip() and not l.startswith("#|")), "")
            spans.append((ended - began, index, first[:70]))
    return total, sorted(spans, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*")
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    from tito.core.course import Course

    course = Course.load(REPO)
    modules = course.select(args.modules)
    rows = []
    for module in modules:
        total, spans = time_cells(REPO / module.notebook_file)
        rows.append((module.slug, total))
        print(f"{module.slug}: {total:.1f} s")
        for seconds, index, first in spans[: args.top]:
            print(f"    cell {index:>3}: {seconds:6.2f} s  {first}")
    print(json.dumps({slug: round(t, 2) for slug, t in rows}))


if __name__ == "__main__":
    main()
