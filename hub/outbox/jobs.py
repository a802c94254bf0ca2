"""Outbox jobs: delivery (retried by the job rules) and the periodic sweeper."""

from datetime import timedelta

from hub.jobs import job, periodic
from hub.outbox import service


@job(max_tries=50, timeout_seconds=300)
async def outbox_deliver(ctx: dict, message_id: int) -> str:
    # The message's own max_attempts decides when it is dead; max_tries here is only a ceiling.
    return await service.deliver(message_id)


# Often, since a dead worker's message waits for the sweep after its lease lapses; the queries are indexed.
@periodic(every_seconds=5)
async def outbox_sweep(ctx: dict) -> int:
    return await service.sweep(stale_after=timedelta(seconds=ctx["settings"].outbox_stale_seconds))
