"""Expired coupons are stored as expired; reads already see them so (``coupons.rules``)."""

from __future__ import annotations

from coupons.wallet import service as wallet
from hub.jobs import periodic
from hub.jobs.chunks import in_chunks


@periodic(every_seconds=600)
async def coupons_expire(ctx: dict) -> int:
    return await in_chunks(wallet.expire_lapsed)
