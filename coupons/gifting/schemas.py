"""Share links: making, accepting and revoking them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from coupons.gifting.models import CouponShare, ShareStatus
from coupons.ledger import Transition
from coupons.models import CouponState
from coupons.schemas import (
    CouponOut,
    LedgerOut,
)
from hub.schemas import DbId, OutTime


class ShareIn(BaseModel):
    """The owner (under any of their identities) giving the coupon away, and how long the link lasts."""

    customer_id: DbId
    ttl_hours: int = Field(72, ge=1, le=720)


class ShareActionIn(BaseModel):
    """The friend accepting the link, or the owner revoking it."""

    customer_id: DbId


class ShareOut(BaseModel):
    """A share link as it is now (a lapsed pending link shows expired), with the step just taken on it."""

    token: str = Field(description="The link's secret: whoever holds it can accept the coupon")
    status: ShareStatus
    expires_at: OutTime
    from_customer_id: int
    to_customer_id: int | None
    accepted_at: OutTime | None
    revoked_at: OutTime | None
    created_at: OutTime
    entry: LedgerOut
    coupon: CouponOut

    @classmethod
    def of(cls, share: CouponShare, status: ShareStatus, transition: Transition, state: CouponState) -> ShareOut:
        return cls(token=share.token, status=status, expires_at=share.expires_at,
                   from_customer_id=share.from_customer_id, to_customer_id=share.to_customer_id,
                   accepted_at=share.accepted_at, revoked_at=share.revoked_at, created_at=share.created_at,
                   entry=LedgerOut.of(transition.entry), coupon=CouponOut.of(transition.coupon, state))
