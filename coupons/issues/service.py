"""Issuing a coupon to a known customer (an offer, a welcome message), and that customer claiming it.

An issued coupon takes its stock exactly like a claim (``claims.take_for_person``: stock, daily cap and the
per-person limit under the person's row lock), so issuing can never hand out more than a claim could.
Its validity starts when the customer claims it: until then it carries the validity it would have if
claimed at the issue (so an issued coupon of an "N days" batch nobody claims lapses after N days), and
the claim (issued → claimed, a CLAIM in the ledger) restarts it from the moment of the claim.
"""

from __future__ import annotations

from datetime import datetime

from coupons import funnel
from coupons.claims.service import is_same_person, take_for_person
from coupons.codes import new_code
from coupons.ledger import Actor, Transition, apply, record, replay, settle
from coupons.models import BatchKind, Coupon, CouponState, Operation
from coupons.partner_codes import service as partner_codes
from coupons.redemptions.service import coupon_by_code
from coupons.rules import effective_state, validity_from_claim
from hub import clock
from hub.errors import Conflict, Forbidden

ISSUED, CLAIMED = CouponState.ISSUED, CouponState.CLAIMED


class CouponNotIssued(Conflict):
    title = "Only an issued, unclaimed coupon can be claimed by its owner"


class NotTheOwner(Forbidden):
    title = "The coupon belongs to another customer"


async def issue(*, batch_id: int, customer_id: int, channel: str, request_id: str, actor: Actor,
                now: datetime | None = None) -> Transition:
    """One coupon of an active batch for the person behind ``customer_id``, left ``issued`` until they
    claim it; ``channel`` (the offer's or the welcome message's) is kept in the ledger."""
    now = now or clock.now()
    taken = await take_for_person(operation=Operation.ISSUE, batch_id=batch_id, customer_id=customer_id,
                                  request_id=request_id, now=now)
    if isinstance(taken, Transition):
        return taken  # this request ran before: its first answer
    coupon = await Coupon.create(code=new_code(), batch_id=batch_id, owner_id=taken.owner_id, state=ISSUED,
                                 valid_from=taken.valid_from, valid_until=taken.valid_until)
    if taken.batch.kind == BatchKind.EQUITY:  # the coupon takes its code from the partner's pool
        await partner_codes.assign(coupon=coupon)
    return await record(coupon_id=coupon.id, operation=Operation.ISSUE, from_state=None, to_state=ISSUED,
                        actor=actor, request_id=request_id, channel=channel)


async def claim_issued(*, code: str, customer_id: int, channel: str, request_id: str, actor: Actor,
                       now: datetime | None = None) -> Transition:
    """issued → claimed by the person it was issued to; the validity of an "N days" batch starts now."""
    now = now or clock.now()
    coupon = await coupon_by_code(code)
    earlier = await replay(operation=Operation.CLAIM, request_id=request_id, coupon_id=coupon.id)
    if earlier is not None:
        return earlier
    if not await is_same_person(customer_id, coupon.owner_id):
        raise NotTheOwner("Only the customer the coupon was issued to can claim it")
    state = effective_state(coupon, now)
    if state != ISSUED:
        raise CouponNotIssued(f"The coupon is {state.value}")
    valid_from, valid_until = validity_from_claim(coupon.batch, now)
    done = await apply(coupon, operation=Operation.CLAIM, to_state=CLAIMED, actor=actor, request_id=request_id,
                       now=now, guard={"valid_until__gt": now},
                       changes={"valid_from": valid_from, "valid_until": valid_until, "claimed_at": now},
                       channel=channel)
    if done is not None:
        await funnel.record(done, at=now)
    return await settle(done, operation=Operation.CLAIM, request_id=request_id, coupon=coupon,
                        lost=CouponNotIssued("The coupon was changed by another request meanwhile"))
