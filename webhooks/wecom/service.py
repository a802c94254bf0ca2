"""WeCom callback receipts: stored once per distinct event, processed by a job that claims them.

WeCom delivers an event up to 4 times, possibly concurrently (WECOM.md, "Callbacks"). The receipt is
inserted under the unique (source, dedup_key) constraint; a repeat delivery loses the insert and only
bumps ``deliveries``, so only the first one enqueues processing, after its commit. The job claims the
receipt with a conditional update (pending → processing, with a lease) so a retry, a sweep and a replay
never run ``hub.wecom.callbacks.service.handle`` at the same time; ``handle`` is idempotent for the rest (a
worker can die after it ran and before the receipt was marked done). The lease is short and renewed
while ``handle`` runs (``hub.jobs.lease``), so a receipt whose worker died is taken back within seconds,
well inside the welcome code's 20.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from connectors.wecom.crypto import CallbackCrypto, CallbackRejected
from hub import clock, jobs
from hub.database import current_unit_of_work, transaction
from hub.errors import FieldError, HubError, NotFound
from hub.jobs.lease import lease_until, renewed
from hub.settings import Settings
from hub.wecom.callbacks import service as callbacks
from webhooks.models import ReceiptStatus, WebhookReceipt

log = logging.getLogger("webhooks.wecom")

SOURCE = "wecom"
PROCESS_JOB = "wecom_process_receipt"
MAX_ATTEMPTS = 5  # tries of handle() before a receipt is failed; also the job's max_tries
TRY_TIMEOUT_SECONDS = 30  # the job's timeout: a try makes a few WeCom calls of at most 5 s each
SWEEP_SECONDS = 5  # how often lapsed leases are taken back: a dead worker's receipt waits lease + this at most
# Still pending this long after arrival, a receipt has probably lost its job (the enqueue failed, the worker
# went away). Re-enqueueing one whose retry is merely waiting costs one skipped job, thanks to the claim.
STALE_AFTER = timedelta(seconds=30)

# Fields that tell two events apart. CreateTime is in whole seconds, so FromUserName + CreateTime alone
# (the platform's advice) would merge two customers added in the same second.
DEDUP_FIELDS = (
    "FromUserName", "CreateTime", "Event", "ChangeType", "UserID", "ExternalUserID",
    "ChatId", "UpdateDetail", "TagType", "Id", "MsgId",
)
MAX_KEY = 255  # the column's length


class CallbacksNotConfigured(HubError):
    status = 503
    slug = "wecom-callbacks-not-configured"
    title = "WeCom callbacks are not configured"


class CallbackRefused(HubError):
    """A callback that failed verification; the problem type ends with the check's reason."""

    title = "The WeCom callback was refused"
    STATUS_BY_REASON = {"too_large": 413, "bad_signature": 403}

    def __init__(self, rejected: CallbackRejected) -> None:
        message = f"{rejected.reason}: {rejected}"
        super().__init__(message, errors=[FieldError(field=rejected.field, message=message)])
        self.status = self.STATUS_BY_REASON.get(rejected.reason, 400)
        self.slug = f"wecom-callback/{rejected.reason}"


class ReceiptNotStored(HubError):
    status = 503
    slug = "receipt-not-stored"
    title = "The callback could not be stored; WeCom will retry it"


def callback_crypto(settings: Settings) -> CallbackCrypto:
    """The verifier for the configured app; 503 until HUB_WECOM_TOKEN, _AES_KEY and _CORP_ID are set."""
    if not (settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id):
        raise CallbacksNotConfigured("Set HUB_WECOM_TOKEN, HUB_WECOM_AES_KEY and HUB_WECOM_CORP_ID")
    return CallbackCrypto(
        settings.wecom_token.get_secret_value(),
        settings.wecom_aes_key.get_secret_value(),
        settings.wecom_corp_id,
        max_age_seconds=settings.wecom_callback_max_age_seconds,
    )


