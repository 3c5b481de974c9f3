"""Time `tito dist student OUT` (engine and full CLI wall time, median of several runs) and report the
edition's size and the leak scan's figures.

Usage: python benchmarks/bench_dist.py [--runs 5]
Builds into scratch folders outside the repository; nothing is asserted.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    sys.path.insert(0, str(REPO))
    from tito.core.course import Course
    from tito.instructor import dist

    scratch = Path(tempfile.mkdtemp(prefix="bench-dist-"))
    try:
        engine, cli = [], []
        for i in range(runs):
            course = Course.load(REPO)  # a fresh manifest each run (the parse cache stays warm, as for a user)
            start = time.perf_counter()
            report = dist.build(course, scratch / f"engine-{i}", version="bench")
            engine.append(time.perf_counter() - start)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "tito", "dist", "student", str(scratch / f"cli-{i}"), "--version",
                            "bench"], cwd=REPO, check=True, capture_output=True)
            cli.append(time.perf_counter() - start)
        on_disk = sum(p.stat().st_size for p in (scratch / "engine-0").rglob("*") if p.is_file())
        scan = report.scan
        print(f"engine build: median {statistics.median(engine):.2f} s over {runs} runs")
        print(f"tito dist student (CLI wall): median {statistics.median(cli):.2f} s over {runs} runs")
        print(f"edition: {len(report.files)} files, {on_disk / 1e6:.2f} MB")
        print(f"leak scan: {scan.files} files scanned, {scan.lines} lines checked, {len(scan.binary)} data files "
              f"(not text), {len(scan.leaks)} leaks")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
