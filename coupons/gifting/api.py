"""Share links: a coupon given to a friend, accepted or taken back."""

from __future__ import annotations

from coupons.deps import (
    ClaimerKey,
    CodeInPath,
    TokenInPath,
    actor_of,
)
from coupons.gifting import service as gifting
from coupons.gifting.schemas import ShareActionIn, ShareIn, ShareOut
from coupons.rules import effective_state
from hub import clock
from hub.edge import APIRouter, RequestId
from hub.errors import problems

router = APIRouter(prefix="/coupons", tags=["coupons"], responses=problems(401, 403, 422))

def share_out(gift: gifting.Gift) -> ShareOut:
    now = clock.now()
    return ShareOut.of(gift.share, gifting.effective_status(gift.share, now), gift.transition,
                       effective_state(gift.transition.coupon, now))


@router.post("/codes/{code}/shares", status_code=201, summary="Make a single-use link giving the coupon to a friend",
             responses=problems(404, 409))
async def share(code: CodeInPath, body: ShareIn, key: ClaimerKey, request_id: RequestId) -> ShareOut:
    return share_out(await gifting.share(code=code, customer_id=body.customer_id, ttl_hours=body.ttl_hours,
                                         request_id=request_id, actor=actor_of(key)))


@router.post("/shares/{token}/accept", summary="A friend accepts a share link: the coupon becomes theirs",
             responses=problems(404, 409))
async def accept_share(token: TokenInPath, body: ShareActionIn, key: ClaimerKey, request_id: RequestId) -> ShareOut:
    return share_out(await gifting.accept(token=token, customer_id=body.customer_id, request_id=request_id,
                                          actor=actor_of(key)))


@router.post("/shares/{token}/revoke", summary="The giver takes a pending share link back",
             responses=problems(404, 409))
async def revoke_share(token: TokenInPath, body: ShareActionIn, key: ClaimerKey, request_id: RequestId) -> ShareOut:
    return share_out(await gifting.revoke(token=token, customer_id=body.customer_id, request_id=request_id,
                                          actor=actor_of(key)))
