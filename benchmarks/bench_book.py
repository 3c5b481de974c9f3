"""Time `tito book build`: a cold build of the whole book, and an incremental rebuild after a
one-line markdown change in one module (target: under 15 s).

Runs the real CLI in a throwaway copy of the repo's book inputs, so the repo is never touched.
    python benchmarks/bench_book.py [--runs 3] [--module 01]
Cold = empty output cache and no _build (every notebook runs in a kernel); warm cold = outputs cached
but no _build (what a fresh checkout with a cache costs); incremental = one prose line changed.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INPUTS = ("src", "milestones", "book", "vendor", "datasets", "_config.yml",
          "_toc.yml", "README.md", "AUTHORING.md", "pyproject.toml", "nbgrader_config.py")


def copy_inputs(dst: Path) -> None:
    for name in INPUTS:
        item = REPO / name
        if item.is_dir():
            shutil.copytree(item, dst / name, ignore=shutil.ignore_patterns("chapters", "__pycache__"))
        elif item.is_file():
            shutil.copy2(item, dst / name)


def build(root: Path) -> float:
    env = dict(os.environ, TINYTORCH_ROOT=str(root), NO_COLOR="1")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "tito", "book", "build"], cwd=root, env=env,
                         capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"tito book build failed:\n{out.stdout}\n{out.stderr}")
    return seconds


def edit_prose(source: Path, n: int) -> None:
    """Append a word to the first prose line of the first markdown cell."""
    lines = source.read_text(encoding="utf-8").split("\n")
    marker = next(i for i, l in enumerate(lines) if re.match(r"^# %% \[markdown\]", l))
    target = next(i for i in range(marker + 1, len(lines)) if re.match(r"^# \w", lines[i]))
    lines[target] += f" (edit {n})"
    source.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="incremental rebuilds to time (median reported)")
    parser.add_argument("--module", default=None, help="module to edit (default: the first one)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tito.core.course import Course

    with tempfile.TemporaryDirectory(prefix="tito-bench-book-") as tmp:
        root = Path(tmp)
        copy_inputs(root)
        course = Course.load(root)
        if not course.modules:
            sys.exit("src/ has no modules to build")
        module = course.resolve(args.module) if args.module else course.modules[0]
        cold = build(root)
        shutil.rmtree(root / "_build")
        shutil.rmtree(root / "book" / "chapters")
        warm_cold = build(root)
        build(root)  # settle: nothing changed, nothing to do
        incremental = []
        for n in range(args.runs):
            edit_prose(module.src, n)
            incremental.append(build(root))
    print(f"modules: {len(course.modules)}  (edited {module.slug})")
    print(f"cold build, empty output cache:      {cold:6.1f} s")
    print(f"cold build, notebook outputs cached: {warm_cold:6.1f} s")
    print(f"incremental after a prose edit:      {statistics.median(incremental):6.1f} s median of {args.runs} "
          f"({', '.join(f'{s:.1f}' for s in incremental)})")


if __name__ == "__main__":
    main()
