"""Our own rate limit keeps calls under the platform's ceiling by waiting, in one process or across many."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from connectors.wecom.errors import WecomRateLimited
from connectors.wecom.ratelimit import MemoryRateLimiter, RedisRateLimiter

API = "externalcontact/get_follow_user_list"
WINDOW = 0.5  # seconds; the platform's is a minute, shortened so the tests wait little


async def _windows_of(limiters, calls: int) -> Counter[int]:
    """Acquire ``calls`` times round-robin over ``limiters``; count how many got through in each window."""
    async def one(limiter):
        await limiter.acquire(API)
        return int(time.time() // WINDOW)

    return Counter(await asyncio.gather(*(one(limiters[n % len(limiters)]) for n in range(calls))))


class TestLimiters:
    async def test_calls_over_the_limit_wait_for_the_next_window(self):
        windows = await _windows_of([MemoryRateLimiter(3, window_seconds=WINDOW)], 7)
        assert sum(windows.values()) == 7 and max(windows.values()) <= 3 and len(windows) >= 3

    async def test_the_redis_limit_is_shared_by_processes(self, redis_url):
        limiters = [RedisRateLimiter(redis_url, 3, scope="corp", window_seconds=WINDOW) for _ in range(2)]
        try:
            windows = await _windows_of(limiters, 7)
        finally:
            for limiter in limiters:
                await limiter.aclose()
        assert sum(windows.values()) == 7 and max(windows.values()) <= 3 and len(windows) >= 3

    async def test_waiting_is_bounded(self):
        limiter = MemoryRateLimiter(1, window_seconds=60, max_wait_seconds=0.1)
        await limiter.acquire(API)
        with pytest.raises(WecomRateLimited) as caught:
            await limiter.acquire(API)
        assert (caught.value.errcode, caught.value.api) == (45009, API)
        await limiter.acquire("another/api")  # counted per API


class TestAgainstTheSandbox:
    async def test_without_our_limit_the_sandbox_refuses_the_excess(self, wecom_sandbox_factory):
        sandbox = wecom_sandbox_factory(calls_per_minute=6, rate_window_seconds=WINDOW)
        async with sandbox.client(max_retries=0) as client:
            await client.access_token()
            results = await asyncio.gather(*(client.get_follow_user_list() for _ in range(14)),
                                           return_exceptions=True)
        assert any(isinstance(r, WecomRateLimited) and r.errcode == 45009 for r in results)

    async def test_our_limit_keeps_every_call_under_the_ceiling(self, wecom_sandbox_factory):
        # 3 per window on our side against 6 on the sandbox's: a window edge can at most double ours.
        sandbox = wecom_sandbox_factory(calls_per_minute=6, rate_window_seconds=WINDOW)
        limiter = MemoryRateLimiter(3, window_seconds=WINDOW)
        async with sandbox.client(max_retries=0, rate_limiter=limiter) as client:
            await client.access_token()
            results = await asyncio.gather(*(client.get_follow_user_list() for _ in range(8)))
        assert results == [[]] * 8
        assert (await sandbox.stats())["calls"][API] == 8

    async def test_two_processes_share_the_ceiling_through_redis(self, wecom_sandbox_factory, redis_url):
        sandbox = wecom_sandbox_factory(calls_per_minute=6, rate_window_seconds=WINDOW)
        limiters = [RedisRateLimiter(redis_url, 3, scope="corp", window_seconds=WINDOW) for _ in range(2)]
        async with sandbox.client(max_retries=0, rate_limiter=limiters[0]) as a, \
                sandbox.client(max_retries=0, rate_limiter=limiters[1]) as b:
            await asyncio.gather(a.access_token(), b.access_token())
            results = await asyncio.gather(*(c.get_follow_user_list() for c in (a, b) * 4))
        for limiter in limiters:
            await limiter.aclose()
        assert results == [[]] * 8
        assert (await sandbox.stats())["calls"][API] == 8
