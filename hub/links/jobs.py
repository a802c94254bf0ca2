"""Periodic upkeep of the public link's tables."""

from datetime import timedelta

from hub import clock
from hub.database import transaction
from hub.jobs import periodic
from hub.links import service

KEEP_HOURS = timedelta(hours=2)  # uniqueness is decided within the current hour; one more covers late batches


@periodic(every_seconds=600)
async def prune_scan_visitor_hours(ctx: dict) -> int:
    """Drop "who scanned what this hour" rows older than two hours; the table stays small."""
    cutoff = clock.now().replace(minute=0, second=0, microsecond=0) - KEEP_HOURS
    async with transaction():
        return await service.prune_scan_hours(before=cutoff)
