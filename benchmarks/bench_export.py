"""Time `tito source export --all` (engine time and full CLI wall time), median of several runs.

Usage: python benchmarks/bench_export.py [--runs 5]
Measures three cases on a scratch copy of the course: cold (no outputs yet), warm (nothing changed:
everything is compared and skipped) and --check. Prints the medians; nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def scratch_course() -> Path:
    root = Path(tempfile.mkdtemp(prefix="bench-export-"))
    shutil.copytree(REPO / "src", root / "src")
    shutil.copy(REPO / "pyproject.toml", root)
    return root


def engine_once(root: Path, check: bool = False) -> float:
    from tito.core.course import Course
    from tito.instructor import export

    start = time.perf_counter()
    course = Course.load(root)
    outputs = export.plan(course, course.modules)
    if check:
        export.check(course, outputs, course.modules)
    else:
        export.write(course, outputs, course.modules)
    return time.perf_counter() - start


def cli_once(root: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tito", "source", "export", "--all", *args], cwd=root, check=True,
                   capture_output=True, env=dict(os.environ, TINYTORCH_ROOT=str(root)))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    n_modules = len([p for p in (REPO / "src").iterdir() if p.is_dir()])
    rows = []
    for label, fn in [
        ("engine, cold", lambda: engine_once(scratch_course())),
        ("engine, warm (no change)", None),
        ("engine, --check", None),
        ("CLI wall, cold", lambda: cli_once(scratch_course())),
        ("CLI wall, warm", None),
        ("CLI wall, --check", None),
    ]:
        times = []
        for _ in range(args.runs):
            if fn is not None:
                times.append(fn())
                continue
            root = scratch_course()
            engine_once(root)
            if label.startswith("engine"):
                times.append(engine_once(root, check="check" in label))
            else:
                times.append(cli_once(root, *(["--check"] if "check" in label else [])))
        rows.append((label, statistics.median(times), min(times), max(times)))
    print(f"tito source export over {n_modules} modules, {args.runs} runs each (seconds)")
    print(f"{'case':28s} {'median':>8s} {'min':>8s} {'max':>8s}")
    for label, med, lo, hi in rows:
        print(f"{label:28s} {med:8.3f} {lo:8.3f} {hi:8.3f}")


if __name__ == "__main__":
    main()
