"""Jobs on Redis with arq: the production path. ``hub worker`` runs ``WorkerSettings``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, cast

from arq import Retry, cron
from arq.connections import ArqRedis, RedisSettings
from arq.typing import WorkerCoroutine
from arq.worker import func
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hub.jobs.registry import (
    DEFAULT_LANE,
    JOBS_BY_NAME,
    LANES,
    PERIODIC,
    URGENT_LANE,
    JobSpec,
    PeriodicSpec,
    load_job_modules,
    record_outcome,
)
from hub.settings import Settings, get_settings

log = logging.getLogger("hub.jobs")

QUEUE_NAME = "hub:jobs"
QUEUE_NAMES = {DEFAULT_LANE: QUEUE_NAME, URGENT_LANE: "hub:urgent"}  # one arq queue per lane
ENQUEUE_TIMEOUT_SECONDS = 2.0  # a request waits no longer than this on a Redis that hangs
RETRY_AFTER_SECONDS = 1.0  # after an enqueue timed out, later ones fail at once for this long (many hooks, one outage)
# The urgent lane's jobs are short and mostly wait on WeCom: more at once, and picked up sooner than
# arq's default half-second poll (a welcome message has 20 seconds in all).
LANE_OPTIONS = {DEFAULT_LANE: {"max_jobs": 20, "poll_delay": 0.5}, URGENT_LANE: {"max_jobs": 50, "poll_delay": 0.05}}
# ``hub worker`` started while Redis does not answer waits for it, trying again after these (doubling).
REDIS_WAIT_FIRST_SECONDS = 0.5
REDIS_WAIT_MAX_SECONDS = 5.0


class QueueUnavailable(ConnectionError):
    """Redis did not take the job; whatever must not be lost is in the outbox, whose sweeper re-enqueues it."""


class ArqQueue:
    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis
        self._down_until = 0.0  # after a timed-out enqueue, fail at once for a moment instead of waiting again

    @classmethod
    async def connect(cls, settings: Settings) -> ArqQueue:
        """The queue on ``settings.redis_url``, without waiting for Redis to answer.

        Connections open on first use, so an API process starts while Redis is down (``/readyz`` says 503)
        and enqueues again as soon as Redis is back; arq's own ``create_pool`` would give up at start-up.
        """
        return cls(_redis_client(settings))

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None, defer_seconds: float = 0) -> bool:
        queue_name = QUEUE_NAMES[JOBS_BY_NAME[name].lane]
        if time.monotonic() < self._down_until:
            raise QueueUnavailable(f"Redis did not answer just now; {name} not enqueued")
        try:
            job = await asyncio.wait_for(self.redis.enqueue_job(
                name, *args, _job_id=job_id, _defer_by=defer_seconds or None, _queue_name=queue_name
            ), ENQUEUE_TIMEOUT_SECONDS)
        except (TimeoutError, OSError, RedisError) as exc:
            if isinstance(exc, (asyncio.TimeoutError, RedisTimeoutError)):  # slow to fail: don't wait again at once
                self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            raise QueueUnavailable(f"Redis did not take {name}: {exc!r}") from exc
        return job is not None

    async def start(self) -> None:
        """Say so when Redis does not answer yet; the process starts all the same."""
        try:
            await asyncio.wait_for(self.redis.ping(), ENQUEUE_TIMEOUT_SECONDS)
        except (TimeoutError, OSError, RedisError) as exc:
            log.warning("Redis does not answer (%r): starting without it; jobs are enqueued once it does", exc)

    async def drain(self, timeout: float = 30) -> None:
        return None  # the workers own the jobs

    async def close(self, timeout: float = 10) -> None:
        await self.redis.aclose()


async def wait_for_redis(settings: Settings, *, stop: asyncio.Event) -> bool:
    """Ping Redis until it answers (True) or ``stop`` is set (False): how ``hub worker`` starts without it.

    Each miss logs one line saying where and when the next try is; the wait between tries doubles from
    ``REDIS_WAIT_FIRST_SECONDS`` up to ``REDIS_WAIT_MAX_SECONDS``, so a worker started before Redis (a
    container started first, Redis restarting) begins working within seconds of Redis answering.
    """
    if not settings.redis_url:
        raise RuntimeError("hub worker needs HUB_REDIS_URL")
    redis = _redis_client(settings)
    where = _where(settings.redis_url)
    delay, misses = REDIS_WAIT_FIRST_SECONDS, 0
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(redis.ping(), ENQUEUE_TIMEOUT_SECONDS)
            except (TimeoutError, OSError, RedisError) as exc:
                misses += 1
                log.warning("Redis at %s does not answer (%r); hub worker waits for it, next try in %.1f s",
                            where, exc, delay)
            else:
                if misses:
                    log.info("Redis at %s answers (after %d tries); starting the workers", where, misses + 1)
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, REDIS_WAIT_MAX_SECONDS)
        return False
    finally:
        await redis.aclose()


def _where(redis_url: str) -> str:
    """Redis's address for the log: host, port and database, never the password."""
    redis = RedisSettings.from_dsn(redis_url)
    return redis.unix_socket_path or f"{redis.host}:{redis.port}/{redis.database}"


