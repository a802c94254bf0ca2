"""Giving a coupon to a friend: the owner makes a single-use share link, the friend accepts it (the coupon
changes owner), or the owner revokes it, or it lapses.

Each step is a conditional UPDATE and one ledger row (``gift``, ``accept``, ``revoke_gift``) whose
``detail`` names the share and both owners. Concurrent accepts of one link race on one guarded UPDATE of
the share (pending and not expired → accepted): exactly one wins. The receiver's per-person limit of the
batch is counted under their customer row lock, as for a claim, and the accept is the friend's claim in the
funnel (``coupons.funnel``). While the share is pending the coupon is held by ``coupons.gifting.pending``.

A link past its expiry reads as expired at once (``effective_status``); ``expire_lapsed`` (a job) stores
that later, only so the table tells reports the truth.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from coupons import funnel
from coupons.claims.service import PerCustomerLimitReached, is_same_person, live_id, person_ids
from coupons.codes import new_code
from coupons.gifting.models import CouponShare, ShareStatus
from coupons.gifting.pending import refuse_if_shared
from coupons.issues.service import NotTheOwner
from coupons.ledger import Actor, Transition, apply, load_coupon, record, replay, settle
from coupons.models import Coupon, CouponState, Operation
from coupons.redemptions.service import coupon_by_code
from coupons.rules import effective_state
from hub import clock
from hub.customers.service import lock_live
from hub.errors import Conflict, NotFound, present

PENDING = ShareStatus.PENDING
DEFAULT_TTL_HOURS = 72


class ShareNotFound(NotFound):
    title = "Share link not found"


class CouponNotShareable(Conflict):
    title = "Only a claimed coupon can be given away"


class CouponNotTransferable(Conflict):
    title = "Coupons of this batch cannot be given away"


class ShareNotPending(Conflict):
    title = "The share link was already used, revoked or has lapsed"


class OwnShare(Conflict):
    title = "The coupon already belongs to this customer"


@dataclass(frozen=True)
class Gift:
    """A share link as it is now, and the coupon transition that a step on it wrote."""

    share: CouponShare
    transition: Transition


def effective_status(share: CouponShare, now: datetime) -> ShareStatus:
    """A pending share past its expiry reads as expired, whether or not the job has stored it yet."""
    return ShareStatus.EXPIRED if share.status == PENDING and now >= share.expires_at else share.status


async def _gift_of(transition: Transition) -> Gift:
    detail = present(transition.entry.detail, "every gifting step writes its ledger row with the share (_detail)")
    return Gift(share=await CouponShare.get(id=detail["share_id"]), transition=transition)


def _detail(link: CouponShare) -> dict:
    """The ledger row's detail of a step on ``link``: the share and both owners (no receiver before accept)."""
    return {"share_id": link.id, "from_customer_id": link.from_customer_id, "to_customer_id": link.to_customer_id}


async def share(*, code: str, customer_id: int, request_id: str, actor: Actor, ttl_hours: int = DEFAULT_TTL_HOURS,
                now: datetime | None = None) -> Gift:
    """A new pending share link of a claimed, transferable coupon of the person behind ``customer_id``."""
    now = now or clock.now()
    coupon = await coupon_by_code(code)
    earlier = await replay(operation=Operation.GIFT, request_id=request_id, coupon_id=coupon.id)
    if earlier is not None:
        return await _gift_of(earlier)
    if not await is_same_person(customer_id, coupon.owner_id):
        raise NotTheOwner("Only the coupon's owner can give it away")
    if not coupon.batch.transferable:
        raise CouponNotTransferable(f"Coupons of batch {coupon.batch_id} stay with the customer who claimed them")
    state = effective_state(coupon, now)
    if state != CouponState.CLAIMED:
        raise CouponNotShareable(f"The coupon is {state.value}")
    await refuse_if_shared(coupon.id, now)
    link = await CouponShare.create(coupon_id=coupon.id, token=secrets.token_urlsafe(24),
                                    expires_at=now + timedelta(hours=ttl_hours), from_customer_id=coupon.owner_id)
    done = await apply(coupon, operation=Operation.GIFT, to_state=CouponState.CLAIMED, actor=actor,
                       request_id=request_id, now=now, guard={"valid_until__gt": now}, detail=_detail(link))
    return await _gift_of(await settle(done, operation=Operation.GIFT, request_id=request_id, coupon=coupon,
                                       lost=CouponNotShareable("The coupon was changed by another request meanwhile")))


async def _share_by_token(token: str) -> CouponShare:
    link = await CouponShare.get_or_none(token=token)
    if link is None:
        raise ShareNotFound("No share link with this token")
    return link


async def accept(*, token: str, customer_id: int, request_id: str, actor: Actor,
                 now: datetime | None = None) -> Gift:
    """The friend behind ``customer_id`` takes the coupon: the share becomes accepted and the coupon theirs,
    under a new code. The code is the bearer secret at the till and in the coupon page's URL, so the giver,
    who saw the old one, must not be able to use the coupon they gave away."""
    now = now or clock.now()
    link = await _share_by_token(token)
    receiver = await live_id(customer_id)
    await lock_live(receiver)  # serialises this person's claims and accepts, so the limit holds
    earlier = await replay(operation=Operation.ACCEPT, request_id=request_id, coupon_id=link.coupon_id)
    if earlier is not None:
        return await _gift_of(earlier)
    status = effective_status(link, now)
    if status != PENDING:
        raise ShareNotPending(f"The share link is {status.value}")
    people = await person_ids(receiver)
    coupon = await load_coupon(link.coupon_id)
    if coupon.owner_id in people:
        raise OwnShare("A customer cannot accept their own coupon")
    held = await Coupon.filter(batch_id=coupon.batch_id, owner_id__in=people).count()
    if held >= coupon.batch.per_customer_limit:
        raise PerCustomerLimitReached(f"Customer {receiver} holds {held} of at most {coupon.batch.per_customer_limit}")
    taken = await CouponShare.filter(id=link.id, status=PENDING, expires_at__gt=now).update(
        status=ShareStatus.ACCEPTED, to_customer_id=receiver, accepted_at=now, updated_at=now)
    if not taken:
        raise ShareNotPending("The share link was accepted or revoked by another request meanwhile")
    await link.refresh_from_db()
    done = await apply(coupon, operation=Operation.ACCEPT, to_state=CouponState.CLAIMED, actor=actor,
                       request_id=request_id, now=now, guard={"owner_id": link.from_customer_id},
                       changes={"owner_id": receiver, "code": new_code()},
                       detail={**_detail(link), "code_before": coupon.code})
    if done is not None:
        await funnel.record(done, at=now)
    return await _gift_of(await settle(done, operation=Operation.ACCEPT, request_id=request_id, coupon=coupon,
                                       lost=CouponNotShareable("The coupon was changed by another request meanwhile")))


async def revoke(*, token: str, customer_id: int, request_id: str, actor: Actor,
                 now: datetime | None = None) -> Gift:
    """The giver takes back a pending share; the coupon is theirs to use or share again at once."""
    now = now or clock.now()
    link = await _share_by_token(token)
    earlier = await replay(operation=Operation.REVOKE_GIFT, request_id=request_id, coupon_id=link.coupon_id)
    if earlier is not None:
        return await _gift_of(earlier)
    if not await is_same_person(customer_id, link.from_customer_id):
        raise NotTheOwner("Only the customer who shared the coupon can revoke the link")
    revoked = await CouponShare.filter(id=link.id, status=PENDING, expires_at__gt=now).update(
        status=ShareStatus.REVOKED, revoked_at=now, updated_at=now)
    if not revoked:
        await link.refresh_from_db()
        raise ShareNotPending(f"The share link is {effective_status(link, now).value}")
    coupon = await load_coupon(link.coupon_id)
    done = await record(coupon_id=coupon.id, operation=Operation.REVOKE_GIFT, from_state=coupon.state,
                        to_state=coupon.state, actor=actor, request_id=request_id, detail=_detail(link))
    return await _gift_of(done)


async def expire_lapsed(*, now: datetime, limit: int = 500) -> int:
    """Store ``expired`` on up to ``limit`` pending shares past their expiry; returns how many.

    The same guard as accept and revoke (pending, and now past ``expires_at``) is in the UPDATE, so a share
    accepted or revoked meanwhile is left alone and a rerun finds nothing to do. The coupon needs nothing:
    a lapsed link already stopped holding it."""
    lapsed = await CouponShare.filter(status=PENDING, expires_at__lte=now).order_by("id").limit(limit).values_list(
        "id", flat=True)
    if not lapsed:
        return 0
    return await CouponShare.filter(id__in=list(lapsed), status=PENDING, expires_at__lte=now).update(
        status=ShareStatus.EXPIRED, updated_at=now)
