"""im2col convolution versus the loop definition on a 1x16x32x32 input with 16 3x3 filters.

Usage: python benchmarks/bench_im2col.py [--runs 7]
Target (issue: architecture tier): im2col at least 10x faster. Prints medians; nothing is asserted.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from tinytorch.core.spatial import conv2d_forward, conv2d_loops


def median_seconds(fn, runs: int) -> float:
    fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 16, 32, 32)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    loops = median_seconds(lambda: conv2d_loops(x, w, None, 1, 1), max(3, args.runs // 2))
    fast = median_seconds(lambda: conv2d_forward(x, w, None, 1, 1), args.runs)
    print(f"loops   {loops * 1e3:9.2f} ms")
    print(f"im2col  {fast * 1e3:9.2f} ms")
    print(f"speed-up {loops / fast:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
