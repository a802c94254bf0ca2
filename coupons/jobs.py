"""Coupon jobs, in chunks of one transaction each: storing expiries, lapsed locks and lapsed share links,
and routing expiry reminders.

The first three only store what reads already see (``coupons.rules.effective_state``,
``coupons.gifting.effective_status``), so a late run delays reporting, never correctness. A late reminder
run reminds late; each coupon is still reminded once (``coupons.reminders``).
"""

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

from coupons import expiry, gifting, locks, reminders
from hub.database import transaction
from hub.jobs import periodic

CHUNK = 500


async def _in_chunks(step: Callable[..., Awaitable[int]]) -> int:
    """Run ``step`` one transaction at a time until a chunk comes back short; returns the total moved."""
    total = 0
    while True:
        async with transaction():
            moved = await step(now=datetime.now(timezone.utc), limit=CHUNK)
        total += moved
        if moved < CHUNK:
            return total


@periodic(every_seconds=60)
async def coupons_release_lapsed_locks(ctx: dict) -> int:
    return await _in_chunks(locks.release_lapsed)


@periodic(every_seconds=600)
async def coupons_expire(ctx: dict) -> int:
    return await _in_chunks(expiry.expire_lapsed)


@periodic(every_seconds=600)
async def coupons_expire_lapsed_shares(ctx: dict) -> int:
    return await _in_chunks(gifting.expire_lapsed)


@periodic(every_seconds=900)
async def coupons_remind_expiring(ctx: dict) -> int:
    # Routes each due coupon once; WeCom is reached by the outbox after each chunk commits.
    return await _in_chunks(reminders.remind_due)
