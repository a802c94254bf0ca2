"""What stores see of redemptions: the list for staff and managers, daily totals for managers; ops any store.

Store-scoped keys see only their own store, and asking for another store's is a 403, never an empty answer,
so a key cannot probe. A staff key sees its whole store's redemptions, not only its own: at the counter a
clerk looks up a colleague's redemption to get it cancelled by the manager, and the issue asks that staff
see their store's redemptions. Coupon codes are shown by their last four characters only: a cancelled
redemption makes the coupon usable again, and a full code is all it takes to redeem it.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from coupons import store_views
from coupons.models import Operation
from coupons.store_views import MAX_DAYS, DayTotals, Redemption
from hub.auth.deps import HumanKey, ManagerKey
from hub.auth.models import STORE_SCOPED_ROLES
from hub.auth.service import Principal
from hub.errors import InvalidInput, problems
from hub.schemas import DbId, OutTime, Page, PageParams
from hub.stores.models import Store
from hub.edge import APIRouter

router = APIRouter(prefix="/coupons/redemptions", tags=["coupons"], responses=problems(401, 403, 422))

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


async def _store_for(key: Principal, store_id: int | None) -> int | None:
    """The store a key may look at: a scoped key its own (another is 403); ops the one named, if it exists."""
    if key.role in STORE_SCOPED_ROLES:
        key.require_store(store_id if store_id is not None else key.store_id)
        return key.store_id
    if store_id is not None and not await Store.exists(id=store_id):
        raise InvalidInput.field("query.store_id", f"no store {store_id}")
    return store_id


@router.get("", summary="Redemptions at a store, each with whether it was later cancelled or returned")
async def list_redemptions(
    key: HumanKey,
    page: Annotated[PageParams, Depends()],
    store_id: Annotated[DbId | None, Query(description="Scoped keys: their own store (the default)")] = None,
    day: Annotated[Day | None, Query(description="One Asia/Shanghai day")] = None,
) -> Page[RedemptionOut]:
    found, next_after = await store_views.list_redemptions(store_id=await _store_for(key, store_id), day=day,
                                                           limit=page.limit, after=page.after)
    return Page[RedemptionOut](items=[RedemptionOut.of(r) for r in found], next_after=next_after)


@router.get("/daily", summary=f"A store's redemption totals per Shanghai day (at most {MAX_DAYS} days)")
async def daily_totals(
    key: ManagerKey,
    day_from: Annotated[Day, Query(alias="from", description="First Shanghai day")],
    day_to: Annotated[Day, Query(alias="to", description="Last Shanghai day, inclusive")],
    store_id: Annotated[DbId | None, Query(description="Required for ops; a store manager's own by default")] = None,
) -> DailyOut:
    store = await _store_for(key, store_id)
    if store is None:
        raise InvalidInput.field("query.store_id", "is required for a key without a store")
    if day_to < day_from:
        raise InvalidInput.field("query.to", f"is before from ({day_from})")
    if (day_to - day_from).days + 1 > MAX_DAYS:
        raise InvalidInput.field("query.from", f"the range may span at most {MAX_DAYS} days")
    days = await store_views.daily_totals(store_id=store, day_from=day_from, day_to=day_to)
    return DailyOut(store_id=store, day_from=day_from, to=day_to, days=[DayTotalsOut.of(d) for d in days])
