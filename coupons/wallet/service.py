"""Voiding a coupon (ops), storing lapsed coupons as expired, and what a customer or ops see of coupons: the
wallet and one coupon's history.

Expiry in bulk only stores what ``effective_state`` already answers, so reports and the ledger show it:
redemption never depends on it having run, since it checks the validity at read time.
"""

from __future__ import annotations

from datetime import datetime

from coupons.claims.service import live_id, person_ids
from coupons.ledger import SYSTEM, Actor, Transition, apply, replay, settle
from coupons.models import Coupon, CouponLedger, CouponState, Operation
from coupons.redemptions.service import coupon_by_code
from coupons.rules import LAPSING, effective_state
from hub import clock
from hub.errors import Conflict

WALLET_SIZE = 500  # a person holds a handful of coupons; the bound keeps one bad actor from costing much


class CouponNotVoidable(Conflict):
    title = "Only an unused coupon can be voided"


async def void(*, code: str, request_id: str, actor: Actor, now: datetime | None = None) -> Transition:
    """An unused coupon (issued, claimed or locked, even if lapsed) → voided, never redeemable again.
    A redeemed one must have its redemption cancelled first."""
    now = now or clock.now()
    coupon = await coupon_by_code(code)
    earlier = await replay(operation=Operation.VOID, request_id=request_id, coupon_id=coupon.id)
    if earlier is not None:
        return earlier
    if coupon.state not in LAPSING:
        raise CouponNotVoidable(f"The coupon is {coupon.state.value}")
    done = await apply(coupon, operation=Operation.VOID, to_state=CouponState.VOIDED, actor=actor,
                       request_id=request_id, now=now, changes={"lock_holder": None, "lock_until": None})
    return await settle(done, operation=Operation.VOID, request_id=request_id, coupon=coupon,
                        lost=CouponNotVoidable("The coupon was changed by another request meanwhile"))


async def wallet(*, customer_id: int, now: datetime | None = None) -> tuple[int, dict[CouponState, list[Coupon]]]:
    """The person's live customer id and coupons by the state they are really in now, newest first; a
    customer merged into another sees the survivor's wallet, which holds the coupons of both."""
    now = now or clock.now()
    owner_id = await live_id(customer_id)
    owners = await person_ids(owner_id)
    coupons = await Coupon.filter(owner_id__in=owners).select_related("batch").order_by("-id").limit(WALLET_SIZE)
    by_state: dict[CouponState, list[Coupon]] = {}
    for coupon in coupons:
        by_state.setdefault(effective_state(coupon, now), []).append(coupon)
    return owner_id, by_state


async def history(*, code: str) -> tuple[Coupon, list[CouponLedger]]:
    """A coupon and its ledger, oldest first."""
    coupon = await coupon_by_code(code)
    return coupon, await CouponLedger.filter(coupon_id=coupon.id).order_by("id")


async def expire_lapsed(*, now: datetime, limit: int = 500) -> int:
    """Move up to ``limit`` issued or claimed coupons past their validity to expired; returns how many.

    (Locked ones are left to ``release_lapsed``, which expires them once their lock is let go.) Each move is
    a guarded UPDATE with its ledger row, so a coupon redeemed meanwhile is skipped and a rerun is harmless.
    """
    lapsed = await Coupon.filter(state__in=[CouponState.ISSUED, CouponState.CLAIMED],
                                 valid_until__lte=now).order_by("id").limit(limit)
    expired = 0
    for coupon in lapsed:
        done = await apply(coupon, operation=Operation.EXPIRE, to_state=CouponState.EXPIRED, actor=SYSTEM,
                           request_id=f"expire:{coupon.id}:{coupon.version}", now=now)
        expired += done is not None
    return expired
