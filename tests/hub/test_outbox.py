"""The transactional outbox with the in-process runner (the same code runs under arq, see test_outbox_arq)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub import jobs
from hub.database import transaction
from hub.outbox import service as outbox
from hub.outbox.models import OutboxMessage, OutboxStatus
from hub.regions.models import Region

DELIVERED: list[dict] = []
FAILURES_LEFT: dict[str, int] = {}


@outbox.handler("test.record")
async def record_delivery(message: OutboxMessage) -> None:
    """Raises while FAILURES_LEFT says so, then records the payload."""
    name = message.payload["name"]
    if FAILURES_LEFT.get(name, 0) > 0:
        FAILURES_LEFT[name] -= 1
        raise RuntimeError(f"partner down for {name}")
    DELIVERED.append(message.payload)


@pytest.fixture(autouse=True)
def reset_handler_state():
    DELIVERED.clear()
    FAILURES_LEFT.clear()


class TestPublish:
    async def test_message_is_written_with_the_change_and_delivered_after_commit(self, queue):
        async with transaction():
            await Region.create(code="GD", name="广东省", level="province")
            message = await outbox.publish("test.record", {"name": "a"})
            assert DELIVERED == []  # nothing leaves before the commit
        await queue.drain()
        assert DELIVERED == [{"name": "a"}]
        row = await OutboxMessage.get(id=message.id)
        assert row.status == OutboxStatus.DELIVERED and row.attempts == 1 and row.delivered_at is not None

    async def test_rolled_back_change_leaves_no_message(self, queue):
        with pytest.raises(RuntimeError):
            async with transaction():
                await outbox.publish("test.record", {"name": "b"})
                raise RuntimeError("business rule failed")
        await queue.drain()
        assert await OutboxMessage.all().count() == 0
        assert DELIVERED == []

    async def test_publish_outside_a_transaction_is_refused(self):
        with pytest.raises(RuntimeError, match="transaction"):
            await outbox.publish("test.record", {"name": "c"})

    async def test_repeated_dedup_key_keeps_one_message(self, queue):
        async with transaction():
            first = await outbox.publish("test.record", {"name": "d"}, dedup_key="d-1")
            second = await outbox.publish("test.record", {"name": "d"}, dedup_key="d-1")
        await queue.drain()
        assert first.id == second.id
        assert DELIVERED == [{"name": "d"}]


class TestRetries:
    async def test_a_failing_handler_is_retried_then_delivered_once(self, queue):
        FAILURES_LEFT["e"] = 1
        async with transaction():
            message = await outbox.publish("test.record", {"name": "e"})
        await queue.drain()
        row = await OutboxMessage.get(id=message.id)
        assert DELIVERED == [{"name": "e"}]
        assert row.status == OutboxStatus.DELIVERED and row.attempts == 2
        assert "partner down" in row.last_error

    async def test_message_is_dead_after_its_last_attempt_and_replay_delivers_it(self, queue):
        FAILURES_LEFT["f"] = 3
        async with transaction():
            message = await outbox.publish("test.record", {"name": "f"}, max_attempts=3)
        await queue.drain()
        row = await OutboxMessage.get(id=message.id)
        assert row.status == OutboxStatus.DEAD and row.attempts == 3 and DELIVERED == []

        async with transaction():
            replayed = await outbox.replay(message_id=message.id)
        await queue.drain()
        row = await OutboxMessage.get(id=message.id)
        assert replayed == [message.id]
        assert row.status == OutboxStatus.DELIVERED and DELIVERED == [{"name": "f"}]

    async def test_unknown_topic_goes_dead_not_lost(self, queue):
        async with transaction():
            message = await outbox.publish("test.nobody-listens", {}, max_attempts=1)
        await queue.drain()
        row = await OutboxMessage.get(id=message.id)
        assert row.status == OutboxStatus.DEAD and "no handler" in row.last_error


class TestSweeper:
    async def test_sweeper_redelivers_a_message_whose_job_vanished(self, queue):
        # A message committed while the enqueue was lost (process crash between commit and enqueue).
        long_ago = datetime.now(UTC) - timedelta(minutes=10)
        message = await OutboxMessage.create(topic="test.record", payload={"name": "g"}, next_attempt_at=long_ago)
        swept = await outbox.sweep(stale_after=timedelta(seconds=60))
        await queue.drain()
        assert swept == 1
        assert DELIVERED == [{"name": "g"}]
        assert (await OutboxMessage.get(id=message.id)).status == OutboxStatus.DELIVERED

    async def test_sweeper_frees_a_message_whose_worker_died_mid_delivery(self, queue):
        expired = datetime.now(UTC) - timedelta(minutes=1)
        message = await OutboxMessage.create(
            topic="test.record", payload={"name": "h"}, status=OutboxStatus.IN_FLIGHT, attempts=1,
            lease_until=expired, next_attempt_at=expired - timedelta(minutes=10),
        )
        await outbox.sweep(stale_after=timedelta(seconds=0))
        await queue.drain()
        row = await OutboxMessage.get(id=message.id)
        assert row.status == OutboxStatus.DELIVERED and row.attempts == 2 and DELIVERED == [{"name": "h"}]

    async def test_sweeper_leaves_fresh_messages_alone(self, queue):
        await OutboxMessage.create(topic="test.record", payload={"name": "i"}, next_attempt_at=datetime.now(UTC))
        assert await outbox.sweep(stale_after=timedelta(seconds=60)) == 0

    async def test_two_deliveries_of_one_message_run_the_handler_once(self, queue):
        async with transaction():
            message = await outbox.publish("test.record", {"name": "j"})
        await jobs.enqueue("outbox_deliver", message.id)  # a duplicate job, as a sweep racing a retry makes
        await queue.drain()
        assert DELIVERED == [{"name": "j"}]


class TestOutboxApi:
    async def test_ops_lists_dead_messages_and_replays_one(self, client, queue):
        from hub.auth.models import Role
        from tests.factories import make_key

        FAILURES_LEFT["k"] = 1
        async with transaction():
            message = await outbox.publish("test.record", {"name": "k"}, max_attempts=1)
        await queue.drain()
        ops = await make_key(role=Role.OPS)
        dead = (await client.get("/api/v1/outbox?status=dead", headers=ops)).json()["items"]
        assert [m["id"] for m in dead] == [message.id]
        response = await client.post(f"/api/v1/outbox/{message.id}/replay", headers=ops)
        assert response.status_code == 200
        await queue.drain()
        assert (await OutboxMessage.get(id=message.id)).status == OutboxStatus.DELIVERED
        assert (await client.post(f"/api/v1/outbox/{message.id}/replay", headers=ops)).status_code == 404
