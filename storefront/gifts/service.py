"""What the page of a coupon share link reads: the share, its coupon and batch, as they are now.

Accepting needs to know who the friend is, and the storefront has no customer sign-in yet, so the friend
accepts inside the carrier's app (``coupons.gifting.accept``); this is read only. Time is ``hub.clock``'s
unless the caller passes ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coupons.gifting.models import CouponShare, ShareStatus
from coupons.gifting.service import effective_status
from coupons.rules import effective_state
from hub import clock
from storefront.coupons.service import SCANNABLE
from storefront.terms import Where, usable_where

TOKEN_MAX = 64


@dataclass(frozen=True)
class GiftNow:
    """A share link (its coupon and batch loaded) at ``now``: its status, whether the coupon can still be
    used, and (only when it is on offer) where it may be used."""

    share: CouponShare
    status: ShareStatus
    usable: bool
    where: Where


async def gift_now(*, token: str, now: datetime | None = None) -> GiftNow | None:
    """The share behind ``token``; None when there is none (or the token is too long to be one)."""
    share = await CouponShare.get_or_none(token=token).select_related("coupon__batch") if len(token) <= TOKEN_MAX \
        else None
    if share is None:
        return None
    now = now or clock.now()
    status = effective_status(share, now)
    usable = effective_state(share.coupon, now) in SCANNABLE  # it may lapse while the link is open
    on_offer = status == ShareStatus.PENDING and usable
    return GiftNow(share=share, status=status, usable=usable,
                   where=await usable_where(share.coupon.batch) if on_offer else [])
