"""The outbox delivered by a real arq worker on a real Redis (required in CI)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.database import transaction
from hub.outbox import service as outbox
from hub.outbox.models import OutboxMessage, OutboxStatus
from tests.hub.test_outbox import DELIVERED, FAILURES_LEFT
from tests.workers import run_worker_until_idle


@pytest.fixture(autouse=True)
def reset_handler_state():
    DELIVERED.clear()
    FAILURES_LEFT.clear()


class TestArqDelivery:
    async def test_delivered_exactly_once_even_when_the_job_raises_once(self, arq_queue):
        FAILURES_LEFT["arq-1"] = 1
        async with transaction():
            message = await outbox.publish("test.record", {"name": "arq-1"})
        worker = await run_worker_until_idle(arq_queue)
        row = await OutboxMessage.get(id=message.id)
        assert DELIVERED == [{"name": "arq-1"}]
        assert row.status == OutboxStatus.DELIVERED and row.attempts == 2
        assert worker.jobs_retried == 1 and worker.jobs_failed == 0

    async def test_sweeper_redelivers_a_row_whose_job_vanished(self, arq_queue):
        long_ago = datetime.now(UTC) - timedelta(minutes=5)
        message = await OutboxMessage.create(topic="test.record", payload={"name": "arq-2"}, next_attempt_at=long_ago)
        assert await outbox.sweep(stale_after=timedelta(seconds=60)) == 1
        assert await outbox.sweep(stale_after=timedelta(seconds=60)) == 1  # the job id keeps it to one job
        await run_worker_until_idle(arq_queue)
        assert DELIVERED == [{"name": "arq-2"}]
        assert (await OutboxMessage.get(id=message.id)).status == OutboxStatus.DELIVERED

    async def test_dead_row_replayed_through_the_worker(self, arq_queue):
        FAILURES_LEFT["arq-3"] = 2
        async with transaction():
            message = await outbox.publish("test.record", {"name": "arq-3"}, max_attempts=2)
        await run_worker_until_idle(arq_queue)
        assert (await OutboxMessage.get(id=message.id)).status == OutboxStatus.DEAD
        async with transaction():
            await outbox.replay(message_id=message.id)
        await run_worker_until_idle(arq_queue)
        row = await OutboxMessage.get(id=message.id)
        assert row.status == OutboxStatus.DELIVERED and DELIVERED == [{"name": "arq-3"}]
