"""The body of a claim."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel

from coupons.models import CouponChannel
from hub.schemas import DbId, Text


class ClaimIn(BaseModel):
    """``visitor_id`` or the link ``token`` of the page the claim came from credit the code that brought
    the customer."""

    customer_id: DbId
    channel: CouponChannel
    visitor_id: Annotated[str, Text(40)] | None = None
    token: Annotated[str, Text(1024)] | None = None