def dedup_key(fields: dict[str, str]) -> str:
    """The same event delivered again gives the same key; keys too long for the column are hashed."""
    key = "|".join(f"{name}={fields[name]}" for name in DEDUP_FIELDS if fields.get(name))
    if not key:  # nothing that identifies it: only a byte-identical payload is the same callback
        key = json.dumps(fields, sort_keys=True, ensure_ascii=False)
    if len(key) > MAX_KEY:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def kind(fields: dict[str, str]) -> str:
    """``Event/ChangeType`` for events (``change_external_contact/add_external_contact``), else MsgType."""
    event = fields.get("Event", "")
    if not event:
        return fields.get("MsgType", "")[:64]
    return "/".join(filter(None, [event, fields.get("ChangeType", "")]))[:64]


async def _enqueue(receipt_id: int, *, tried: int | None = None) -> None:
    """Enqueue processing under a job id per receipt, so duplicate enqueues collapse.

    The first job's id is the receipt's own. A sweep or a replay adds the receipt's try count: repeated
    sweeps then collapse onto the job already queued, while a receipt tried again gets an id for which arq
    keeps no result (it keeps finished jobs' ids for a minute and refuses to enqueue them again).
    """
    job_id = f"wecom-receipt:{receipt_id}" if tried is None else f"wecom-receipt:{receipt_id}:{tried}"
    await jobs.enqueue(PROCESS_JOB, receipt_id, job_id=job_id)


async def store_receipt(*, fields: dict[str, str]) -> tuple[WebhookReceipt, bool]:
    """Insert the receipt in the open transaction, or count one more delivery; True when it is new."""
    uow = current_unit_of_work()
    key = dedup_key(fields)
    try:
        # A savepoint: a delivery that loses the insert race must not abort the caller's transaction.
        async with in_transaction("default"):
            receipt = await WebhookReceipt.create(
                source=SOURCE, dedup_key=key, kind=kind(fields), payload=fields, received_at=clock.now()
            )
    except IntegrityError:
        await WebhookReceipt.filter(source=SOURCE, dedup_key=key).update(deliveries=F("deliveries") + 1)
        return await WebhookReceipt.get(source=SOURCE, dedup_key=key), False

    async def enqueue_processing() -> None:
        try:
            await _enqueue(receipt.id)
        except ConnectionError as exc:  # Redis away: the receipt is stored and the sweeper enqueues it
            log.warning("wecom receipt %s not enqueued (%s); the sweeper will", receipt.id, exc)

    uow.after_commit(enqueue_processing)
    return receipt, True


async def claim(*, receipt_id: int) -> WebhookReceipt | None:
    """Take a pending receipt for one try (pending → processing until the lease ends), or None.

    The claim is a short transaction of its own, committed before the try's work starts."""
    async with transaction():
        claimed = await WebhookReceipt.filter(id=receipt_id, status=ReceiptStatus.PENDING).update(
            status=ReceiptStatus.PROCESSING, lease_until=lease_until(), attempts=F("attempts") + 1
        )
    return await WebhookReceipt.get(id=receipt_id) if claimed else None


