"""Locking a coupon for one POS transaction or one order being placed, and letting the lock go.

A lock has a holder (the transaction or order id) and a time-to-live: while it lasts, only the holder can
redeem the coupon; once it runs out the coupon reads as claimed again at once (``effective_state``), and
``release_lapsed`` (a job) stores that, so no abandoned till keeps a customer's coupon.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from coupons.ledger import SYSTEM, Actor, Transition, apply, replay, settle
from coupons.models import Coupon, CouponState, Operation
from coupons.redemptions.service import coupon_by_code, regions_for_scope, usable_by
from coupons.rules import OutOfScope, effective_state, in_store_scope
from hub import clock
from hub.errors import Conflict

CLAIMED, LOCKED, EXPIRED = CouponState.CLAIMED, CouponState.LOCKED, CouponState.EXPIRED


class CouponNotLockable(Conflict):
    title = "Only a claimed coupon can be locked"


class NotTheLockHolder(Conflict):
    title = "The coupon is not locked by this holder"


def _back_to(coupon: Coupon, now: datetime) -> CouponState:
    return CLAIMED if now < coupon.valid_until else EXPIRED


async def lock(*, code: str, holder: str, ttl_minutes: int, request_id: str, actor: Actor,
               store_id: int | None = None, now: datetime | None = None) -> Transition:
    """claimed → locked by ``holder`` for ``ttl_minutes``; the same holder locking again extends its lock.
    A store's key (``store_id``) holds only a coupon valid at its store: another store's till could
    otherwise keep a customer's coupon from them for the lock's whole time."""
    now = now or clock.now()
    coupon, earlier = await usable_by(code=code, holder=holder, operation=Operation.LOCK, request_id=request_id,
                                      now=now, refused=CouponNotLockable)
    if earlier is not None:
        return earlier
    if store_id is not None:
        regions = await regions_for_scope(coupon.batch, store_id)
        if not in_store_scope(coupon.batch, store_id=store_id, store_regions=regions):
            raise OutOfScope.field("code", "the coupon is not valid at this key's store")
    done = await apply(coupon, operation=Operation.LOCK, to_state=LOCKED, actor=actor, request_id=request_id, now=now,
                       changes={"lock_holder": holder, "lock_until": now + timedelta(minutes=ttl_minutes)},
                       order_ref=holder)
    return await settle(done, operation=Operation.LOCK, request_id=request_id, coupon=coupon,
                        lost=CouponNotLockable("The coupon was changed by another request meanwhile"))


async def release(*, code: str, holder: str, request_id: str, actor: Actor, now: datetime | None = None) -> Transition:
    """locked → claimed (or expired, if it lapsed meanwhile), by the holder of the lock."""
    now = now or clock.now()
    coupon = await coupon_by_code(code)
    earlier = await replay(operation=Operation.RELEASE, request_id=request_id, coupon_id=coupon.id)
    if earlier is not None:
        return earlier
    if coupon.state != LOCKED or coupon.lock_holder != holder:
        raise NotTheLockHolder(f"The coupon is {effective_state(coupon, now).value} and not locked by {holder}")
    done = await apply(coupon, operation=Operation.RELEASE, to_state=_back_to(coupon, now), actor=actor,
                       request_id=request_id, now=now, changes={"lock_holder": None, "lock_until": None},
                       order_ref=holder)
    return await settle(done, operation=Operation.RELEASE, request_id=request_id, coupon=coupon,
                        lost=NotTheLockHolder("The coupon was changed by another request meanwhile"))


async def release_lapsed(*, now: datetime, limit: int = 500) -> int:
    """Store the release of up to ``limit`` locks that ran out; returns how many were released.

    Each is its own guarded UPDATE and ledger row: a coupon its holder redeemed or released meanwhile is
    skipped, and a second run finds nothing left to do (the request id is the lock's version).
    """
    lapsed = await Coupon.filter(state=LOCKED, lock_until__lte=now).order_by("id").limit(limit)
    released = 0
    for coupon in lapsed:
        done = await apply(coupon, operation=Operation.RELEASE, to_state=_back_to(coupon, now), actor=SYSTEM,
                           request_id=f"lapsed:{coupon.id}:{coupon.version}", now=now,
                           changes={"lock_holder": None, "lock_until": None}, order_ref=coupon.lock_holder)
        released += done is not None
    return released
