"""Our own ceiling on calls per API per window, kept below the platform's (10,000 per API per minute).

A platform block lasts for the whole period of the limit hit (WECOM.md, path/90454), so it is cheaper to
wait a little on our side than to be blocked. Fixed windows aligned on the clock: simple, and a burst at a
window's edge stays under the platform's own per-minute count as long as our ceiling has headroom.
"""

from __future__ import annotations

import asyncio
import random
import time
from abc import ABC, abstractmethod
from typing import Protocol

from connectors.wecom.errors import WecomRateLimited


class RateLimiter(Protocol):
    async def acquire(self, api: str) -> None:
        """Return once a call to ``api`` fits under the ceiling; raise WecomRateLimited after the wait bound."""


class _FixedWindow(ABC):
    """The waiting loop both limiters share; subclasses count calls in a window."""

    def __init__(self, limit: int, *, window_seconds: float = 60.0, max_wait_seconds: float | None = None) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.max_wait_seconds = 2 * window_seconds if max_wait_seconds is None else max_wait_seconds

    async def acquire(self, api: str) -> None:
        deadline = time.monotonic() + self.max_wait_seconds
        while True:
            now = time.time()
            window = int(now // self.window_seconds)
            if await self._count(api, window) <= self.limit:
                return
            # Sleep into the next window, with a little jitter so waiters do not all wake at once.
            pause = (window + 1) * self.window_seconds - now + random.uniform(0, self.window_seconds / 50)  # noqa: S311  jitter
            if time.monotonic() + pause > deadline:
                raise WecomRateLimited(
                    45009, f"over our limit of {self.limit} calls per {self.window_seconds:g} s, waited too long", api
                )
            await asyncio.sleep(pause)

    @abstractmethod
    async def _count(self, api: str, window: int) -> int:
        """Count this call in ``window`` and return the window's count including it."""


class MemoryRateLimiter(_FixedWindow):
    """Counts in this process only (no Redis configured)."""

    def __init__(self, limit: int, *, window_seconds: float = 60.0, max_wait_seconds: float | None = None) -> None:
        super().__init__(limit, window_seconds=window_seconds, max_wait_seconds=max_wait_seconds)
        self._windows: dict[str, tuple[int, int]] = {}

    async def _count(self, api: str, window: int) -> int:
        current, count = self._windows.get(api, (window, 0))
        count = count + 1 if current == window else 1
        self._windows[api] = (window, count)
        return count

    async def aclose(self) -> None:
        return None


class RedisRateLimiter(_FixedWindow):
    """Counts shared by every process through Redis: ``INCR`` on a key per scope, API and window.

    ``scope`` separates corps (the platform counts per corp and API): the corp id.
    """

    def __init__(self, redis_url: str, limit: int, *, scope: str, window_seconds: float = 60.0,
                 max_wait_seconds: float | None = None) -> None:
        from redis.asyncio import Redis

        super().__init__(limit, window_seconds=window_seconds, max_wait_seconds=max_wait_seconds)
        self._redis = Redis.from_url(redis_url)
        self._scope = scope

    async def _count(self, api: str, window: int) -> int:
        key = f"hub:wecom:rate:{self._scope}:{api}:{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, max(2, int(self.window_seconds * 2)))
            count, _ = await pipe.execute()
        return int(count)

    async def aclose(self) -> None:
        await self._redis.aclose()
