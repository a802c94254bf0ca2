"""Short leases, renewed while the work runs (a heartbeat).

A claim (a conditional UPDATE) holds a row for ``HUB_LEASE_SECONDS``; the worker renews it every third of
that while the work runs. A worker that dies stops renewing, so its rows are taken back by the next sweep
after the lease lapses: within seconds, not after the longest a job may take. A try that lost its lease
(the sweeper took it back) carries on, since the work is idempotent; the attempt count fences its writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

from hub.settings import get_settings

log = logging.getLogger("hub.jobs")


def lease_duration() -> timedelta:
    return timedelta(seconds=get_settings().lease_seconds)


def lease_until() -> datetime:
    """When a lease taken or renewed now lapses."""
    # Real time, not hub.clock: a lease bounds how long a live worker may go without renewing (its beats are
    # paced by asyncio's monotonic clock below), in real seconds; a test's frozen clock must not stretch it.
    return datetime.now(UTC) + lease_duration()


@contextlib.asynccontextmanager
async def renewed(renew: Callable[[], Awaitable[int]], *, what: str, lease_seconds: float | None = None
                  ) -> AsyncIterator[None]:
    """Run the block while ``renew()`` (a conditional UPDATE returning its row count) extends the lease.

    Renewal stops when it updates nothing: the lease is no longer this try's. A renewal that fails
    (the database is briefly away) is tried again at the next beat; the lease leaves room for two misses.
    ``lease_seconds`` defaults to ``HUB_LEASE_SECONDS``; renewals come every third of it.
    """
    every = (lease_seconds or lease_duration().total_seconds()) / 3

    async def beat() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                if not await renew():
                    log.warning("%s: lease lost (taken back or finished elsewhere); no longer renewing", what)
                    return
            except Exception as exc:  # the next beat tries again; a lapsed lease only means a redelivery
                log.warning("%s: could not renew the lease: %r", what, exc)

    task = asyncio.create_task(beat(), name=f"lease: {what}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
