"""Claiming a coupon: stock, daily cap and per-person limit all hold under any number of concurrent claims.

The order of locks is the same for every claim (the person's customer row, then the batch row, then the
day's counter row), so concurrent claims queue instead of deadlocking:

- the per-person limit is counted under the row lock of the live customer, across every customer merged
  into it (identities move to the survivor on a merge, so this is the person, whichever identity came);
- the stock is one ``UPDATE ... SET issued_count = issued_count + 1 WHERE issued_count < total_quantity
  AND status = 'active'``: the database re-checks the condition after waiting for the row, so the last
  coupon goes to exactly one caller;
- the daily cap is the same conditional increment on that day's counter row.

A refusal raises, and the caller's transaction rolls every increment back. Issuing to a known customer
(``coupons.issues``) takes its stock through the very same ``take_for_person``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from tortoise.expressions import F

from coupons import funnel, statements
from coupons.batches.service import ACTIVE, BatchNotFound, BatchWrongStatus
from coupons.codes import new_code
from coupons.ledger import Actor, Transition, record, replay
from coupons.models import BatchKind, Coupon, CouponBatch, CouponBatchDay, CouponState, Operation
from coupons.partner_codes import service as partner_codes
from coupons.rules import validity_from_claim
from hub import clock, rawsql
from hub.customers.models import Customer
from hub.customers.service import CustomerMerged, CustomerNotFound
from hub.errors import Conflict, InvalidInput
from hub.events.attribution import Attribution
from hub.events.service import attribution_for
from hub.schemas import shanghai_day


class OutOfStock(Conflict):
    title = "The coupon batch is out of stock"


class DailyCapReached(Conflict):
    title = "Today's coupons of this batch are all gone"


class PerCustomerLimitReached(Conflict):
    title = "This customer already holds as many coupons of the batch as allowed"


class BatchOver(Conflict):
    title = "The coupon batch's validity is over"


async def live_id(customer_id: int) -> int:
    """The customer a merged customer now lives on (merge chains are kept one step long)."""
    customer = await Customer.get_or_none(id=customer_id)
    if customer is None:
        raise CustomerNotFound(f"No customer {customer_id}")
    return customer.merged_into_id or customer.id


async def person_ids(live: int) -> list[int]:
    """The live customer and every customer merged into it: one person, one wallet, one limit."""
    return [live, *cast(list[int], await Customer.filter(merged_into_id=live).values_list("id", flat=True))]


async def is_same_person(customer_id: int, owner_id: int | None) -> bool:
    """Whether ``owner_id`` is the customer behind ``customer_id`` or one merged with them: the check for
    acting on a coupon or share link under any of the person's identities."""
    return owner_id in await person_ids(await live_id(customer_id))


async def claim(*, batch_id: int, customer_id: int, channel: str, request_id: str, actor: Actor,
                visitor_id: str | None = None, token: str | None = None, attribution: Attribution | None = None,
                now: datetime | None = None) -> Transition:
    """Issue one coupon of an active batch to the person behind ``customer_id``, as a claimed coupon.

    ``channel`` is where the claim came from, kept in the ledger; the batch's channel scope is where the
    coupon may be used, checked at redemption. The touch that brought the customer, which the claim event
    and the coupon's later events carry, is ``attribution`` when the caller knows it already (a signed claim
    link names its code), else read from a link ``token`` or the ``visitor_id``'s last touch."""
    now = now or clock.now()
    taken = await take_for_person(operation=Operation.CLAIM, batch_id=batch_id, customer_id=customer_id,
                                  request_id=request_id, now=now)
    if isinstance(taken, Transition):
        return taken  # this request ran before: its first answer
    if attribution is None:
        attribution = await attribution_for(visitor_id=visitor_id, token=token)  # a valid token, else the last touch
    coupon = await rawsql.insert(Coupon, code=new_code(), batch_id=batch_id, owner_id=taken.owner_id,
                                 state=CouponState.CLAIMED, valid_from=taken.valid_from, valid_until=taken.valid_until,
                                 claimed_at=now, created_at=now, updated_at=now,
                                 attribution=attribution.to_json() if attribution else None)
    if taken.batch.kind == BatchKind.EQUITY:  # the coupon takes its code from the partner's pool
        await partner_codes.assign(coupon=coupon)
    coupon.batch = taken.batch  # the row just written, with the batch read above: no need to read it back
    done = await record(coupon_id=coupon.id, operation=Operation.CLAIM, from_state=None, to_state=CouponState.CLAIMED,
                        actor=actor, request_id=request_id, coupon=coupon, channel=channel)
    await funnel.record(done, at=now)
    return done


@dataclass(frozen=True)
class Taken:
    """One coupon of stock taken for a person: the batch, and the validity of a coupon claimed now."""

    owner_id: int
    batch: CouponBatch
    valid_from: datetime
    valid_until: datetime


async def take_for_person(*, operation: Operation, batch_id: int, customer_id: int, request_id: str,
                          now: datetime) -> Taken | Transition:
    """Lock the person behind ``customer_id`` for the rest of the transaction, then answer with this
    request's first outcome if it ran before, else take one coupon of the batch's stock (and of today's
    cap) for them. Every coupon the person holds of the batch counts against the limit, issued and
    unclaimed ones too."""
    person = await statements.lock_person(customer_id)
    if person is None:
        raise CustomerNotFound(f"No customer {customer_id}")
    if person.merged_into_id is not None:  # merged while this claim waited for the row: retry on the survivor
        raise CustomerMerged(f"Customer {person.live_id} was merged into customer {person.merged_into_id}")
    owner_id = person.live_id
    found = await statements.batch_for_claim(batch_id=batch_id, owner_id=owner_id, operation=operation,
                                             request_id=request_id)
    if found is None:
        raise BatchNotFound(f"No coupon batch {batch_id}")
    if found.earlier_id is not None:
        earlier = await replay(operation=operation, request_id=request_id, batch_id=batch_id)
        if earlier is not None:
            if earlier.coupon.owner_id not in await person_ids(owner_id):
                raise InvalidInput.field("request_id", "was already used for another customer")
            return earlier
    batch = found.batch
    if batch.status != ACTIVE:
        raise BatchWrongStatus(f"Coupon batch {batch_id} is {batch.status.value}; only an active batch can be claimed")
    valid_from, valid_until = validity_from_claim(batch, now)
    if valid_until <= now:
        raise BatchOver(f"Coupon batch {batch_id} was valid until {valid_until.isoformat()}")
    if found.held >= batch.per_customer_limit:
        raise PerCustomerLimitReached(f"Customer {owner_id} holds {found.held} of at most {batch.per_customer_limit}")
    if not await statements.take_one(batch_id):
        raise OutOfStock(f"All {batch.total_quantity} coupons of batch {batch_id} are issued")
    if batch.daily_cap is not None:
        await _count_today(batch, now)
    return Taken(owner_id, batch, valid_from, valid_until)


async def _count_today(batch: CouponBatch, now: datetime) -> None:
    """Take one of today's (Shanghai calendar day) coupons, or refuse when the daily cap is reached."""
    day = shanghai_day(now)
    # The day's row is made once; a concurrent maker's insert is ignored and both then update the same row.
    await CouponBatchDay.bulk_create([CouponBatchDay(batch_id=batch.id, day=day)], ignore_conflicts=True)
    taken = await CouponBatchDay.filter(batch_id=batch.id, day=day, issued__lt=batch.daily_cap).update(
        issued=F("issued") + 1)
    if not taken:
        raise DailyCapReached(f"The {batch.daily_cap} coupons of batch {batch.id} for {day} are all issued")
