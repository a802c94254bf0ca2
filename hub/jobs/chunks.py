"""Periodic work done in chunks of one transaction each, so one run never holds a long transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hub import clock
from hub.database import transaction

CHUNK = 500


async def in_chunks(step: Callable[..., Awaitable[int]]) -> int:
    """Run ``step(now=, limit=)`` one transaction at a time until a chunk comes back short; the total moved."""
    total = 0
    while True:
        async with transaction():
            moved = await step(now=clock.now(), limit=CHUNK)
        total += moved
        if moved < CHUNK:
            return total
