"""Forget stored idempotent answers once no client would still retry the request."""

from datetime import datetime, timedelta

from hub import clock
from hub.database import transaction
from hub.idempotency.models import IdempotencyRecord
from hub.jobs import periodic

KEEP_FOR = timedelta(hours=24)


async def prune(*, now: datetime, keep_for: timedelta = KEEP_FOR) -> int:
    return await IdempotencyRecord.filter(created_at__lt=now - keep_for).delete()


@periodic(every_seconds=3600)
async def idempotency_prune(ctx: dict) -> int:
    async with transaction():
        return await prune(now=clock.now())
