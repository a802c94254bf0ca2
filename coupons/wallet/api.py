"""A coupon's history, voiding it, and a customer's wallet."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from coupons.deps import (
    ClaimerKey,
    CodeInPath,
    actor_of,
    transition_out,
)
from coupons.rules import effective_state
from coupons.schemas import CouponOut, LedgerOut, TransitionOut
from coupons.wallet import service as wallet
from coupons.wallet.schemas import CouponHistoryOut, WalletOut
from hub import clock
from hub.auth.deps import OpsKey
from hub.edge import APIRouter, RequestId
from hub.errors import problems
from hub.schemas import DbId

router = APIRouter(prefix="/coupons", tags=["coupons"], responses=problems(401, 403, 422))


@router.get("/codes/{code}", summary="One coupon and its ledger", responses=problems(404))
async def coupon_history(code: CodeInPath, key: OpsKey) -> CouponHistoryOut:
    coupon, entries = await wallet.history(code=code)
    state = effective_state(coupon, clock.now())
    return CouponHistoryOut(coupon=CouponOut.of(coupon, state), ledger=[LedgerOut.of(e) for e in entries])


@router.post("/codes/{code}/void", summary="Void an unused coupon for good", responses=problems(404, 409))
async def void(code: CodeInPath, key: OpsKey, request_id: RequestId) -> TransitionOut:
    return transition_out(await wallet.void(code=code, request_id=request_id, actor=actor_of(key)))


@router.get("/wallets/{customer_id}", summary="A customer's coupons by state", responses=problems(404))
async def customer_wallet(customer_id: Annotated[DbId, Path()], key: ClaimerKey) -> WalletOut:
    owner_id, by_state = await wallet.wallet(customer_id=customer_id)
    coupons = {state: [CouponOut.of(c, state) for c in items] for state, items in by_state.items()}
    return WalletOut(customer_id=owner_id, coupons=coupons)
