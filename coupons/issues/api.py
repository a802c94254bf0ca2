"""Issue a coupon to a known customer, and claim an issued coupon."""

from __future__ import annotations

from coupons.deps import (
    BatchId,
    ClaimerKey,
    CodeInPath,
    IssuerKey,
    actor_of,
    transition_out,
)
from coupons.issues import service as issues
from coupons.issues.schemas import ClaimIssuedIn, IssueIn
from coupons.schemas import TransitionOut
from hub.edge import APIRouter, RequestId
from hub.errors import problems

router = APIRouter(prefix="/coupons", tags=["coupons"], responses=problems(401, 403, 422))


@router.post("/batches/{batch_id}/issues", status_code=201, summary="Issue a coupon to a known customer, unclaimed",
             responses=problems(404, 409))
async def issue(batch_id: BatchId, body: IssueIn, key: IssuerKey, request_id: RequestId) -> TransitionOut:
    return transition_out(await issues.issue(batch_id=batch_id, customer_id=body.customer_id, channel=body.channel,
                                             request_id=request_id, actor=actor_of(key)))


@router.post("/codes/{code}/claim", summary="Claim a coupon issued to the customer; its validity starts now",
             responses=problems(404, 409))
async def claim_issued(code: CodeInPath, body: ClaimIssuedIn, key: ClaimerKey, request_id: RequestId) -> TransitionOut:
    return transition_out(await issues.claim_issued(code=code, customer_id=body.customer_id, channel=body.channel,
                                                    request_id=request_id, actor=actor_of(key)))
