"""Time `tito module complete 01` end to end (a real `tito` process, kernel start included), median of runs.

Usage: python benchmarks/bench_complete.py [--runs 7] [--module 01]
On a scratch copy of the course: export the module, generate its release (nbgrader), start it in
the workspace, write the reference solution into every solution cell (as a student who solved it),
then run `tito module complete` repeatedly with every test passing. Prints the median and the spread;
nothing is asserted. Target: under 2.5 s on the 2-core reference machine.
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


def scratch_course(source_root: Path, module_id: str) -> tuple[Path, str]:
    from tito.core.course import Course

    course = Course.load(source_root)
    module = course.resolve(module_id)
    root = Path(tempfile.mkdtemp(prefix="bench-complete-"))
    for name in ("pyproject.toml", "nbgrader_config.py"):
        shutil.copy(REPO / name, root)  # this repo's nbgrader configuration
    (root / "src").mkdir()
    for m in course.modules[: course.modules.index(module) + 1]:  # the module and those before it
        shutil.copytree(m.src.parent, root / "src" / m.src.parent.name)
    tests = source_root / "tests" / "modules" / f"test_{module.slug}.py"
    if tests.exists():
        (root / "tests" / "modules").mkdir(parents=True)
        shutil.copy(tests, root / "tests" / "modules")
    return root, module.slug


def tito(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TINYTORCH_ROOT=str(root), NO_COLOR="1")
    env.pop("TINYTORCH_WORKSPACE", None)
    return subprocess.run([sys.executable, "-m", "tito", *args], cwd=root, env=env, capture_output=True, text=True)


def solve(root: Path, slug: str) -> None:
    from tito.core.render.package import export_code

    def gid(cell):
        return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")

    path = root / "workspace" / slug / f"{slug}.ipynb"
    notebook = json.loads(path.read_text())
    reference = {gid(c): "".join(c["source"]) for c in json.loads((root / "modules" / slug / f"{slug}.ipynb")
                                                                   .read_text())["cells"]}
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            full = reference[gid(cell)]
            directives = [l for l in full.split("\n") if l.lstrip().startswith("#|")]
            cell["source"] = "\n".join(directives + [export_code(full)])
    path.write_text(json.dumps(notebook, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--module", default="01")
    parser.add_argument("--course", type=Path, default=REPO, help="Course to copy (default: this repo).")
    args = parser.parse_args()
    root, slug = scratch_course(args.course, args.module)
    try:
        for step in (["source", "export", "--all"], ["nbgrader", "generate", args.module],
                     ["module", "start", args.module, "--no-launch", "--force"]):
            out = tito(root, *step)
            if out.returncode != 0:
                sys.exit(f"setup step {' '.join(step)} failed:\n{out.stdout}\n{out.stderr}")
        solve(root, slug)
        out = tito(root, "module", "complete", args.module)  # warm-up (and proof that it passes)
        if out.returncode != 0:
            sys.exit(f"`tito module complete {args.module}` does not pass on the reference solution:\n"
                     f"{out.stdout}\n{out.stderr}")
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            out = tito(root, "module", "complete", args.module)
            times.append(time.perf_counter() - start)
            assert out.returncode == 0, out.stdout + out.stderr
        print(f"tito module complete {args.module} ({slug}): median {statistics.median(times):.2f} s, "
              f"min {min(times):.2f} s, max {max(times):.2f} s over {args.runs} runs (target < 2.5 s)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
