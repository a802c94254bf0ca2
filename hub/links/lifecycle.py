"""Start and stop what the public link needs in an API process: signing keys, the code cache (and its
Redis invalidation channel), the slug-guessing throttle and the scan writer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from hub import clock as hub_clock
from hub.links import api
from hub.links.buffer import BUFFER
from hub.links.cache import CACHE, listen
from hub.links.throttle import THROTTLE
from hub.settings import Settings

_redis: Any = None
_listener: asyncio.Task | None = None


async def start(settings: Settings, *, clock: Callable[[], float] | None = None) -> None:
    """Called by the app's lifespan after the database and job queue are open.

    ``clock`` (Unix seconds) stamps scans and tokens: ``hub.clock.unix`` unless a test passes its own.
    """
    global _redis, _listener
    CACHE.clear()
    THROTTLE.clear()
    api.configure(settings)
    BUFFER.configure(max_events=settings.scan_buffer_max, flush_seconds=settings.scan_flush_seconds,
                     spill_dir=settings.var_dir / "scan-spill", clock=clock or hub_clock.unix)
    if settings.redis_url:
        from redis.asyncio import Redis

        _redis = Redis.from_url(settings.redis_url)
        CACHE.redis = THROTTLE.redis = _redis
        _listener = asyncio.create_task(listen(_redis), name="link-cache-invalidations")
    BUFFER.start()


async def stop() -> None:
    """Called by the app's lifespan before the database closes: writes every buffered scan."""
    global _redis, _listener
    await BUFFER.stop()
    if _listener is not None:
        _listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await _listener
        _listener = None
    if _redis is not None:
        await _redis.aclose()
        _redis = None
    CACHE.redis = THROTTLE.redis = None
    CACHE.clear()
    THROTTLE.clear()
