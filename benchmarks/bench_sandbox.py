"""The grading sandbox on every module: honest scores unchanged, and what the isolation costs per submission.

Usage: python benchmarks/bench_sandbox.py [--modules 01,05,08] [--runs 3]
For each module, a scratch copy of the course grades the reference solution written into the student
release (a perfect submission) with `grade_class` twice per run: in the bubblewrap sandbox and with
--no-sandbox. It prints, per module, both scores (they must be equal and full), any flag, the median time
of each, and the overhead; then the median overhead over all modules. Nothing is asserted about time.
Target (DESIGN.md): the sandbox adds under 15% to grading time.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
COPIED = ("pyproject.toml", "nbgrader_config.py", "src", "modules", "release", "datasets", "tinytorch")


def course_copy(base: Path):
    from tito.core.course import Course

    root = base / "course"
    root.mkdir()
    for name in COPIED:
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    return Course.load(root)


def grade(course, module, sandbox: bool):
    from tito.instructor.classgrade.batch import grade_class

    report = grade_class(course, module, workers=1, force=True, sandbox=sandbox)
    (result,) = report.results
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", help="comma-separated ids (default: all)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from tests.helpers.notebooks import fill_solutions, load

    base = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    course = course_copy(base)
    chosen = course.select(tuple(args.modules.split(",")) if args.modules else (), not args.modules)
    overheads, bad = [], []
    print(f"{'module':18s} {'sandboxed':>12s} {'bare':>12s} {'t sandbox':>10s} {'t bare':>8s} {'overhead':>9s}  flags")
    for module in chosen:
        release, reference = load(course.root / module.release_file), load(course.root / module.notebook_file)
        perfect = fill_solutions(json.loads(json.dumps(release)), reference)
        folder = course.root / "grading" / "submitted" / "ada" / module.slug
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{module.slug}.ipynb").write_text(json.dumps(perfect))
        times: dict[bool, list[float]] = {True: [], False: []}
        last = {}
        for _ in range(args.runs):
            for sandbox in (True, False):
                last[sandbox] = grade(course, module, sandbox)
                times[sandbox].append(last[sandbox].seconds)
        boxed, bare = last[True], last[False]
        t_box, t_bare = statistics.median(times[True]), statistics.median(times[False])
        overheads.append(t_box / t_bare - 1)
        ok = boxed.ok and bare.ok and boxed.score == bare.score == boxed.max_score
        if not ok:
            bad.append(module.slug)
        flags = "; ".join(boxed.flags + [f"bare: {f}" for f in bare.flags]) or ("" if ok else boxed.error[-200:])
        print(f"{module.slug:18s} {boxed.score:5g}/{boxed.max_score:<6g} {bare.score:5g}/{bare.max_score:<6g} "
              f"{t_box:9.2f}s {t_bare:7.2f}s {overheads[-1]:+8.1%}  {flags}", flush=True)
    print(f"\n{len(chosen)} module(s), {args.runs} run(s) each, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}: median sandbox overhead {statistics.median(overheads):+.1%} per submission")
    shutil.rmtree(base, ignore_errors=True)
    if bad:
        raise SystemExit(f"not full marks in both modes: {', '.join(bad)}")


if __name__ == "__main__":
    main()
