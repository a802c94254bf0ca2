"""Batch jobs: the outbox handlers that make a batch's codes and draw its images, and the hourly clean-up
of old batches. Both handlers are idempotent: a redelivery finds its work done (see ``service``)."""

from __future__ import annotations

from hub.codes.batches import service as batches
from hub.jobs import periodic
from hub.outbox.models import OutboxMessage
from hub.outbox.service import handler


@handler(batches.PREPARE_TOPIC)
async def codes_batch_prepare(message: OutboxMessage) -> None:
    await batches.prepare(message)


@handler(batches.RENDER_TOPIC)
async def codes_batch_render(message: OutboxMessage) -> None:
    await batches.render(message)


@periodic(every_seconds=3600)
async def codes_batch_prune(ctx: dict) -> int:
    """Delete batches (and their images) untouched for a week."""
    return await batches.prune()
