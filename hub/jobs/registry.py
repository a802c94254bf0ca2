"""The one job registry: arq workers and the in-process runner both run what is registered here.

A job is a plain ``async def job(ctx, ...)``. The retry rule lives here, once: any exception is
retried with exponential backoff until ``max_tries``, then the job fails for good (and is counted).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hub.database import job_edge
from hub.metrics import JOBS

log = logging.getLogger("hub.jobs")

JobFunc = Callable[..., Awaitable[Any]]


# Lanes keep urgent work (WeCom callbacks: a welcome message must go out within 20 seconds of the add)
# apart from bulk work that may queue up for minutes; each lane has its own arq queue and its own
# in-process slots, so a backlog in one never delays the other.
DEFAULT_LANE = "default"
URGENT_LANE = "urgent"
LANES = (DEFAULT_LANE, URGENT_LANE)


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: JobFunc
    max_tries: int
    timeout_seconds: float
    lane: str = DEFAULT_LANE


@dataclass(frozen=True)
class PeriodicSpec:
    name: str
    func: JobFunc
    every_seconds: int


JOBS_BY_NAME: dict[str, JobSpec] = {}
PERIODIC: dict[str, PeriodicSpec] = {}

RETRY_MAX_SECONDS = 300.0


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff after the ``attempt``-th failure: base, 2×base, 4×base… capped at 5 minutes."""
    from hub.settings import get_settings

    return min(get_settings().job_retry_base_seconds * 2 ** (attempt - 1), RETRY_MAX_SECONDS)


def job(*, max_tries: int = 5, timeout_seconds: float = 60, lane: str = DEFAULT_LANE):
    """Register an async job function under its own name, on a lane (see ``LANES``)."""
    if lane not in LANES:
        raise ValueError(f"unknown lane {lane!r}")

    def register(func: JobFunc) -> JobFunc:
        JOBS_BY_NAME[func.__name__] = JobSpec(func.__name__, _job_edge(func), max_tries, timeout_seconds, lane)
        return func

    return register


def periodic(*, every_seconds: int):
    """Register an async function to run every ``every_seconds`` (cron in arq, a loop in-process)."""
    if not (every_seconds < 60 and 60 % every_seconds == 0) and every_seconds % 60 != 0:
        raise ValueError("every_seconds must divide a minute or be whole minutes")

    def register(func: JobFunc) -> JobFunc:
        PERIODIC[func.__name__] = PeriodicSpec(func.__name__, _job_edge(func), every_seconds)
        return func

    return register


def _job_edge(func: JobFunc) -> JobFunc:
    """The job as the runners call it: under the same rules wherever it was enqueued from (no transaction
    open, and a write outside ``transaction()`` raises, as in a request; ``hub.database.job_edge``)."""

    @functools.wraps(func)
    async def run(ctx: dict, *args: Any) -> Any:
        with job_edge():
            return await func(ctx, *args)

    return run


def retry_delay(spec: JobSpec, job_try: int) -> float | None:
    """Seconds to wait before the next try, or None when this was the last one."""
    if job_try >= spec.max_tries:
        return None
    return backoff_seconds(job_try)


def record_outcome(spec: JobSpec, job_try: int, error: BaseException | None) -> float | None:
    """Count the run and decide on a retry; returns the delay or None (done, or failed for good)."""
    if error is None:
        JOBS.labels(spec.name, "ok").inc()
        return None
    delay = retry_delay(spec, job_try)
    if delay is None:
        JOBS.labels(spec.name, "failed").inc()
        log.error("job %s failed for good after %d tries: %r", spec.name, job_try, error)
    else:
        JOBS.labels(spec.name, "retried").inc()
        log.warning("job %s try %d failed, retrying in %.1fs: %r", spec.name, job_try, delay, error)
    return delay


def load_job_modules() -> None:
    """Import every job module the packages declare (``Package.jobs``): importing one registers its jobs."""
    import importlib

    from hub import packages

    for module in packages.job_modules():
        importlib.import_module(module)
