"""A customer claims a coupon of a batch."""

from __future__ import annotations

from coupons.claims import service as claims
from coupons.claims.schemas import ClaimIn
from coupons.deps import (
    BatchId,
    ClaimerKey,
    actor_of,
    transition_out,
)
from coupons.schemas import TransitionOut
from hub.edge import APIRouter, RequestId
from hub.errors import problems

router = APIRouter(prefix="/coupons", tags=["coupons"], responses=problems(401, 403, 422))


@router.post("/batches/{batch_id}/claims", status_code=201, summary="Claim a coupon for a customer",
             responses=problems(404, 409))
async def claim(batch_id: BatchId, body: ClaimIn, key: ClaimerKey, request_id: RequestId) -> TransitionOut:
    return transition_out(await claims.claim(
        batch_id=batch_id, customer_id=body.customer_id, channel=body.channel, visitor_id=body.visitor_id,
        token=body.token, request_id=request_id, actor=actor_of(key)))
