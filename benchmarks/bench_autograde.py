"""Autograde throughput on a class of 40 module-01 submissions: plain nbgrader vs tito (local, Dask).

Usage: python benchmarks/bench_autograde.py [--class mixed|honest] [--runs 1] [--timeout 10] [--jobs N]
                                            [--runners plain,tito,bare,cluster]
Classes: `mixed` is 40 submissions, eight each of perfect, stubbed (untouched release), subtly wrong (one operand
order flipped), infinite loop (stopped by the cell timeout) and syntax error; `honest` is 20 submissions, ten
perfect and ten subtly wrong (what a class mostly hands in). Each runner grades the same files in its own
scratch copy of the course (fresh gradebook, --force):
  plain    `nbgrader autograde 01_tensor` (sequential, nbgrader's own command)
  tito     `tito nbgrader autograde 01 --all` (each submission in the bubblewrap sandbox; --jobs N if given,
           else tito's default of cores + 1)
  bare     the same with --no-sandbox (the sandbox's overhead is tito / bare - 1)
  cluster  `tito nbgrader autograde 01 --all --cluster ADDR` on a LocalCluster (127.0.0.1, N or 2 workers)
Prints each runner's median wall time, submissions per second and the ratio to plain nbgrader, and checks
that every runner gave every submission the same scores. Nothing is asserted about time.
Targets (DESIGN.md): tito at least 1.7x plain nbgrader on 2 cores; the sandbox adds under 15%.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent
CLASSES = {"mixed": {"perfect": 8, "stubbed": 8, "wrong": 8, "loop": 8, "syntax": 8},
           "honest": {"perfect": 10, "wrong": 10}}


def build_class(base: Path, make_up: dict[str, int]) -> Path:
    from tests.helpers.class_submissions import tensor_course, variants

    course, module = tensor_course(base / "course")
    kinds = variants(course, module)
    for kind, count in make_up.items():
        for i in range(count):
            folder = course.root / "grading" / "submitted" / f"{kind}{i:02d}" / module.slug
            folder.mkdir(parents=True)
            (folder / f"{module.slug}.ipynb").write_text(json.dumps(kinds[kind]))
    return course.root


def fresh_copy(template: Path, dest: Path) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(template, dest, ignore=shutil.ignore_patterns("autograded", "feedback", "gradebook.db", ".tito"))
    run(["nbgrader", "generate_assignment", "01_tensor", "--force"], dest)
    return dest


def run(cmd: list[str], cwd: Path) -> float:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):  # tito exits 1 when a submission failed; none should here
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def scores(root: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "tinytorch") as gb:
        return {s.student.id: float(s.score) for s in gb.find_assignment("01_tensor").submissions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class", dest="class_", choices=sorted(CLASSES), default="mixed")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=10, help="cell timeout (s), the same for every runner")
    parser.add_argument("--jobs", type=int, help="tito's worker processes (default: tito's own, cores + 1)")
    parser.add_argument("--runners", default="plain,tito,bare,cluster")
    args = parser.parse_args()
    from distributed import LocalCluster

    runners = args.runners.split(",")
    base = Path(tempfile.mkdtemp(prefix="bench-autograde-"))
    template = build_class(base, CLASSES[args.class_])
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    tito = [sys.executable, "-m", "tito", "nbgrader", "autograde", "01", "--all", "--force",
            "--timeout", str(args.timeout)]
    times: dict[str, list[float]] = {name: [] for name in runners}
    results: dict[str, dict] = {}
    with LocalCluster(n_workers=args.jobs or 2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        commands = {"plain": ["nbgrader", "autograde", "01_tensor", "--force",
                              f"--ExecutePreprocessor.timeout={args.timeout}"],
                    "tito": tito + jobs, "bare": tito + jobs + ["--no-sandbox"],
                    "cluster": tito + ["--cluster", cluster.scheduler_address]}
        for _ in range(args.runs):
            for name in runners:  # interleaved, so a change in the machine's load hits every runner alike
                root = fresh_copy(template, base / name)
                times[name].append(run(commands[name], root))
                results[name] = scores(root)
                print(f"  {name:8s} {times[name][-1]:7.1f} s", flush=True)
    first = next(iter(results))
    n = len(results[first])
    same = all(results[k] == results[first] for k in results)
    plain = statistics.median(times["plain"]) if "plain" in times else None
    make_up = ", ".join(f"{count} {kind}" for kind, count in CLASSES[args.class_].items())
    print(f"\n{n} submissions of 01_tensor ({make_up}), cell timeout {args.timeout} s, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    for name, values in times.items():
        median = statistics.median(values)
        ratio = f"{plain / median:4.2f}x plain" if plain else ""
        print(f"{name:8s} median {median:7.1f} s  {n / median:5.2f} submissions/s  {ratio}"
              f"  (runs: {', '.join(f'{v:.1f}' for v in values)})")
    if "tito" in times and "bare" in times:
        overhead = statistics.median(times["tito"]) / statistics.median(times["bare"]) - 1
        print(f"sandbox overhead (tito vs bare): {overhead:+.1%}")
    print("scores identical across runners:", same)
    shutil.rmtree(base, ignore_errors=True)
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
