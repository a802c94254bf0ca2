"""Coupon jobs: storing expiries and lapsed locks, in chunks of one transaction each.

Both only store what reads already see (``coupons.rules.effective_state``), so a late run delays
reporting, never correctness.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

from coupons import expiry, locks
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
