"""Hold a claimed coupon for one transaction, and let it go."""

from __future__ import annotations

from coupons.deps import (
    LockerKey,
    actor_of,
    transition_out,
)
from coupons.locks import service as locks
from coupons.locks.schemas import LockIn, ReleaseIn
from coupons.schemas import TransitionOut
from hub.edge import APIRouter, RequestId
from hub.errors import problems

router = APIRouter(prefix="/coupons", tags=["coupons"], responses=problems(401, 403, 422))


@router.post("/locks", summary="Hold a claimed coupon for one transaction, for a few minutes",
             responses=problems(404, 409))
async def lock(body: LockIn, key: LockerKey, request_id: RequestId) -> TransitionOut:
    return transition_out(await locks.lock(code=body.code, holder=body.holder, ttl_minutes=body.ttl_minutes,
                                           request_id=request_id, actor=actor_of(key), store_id=key.store_id))


@router.post("/locks/release", summary="Let go of a coupon this transaction holds", responses=problems(404, 409))
async def release(body: ReleaseIn, key: LockerKey, request_id: RequestId) -> TransitionOut:
    return transition_out(await locks.release(code=body.code, holder=body.holder, request_id=request_id,
                                              actor=actor_of(key)))
