"""Short outbox leases, renewed while the handler runs: a live delivery keeps its message however long it
takes, a dead one's message is taken back and redelivered by the next sweep (see also test_worker_crash)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from hub.database import transaction
from hub.outbox import service as outbox
from hub.outbox.models import OutboxMessage, OutboxStatus
from tests.envs import settings_env
from tests.processes import wait_until

RUNS: list[int] = []
RELEASE: dict[int, asyncio.Event] = {}  # handler runs (1st, 2nd…) that wait until the test releases them


@outbox.handler("test.hold")
async def held_delivery(message: OutboxMessage) -> None:
    """Records the run; the runs named in RELEASE wait for the test to let them finish."""
    RUNS.append(message.attempts)
    gate = RELEASE.get(len(RUNS))
    if gate is not None:
        await gate.wait()


@pytest.fixture(autouse=True)
def two_second_leases():
    RUNS.clear()
    RELEASE.clear()
    with settings_env({"HUB_LEASE_SECONDS": "2"}):
        yield


async def _publish() -> OutboxMessage:
    async with transaction():
        return await outbox.publish("test.hold", {})


async def _row(message: OutboxMessage) -> OutboxMessage:
    return await OutboxMessage.get(id=message.id)


async def test_a_delivery_outlasting_its_lease_keeps_it_by_renewing(queue):
    RELEASE[1] = asyncio.Event()
    message = await _publish()

    async def claimed() -> bool:
        return (await _row(message)).status == OutboxStatus.IN_FLIGHT

    await wait_until(claimed, within=10, what="the delivery claims the message")
    first_lease = (await _row(message)).lease_until
    assert first_lease - datetime.now(UTC) <= timedelta(seconds=2)

    async def renewed_twice() -> bool:  # past the first lease's end, so only renewals kept it
        row = await _row(message)
        return row.lease_until > first_lease + timedelta(seconds=1) and datetime.now(UTC) > first_lease

    await wait_until(renewed_twice, within=10, what="the lease renewed past its first end")
    assert await outbox.sweep(stale_after=timedelta(0)) == 0  # nothing lapsed: nothing taken back
    RELEASE[1].set()
    await queue.drain()
    row = await _row(message)
    assert (row.status, row.attempts, row.lease_until, RUNS) == (OutboxStatus.DELIVERED, 1, None, [1])


async def test_a_lapsed_lease_is_redelivered_by_the_next_sweep_not_after_the_stale_grace(queue):
    now = datetime.now(UTC)
    message = await OutboxMessage.create(topic="test.hold", payload={}, status=OutboxStatus.IN_FLIGHT, attempts=1,
                                         lease_until=now - timedelta(milliseconds=1), next_attempt_at=now)
    assert await outbox.sweep(stale_after=timedelta(hours=1)) == 1
    await queue.drain()
    row = await _row(message)
    assert (row.status, row.attempts, RUNS) == (OutboxStatus.DELIVERED, 2, [2])


async def test_a_lapsed_last_attempt_is_dead_not_taken_back_for_ever(queue):
    now = datetime.now(UTC)
    message = await OutboxMessage.create(topic="test.hold", payload={}, status=OutboxStatus.IN_FLIGHT, attempts=3,
                                         max_attempts=3, lease_until=now - timedelta(seconds=1), next_attempt_at=now)
    assert await outbox.sweep(stale_after=timedelta(0)) == 0
    row = await _row(message)
    assert (row.status, row.attempts, RUNS) == (OutboxStatus.DEAD, 3, [])
    assert "did not finish" in row.last_error


async def test_a_try_whose_lease_was_taken_back_writes_nothing_over_the_next_try(queue):
    """At-least-once: the slow try and the next both run the handler; the next try's outcome stands."""
    RELEASE[1] = asyncio.Event()
    message = await _publish()

    async def claimed() -> bool:
        return (await _row(message)).status == OutboxStatus.IN_FLIGHT

    await wait_until(claimed, within=10, what="the first try claims the message")
    # The first try's worker stalls (its heartbeat cannot reach the database): its lease lapses.
    await OutboxMessage.filter(id=message.id).update(lease_until=datetime.now(UTC) - timedelta(seconds=1))
    assert await outbox.sweep(stale_after=timedelta(hours=1)) == 1

    async def redelivered() -> bool:
        return (await _row(message)).status == OutboxStatus.DELIVERED

    await wait_until(redelivered, within=10, what="the second try delivers")
    second = await _row(message)
    RELEASE[1].set()
    await queue.drain()
    row = await _row(message)
    assert RUNS == [1, 2] and row.attempts == 2
    assert (row.status, row.delivered_at, row.last_error) == (OutboxStatus.DELIVERED, second.delivered_at, None)
