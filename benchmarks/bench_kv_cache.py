"""Time milestone 06's act 2: 100 greedy tokens from its character GPT, recomputing the context (`GPT.generate`)
and with module 17's KV cache (`generate_cached`). Median of several runs; nothing is asserted.

Usage: python benchmarks/bench_kv_cache.py [--runs 5] [--tokens 100]
The tests check what the cache saves as counted attention work (tests/test_milestone_06.py); the wall-clock
speed-up belongs here, on a quiet machine.
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def load_milestone():
    path = REPO / "milestones" / "06_systems" / "run.py"
    spec = importlib.util.spec_from_file_location("_bench_milestone_06", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def median_seconds(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=100)
    args = parser.parse_args()

    from rich.console import Console

    from tinytorch.perf.memoization import generate_cached

    m = load_milestone()
    text = m.TEXT.read_text(encoding="utf-8")
    model, encode, _ = m.char_gpt(text[text.index(m.PROMPT):][:4000], steps=0, console=Console(file=io.StringIO()))
    prompt = encode(m.PROMPT)
    plain = median_seconds(lambda: model.generate(prompt, args.tokens, temperature=0), args.runs)
    cached = median_seconds(lambda: generate_cached(model, prompt, args.tokens, temperature=0), args.runs)
    print(f"{args.tokens} tokens after a {len(prompt)}-token prompt, median of {args.runs} runs")
    print(f"  generate (recompute the context): {plain * 1e3:8.1f} ms")
    print(f"  generate_cached (KV cache):       {cached * 1e3:8.1f} ms")
    print(f"  speed-up:                         {plain / cached:8.1f}x  (milestone 06 target: "
          f"{m.KV_SPEEDUP_TARGET:.0f}x)")


if __name__ == "__main__":
    main()
