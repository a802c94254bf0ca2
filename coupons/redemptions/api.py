"""Redemption at the store, its same-day cancel (撤销核销) and the return after a refund (退券); and what stores
see of their redemptions.

What stores see of redemptions: the list for staff and managers, daily totals for managers; ops any store.

Store-scoped keys see only their own store, and asking for another store's is a 403, never an empty answer,
so a key cannot probe. A staff key sees its whole store's redemptions, not only its own: at the counter a
clerk looks up a colleague's redemption to get it cancelled by the manager, and the issue asks that staff
see their store's redemptions. Coupon codes are shown by their last four characters only: a cancelled
redemption makes the coupon usable again, and a full code is all it takes to redeem it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from coupons.deps import CancellerKey, RedeemerKey, ReturnerKey, _store_of, actor_of, transition_out
from coupons.redemptions import queries
from coupons.redemptions import service as redemptions
from coupons.redemptions.queries import MAX_DAYS
from coupons.redemptions.schemas import (
    CancelRedemptionIn,
    DailyOut,
    Day,
    DayTotalsOut,
    RedeemIn,
    RedemptionOut,
    ReturnIn,
)
from coupons.schemas import TransitionOut
from hub.auth.deps import HumanKey, ManagerKey
from hub.auth.models import STORE_SCOPED_ROLES, Role
from hub.auth.service import Principal
from hub.edge import APIRouter, RequestId
from hub.errors import InvalidInput, problems
from hub.schemas import DbId, Page, PageQuery
from hub.stores.models import Store

router = APIRouter(prefix="/coupons", tags=["coupons"], responses=problems(401, 403, 422))


@router.post("/redemptions", summary="Redeem a coupon at the key's store; answers the discount",
             responses=problems(404, 409))
async def redeem(body: RedeemIn, key: RedeemerKey, request_id: RequestId) -> TransitionOut:
    return transition_out(await redemptions.redeem(
        code=body.code, store_id=await _store_of(key, body.store_id), staff_id=key.staff_id, channel=body.channel,
        spend_fen=body.spend_fen, category=body.category, product_id=body.product_id, order_ref=body.order_ref,
        request_id=request_id, actor=actor_of(key)))


@router.post("/redemptions/cancel", summary="Cancel today's redemption at the store that made it (撤销核销)",
             responses=problems(404, 409))
async def cancel_redemption(body: CancelRedemptionIn, key: CancellerKey, request_id: RequestId) -> TransitionOut:
    if key.role == Role.POS and body.order_ref is None:
        raise InvalidInput.field("order_ref", "a POS cancels with the transaction id it redeemed with")
    return transition_out(await redemptions.cancel_redemption(
        code=body.code, store_id=await _store_of(key, body.store_id), order_ref=body.order_ref,
        request_id=request_id, actor=actor_of(key)))


@router.post("/returns", summary="Return a redeemed coupon after its order was refunded (退券)",
             responses=problems(404, 409))
async def return_coupon(body: ReturnIn, key: ReturnerKey, request_id: RequestId) -> TransitionOut:
    return transition_out(await redemptions.return_coupon(code=body.code, order_ref=body.order_ref,
                                                          request_id=request_id, actor=actor_of(key)))


async def _store_for(key: Principal, store_id: int | None) -> int | None:
    """The store a key may look at: a scoped key its own (another is 403); ops the one named, if it exists."""
    if key.role in STORE_SCOPED_ROLES:
        key.require_store(store_id if store_id is not None else key.store_id)
        return key.store_id
    if store_id is not None and not await Store.exists(id=store_id):
        raise InvalidInput.field("query.store_id", f"no store {store_id}")
    return store_id


@router.get("/redemptions", summary="Redemptions at a store, each with whether it was later cancelled or returned")
async def list_redemptions(
    key: HumanKey,
    page: PageQuery,
    store_id: Annotated[DbId | None, Query(description="Scoped keys: their own store (the default)")] = None,
    day: Annotated[Day | None, Query(description="One Asia/Shanghai day")] = None,
) -> Page[RedemptionOut]:
    found, next_after = await queries.list_redemptions(store_id=await _store_for(key, store_id), day=day,
                                                           limit=page.limit, after=page.after)
    return Page[RedemptionOut](items=[RedemptionOut.of(r) for r in found], next_after=next_after)


@router.get("/redemptions/daily", summary=f"A store's redemption totals per Shanghai day (at most {MAX_DAYS} days)")
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
    days = await queries.daily_totals(store_id=store, day_from=day_from, day_to=day_to)
    return DailyOut(store_id=store, day_from=day_from, to=day_to, days=[DayTotalsOut.of(d) for d in days])
