"""A coupon's history and a customer's wallet."""

from __future__ import annotations

from pydantic import BaseModel, Field

from coupons.models import CouponState
from coupons.schemas import (
    CouponOut,
    LedgerOut,
)


class CouponHistoryOut(BaseModel):
    coupon: CouponOut
    ledger: list[LedgerOut]


class WalletOut(BaseModel):
    customer_id: int = Field(description="The live customer the wallet belongs to")
    coupons: dict[CouponState, list[CouponOut]]
