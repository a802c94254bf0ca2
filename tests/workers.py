"""Real arq workers on a real Redis for tests (required in CI): ``arq_queue`` makes arq the process's
queue, ``run_worker_until_idle`` runs one lane's worker in burst mode until its queue is empty."""

from __future__ import annotations

import pytest
from arq.worker import Worker

from hub import jobs
from hub.jobs.arq_queue import ArqQueue, worker_settings
from hub.jobs.registry import DEFAULT_LANE


@pytest.fixture
async def arq_queue(redis_url, settings):
    """Make arq the process's queue for the test, as in production; yields the settings with Redis."""
    arq_settings = settings.model_copy(update={"redis_url": redis_url})
    previous = jobs._queue
    queue = await ArqQueue.connect(arq_settings)
    jobs.set_queue(queue)
    yield arq_settings
    jobs.set_queue(previous)
    await queue.close()


async def run_worker_until_idle(arq_settings, *, lane: str = DEFAULT_LANE) -> Worker:
    """A real arq worker in burst mode: it runs every job of its lane, retries included, then stops."""
    options = worker_settings(arq_settings, lane=lane)
    options.update(burst=True, poll_delay=0.05)
    worker = Worker(**options)
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker
