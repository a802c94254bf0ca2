"""Issuing a batch's coupons to a list of customers by job: what an offer of the strategy engine (or an ops
campaign) does when it gives coupons rather than only news of them.

A run is stored with its list split into outbox messages of ``CHUNK`` customers, written in the request's
transaction, so no customer is lost however the workers fare. Each customer is issued in a transaction of
its own (``coupons.issues.issue``, the same stock, daily cap and per-person limit as any claim) together
with their ``CouponIssueResult`` row; a refusal (limit reached, out of stock, unknown customer) is a result
row too. A redelivered chunk finds its customers' rows and does nothing twice, so the run's summary is a
plain count of its rows. Issued coupons wait as ``issued`` until the customer claims them from the link the
offer's message carries (``hub.links.coupon_links.coupon_page_url``).
"""

from __future__ import annotations

import hashlib
import json
import re

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count

from coupons.batches.service import ACTIVE, BatchWrongStatus, get_batch
from coupons.issue_runs.models import CouponIssueResult, CouponIssueRun, IssueRunStatus
from coupons.issues import service as issues
from coupons.ledger import Actor
from hub import clock
from hub.database import transaction
from hub.errors import Conflict, HubError, NotFound
from hub.outbox.models import OutboxMessage
from hub.outbox.service import handler, publish

TOPIC = "coupons.issue_run_chunk"
CHUNK = 200
MAX_CUSTOMERS = 10_000  # one run; the engine splits a larger audience into several offers' runs
ISSUED = "issued"
_WORD = re.compile(r"(?<!^)(?=[A-Z])")  # CustomerNotFound -> Customer_Not_Found


class IssueRunNotFound(NotFound):
    title = "Issue run not found"


class OfferRefTaken(Conflict):
    title = "This offer_ref already started a run with another list"


async def start(*, batch_id: int, offer_ref: str, channel: str, customer_ids: list[int], created_by_id: int,
                actor_role: str) -> tuple[CouponIssueRun, bool]:
    """The run of (batch, offer_ref), made with its chunks if new; ``(run, created)``. A repeated offer
    answers the first run; the same offer_ref asked for another channel or customer list is refused
    (``OfferRefTaken``), not answered with a run that does something else."""
    unique = list(dict.fromkeys(customer_ids))
    asked = _request_hash(channel, unique)
    existing = await CouponIssueRun.get_or_none(batch_id=batch_id, offer_ref=offer_ref)
    if existing is not None:
        if existing.request_hash and existing.request_hash != asked:
            raise OfferRefTaken(f"offer_ref {offer_ref} already started issue run {existing.id} with another "
                                f"channel or customer list; send a new offer_ref for a new list")
        return existing, False
    batch = await get_batch(batch_id=batch_id)
    if batch.status != ACTIVE:
        raise BatchWrongStatus(f"Coupon batch {batch_id} is {batch.status.value}; only an active batch issues")
    run = await CouponIssueRun.create(batch_id=batch_id, offer_ref=offer_ref, channel=channel, total=len(unique),
                                      request_hash=asked, created_by_id=created_by_id)
    for index in range(0, len(unique), CHUNK):
        await publish(TOPIC, {"run_id": run.id, "customer_ids": unique[index:index + CHUNK],
                              "actor_key_id": created_by_id, "actor_role": actor_role},
                      dedup_key=f"issue-run:{run.id}:{index // CHUNK}")
    if not unique:
        await CouponIssueRun.filter(id=run.id).update(status=IssueRunStatus.DONE, finished_at=clock.now())
        await run.refresh_from_db()
    return run, True


def _request_hash(channel: str, customer_ids: list[int]) -> str:
    """The same customers in any order, with repeats, are the same list."""
    return hashlib.sha256(json.dumps([channel, sorted(customer_ids)]).encode()).hexdigest()


def outcome_code(refusal: HubError) -> str:
    """A refusal's outcome as a stable code a program can branch on (``customer_not_found``,
    ``per_customer_limit_reached``), from its error class; the detail is for people."""
    return _WORD.sub("_", type(refusal).__name__).lower()


async def get_run(*, run_id: int) -> CouponIssueRun:
    run = await CouponIssueRun.get_or_none(id=run_id)
    if run is None:
        raise IssueRunNotFound(f"No issue run {run_id}")
    return run


async def outcomes(*, run_id: int) -> dict[str, int]:
    """How many customers each outcome had so far: ``issued`` or the refusal's code (``outcome_code``)."""
    rows = await CouponIssueResult.filter(run_id=run_id).annotate(n=Count("id")).group_by("outcome").values(
        "outcome", "n")
    return {row["outcome"]: row["n"] for row in rows}


@handler(TOPIC)
async def issue_chunk(message: OutboxMessage) -> None:
    """Issue one chunk; customers already done (a redelivery) are skipped. Raises only on a fault worth
    a retry (the database), never on a customer's refusal."""
    payload = message.payload
    run = await get_run(run_id=payload["run_id"])
    actor = Actor(key_id=payload["actor_key_id"], role=payload["actor_role"])
    done = set(await CouponIssueResult.filter(run_id=run.id, customer_id__in=payload["customer_ids"])
               .values_list("customer_id", flat=True))
    for customer_id in payload["customer_ids"]:
        if customer_id not in done:
            await _issue_one(run, customer_id, actor)
    await _finish_if_complete(run)


async def _issue_one(run: CouponIssueRun, customer_id: int, actor: Actor) -> None:
    try:
        async with transaction():
            issued = await issues.issue(batch_id=run.batch_id, customer_id=customer_id, channel=run.channel,
                                        request_id=f"issue-run:{run.id}:{customer_id}", actor=actor)
            await CouponIssueResult.create(run_id=run.id, customer_id=customer_id, outcome=ISSUED,
                                           coupon_id=issued.coupon.id)
    except HubError as refusal:
        try:
            async with transaction():
                await CouponIssueResult.create(run_id=run.id, customer_id=customer_id,
                                               outcome=outcome_code(refusal)[:128])
        except IntegrityError:
            pass  # a concurrent delivery of the same chunk recorded this customer first


async def _finish_if_complete(run: CouponIssueRun) -> None:
    if await CouponIssueResult.filter(run_id=run.id).count() >= run.total:
        async with transaction():
            await CouponIssueRun.filter(id=run.id, status=IssueRunStatus.RUNNING).update(
                status=IssueRunStatus.DONE, finished_at=clock.now())
