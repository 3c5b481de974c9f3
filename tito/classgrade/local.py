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

from ..kernel import kernel_parallelism
from .jobs import Job, Result
from .worker import grade_submission


def run_local(jobs: Iterable[Job], workers: int | None = None) -> Iterator[Result]:
    jobs = list(jobs)
    if not jobs:
        return
    broken: list[Job] = []
    with _pool(min(workers or kernel_parallelism(), len(jobs))) as pool:
        futures = {pool.submit(grade_submission, job): job for job in jobs}
        for future in as_completed(futures):
            try:
                yield future.result()
            except BrokenProcessPool:
                broken.append(futures[future])
    for job in broken:
        with _pool(1) as pool:
            try:
                yield pool.submit(grade_submission, job).result()
            except BrokenProcessPool:
                yield Result(job.student, job.assignment, job.key, ok=False, timestamp=job.timestamp,
                             flags=["worker crash"], error="the grading process died (killed or out of memory)")


def _worker_started() -> None:
    """In each worker: Ctrl-C is the parent's to handle, and the worker dies with the parent (even a SIGKILLed
    one), taking its sandbox and kernel along."""
    from ..kernel_boot import arm_death_signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    arm_death_signal()


@contextmanager
def _pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_started)
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
