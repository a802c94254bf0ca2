"""Publishing to the outbox and delivering its messages.

``publish`` writes the message in the caller's transaction and enqueues its delivery only after that
transaction commits. ``deliver`` claims a message with a conditional update, so two jobs for the same
message (a retry and a sweep, say) never both run its handler; handlers must still be idempotent,
because a worker can die after the handler ran and before the message was marked delivered. The claim
is a short lease renewed while the handler runs (``hub.jobs.lease``): a dead worker's message is swept
back within seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, cast

from tortoise.expressions import F
from tortoise.functions import Count

from hub import clock, jobs
from hub.database import current_unit_of_work, transaction
from hub.errors import NotFound
from hub.jobs.lease import lease_until, renewed
from hub.jobs.registry import backoff_seconds
from hub.metrics import OUTBOX_DEAD, OUTBOX_DEPTH, OUTBOX_OLDEST_AGE
from hub.outbox.models import OutboxMessage, OutboxStatus
from hub.settings import get_settings

log = logging.getLogger("hub.outbox")

Handler = Callable[[OutboxMessage], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}
DELIVER_JOB = "outbox_deliver"


class UnknownTopic(Exception):
    pass


def handler(topic: str):
    """Register the function that delivers messages of ``topic``."""

    def register(func: Handler) -> Handler:
        HANDLERS[topic] = func
        return func

    return register


async def publish(
    topic: str, payload: dict[str, Any], *, dedup_key: str | None = None, max_attempts: int | None = None
) -> OutboxMessage:
    """Write a message in the open transaction; a repeated ``dedup_key`` returns the first message."""
    uow = current_unit_of_work()
    if dedup_key is not None:
        existing = await OutboxMessage.get_or_none(dedup_key=dedup_key)
        if existing is not None:
            return existing
    message = await OutboxMessage.create(
        topic=topic,
        payload=payload,
        dedup_key=dedup_key,
        max_attempts=max_attempts or get_settings().outbox_max_attempts,
        next_attempt_at=clock.now(),
    )

    async def enqueue_delivery() -> None:
        try:
            await jobs.enqueue(DELIVER_JOB, message.id)
        except ConnectionError as exc:  # Redis away: the row is committed and the sweeper enqueues it later
            log.warning("outbox message %s not enqueued (%s); the sweeper will", message.id, exc)

    uow.after_commit(enqueue_delivery)
    return message


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=backoff_seconds(attempts))


async def deliver(message_id: int) -> str:
    """Deliver one message; returns what happened. Raises after a failed try that will be retried."""
    now = clock.now()
    # Each write of a try is a short transaction of its own: none is held across the handler (which opens
    # its own, and on SQLite a transaction holds the process's only connection).
    async with transaction():
        claimed = await OutboxMessage.filter(id=message_id, status=OutboxStatus.PENDING).update(
            status=OutboxStatus.IN_FLIGHT, lease_until=lease_until(), attempts=F("attempts") + 1
        )
    if not claimed:
        return "skipped"
    message = await OutboxMessage.get(id=message_id)

    def mine(*statuses: OutboxStatus):
        # The attempt count fences this try's writes: once the sweeper took its lease back and another job
        # claimed the message (one attempt more), nothing this try writes lands.
        return OutboxMessage.filter(id=message_id, attempts=message.attempts,
                                    status__in=statuses or [OutboxStatus.IN_FLIGHT])

    async def renew() -> int:
        async with transaction():
            return await mine().update(lease_until=lease_until())

    try:
        func = HANDLERS.get(message.topic)
        if func is None:
            raise UnknownTopic(f"no handler for topic {message.topic!r}")
        async with renewed(renew, what=f"outbox message {message_id}"):
            await func(message)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if message.attempts >= message.max_attempts:
            async with transaction():
                await mine().update(status=OutboxStatus.DEAD, last_error=error, lease_until=None)
            OUTBOX_DEAD.labels(message.topic).inc()
            log.error("outbox message %s (%s) is dead after %d attempts: %s",
                      message_id, message.topic, message.attempts, error)
            return "dead"
        async with transaction():
            await mine().update(
                status=OutboxStatus.PENDING, last_error=error, lease_until=None,
                next_attempt_at=now + _backoff(message.attempts),
            )
        raise
    # Delivered also when the lease lapsed meanwhile but nobody claimed the message again: no second delivery.
    async with transaction():
        await mine(OutboxStatus.IN_FLIGHT, OutboxStatus.PENDING).update(
            status=OutboxStatus.DELIVERED, delivered_at=clock.now(), lease_until=None
        )
    return "delivered"


async def sweep(*, stale_after: timedelta) -> int:
    """Re-enqueue messages whose job vanished: lapsed leases at once, pending rows overdue by ``stale_after``.

    A lease lapses only when its worker stopped renewing it (died, or lost the database), so the message
    goes back to pending and is enqueued now; a pending row may just be waiting for its job, hence the grace.
    """
    now = clock.now()
    lapsed = OutboxMessage.filter(status=OutboxStatus.IN_FLIGHT, lease_until__lt=now)
    dead: list[tuple[int, str]] = []
    async with transaction():  # the take-back commits before anything is enqueued
        # A message whose every attempt dies with its worker would be taken back for ever: its last attempt
        # counts.
        hopeless = await lapsed.filter(attempts__gte=F("max_attempts")).values_list("id", "topic")
        for message_id, topic in hopeless:
            if await lapsed.filter(id=message_id).update(
                status=OutboxStatus.DEAD, lease_until=None,
                last_error="the last attempt did not finish (its lease lapsed)",
            ):
                dead.append((message_id, topic))
        expired = await lapsed.values_list("id", flat=True)
        if expired:
            await OutboxMessage.filter(id__in=expired, status=OutboxStatus.IN_FLIGHT, lease_until__lt=now).update(
                status=OutboxStatus.PENDING, lease_until=None,
                next_attempt_at=now - stale_after - timedelta(seconds=1),
            )
    for message_id, topic in dead:
        OUTBOX_DEAD.labels(topic).inc()
        log.error("outbox message %s (%s) is dead: its last attempt did not finish", message_id, topic)
    if expired:
        log.warning("outbox sweeper took back %d messages whose lease lapsed: %s", len(expired), list(expired)[:20])
    overdue = await OutboxMessage.filter(
        status=OutboxStatus.PENDING, next_attempt_at__lt=now - stale_after
    ).order_by("id").limit(1000).values_list("id", "attempts")
    for message_id, attempts in overdue:
        # The job id keeps repeated sweeps from piling up jobs for a message still waiting in the queue.
        await jobs.enqueue(DELIVER_JOB, message_id, job_id=f"outbox-sweep:{message_id}:{attempts}")
    if overdue:
        log.warning("outbox sweeper re-enqueued %d overdue messages", len(overdue))
    return len(overdue)


async def replay(*, message_id: int | None = None, topic: str | None = None) -> list[int]:
    """Give dead messages a fresh set of attempts and enqueue them once the transaction commits."""
    uow = current_unit_of_work()
    query = OutboxMessage.filter(status=OutboxStatus.DEAD)
    if message_id is not None:
        if not await OutboxMessage.exists(id=message_id, status=OutboxStatus.DEAD):
            raise NotFound(f"No dead outbox message {message_id}")
        query = query.filter(id=message_id)
    if topic is not None:
        query = query.filter(topic=topic)
    ids = cast(list[int], await query.order_by("id").values_list("id", flat=True))
    if ids:
        await OutboxMessage.filter(id__in=ids, status=OutboxStatus.DEAD).update(
            status=OutboxStatus.PENDING, attempts=0, next_attempt_at=clock.now(), last_error=None
        )

        async def enqueue_all() -> None:
            for replayed_id in ids:
                await jobs.enqueue(DELIVER_JOB, replayed_id)

        uow.after_commit(enqueue_all)
    return list(ids)


async def refresh_gauges() -> dict[str, int]:
    """Update the depth and age gauges from the table; called when /metrics is scraped."""
    counts = dict.fromkeys([s.value for s in OutboxStatus], 0)
    for row in await OutboxMessage.all().group_by("status").annotate(n=Count("id")).values("status", "n"):
        counts[str(row["status"])] = row["n"]
    for status, n in counts.items():
        OUTBOX_DEPTH.labels(status).set(n)
    oldest = await OutboxMessage.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT]).order_by(
        "id"
    ).first().values("created_at")
    age = (clock.now() - oldest["created_at"]).total_seconds() if oldest else 0
    OUTBOX_OLDEST_AGE.set(max(age, 0))
    return counts
