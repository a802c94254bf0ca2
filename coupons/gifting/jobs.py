"""Lapsed share links are stored as expired; reads already see them so."""

from __future__ import annotations

from coupons.gifting import service as gifting
from hub.jobs import periodic
from hub.jobs.chunks import in_chunks


@periodic(every_seconds=600)
async def coupons_expire_lapsed_shares(ctx: dict) -> int:
    return await in_chunks(gifting.expire_lapsed)
