"""The guard that keeps a coupon still while its owner is giving it away.

A pending share link (not accepted, revoked or past its expiry) holds the coupon as a lock would, without
a state of its own: the coupon stays ``claimed`` in the wallet, and redeem, lock and share ask this guard
first. That check alone could race a share being made; it does not need to hold on its own, because
making a share bumps the coupon's version (``coupons.ledger.apply``), so a redemption or lock that read the
coupon before the share was made finds it changed and loses, and the share loses to one that came first.
A share that lapses frees the coupon at once, with nothing to release.
"""

from __future__ import annotations

from datetime import datetime

from coupons.gifting.models import CouponShare, ShareStatus
from hub.errors import Conflict


class CouponBeingGifted(Conflict):
    title = "The coupon is being given to a friend"


def being_gifted() -> CouponBeingGifted:
    return CouponBeingGifted("A share link of this coupon is pending: revoke it, or let it lapse, first")


async def refuse_if_shared(coupon_id: int, now: datetime) -> None:
    if await CouponShare.exists(coupon_id=coupon_id, status=ShareStatus.PENDING, expires_at__gt=now):
        raise being_gifted()
