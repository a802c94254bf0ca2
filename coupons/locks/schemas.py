"""The bodies of holding a coupon for a transaction and letting it go."""

from __future__ import annotations

from pydantic import BaseModel, Field

from coupons.schemas import (
    CouponCode,
    OrderRef,
)


class LockIn(BaseModel):
    code: CouponCode
    holder: OrderRef = Field(description="The POS transaction or order holding the coupon; redeem with it as order_ref")
    ttl_minutes: int = Field(10, ge=1, le=120)


class ReleaseIn(BaseModel):
    code: CouponCode
    holder: OrderRef
