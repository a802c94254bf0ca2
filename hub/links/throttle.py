"""Slows down slug guessing: after ``MISS_LIMIT`` unknown slugs from one address within a minute, that
address gets 429 (with Retry-After up to the end of the minute) on every /c/ link, known or not, so
guessing cannot go on and cannot confirm a hit either.

Misses are counted in-process and, when Redis is configured, in Redis (``hub:link:miss:<ip>:<minute>``)
so the limit holds across API processes. Only the miss path talks to Redis; the redirect itself checks
a local dict of blocked addresses. 30 misses a minute leaves room for people behind one carrier NAT
mistyping links, and stops a walk through 62^10 slugs cold. Blocked requests are not recorded as scans
(only counted in ``hub_link_throttled_total``), so a flood cannot fill the event table.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from prometheus_client import Counter

log = logging.getLogger("hub.links")

MISS_LIMIT = 30
WINDOW = 60
MAX_TRACKED = 100_000
THROTTLED = Counter("hub_link_throttled_total", "Public-link requests refused for slug guessing")


class MissThrottle:
    def __init__(self, *, limit: int = MISS_LIMIT, window: int = WINDOW) -> None:
        self.limit, self.window = limit, window
        self.blocked: dict[str, float] = {}  # ip -> until (read on every redirect when non-empty)
        self._misses: dict[str, list[float]] = {}  # ip -> [window number, count]
        self.redis: Any = None

    def clear(self) -> None:
        self.blocked.clear()
        self._misses.clear()

    def retry_after(self, ip: str, now: float) -> int:
        """Seconds the address must wait, 0 when it may go on."""
        until = self.blocked.get(ip)
        if until is None:
            return 0
        if until <= now:
            del self.blocked[ip]
            return 0
        THROTTLED.inc()
        return max(1, math.ceil(until - now))

    async def miss(self, ip: str, now: float) -> int:
        """Count one unknown slug from ``ip``; returns the Retry-After when this miss crossed the limit."""
        window = now // self.window
        seen = self._misses.get(ip)
        if seen is None or seen[0] != window:
            if len(self._misses) >= MAX_TRACKED:
                self._misses.clear()
            seen = self._misses[ip] = [window, 0]
        seen[1] += 1
        count = seen[1]
        if self.redis is not None:
            key = f"hub:link:miss:{ip}:{int(window)}"
            try:
                pipe = self.redis.pipeline(transaction=False)
                pipe.incr(key)
                pipe.expire(key, self.window * 2)
                count = max(count, (await pipe.execute())[0])
            except Exception as exc:  # the in-process count still holds
                log.warning("slug-guessing throttle: Redis failed (%r)", exc)
        if count <= self.limit:
            return 0
        if len(self.blocked) >= MAX_TRACKED:
            self.blocked.clear()
        self.blocked[ip] = (window + 1) * self.window
        return self.retry_after(ip, now)


THROTTLE = MissThrottle()
