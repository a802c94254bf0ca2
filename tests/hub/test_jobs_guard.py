"""Jobs run under the bare-write guard, as requests do, and each starts outside any transaction: the
in-process runner's task copies its enqueuer's context, and must not take over the enqueuer's transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from hub import jobs
from hub.database import WriteOutsideTransaction, transaction
from hub.jobs.registry import JOBS_BY_NAME, job
from hub.regions.models import Region, RegionLevel
from tests.workers import run_worker_until_idle

BARE = "test_guard_bare_write"
OWN = "test_guard_own_transaction"


class Rollback(Exception):
    pass


@pytest.fixture
def errors() -> Iterator[list[BaseException]]:
    """Test jobs registered for one test (what each job raised is kept here), unregistered after it."""
    seen: list[BaseException] = []

    async def province(code: str) -> None:
        await Region.create(code=code, name=f"省{code}", level=RegionLevel.PROVINCE)

    @job(max_tries=1)
    async def test_guard_bare_write(ctx: dict[str, Any], code: str) -> None:
        try:
            await province(code)
        except Exception as exc:
            seen.append(exc)
            raise

    @job(max_tries=1)
    async def test_guard_own_transaction(ctx: dict[str, Any], code: str) -> None:
        async with transaction():
            await province(code)

    try:
        yield seen
    finally:
        for name in (BARE, OWN):
            JOBS_BY_NAME.pop(name, None)


async def test_a_job_writing_outside_a_transaction_raises_and_writes_nothing(queue, errors, caplog) -> None:
    caplog.set_level(logging.ERROR, "hub.jobs")
    await jobs.enqueue(BARE, "P1")
    await jobs.enqueue(OWN, "P2")
    await queue.drain()
    [error] = errors
    assert isinstance(error, WriteOutsideTransaction) and "INSERT" in str(error)
    assert f"job {BARE} failed for good" in caplog.text
    assert await Region.all().values_list("code", flat=True) == ["P2"]


async def test_an_arq_job_writing_outside_a_transaction_raises(arq_queue, errors) -> None:
    await jobs.enqueue(BARE, "P1")
    await jobs.enqueue(OWN, "P2")
    worker = await run_worker_until_idle(arq_queue)
    assert worker.jobs_failed == 1
    [error] = errors
    assert isinstance(error, WriteOutsideTransaction)
    assert await Region.all().values_list("code", flat=True) == ["P2"]


async def test_a_job_enqueued_inside_a_transaction_does_not_join_it(queue, errors) -> None:
    # Enqueue only after the commit is the rule (the outbox keeps it); still, a job enqueued with a transaction
    # open starts outside it: it commits its own work, and the enqueuer's rollback does not undo that.
    with pytest.raises(Rollback):
        async with transaction():
            await Region.create(code="OUTER", name="外", level=RegionLevel.PROVINCE)
            await jobs.enqueue(OWN, "P3")
            await asyncio.sleep(0.2)  # the job starts while this transaction is open
            raise Rollback
    await queue.drain()
    assert errors == []
    assert await Region.all().values_list("code", flat=True) == ["P3"]


async def test_a_job_enqueued_inside_a_transaction_is_guarded_all_the_same(queue, errors) -> None:
    with pytest.raises(Rollback):
        async with transaction():
            await jobs.enqueue(BARE, "P4")
            await asyncio.sleep(0.2)
            raise Rollback
    await queue.drain()
    [error] = errors
    assert isinstance(error, WriteOutsideTransaction)
    assert await Region.all().count() == 0
