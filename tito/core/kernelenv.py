"""The environment of every kernel tito starts (integrity check, book execution, student tests, grading).

BLAS libraries start one thread per core for every mid-sized matrix product. tito often runs two
kernels at once (reference and student notebook, or a notebook beside pytest) on small course-sized
matrices, and the oversubscribed threads then make products 10-100x slower and timings erratic.
One BLAS thread per kernel is faster for these sizes and makes the notebooks' measurements
repeatable. A value the user set explicitly is kept.
"""
from __future__ import annotations

import os

BLAS_THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def kernel_env(base: dict | None = None, **overrides: str) -> dict:
    env = dict(os.environ if base is None else base)
    for name, value in BLAS_THREADS.items():
        env.setdefault(name, value)
    env.update(overrides)
    return env


def apply_to_process() -> None:
    """For kernels started by libraries that inherit os.environ (nbgrader's autograder)."""
    for name, value in BLAS_THREADS.items():
        os.environ.setdefault(name, value)
