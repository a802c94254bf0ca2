"""The coupon API: batches for ops, claims for a customer, redemption at the store, a customer's wallet.

Every write is one unit of work at the edge (``hub.edge``): a repeat with the same Idempotency-Key gets the
first answer byte for byte, and the key, scoped to the caller, is also the ledger's request id
(``RequestId``), so even a replay that missed the stored answer cannot act twice.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from fastapi import Depends, Path

from coupons import batches, claims, gifting, issues, locks, redemptions, wallet
from coupons.ledger import Actor, Transition
from coupons.models import BatchStatus
from coupons.rules import effective_state
from coupons.schemas import (
    BatchIn,
    BatchOut,
    CancelRedemptionIn,
    ClaimIn,
    ClaimIssuedIn,
    CouponHistoryOut,
    CouponOut,
    IssueIn,
    LedgerOut,
    LockIn,
    QuantityIn,
    RedeemIn,
    ReleaseIn,
    ReturnIn,
    ShareActionIn,
    ShareIn,
    ShareOut,
    TransitionOut,
    WalletOut,
)
from hub.auth.deps import OpsKey, require
from hub.auth.models import Role
from hub.auth.service import Principal
from hub.edge import APIRouter, RequestId
from hub.errors import Forbidden, InvalidInput, problems
from hub.pagination import paginate
from hub.schemas import DbId, Page, PageParams
from hub.stores.models import Store

router = APIRouter(prefix="/coupons", tags=["coupons"], responses=problems(401, 403, 422))

# Who may hand a coupon to a customer or look into their wallet: ops, and the carrier app for its users.
ClaimerKey = Annotated[Principal, require(Role.OPS, Role.ADMIN, Role.CARRIER_APP)]
# Who may issue a coupon to a known customer: ops, and the strategy engine running an offer.
IssuerKey = Annotated[Principal, require(Role.OPS, Role.ADMIN, Role.STRATEGY_ENGINE)]
# Who scans a code at the counter.
RedeemerKey = Annotated[Principal, require(Role.POS, Role.STAFF, Role.STORE_MANAGER)]
# Who may hold a coupon for a transaction: the counter, and the app placing an order.
LockerKey = Annotated[Principal, require(Role.POS, Role.STAFF, Role.STORE_MANAGER, Role.CARRIER_APP)]
# Who may undo a redemption the same day: the store's manager, or the POS with its transaction id.
CancellerKey = Annotated[Principal, require(Role.POS, Role.STORE_MANAGER)]
# Who may return a coupon after a refund: ops, and the order center that made the refund.
ReturnerKey = Annotated[Principal, require(Role.OPS, Role.ADMIN, Role.ORDER_CENTER)]
BatchId = Annotated[DbId, Path()]
CodeInPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z -]+$")]
TokenInPath = Annotated[str, Path(min_length=16, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]


def actor_of(key: Principal) -> Actor:
    return Actor(key_id=key.key_id, role=key.role.value)


def transition_out(transition: Transition) -> TransitionOut:
    return TransitionOut.of(transition, effective_state(transition.coupon, datetime.now(timezone.utc)))


async def _store_of(key: Principal, store_id: int | None) -> int:
    """The store a counter operation happens at: the key's own, or for a POS key without one, the body's."""
    if key.store_id is not None:
        if store_id is not None and store_id != key.store_id:
            raise Forbidden("This key is limited to another store")
        return key.store_id
    if store_id is None:
        raise InvalidInput.field("store_id", "is required for a key without a store")
    if not await Store.exists(id=store_id):
        raise InvalidInput.field("store_id", f"no store {store_id}")
    return store_id


@router.get("/batches", summary="List coupon batches")
async def list_batches(key: OpsKey, page: Annotated[PageParams, Depends()], status: BatchStatus | None = None,
                       campaign_id: DbId | None = None) -> Page[BatchOut]:
    query = batches.list_batches(status=status, campaign_id=campaign_id)
    return await paginate(query, limit=page.limit, after=page.after, to_out=BatchOut.of)


@router.get("/batches/{batch_id}", summary="One coupon batch", responses=problems(404))
async def get_batch(key: OpsKey, batch_id: BatchId) -> BatchOut:
    return BatchOut.of(await batches.get_batch(batch_id=batch_id))


@router.post("/batches", status_code=201, summary="Draft a coupon batch")
async def create_batch(body: BatchIn, key: OpsKey) -> BatchOut:
    return BatchOut.of(await batches.create_batch(**body.model_dump(), created_by_id=key.key_id))


@router.post("/batches/{batch_id}/approve", summary="Approve a draft (another ops or admin key than its author)",
             responses=problems(404, 409))
async def approve_batch(batch_id: BatchId, key: OpsKey) -> BatchOut:
    return BatchOut.of(await batches.approve_batch(batch_id=batch_id, approver_id=key.key_id))


@router.post("/batches/{batch_id}/activate", summary="Open an approved batch for claims", responses=problems(404, 409))
async def activate_batch(batch_id: BatchId, key: OpsKey) -> BatchOut:
    return BatchOut.of(await batches.activate_batch(batch_id=batch_id))


@router.post("/batches/{batch_id}/pause", summary="Stop claims for a while", responses=problems(404, 409))
async def pause_batch(batch_id: BatchId, key: OpsKey) -> BatchOut:
    return BatchOut.of(await batches.pause_batch(batch_id=batch_id))


@router.post("/batches/{batch_id}/resume", summary="Reopen a paused batch", responses=problems(404, 409))
async def resume_batch(batch_id: BatchId, key: OpsKey) -> BatchOut:
    return BatchOut.of(await batches.resume_batch(batch_id=batch_id))


@router.post("/batches/{batch_id}/end", summary="End a batch for good", responses=problems(404, 409))
async def end_batch(batch_id: BatchId, key: OpsKey) -> BatchOut:
    return BatchOut.of(await batches.end_batch(batch_id=batch_id))


@router.post("/batches/{batch_id}/quantity", summary="Change the stock (compare-and-set on the value you saw)",
             responses=problems(404, 409))
async def set_quantity(batch_id: BatchId, body: QuantityIn, key: OpsKey) -> BatchOut:
    return BatchOut.of(await batches.set_quantity(batch_id=batch_id, expected=body.expected,
                                                  quantity=body.total_quantity))


@router.post("/batches/{batch_id}/claims", status_code=201, summary="Claim a coupon for a customer",
             responses=problems(404, 409))
async def claim(batch_id: BatchId, body: ClaimIn, key: ClaimerKey, request_id: RequestId) -> TransitionOut:
    return transition_out(await claims.claim(
        batch_id=batch_id, customer_id=body.customer_id, channel=body.channel, visitor_id=body.visitor_id,
        token=body.token, request_id=request_id, actor=actor_of(key)))


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


@router.post("/locks", summary="Hold a claimed coupon for one transaction, for a few minutes",
             responses=problems(404, 409))
async def lock(body: LockIn, key: LockerKey, request_id: RequestId) -> TransitionOut:
    return transition_out(await locks.lock(code=body.code, holder=body.holder, ttl_minutes=body.ttl_minutes,
                                           request_id=request_id, actor=actor_of(key)))


@router.post("/locks/release", summary="Let go of a coupon this transaction holds", responses=problems(404, 409))
async def release(body: ReleaseIn, key: LockerKey, request_id: RequestId) -> TransitionOut:
    return transition_out(await locks.release(code=body.code, holder=body.holder, request_id=request_id,
                                              actor=actor_of(key)))


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


@router.get("/codes/{code}", summary="One coupon and its ledger", responses=problems(404))
async def coupon_history(code: CodeInPath, key: OpsKey) -> CouponHistoryOut:
    coupon, entries = await wallet.history(code=code)
    state = effective_state(coupon, datetime.now(timezone.utc))
    return CouponHistoryOut(coupon=CouponOut.of(coupon, state), ledger=[LedgerOut.of(e) for e in entries])


@router.post("/codes/{code}/void", summary="Void an unused coupon for good", responses=problems(404, 409))
async def void(code: CodeInPath, key: OpsKey, request_id: RequestId) -> TransitionOut:
    return transition_out(await wallet.void(code=code, request_id=request_id, actor=actor_of(key)))


def share_out(gift: gifting.Gift) -> ShareOut:
    now = datetime.now(timezone.utc)
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


@router.get("/wallets/{customer_id}", summary="A customer's coupons by state", responses=problems(404))
async def customer_wallet(customer_id: Annotated[DbId, Path()], key: ClaimerKey) -> WalletOut:
    owner_id, by_state = await wallet.wallet(customer_id=customer_id)
    coupons = {state: [CouponOut.of(c, state) for c in items] for state, items in by_state.items()}
    return WalletOut(customer_id=owner_id, coupons=coupons)
