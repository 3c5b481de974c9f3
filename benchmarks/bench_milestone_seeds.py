"""Milestone margins across seeds: run the training milestones (01-05) on the checkout's `tinytorch` package (the
reference exports) at several seeds and report, for every pass criterion, the measured value, the threshold and the
margin (how far the value is from failing; negative = failed), plus the smallest margin over the seeds.

Usage: python benchmarks/bench_milestone_seeds.py [--milestones 01,02,03,04,05] [--seeds 0,1,2,3,4] [--json PATH]

A correct implementation must pass a milestone at every seed, so its threshold has to leave room for seed-to-seed
spread: a small minimum margin says the threshold (or the training schedule) is too tight. Each run is a full run
(not --quick). Milestone 06 measures rather than trains and is not included. Milestone 05 takes several minutes
per seed; the others take seconds to a minute. Results: benchmarks/README.md ("Milestone margins across seeds").
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# One BLAS thread, as in .ci/test and the kernels tito starts: the course's small matrix products run faster so.
# (NumPy is first imported by run_one/main, after this.)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the checkout's tinytorch (reference exports), not an installed copy

REVERSE_MAX_STEPS = 1500  # milestone 05, act 1: the full run's step budget (reverse_task)


@dataclass(frozen=True)
class Check:
    """One pass criterion. kind "min": passes when value >= threshold; "max": value <= threshold;
    "above": value > threshold. The margin is signed so that >= 0 passes ("above": > 0 passes)."""
    name: str
    value: Callable[[dict, object], float]  # (metrics, milestone module) -> measured value
    threshold: Callable[[object], float]    # milestone module -> threshold
    kind: str
    criterion: bool = True                  # False: an equivalent, continuous view of a pass criterion (shown, not run)

    def margin(self, value: float, threshold: float) -> float:
        return threshold - value if self.kind == "max" else value - threshold

    def passes(self, value: float, threshold: float) -> bool:
        m = self.margin(value, threshold)
        return m > 0 if self.kind == "above" else m >= 0

    def symbol(self) -> str:
        return {"min": ">=", "max": "<=", "above": ">"}[self.kind]


def _const(x):
    return lambda module: x


CHECKS: dict[str, list[Check]] = {
    "01": [Check("train accuracy", lambda m, _: m["train_accuracy"], _const(1.0), "min"),
           Check("test accuracy", lambda m, _: m["test_accuracy"], _const(1.0), "min"),
           Check("min point distance from the learned line", lambda m, _: m["min_boundary_distance"], _const(0.0),
                 "above", criterion=False)],
    "02": [Check("single layer: best accuracy", lambda m, _: m["single_layer_best_accuracy"], _const(0.75), "max"),
           Check("MLP accuracy", lambda m, _: m["mlp_accuracy"], _const(1.0), "min"),
           Check("MLP worst point: |p - 0.5| on the right side", lambda m, _: m["mlp_min_confidence"], _const(0.0),
                 "above", criterion=False)],
    "03": [Check("digits test accuracy", lambda m, _: m["test_accuracy"], lambda mod: mod.TARGET, "min"),
           Check("checkpoint restored", lambda m, _: float(m["checkpoint_restored"]), _const(1.0), "min")],
    "04": [Check("CNN test accuracy", lambda m, _: m["test_accuracy"], lambda mod: mod.TARGET_ACCURACY, "min"),
           Check("CNN - MLP test accuracy", lambda m, _: m["test_accuracy"] - m["mlp_test_accuracy"], _const(0.0),
                 "above")],
    "05": [Check("reversal: held-out sequences", lambda m, _: m["reverse_sequence_accuracy"], _const(1.0), "min"),
           Check("reversal: steps to 100% (budget)", lambda m, _: float(m["reverse_steps"]),
                 _const(REVERSE_MAX_STEPS), "max", criterion=False),
           Check("GPT val loss / unigram val loss", lambda m, _: m["baseline_ratio"],
                 lambda mod: mod.BASELINE_RATIO_FULL, "max")],
}


def milestone_script(number: str) -> Path:
    found = sorted((REPO / "milestones").glob(f"{number}_*/run.py"))
    if not found:
        raise SystemExit(f"no milestone {number} under {REPO / 'milestones'}")
    return found[0]


def load(path: Path):
    name = f"_bench_milestone_{path.parent.name}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_one(number: str, seed: int) -> dict:
    from rich.console import Console

    path = milestone_script(number)
    module = load(path)
    console = Console(file=io.StringIO(), width=120, force_terminal=False)
    start = time.perf_counter()
    result = module.run(quick=False, console=console, seed=seed)
    seconds = time.perf_counter() - start
    checks = []
    for check in CHECKS[number]:
        value, threshold = float(check.value(result["metrics"], module)), float(check.threshold(module))
        checks.append({"check": check.name, "value": value, "threshold": threshold, "op": check.symbol(),
                       "margin": check.margin(value, threshold), "passed": check.passes(value, threshold),
                       "criterion": check.criterion})
    return {"milestone": path.parent.name, "seed": seed, "passed": bool(result["passed"]), "seconds": seconds,
            "checks": checks}


def summarize(runs: list[dict]) -> list[dict]:
    """Per milestone and check: the smallest margin over the seeds and the seed it came from."""
    rows = {}
    for r in runs:
        for c in r["checks"]:
            key = (r["milestone"], c["check"])
            row = rows.setdefault(key, {"milestone": r["milestone"], "check": c["check"], "op": c["op"],
                                        "threshold": c["threshold"], "criterion": c["criterion"],
                                        "min_margin": c["margin"], "worst_seed": r["seed"], "all_passed": True})
            if c["margin"] < row["min_margin"]:
                row["min_margin"], row["worst_seed"] = c["margin"], r["seed"]
            row["all_passed"] = row["all_passed"] and c["passed"]
    return list(rows.values())


def fmt(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() and abs(x) >= 10 else f"{x:.4f}"


def print_tables(runs: list[dict], summary: list[dict]) -> None:
    print(f"\n{'milestone':15} {'seed':>4}  {'check':46} {'value':>9} {'threshold':>12} {'margin':>9}  ok")
    for r in runs:
        for c in r["checks"]:
            label = c["check"] + ("" if c["criterion"] else " *")
            print(f"{r['milestone']:15} {r['seed']:>4}  {label:46} {fmt(c['value']):>9} "
                  f"{c['op'] + ' ' + fmt(c['threshold']):>12} {c['margin']:>+9.4f}  {'yes' if c['passed'] else 'NO'}")
        print(f"{r['milestone']:15} {r['seed']:>4}  {'milestone passed':46} {'':>9} {'':>12} {'':>9}  "
              f"{'yes' if r['passed'] else 'NO'}   ({r['seconds']:.1f} s)")
    print(f"\n{'milestone':15} {'check':46} {'threshold':>12} {'min margin':>11} {'worst seed':>10}  all passed")
    for s in summary:
        label = s["check"] + ("" if s["criterion"] else " *")
        print(f"{s['milestone']:15} {label:46} {s['op'] + ' ' + fmt(s['threshold']):>12} {s['min_margin']:>+11.4f} "
              f"{s['worst_seed']:>10}  {'yes' if s['all_passed'] else 'NO'}")
    print("* a continuous view of an all-or-nothing criterion (how far from failing), not a criterion itself")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--milestones", default="01,02,03,04,05", help="comma-separated numbers (default: 01-05)")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds (default: 0-4)")
    parser.add_argument("--json", metavar="PATH", help="also write the runs and the summary as JSON")
    args = parser.parse_args()
    numbers = [f"{int(n):02d}" for n in args.milestones.split(",") if n.strip()]
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    unknown = [n for n in numbers if n not in CHECKS]
    if unknown:
        parser.error(f"no seed checks for milestone(s) {', '.join(unknown)} (choose from {', '.join(CHECKS)})")

    import numpy

    import tinytorch
    print(f"tinytorch from {Path(tinytorch.__file__).parent}, numpy {numpy.__version__}", file=sys.stderr)
    runs = []
    for number in numbers:
        for seed in seeds:
            run = run_one(number, seed)
            runs.append(run)
            margins = ", ".join(f"{c['check']} {c['margin']:+.4f}" for c in run["checks"])
            print(f"{run['milestone']} seed {seed}: {'passed' if run['passed'] else 'FAILED'} in {run['seconds']:.1f} s "
                  f"(margins: {margins})", file=sys.stderr, flush=True)
    summary = summarize(runs)
    print_tables(runs, summary)
    if args.json:
        Path(args.json).write_text(json.dumps({"numpy": numpy.__version__, "runs": runs, "summary": summary},
                                              indent=1) + "\n", encoding="utf-8")
    return 0 if all(r["passed"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
