"""Batches made by job, with their state and images in the database, so the API process and any worker
(separate containers with nothing shared but PostgreSQL and Redis) see the same batch.

Where the ZIP lives: each code's QR and card PNGs are stored in its ``CodeBatchItem`` row once drawn, and
the download streams a ZIP built from those rows, one row in memory at a time. Drawing is the expensive
part (about 60 ms of CPU a code: ten minutes for a province's 10,000), so it happens once, in workers,
split in chunks that run in parallel; the download only copies bytes. One ZIP blob would instead hold a
province's few hundred megabytes in memory on both sides (and near PostgreSQL's 1 GB bytea limit);
drawing on download would put those ten CPU minutes into the API process at every download.

Reliability is the outbox's: starting a batch writes its row and a ``prepare`` message in the request's
transaction; ``prepare`` makes the codes and the item rows and publishes one ``render`` message per
``CHUNK`` items in one transaction; each ``render`` draws its missing items. A worker that dies leaves its
message to the outbox sweeper, a redelivery finds its work done, and a message that runs out of attempts
marks the batch failed until ``hub outbox replay`` runs it again. Reads never enqueue anything.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, cast

from tortoise.expressions import F

from hub import clock
from hub.codes.batches import archive
from hub.codes.batches.items import BatchItem, Per, scope_stores
from hub.codes.batches.items import prepare as prepare_items
from hub.codes.batches.models import CodeBatch, CodeBatchItem
from hub.codes.models import BatchStatus
from hub.database import transaction
from hub.errors import Conflict, NotFound
from hub.outbox.models import OutboxMessage, OutboxStatus
from hub.outbox.service import publish

log = logging.getLogger("hub.codes.batch_runs")  # the name the logs have carried (the module was batch_runs)

PREPARE_TOPIC = "codes.batch_prepare"
RENDER_TOPIC = "codes.batch_render"
CHUNK = 50  # codes drawn per message: a few seconds, well inside the outbox's five-minute lease
KEEP = timedelta(days=7)  # finished batches are downloaded within days; the codes themselves stay
READ_PAGE = 20  # item rows read at a time while streaming a download


class BatchNotFound(NotFound):
    title = "Batch not found"


class BatchNotReady(Conflict):
    title = "The batch is not finished"


class _AlreadyPrepared(Exception):
    """A concurrent delivery prepared the batch first: roll this one back."""


async def start(*, per: Per, store_id: int | None, region_id: int | None, created_by_id: int | None,
                total: int) -> CodeBatch:
    """Write the batch and its first message (run inside ``transaction()``: both or neither)."""
    row = await CodeBatch.create(id=uuid.uuid4().hex, per=per, store_id=store_id, region_id=region_id,
                                 created_by_id=created_by_id, total=total)
    await publish(PREPARE_TOPIC, {"batch_id": row.id}, dedup_key=f"codes-batch:{row.id}:prepare")
    return row


async def get_batch(batch_id: str) -> CodeBatch:
    row = await CodeBatch.get_or_none(id=batch_id)
    if row is None:
        raise BatchNotFound(f"No batch {batch_id}")
    return row


async def prepare(message: OutboxMessage) -> None:
    """Make (or find) the batch's codes, its item rows and its render messages, all in one transaction."""
    batch_id = message.payload["batch_id"]
    async with _failure_recorded(message, batch_id, "making the codes"):
        if not await CodeBatchItem.exists(batch_id=batch_id):  # a replay after it gave up: try again
            async with transaction():
                await CodeBatch.filter(id=batch_id, status=BatchStatus.FAILED).update(
                    status=BatchStatus.QUEUED, error="", updated_at=clock.now())
        row = await CodeBatch.get_or_none(id=batch_id)
        if row is None or row.status != BatchStatus.QUEUED:
            return  # pruned, or prepared by an earlier delivery
        stores = await scope_stores(store_id=row.store_id, region_id=row.region_id)
        try:
            async with transaction():
                prepared = await prepare_items(per=row.per, stores=stores, created_by_id=row.created_by_id)
                await CodeBatchItem.bulk_create(
                    [CodeBatchItem(batch_id=batch_id, seq=seq, item=asdict(item))
                     for seq, item in enumerate(prepared.items)], batch_size=500)
                total = len(prepared.items)
                for start_at in range(0, total, CHUNK):
                    await publish(RENDER_TOPIC, {"batch_id": batch_id, "start": start_at,
                                                 "stop": min(start_at + CHUNK, total)},
                                  dedup_key=f"codes-batch:{batch_id}:render:{start_at // CHUNK}")
                moved = await CodeBatch.filter(id=batch_id, status=BatchStatus.QUEUED).update(
                    status=BatchStatus.RUNNING if total else BatchStatus.DONE, total=total, done=0,
                    created=prepared.created, reused=prepared.reused, skipped_inactive=prepared.skipped_inactive,
                    finished_at=None if total else clock.now(), updated_at=clock.now())
                if not moved:
                    raise _AlreadyPrepared
        except _AlreadyPrepared:
            return


