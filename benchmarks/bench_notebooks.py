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
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    starts: dict[int, float] = {}
    spans: list[tuple[float, int, str]] = []

    def on_start(cell, cell_index):
        starts[cell_index] = time.perf_counter()

    def on_done(cell, cell_index, execute_reply):
        first = next((l for l in cell.source.splitlines() if l.strip() and not l.startswith("#|")), "")
        spans.append((time.perf_counter() - starts[cell_index], cell_index, first[:70]))

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": scratch}},
                       on_cell_start=on_start, on_cell_executed=on_done).execute()
    return time.perf_counter() - start, sorted(spans, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*")
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    from tito.course import Course

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
