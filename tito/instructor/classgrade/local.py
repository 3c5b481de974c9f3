"""Run grade_submission over local worker processes (one per core plus one by default, see
`kernel.kernel_parallelism`: 40 module-01 submissions took 91 s with 2 workers and 79 s with 3 on 2 cores).

Workers are spawned, not forked, so they share no state with the parent (whose progress bar runs a
thread). A job whose worker process dies is retried alone in a fresh pool; if it kills that one too,
it fails alone and the rest of the class is unaffected.

Ctrl-C and SIGTERM are the parent's business: workers ignore SIGINT (a terminal sends it to the whole
process group) so they print no tracebacks, and when the parent stops, for whatever reason, it kills them;
their sandboxes (`--die-with-parent`) and kernels (parent watch) go with them.
"""
from __future__ import annotations

import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Iterable, Iterator

from ...core.kernel import kernel_parallelism
from .jobs import Job, Result
from .worker import grade_submission


def run_local(jobs: Iterable[Job], workers: int | None = None, pool: ProcessPoolExecutor | None = None) -> Iterator[Result]:
    """Grade `jobs` on `pool` (a `local_pool()`, already warm) or on a pool of its own."""
    jobs = list(jobs)
    if not jobs:
        return
    if pool is None:
        with local_pool(min(workers or kernel_parallelism(), len(jobs))) as own:
            yield from _grade_on(own, jobs)
    else:
        yield from _grade_on(pool, jobs)


def _grade_on(pool: ProcessPoolExecutor, jobs: list[Job]) -> Iterator[Result]:
    broken: list[Job] = []
    futures = {pool.submit(grade_submission, job): job for job in jobs}
    for future in as_completed(futures):
        try:
            yield future.result()
        except BrokenProcessPool:
            broken.append(futures[future])
    for job in broken:
        with local_pool(1) as fresh:
            try:
                yield fresh.submit(grade_submission, job).result()
            except BrokenProcessPool:
                yield Result(job.student, job.assignment, job.key, ok=False, timestamp=job.timestamp,
                             flags=["worker crash"], error="the grading process died (killed or out of memory)")


def _worker_started() -> None:
    """In each worker: Ctrl-C is the parent's to handle, and the worker dies with the parent (even a SIGKILLed
    one), taking its sandbox and kernel along. Then the grading code is imported once, while the parent is
    still planning the batch (jsonschema's slow optional import skipped: tito.core.fastimport)."""
    from ...core.kernel_boot import arm_death_signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    arm_death_signal()
    from ...core import fastimport

    fastimport.prepare()
    import nbgrader.apps  # noqa: F401
    import nbgrader.converters  # noqa: F401

    from . import execute  # noqa: F401


def _ready() -> None:
    """A no-op task: submitting one per worker makes the executor start every worker now."""


@contextmanager
def local_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """`workers` spawned grading processes, started (and importing) at once; stopped however the block ends."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_started)
    for _ in range(workers):
        pool.submit(_ready)
    try:
        yield pool
    except BaseException:  # interrupted (or the consumer went away): stop grading now, not after the batch
        # Jobs still queued for the dead workers must not keep the queue's feeder thread (and with it the
        # executor's shutdown at exit) waiting for a reader forever.
        # (The executor forgets its processes on shutdown: kill them first.)
        for process in list((pool._processes or {}).values()):
            process.kill()
        pool._call_queue.cancel_join_thread()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
