"""Batches on the outbox: lost jobs and dead workers are recovered by the sweeper, redeliveries change
nothing, a step that keeps failing marks the batch failed until replayed, old batches are pruned, and an
arq worker runs what the API started."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from hub import jobs
from hub.auth.models import Role
from hub.codes.batches import service as batches
from hub.codes.batches.models import CodeBatch, CodeBatchItem
from hub.codes.models import BatchStatus, Code
from hub.database import transaction
from hub.outbox import service as outbox
from hub.outbox.models import OutboxMessage, OutboxStatus
from tests.factories import make_key
from tests.hub.test_codes_batch import checked_rows, city_with_stores, start
from tests.workers import run_worker_until_idle


@contextmanager
def no_queue():
    """As if every enqueue were lost (Redis restarted, no worker): messages stay waiting in the outbox, and
    anything that tried to enqueue would fail loudly instead."""
    previous = jobs._queue
    jobs.set_queue(None)
    try:
        yield
    finally:
        jobs.set_queue(previous)


async def messages(topic: str) -> list[OutboxMessage]:
    return await OutboxMessage.filter(topic=topic).order_by("id")


async def zip_of(client, headers, batch_id: str) -> bytes:
    response = await client.get(f"/api/v1/codes/batches/{batch_id}/download", headers=headers)
    assert response.status_code == 200, response.text
    return response.content


class TestRecovery:
    async def test_reads_never_enqueue_and_the_sweeper_finishes_a_batch_whose_jobs_were_lost(self, client, queue):
        city, *_ = await city_with_stores()
        ops = await make_key(role=Role.OPS)
        with no_queue():
            started = await start(client, ops, {"per": "staff", "region_id": city.id})
            assert started.status_code == 202, started.text
            batch_id = started.json()["id"]
            status = await client.get(f"/api/v1/codes/batches/{batch_id}", headers=ops)  # would fail to enqueue
            assert status.status_code == 200 and status.json()["status"] == "queued"
            late = await client.get(f"/api/v1/codes/batches/{batch_id}/download", headers=ops)
            assert late.status_code == 409 and late.json()["type"] == "/problems/conflict"
            [prepare] = await messages(batches.PREPARE_TOPIC)
            assert await outbox.deliver(prepare.id) == "delivered"  # its render message's enqueue is lost too
        [render] = await messages(batches.RENDER_TOPIC)
        # A worker claimed the render message and died: its lease ran out.
        await OutboxMessage.filter(id=render.id).update(status=OutboxStatus.IN_FLIGHT,
                                                        lease_until=datetime.now(UTC) - timedelta(seconds=1))
        assert (await CodeBatch.get(id=batch_id)).status == BatchStatus.RUNNING
        assert await outbox.sweep(stale_after=timedelta(0)) == 1
        await queue.drain(timeout=60)
        row = await CodeBatch.get(id=batch_id)
        assert (row.status, row.done, row.total, row.created) == (BatchStatus.DONE, 3, 3, 3)
        assert len(await checked_rows(await zip_of(client, ops, batch_id))) == 3

    async def test_a_batch_in_several_chunks_counts_each_once_whatever_is_redelivered(self, client, queue,
                                                                                      monkeypatch):
        monkeypatch.setattr(batches, "CHUNK", 2)  # three codes: two render messages
        city, *_ = await city_with_stores()
        ops = await make_key(role=Role.OPS)
        batch_id = (await start(client, ops, {"per": "staff", "region_id": city.id})).json()["id"]
        await queue.drain(timeout=60)
        assert len(await messages(batches.RENDER_TOPIC)) == 2
        first = await zip_of(client, ops, batch_id)
        # Every message delivered again, as after a worker that died before marking them delivered.
        await OutboxMessage.all().update(status=OutboxStatus.PENDING)
        for message in await OutboxMessage.all().order_by("id"):
            assert await outbox.deliver(message.id) == "delivered"
        row = await CodeBatch.get(id=batch_id)
        assert (row.status, row.done, row.total, row.created, row.reused) == (BatchStatus.DONE, 3, 3, 3, 0)
        assert await Code.all().count() == 3 and await CodeBatchItem.filter(batch_id=batch_id).count() == 3
        assert await zip_of(client, ops, batch_id) == first


class TestFailure:
    async def test_a_step_that_keeps_failing_marks_the_batch_failed_until_it_is_replayed(self, client, queue,
                                                                                          monkeypatch):
        monkeypatch.setattr(batches, "CHUNK", 1)  # two codes: two render messages
        _, (store_a, *_), *_ = await city_with_stores()
        ops = await make_key(role=Role.OPS)
        with no_queue():
            batch_id = (await start(client, ops, {"per": "product", "store_id": store_a.id})).json()["id"]
            [prepare] = await messages(batches.PREPARE_TOPIC)
            await outbox.deliver(prepare.id)
            # A code whose QR cannot be drawn: its address is too long for any QR version.
            item = await CodeBatchItem.get(batch_id=batch_id, seq=0)
            good_url = item.item["qr_url"]
            await CodeBatchItem.filter(id=item.id).update(item={**item.item, "qr_url": good_url + "x" * 8000})
            broken, healthy = await messages(batches.RENDER_TOPIC)
            for _ in range(broken.max_attempts - 1):
                try:
                    await outbox.deliver(broken.id)
                except ValueError:
                    pass
                else:
                    raise AssertionError("drawing the broken code should fail")
            row = await CodeBatch.get(id=batch_id)
            assert (row.status, row.error) == (BatchStatus.RUNNING, "drawing codes 1 to 1: try 4 of 5 failed; retrying")
            assert await outbox.deliver(broken.id) == "dead"
            assert await outbox.deliver(healthy.id) == "delivered"  # the other chunk does not hide the dead one
        status = (await client.get(f"/api/v1/codes/batches/{batch_id}", headers=ops)).json()
        assert (status["status"], status["download_url"], status["done"]) == ("failed", None, 1)
        assert status["error"] == "drawing codes 1 to 1: try 5 of 5 failed; `hub outbox replay` runs it again"
        assert (await client.get(f"/api/v1/codes/batches/{batch_id}/download", headers=ops)).status_code == 409

        await CodeBatchItem.filter(id=item.id).update(item={**item.item, "qr_url": good_url})  # fixed
        async with transaction():
            assert await outbox.replay(topic=batches.RENDER_TOPIC) == [broken.id]
        await queue.drain(timeout=60)
        row = await CodeBatch.get(id=batch_id)
        assert (row.status, row.error, row.done, row.total) == (BatchStatus.DONE, "", 2, 2)
        assert len(await checked_rows(await zip_of(client, ops, batch_id))) == 2
        assert await Code.all().count() == 2  # made once, by the one prepare


class TestPrune:
    async def test_batches_untouched_for_a_week_are_deleted_with_their_images(self, client, queue):
        _, (store_a, store_b, _), *_ = await city_with_stores()
        ops = await make_key(role=Role.OPS)
        old = (await start(client, ops, {"per": "staff", "store_id": store_a.id})).json()["id"]
        new = (await start(client, ops, {"per": "staff", "store_id": store_b.id})).json()["id"]
        await queue.drain(timeout=60)
        await CodeBatch.filter(id=old).update(updated_at=datetime.now(UTC) - batches.KEEP - timedelta(1))
        assert await batches.prune() == 1
        assert await CodeBatch.all().values_list("id", flat=True) == [new]
        assert set(await CodeBatchItem.all().values_list("batch_id", flat=True)) == {new}
        assert await Code.all().count() == 3  # the codes themselves stay: they are printed
        assert (await client.get(f"/api/v1/codes/batches/{old}", headers=ops)).status_code == 404


class TestBatchOnArq:
    async def test_an_arq_worker_runs_the_batch_the_api_started(self, client, arq_queue):
        _, (store_a, *_), *_ = await city_with_stores()
        ops = await make_key(role=Role.OPS)
        started = await start(client, ops, {"per": "product", "store_id": store_a.id})
        assert started.status_code == 202, started.text
        row = await CodeBatch.get(id=started.json()["id"])
        assert row.status == BatchStatus.QUEUED  # on Redis, not run in-process
        worker = await run_worker_until_idle(arq_queue)
        assert worker.jobs_failed == 0
        status = (await client.get(started.json()["status_url"], headers=ops)).json()
        assert (status["status"], status["done"], status["total"]) == ("done", 2, 2)
        assert len(await checked_rows(await zip_of(client, ops, row.id))) == 2

    async def test_the_arq_sweeper_recovers_a_prepare_job_redis_lost(self, client, arq_queue, redis_url):
        from redis.asyncio import Redis

        _, (store_a, *_), *_ = await city_with_stores()
        ops = await make_key(role=Role.OPS)
        batch_id = (await start(client, ops, {"per": "store", "store_id": store_a.id})).json()["id"]
        redis = Redis.from_url(redis_url)
        try:
            await redis.flushdb()  # Redis restarted without its data: the job is gone
        finally:
            await redis.aclose()
        await run_worker_until_idle(arq_queue)  # finds nothing to do
        assert (await CodeBatch.get(id=batch_id)).status == BatchStatus.QUEUED
        assert await outbox.sweep(stale_after=timedelta(0)) == 1
        await run_worker_until_idle(arq_queue)
        assert (await CodeBatch.get(id=batch_id)).status == BatchStatus.DONE
        assert len(await checked_rows(await zip_of(client, ops, batch_id))) == 1

