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
(``coupons.issues``) takes its stock through the very same ``take_stock``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from tortoise.expressions import F

from coupons import funnel
from coupons.batches.service import ACTIVE, BatchWrongStatus, get_batch
from coupons.codes import new_code
from coupons.ledger import Actor, Transition, record, replay
from coupons.models import BatchKind, Coupon, CouponBatch, CouponBatchDay, CouponState, Operation
from coupons.partner_codes import service as partner_codes
from coupons.rules import validity_from_claim
from hub.customers.models import Customer
from hub.customers.service import CustomerNotFound, lock_live
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
    now = now or datetime.now(UTC)
    owner_id, earlier = await begin_for_person(operation=Operation.CLAIM, batch_id=batch_id,
                                               customer_id=customer_id, request_id=request_id)
    if earlier is not None:
        return earlier
    batch, valid_from, valid_until = await take_stock(batch_id=batch_id, owner_id=owner_id, now=now)
    if attribution is None:
        attribution = await attribution_for(visitor_id=visitor_id, token=token)  # a valid token, else the last touch
    coupon = await Coupon.create(code=new_code(), batch_id=batch_id, owner_id=owner_id, state=CouponState.CLAIMED,
                                 valid_from=valid_from, valid_until=valid_until, claimed_at=now,
                                 attribution=attribution.to_json() if attribution else None)
    if batch.kind == BatchKind.EQUITY:  # the coupon takes its code from the partner's pool
        await partner_codes.assign(coupon=coupon)
    coupon.batch = batch  # the row just written, with the batch read above: no need to read it back
    done = await record(coupon_id=coupon.id, operation=Operation.CLAIM, from_state=None, to_state=CouponState.CLAIMED,
                        actor=actor, request_id=request_id, coupon=coupon, channel=channel)
    await funnel.record(done, at=now)
    return done


async def begin_for_person(*, operation: Operation, batch_id: int, customer_id: int,
                           request_id: str) -> tuple[int, Transition | None]:
    """The person's live customer id, locked for the rest of the transaction, and the first answer of this
    request if it already happened."""
    owner_id = await live_id(customer_id)
    await lock_live(owner_id)  # serialises this person's claims; a merge meanwhile is a 409 to retry
    earlier = await replay(operation=operation, request_id=request_id, batch_id=batch_id)
    if earlier is not None and earlier.coupon.owner_id not in await person_ids(owner_id):
        raise InvalidInput.field("request_id", "was already used for another customer")
    return owner_id, earlier


async def take_stock(*, batch_id: int, owner_id: int, now: datetime) -> tuple[CouponBatch, datetime, datetime]:
    """Take one coupon of the batch's stock (and of today's cap) for the person living on ``owner_id``,
    whose customer row the caller holds locked; returns the batch and the validity of a coupon claimed ``now``.

    Every coupon the person holds of the batch counts against the limit, issued and unclaimed ones too."""
    batch = await get_batch(batch_id=batch_id)
    if batch.status != ACTIVE:
        raise BatchWrongStatus(f"Coupon batch {batch_id} is {batch.status.value}; only an active batch can be claimed")
    valid_from, valid_until = validity_from_claim(batch, now)
    if valid_until <= now:
        raise BatchOver(f"Coupon batch {batch_id} was valid until {valid_until.isoformat()}")
    held = await Coupon.filter(batch_id=batch_id, owner_id__in=await person_ids(owner_id)).count()
    if held >= batch.per_customer_limit:
        raise PerCustomerLimitReached(f"Customer {owner_id} holds {held} of at most {batch.per_customer_limit}")
    taken = await CouponBatch.filter(id=batch_id, status=ACTIVE, issued_count__lt=F("total_quantity")).update(
        issued_count=F("issued_count") + 1)
    if not taken:
        raise OutOfStock(f"All {batch.total_quantity} coupons of batch {batch_id} are issued")
    if batch.daily_cap is not None:
        await _count_today(batch, now)
    return batch, valid_from, valid_until


async def _count_today(batch: CouponBatch, now: datetime) -> None:
    """Take one of today's (Shanghai calendar day) coupons, or refuse when the daily cap is reached."""
    day = shanghai_day(now)
    # The day's row is made once; a concurrent maker's insert is ignored and both then update the same row.
    await CouponBatchDay.bulk_create([CouponBatchDay(batch_id=batch.id, day=day)], ignore_conflicts=True)
    taken = await CouponBatchDay.filter(batch_id=batch.id, day=day, issued__lt=batch.daily_cap).update(
        issued=F("issued") + 1)
    if not taken:
        raise DailyCapReached(f"The {batch.daily_cap} coupons of batch {batch.id} for {day} are all issued")
