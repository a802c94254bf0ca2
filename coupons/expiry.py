"""Expiring lapsed coupons in bulk, so reports and the ledger show what ``effective_state`` already answers.

Redemption never depends on this having run: it checks the validity at read time.
"""

from __future__ import annotations

from datetime import datetime

from coupons.ledger import SYSTEM, apply
from coupons.models import Coupon, CouponState, Operation


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
