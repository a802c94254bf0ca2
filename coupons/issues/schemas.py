"""The bodies of issuing a coupon and of claiming an issued one."""

from __future__ import annotations

from pydantic import BaseModel

from coupons.models import CouponChannel
from hub.schemas import DbId


class IssueIn(BaseModel):
    """The customer the coupon is for, and the channel issuing it (an offer's, a welcome message's)."""

    customer_id: DbId
    channel: CouponChannel


class ClaimIssuedIn(BaseModel):
    """The customer claiming: the one the coupon was issued to, under any of their identities."""

    customer_id: DbId
    channel: CouponChannel
