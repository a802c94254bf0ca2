"""The bodies of redeeming, cancelling a redemption and returning a coupon."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field

from coupons.models import CouponChannel, Operation
from coupons.redemptions.queries import DayTotals, Redemption
from coupons.schemas import CouponCode, OrderRef
from hub.products.models import ProductCategory
from hub.schemas import DbId, Fen, OutTime


class RedeemIn(BaseModel):
    """The store is the key's own; a POS key without a store names it in ``store_id``."""

    code: CouponCode
    spend_fen: Fen
    channel: CouponChannel = CouponChannel.STORE
    category: ProductCategory | None = None
    product_id: DbId | None = Field(None, description="The product bought (its category counts as category)")
    order_ref: OrderRef | None = None
    store_id: DbId | None = None


class CancelRedemptionIn(BaseModel):
    code: CouponCode
    order_ref: OrderRef | None = Field(None, description="The POS transaction the coupon was redeemed with")
    store_id: DbId | None = None


class ReturnIn(BaseModel):
    code: CouponCode
    order_ref: OrderRef | None = Field(None, description="The refunded order; must be the one it was redeemed with")


# Far from date.min and date.max, so a day's bounds can always be computed.
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]


class RedemptionOut(BaseModel):
    id: int = Field(description="The redemption's ledger row; pass the last one as `after` for the next page")
    coupon_id: int
    code_tail: str = Field(description="The coupon code's last four characters")
    batch_id: int
    store_id: int
    staff_id: int | None
    channel: str
    order_ref: str | None
    discount_fen: int
    redeemed_at: OutTime
    undone_by: Operation | None = Field(description="cancel_redemption or return, if the redemption was undone")
    undone_at: OutTime | None

    @classmethod
    def of(cls, r: Redemption) -> RedemptionOut:
        e, undo = r.entry, r.undone_by
        return cls(id=e.id, coupon_id=e.coupon_id, code_tail=e.coupon.code[-4:], batch_id=e.coupon.batch_id,
                   store_id=e.store_id, staff_id=e.staff_id, channel=e.channel, order_ref=e.order_ref,
                   discount_fen=e.amount_fen or 0, redeemed_at=e.created_at,
                   undone_by=undo.operation if undo else None, undone_at=undo.created_at if undo else None)


class DayTotalsOut(BaseModel):
    day: date
    redeemed: int = Field(description="Redemptions made this day, including ones cancelled or returned later")
    redeemed_fen: int = Field(description="The discount they gave, in fen")
    cancelled: int = Field(description="Redemptions cancelled this day (撤销核销: always the redemption's day)")
    cancelled_fen: int
    returned: int = Field(description="Coupons returned this day after a refund (退券), whenever redeemed")
    returned_fen: int
    settled_fen: int = Field(description="What settlement owes for the day's redemptions: redeemed_fen less "
                                         "cancelled_fen (a cancelled redemption never reaches settlement)")
    clawback_fen: int = Field(description="What settlement takes back this day: the returns (a reversal line each)")
    net_fen: int = Field(description="settled_fen less clawback_fen")

    @classmethod
    def of(cls, t: DayTotals) -> DayTotalsOut:
        return cls(day=t.day, redeemed=t.redeemed, redeemed_fen=t.redeemed_fen, cancelled=t.cancelled,
                   cancelled_fen=t.cancelled_fen, returned=t.returned, returned_fen=t.returned_fen,
                   settled_fen=t.settled_fen, clawback_fen=t.clawback_fen, net_fen=t.net_fen)


class DailyOut(BaseModel):
    store_id: int
    day_from: date = Field(serialization_alias="from")
    to: date
    days: list[DayTotalsOut]
