"""Run grade_submission on a Dask distributed cluster (`--cluster tcp://HOST:PORT`).

Jobs carry everything a worker needs (notebook, timestamp, assignment snapshot, config), so workers
share no files with the instructor's machine; they return Results and never see the gradebook.
Workers need the course's `[grading]` environment installed, the same as the instructor's machine.
"""
from __future__ import annotations

from typing import Iterable, Iterator

from ...core.errors import TitoError
from .jobs import Job, Result
from .worker import grade_submission


def run_on_cluster(address: str, jobs: Iterable[Job]) -> Iterator[Result]:
    jobs = list(jobs)
    if not jobs:
        return
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise TitoError("--cluster needs Dask: pip install -e '.[cluster]'") from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise TitoError(f"cannot reach the Dask scheduler at {address} ({exc}); start it (dask scheduler) "
                        "or check the address") from None
    with client:
        futures = client.map(grade_submission, jobs, pure=False, key=[f"grade-{j.assignment}-{j.student}" for j in jobs])
        owner = {f.key: job for f, job in zip(futures, jobs)}
        for future in as_completed(futures):
            job = owner[future.key]
            try:
                yield future.result()
            except Exception as exc:  # e.g. KilledWorker after the submission crashed workers repeatedly
                yield Result(job.student, job.assignment, job.key, ok=False, timestamp=job.timestamp,
                             flags=["worker crash"], error=f"{type(exc).__name__}: {exc}")