def _redis_client(settings: Settings) -> ArqRedis:
    """What arq's ``create_pool`` builds (sentinels aside), minus its connect-and-ping at start-up."""
    redis = RedisSettings.from_dsn(settings.required_redis_url)
    return ArqRedis(
        host=redis.host, port=redis.port, unix_socket_path=redis.unix_socket_path, db=redis.database,
        username=redis.username, password=redis.password, ssl=redis.ssl, socket_connect_timeout=redis.conn_timeout,
        encoding="utf8", default_queue_name=QUEUE_NAME,
    )


def _arq_function(spec: JobSpec):
    async def run(ctx: dict, *args: Any) -> Any:
        try:
            result = await spec.func(ctx, *args)
        except Exception as exc:
            delay = record_outcome(spec, ctx["job_try"], exc)
            if delay is None:
                raise
            raise Retry(defer=delay) from exc
        record_outcome(spec, ctx["job_try"], None)
        return result

    run.__qualname__ = run.__name__ = spec.name
    return func(run, name=spec.name, max_tries=spec.max_tries, timeout=spec.timeout_seconds)


def _cron(spec: PeriodicSpec):
    job = cast(WorkerCoroutine, spec.func)  # JobFunc is any async callable; every job is async def job(ctx, ...)
    if spec.every_seconds < 60:
        return cron(job, name=spec.name, second=set(range(0, 60, spec.every_seconds)), run_at_startup=True)
    return cron(job, name=spec.name, minute=set(range(0, 60, spec.every_seconds // 60)), second=0)


async def _startup(ctx: dict) -> None:
    from hub import jobs
    from hub.database import connect
    from hub.logging import configure_logging

    settings = get_settings()
    # A worker embedded in a process that already has the database (tests) leaves it alone.
    ctx["owns_database"] = await connect(settings)
    if ctx["owns_database"]:
        configure_logging(settings)
    ctx["settings"] = settings
    ctx["previous_queue"] = jobs._queue
    jobs.set_queue(ArqQueue(ctx["redis"]))


async def _shutdown(ctx: dict) -> None:
    from hub import jobs
    from hub.database import disconnect

    jobs.set_queue(ctx.get("previous_queue"))
    if ctx.get("owns_database"):  # the worker owns the process: close what jobs opened on the way
        from hub.packages import run_exit

        await run_exit()
        await disconnect()


def worker_settings(settings: Settings | None = None, *, lane: str = DEFAULT_LANE) -> dict:
    """arq's worker settings for one lane of this hub, built from the registry.

    Periodic jobs run on the default lane's workers only.
    """
    settings = settings or get_settings()
    if not settings.redis_url:
        raise RuntimeError("hub worker needs HUB_REDIS_URL")
    if lane not in LANES:
        raise ValueError(f"unknown lane {lane!r}")
    load_job_modules()
    return {
        "functions": [_arq_function(spec) for spec in JOBS_BY_NAME.values() if spec.lane == lane],
        "cron_jobs": [_cron(spec) for spec in PERIODIC.values()] if lane == DEFAULT_LANE else [],
        "on_startup": _startup,
        "on_shutdown": _shutdown,
        "redis_settings": RedisSettings.from_dsn(settings.required_redis_url),
        "queue_name": QUEUE_NAMES[lane],
        "keep_result": 60,
        **LANE_OPTIONS[lane],
        "handle_signals": True,
    }
