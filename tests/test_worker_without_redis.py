"""`hub worker` starts while Redis does not answer, waits for it saying so, and works once it answers
(PostgreSQL + a redis-server of the test's own); SIGTERM while it waits stops it cleanly."""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from hub import jobs
from hub.database import transaction
from hub.jobs.arq_queue import ArqQueue
from hub.outbox import service as outbox
from hub.outbox.models import OutboxMessage, OutboxStatus
from hub.settings import Settings
from tests.factories import make_staff
from tests.processes import Processes, free_port, require, wait_until

WAITING = "does not answer"  # the worker's line while it waits for Redis


def _waiting_lines(processes: Processes, worker: subprocess.Popen) -> int:
    if worker.poll() is not None:
        raise AssertionError(f"hub worker exited {worker.returncode} without Redis:\n{processes.output(worker)}")
    return processes.output(worker).count(WAITING)


async def _workers_polling(redis_url: str) -> bool:
    """Both lanes' arq workers have started (each records a health check when it polls)."""
    redis = Redis.from_url(redis_url)
    try:
        return all([await redis.exists("hub:jobs:health-check"), await redis.exists("hub:urgent:health-check")])
    except (OSError, RedisError):  # the redis-server just started is not listening yet
        return False
    finally:
        await redis.aclose()


async def test_the_worker_waits_for_redis_and_delivers_once_it_answers(
    processes: Processes, wecom_sandbox, settings: Settings
) -> None:
    require(shutil.which("redis-server") is not None, "redis-server is not installed")
    staff = await make_staff(name="王芳")
    await wecom_sandbox.load_users([{"userid": staff.wecom_userid, "name": staff.name}])
    redis_port = free_port()  # nothing listens here until the test starts a redis-server on it
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    worker = processes.worker(processes.env(HUB_REDIS_URL=redis_url, **wecom_sandbox.env()))

    # It keeps waiting, one line a try (tries at 0.5, 1, 2 s apart...), instead of exiting.
    async def waited() -> bool:
        return _waiting_lines(processes, worker) >= 3

    await wait_until(waited, within=30, what="hub worker says three times that it waits for Redis")

    processes.redis_server(redis_port)

    async def polling() -> bool:
        _waiting_lines(processes, worker)  # fails at once if the worker exited meanwhile
        return await _workers_polling(redis_url)

    await wait_until(polling, within=30, what="hub worker polls both lanes once Redis answers")
    assert "answers (after" in processes.output(worker)

    # A message published now is enqueued on that Redis, and the worker delivers it.
    previous = jobs._queue
    queue = await ArqQueue.connect(settings.model_copy(update={"redis_url": redis_url}))
    jobs.set_queue(queue)
    try:
        async with transaction():
            await outbox.publish("wecom.app_message", {"touser": [staff.wecom_userid], "content": "Redis 回来了"})
    finally:
        jobs.set_queue(previous)
        await queue.close()

    async def delivered() -> bool:
        return await OutboxMessage.filter(status=OutboxStatus.DELIVERED).count() == 1

    await wait_until(delivered, within=30, what="the worker delivers the outbox message")
    [notice] = await wecom_sandbox.sent("app_message")
    assert notice["content"] == "Redis 回来了"
    [message] = await OutboxMessage.all()
    assert message.attempts == 1


@pytest.fixture
def bare_processes(tmp_path) -> Iterator[Processes]:
    """Real processes that need neither PostgreSQL nor Redis (the worker below never gets that far)."""
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


async def test_sigterm_while_waiting_for_redis_stops_the_worker_cleanly(bare_processes: Processes) -> None:
    redis_url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    worker = bare_processes.worker(bare_processes.env(HUB_REDIS_URL=redis_url))

    async def waiting() -> bool:
        return _waiting_lines(bare_processes, worker) >= 1

    await wait_until(waiting, within=30, what="hub worker says it waits for Redis")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=10) == 0, bare_processes.output(worker)
    output = bare_processes.output(worker)
    assert "stopped while waiting for Redis" in output
    assert "Traceback" not in output