async def process_receipt(*, receipt_id: int) -> str:
    """One try at a receipt; raises after a failed try (pending again, or failed after the last one)."""
    receipt = await claim(receipt_id=receipt_id)
    if receipt is None:
        return "skipped"  # done, failed, or held by another job
    # The attempt count fences the update: a sweeper that took back an expired lease moved it on.
    def mine(*statuses: ReceiptStatus):
        return WebhookReceipt.filter(id=receipt_id, attempts=receipt.attempts,
                                     status__in=statuses or [ReceiptStatus.PROCESSING])

    async def renew() -> int:
        async with transaction():
            return await mine().update(lease_until=lease_until())

    try:
        async with renewed(renew, what=f"wecom receipt {receipt_id}"):
            outcome = await callbacks.handle(receipt.payload, receipt_id=receipt_id)  # opens its own transactions
    except Exception as exc:
        last = receipt.attempts >= MAX_ATTEMPTS
        async with transaction():
            await mine().update(
                status=ReceiptStatus.FAILED if last else ReceiptStatus.PENDING,
                lease_until=None,
                outcome=f"error: {type(exc).__name__}: {exc}"[:255],
            )
        log.log(
            logging.ERROR if last else logging.WARNING, "wecom receipt %s (%s) try %d failed%s: %r",
            receipt_id, receipt.kind, receipt.attempts, " for good" if last else "", exc,
        )
        raise
    # Done also when the lease lapsed meanwhile but no other try claimed the receipt: no second run.
    async with transaction():
        await mine(ReceiptStatus.PROCESSING, ReceiptStatus.PENDING).update(
            status=ReceiptStatus.DONE, lease_until=None, processed_at=clock.now(), outcome=outcome[:255]
        )
    return outcome


async def sweep(*, stale_after: timedelta = STALE_AFTER) -> int:
    """Take back lapsed leases and enqueue those receipts at once; re-enqueue receipts pending longer
    than ``stale_after`` (their job was probably lost). Returns how many were enqueued."""
    now = clock.now()
    expired = WebhookReceipt.filter(source=SOURCE, status=ReceiptStatus.PROCESSING, lease_until__lt=now)
    taken_back: dict[int, int] = {}
    async with transaction():  # the take-back commits before anything is enqueued
        # A try that never finished (timed out, worker killed) leaves no error behind: count it all the same,
        # or a receipt that always times out would be taken back forever.
        await expired.filter(attempts__gte=MAX_ATTEMPTS).update(
            status=ReceiptStatus.FAILED, lease_until=None,
            outcome="error: the last try did not finish (lease expired)",
        )
        for receipt_id, attempts in await expired.values_list("id", "attempts"):
            # Conditional again: a try that renewed its lease or finished meanwhile keeps its receipt.
            if await WebhookReceipt.filter(id=receipt_id, status=ReceiptStatus.PROCESSING, attempts=attempts,
                                           lease_until__lt=now).update(status=ReceiptStatus.PENDING,
                                                                       lease_until=None):
                taken_back[receipt_id] = attempts
    if taken_back:
        log.warning("wecom receipt sweeper took back %d receipts whose lease lapsed", len(taken_back))
    stale = await WebhookReceipt.filter(
        source=SOURCE, status=ReceiptStatus.PENDING, received_at__lt=now - stale_after
    ).order_by("id").limit(1000).values_list("id", "attempts")
    due = taken_back | dict(stale)
    for receipt_id, attempts in due.items():
        await _enqueue(receipt_id, tried=attempts)
    if due:
        log.warning("wecom receipt sweeper re-enqueued %d receipts", len(due))
    return len(due)


async def replay(*, receipt_id: int | None = None) -> list[int]:
    """Put failed receipts (one, or all) back to pending with fresh tries; enqueued after the commit.

    A done receipt may be replayed by id too (``handle`` is idempotent), e.g. after fixing a handler.
    """
    uow = current_unit_of_work()
    replayable = [ReceiptStatus.FAILED] + ([ReceiptStatus.DONE] if receipt_id is not None else [])
    query = WebhookReceipt.filter(source=SOURCE, status__in=replayable)
    if receipt_id is not None:
        query = query.filter(id=receipt_id)
    ids = cast(list[int], await query.order_by("id").values_list("id", flat=True))
    if receipt_id is not None and not ids:
        raise NotFound(f"No failed or done WeCom receipt {receipt_id}")
    await WebhookReceipt.filter(id__in=ids, status__in=replayable).update(
        status=ReceiptStatus.PENDING, attempts=0, lease_until=None
    )

    async def enqueue_all() -> None:
        for replayed in ids:
            await _enqueue(replayed, tried=0)

    uow.after_commit(enqueue_all)
    return ids
