"""Lapsed locks go back to claimed; reads already see them so (``coupons.rules``)."""

from __future__ import annotations

from coupons.locks import service as locks
from hub.jobs import periodic
from hub.jobs.chunks import in_chunks


@periodic(every_seconds=60)
async def coupons_release_lapsed_locks(ctx: dict) -> int:
    return await in_chunks(locks.release_lapsed)
