"""Background jobs: one registry, two runners (arq on Redis, or in-process when Redis is not set).

``enqueue("outbox_deliver", 42)`` works the same in both; call it only after the commit that
made the job necessary (``hub.database.UnitOfWork.after_commit``), which the outbox does for you.
"""

from __future__ import annotations

from typing import Any, Protocol

from hub.jobs.registry import job, load_job_modules, periodic
from hub.settings import Settings


class Queue(Protocol):
    async def enqueue(self, name: str, *args: Any, job_id: str | None = None, defer_seconds: float = 0) -> bool: ...
    async def start(self) -> None: ...
    async def drain(self, timeout: float = 30) -> None: ...
    async def close(self, timeout: float = 10) -> None: ...


_queue: Queue | None = None


def set_queue(queue: Queue | None) -> None:
    global _queue
    _queue = queue


def get_queue() -> Queue:
    if _queue is None:
        raise RuntimeError("no job queue: call hub.jobs.open_queue() at start-up")
    return _queue


async def open_queue(settings: Settings, *, run_periodic: bool = True) -> Queue:
    """Open the queue these settings call for and make it the process's queue.

    With Redis it does not wait for Redis to answer: an API process starts and serves without it.
    """
    load_job_modules()
    if settings.redis_url:
        from hub.jobs.arq_queue import ArqQueue

        queue: Queue = await ArqQueue.connect(settings)
    else:
        from hub.jobs.inprocess import InProcessQueue

        queue = InProcessQueue(settings, run_periodic=run_periodic)
    await queue.start()
    set_queue(queue)
    return queue


async def close_queue() -> None:
    if _queue is not None:
        await _queue.close()
    set_queue(None)


async def enqueue(name: str, *args: Any, job_id: str | None = None, defer_seconds: float = 0) -> bool:
    return await get_queue().enqueue(name, *args, job_id=job_id, defer_seconds=defer_seconds)


__all__ = ["enqueue", "job", "periodic", "open_queue", "close_queue", "get_queue", "set_queue"]
