"""Run grade_submission over local worker processes (one per core by default).

Workers are spawned, not forked, so they share no state with the parent (whose progress bar runs a
thread). A job whose worker process dies is retried alone in a fresh pool; if it kills that one too,
it fails alone and the rest of the class is unaffected.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Iterable, Iterator

from .jobs import Job, Result
from .worker import grade_submission


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_local(jobs: Iterable[Job], workers: int | None = None) -> Iterator[Result]:
    jobs = list(jobs)
    if not jobs:
        return
    context = multiprocessing.get_context("spawn")
    broken: list[Job] = []
    with ProcessPoolExecutor(max_workers=min(workers or default_workers(), len(jobs)), mp_context=context) as pool:
        futures = {pool.submit(grade_submission, job): job for job in jobs}
        for future in as_completed(futures):
            try:
                yield future.result()
            except BrokenProcessPool:
                broken.append(futures[future])
    for job in broken:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            try:
                yield pool.submit(grade_submission, job).result()
            except BrokenProcessPool:
                yield Result(job.student, job.assignment, job.key, ok=False, timestamp=job.timestamp,
                             flags=["worker crash"], error="the grading process died (killed or out of memory)")