async def render(message: OutboxMessage) -> None:
    """Draw the chunk's items not drawn yet (a redelivery draws only what is missing), outside any
    transaction (on SQLite one would hold the process's only connection); store them in a short one."""
    batch_id, start_at, stop = message.payload["batch_id"], message.payload["start"], message.payload["stop"]
    async with _failure_recorded(message, batch_id, f"drawing codes {start_at + 1} to {stop}"):
        dead = await OutboxMessage.filter(dedup_key__startswith=f"codes-batch:{batch_id}:render:",
                                          status=OutboxStatus.DEAD).exists()
        if not dead:  # a replay after it gave up, and no other chunk still dead: running again
            async with transaction():
                await CodeBatch.filter(id=batch_id, status=BatchStatus.FAILED).update(
                    status=BatchStatus.RUNNING, error="", updated_at=clock.now())
        rows = await CodeBatchItem.filter(batch_id=batch_id, seq__gte=start_at, seq__lt=stop,
                                          qr_png__isnull=True).order_by("seq").values_list("id", "item")
        drawn = [(qr_png, card_png) async for _, qr_png, card_png
                 in archive.rendered_files([BatchItem(**item) for _, item in rows])]
        async with transaction():
            stored = 0
            for (item_id, _), (qr_png, card_png) in zip(rows, drawn, strict=True):
                stored += await CodeBatchItem.filter(id=item_id, qr_png__isnull=True).update(
                    qr_png=qr_png, card_png=card_png)
            if stored:
                await CodeBatch.filter(id=batch_id).update(done=F("done") + stored, updated_at=clock.now())
        row = await CodeBatch.get_or_none(id=batch_id)  # read after the commit: the last chunk sees every count
        if row is not None and row.done >= row.total:
            async with transaction():
                await CodeBatch.filter(id=batch_id, status=BatchStatus.RUNNING).update(
                    status=BatchStatus.DONE, finished_at=clock.now(), updated_at=clock.now())


@asynccontextmanager
async def _failure_recorded(message: OutboxMessage, batch_id: str, step: str) -> AsyncIterator[None]:
    """Note a failed try on the batch; the last of the message's attempts marks it failed. Re-raises, so
    the outbox's retry rule takes it from there."""
    try:
        yield
    except Exception:
        tries, most = message.attempts, message.max_attempts
        final = tries >= most
        error = f"{step}: try {tries} of {most} failed" + (
            "; `hub outbox replay` runs it again" if final else "; retrying")
        log.warning("code batch %s: %s", batch_id, error)
        async with transaction():  # the try's own transaction, if any, has rolled back by now
            await CodeBatch.filter(id=batch_id, status__in=[BatchStatus.QUEUED, BatchStatus.RUNNING]).update(
                error=error[:500], updated_at=clock.now(), **({"status": BatchStatus.FAILED} if final else {}))
        raise


async def manifest(batch_id: str) -> bytes:
    rows = cast(list[dict[str, Any]], await CodeBatchItem.filter(batch_id=batch_id).order_by("seq").values_list(
        "item", flat=True))
    return archive.manifest_csv([BatchItem(**item) for item in rows])


async def stored_files(batch_id: str) -> AsyncIterator[tuple[str, bytes]]:
    """The batch's PNGs in manifest order, read a page of rows at a time (by seq: keyset, not OFFSET)."""
    after = -1
    while True:
        page = await CodeBatchItem.filter(batch_id=batch_id, seq__gt=after).order_by("seq").limit(READ_PAGE) \
            .values_list("seq", "item", "qr_png", "card_png")
        for seq, item, qr_png, card_png in page:
            yield item["qr_file"], bytes(qr_png)
            yield item["card_file"], bytes(card_png)
            after = seq
        if len(page) < READ_PAGE:
            return


async def download(row: CodeBatch) -> AsyncIterator[bytes]:
    """The finished batch's ZIP as a stream; a 409 while it is not finished."""
    if row.status != BatchStatus.DONE:
        raise BatchNotReady(f"Batch {row.id} is {row.status.value} ({row.done}/{row.total})")
    return archive.zip_stream(await manifest(row.id), stored_files(row.id))


async def prune(*, now: datetime | None = None) -> int:
    """Delete batches untouched for ``KEEP`` with their images; returns how many."""
    old = await CodeBatch.filter(updated_at__lt=(now or clock.now()) - KEEP).values_list("id", flat=True)
    if old:
        async with transaction():
            await CodeBatchItem.filter(batch_id__in=old).delete()
            await CodeBatch.filter(id__in=old).delete()
    return len(old)
