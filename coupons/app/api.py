"""The carrier app's coupon API: a user's wallet and claims, addressed by the app's own user id.

The app knows its users by their app user id (an ``app_user`` identity), never by the hub's customer id, so
these routes resolve the identity and then call the same services as every other channel: the wallet is
``coupons.wallet.wallet`` (one person across all their identities and merges) and a claim is
``coupons.claims.claim`` with channel ``app`` (the same stock, daily cap and per-person limit).

Two decisions for an app user id the hub has not seen yet:

- the wallet is empty (``customer_id`` null, no coupons), not a 404: a new app user simply holds nothing
  yet, and the app needs no special case;
- a claim creates the customer with that identity, unverified: a claim proves nothing about who the user
  is, and the customers API marks the identity verified when a proven login links it.
  The customer is made in the claim's transaction, so a refused claim leaves no customer behind, and two
  first claims of one new user at once meet on the identity's unique index: one wins, the other is a 409
  to retry (it then finds the customer).

The same two rules hold for the coupon routes (claiming an issued coupon, sharing it, accepting or
revoking a link): an accept is a first claim of the friend's, so it creates the customer like a claim does;
claiming an issued coupon, sharing and revoking need a coupon the user already holds or a link they made,
so an app user the hub has never seen is a 404 naming ``app_user_id`` (never a customer made only to be
refused). Ownership is the services' check, across the person's identities and merges (403 otherwise).

The ledger's request id is ``hub.edge.RequestId``, built from the Idempotency-Key the same way on every
route.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field

from coupons.claims import service as claims
from coupons.deps import CodeInPath, TokenInPath, actor_of, transition_out
from coupons.gifting import service as gifting
from coupons.gifting.api import share_out
from coupons.gifting.schemas import ShareOut
from coupons.issues import service as issues
from coupons.models import CouponChannel, CouponState
from coupons.schemas import CouponOut, TransitionOut
from coupons.wallet import service as wallet
from hub.auth.deps import require
from hub.auth.models import Role
from hub.auth.service import Principal
from hub.customers.models import IdentityKind
from hub.customers.service import IdentityKey, get_or_create_by_identity, owner_of
from hub.edge import APIRouter, RequestId
from hub.errors import FieldError, NotFound, problems
from hub.schemas import DbId
from hub.settings import get_settings

router = APIRouter(prefix="/app", tags=["carrier app"], responses=problems(401, 403, 422))

AppKey = Annotated[Principal, require(Role.CARRIER_APP)]
AppUserId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$",
                                 description="The app's own user id (the customer's app_user identity)")]


class AppUserNotFound(NotFound):
    title = "App user not found"


class AppClaimIn(BaseModel):
    batch_id: DbId


class AppShareIn(BaseModel):
    """How long the link lasts; the body may be left out for the default."""

    ttl_hours: int = Field(gifting.DEFAULT_TTL_HOURS, ge=1, le=720)


class AppShareOut(ShareOut):
    url: str = Field(description="The page the friend opens to accept the coupon (the token is its secret)")


class AppWalletOut(BaseModel):
    """One person's coupons, newest first, each in the state it is really in now."""

    app_user_id: str
    customer_id: int | None = Field(description="The live customer behind the app user; null for an unknown user")
    coupons: list[CouponOut]


@router.get("/users/{app_user_id}/coupons", summary="An app user's coupons (one wallet across all their identities)")
async def app_wallet(app_user_id: AppUserId, key: AppKey, state: CouponState | None = None) -> AppWalletOut:
    customer_id = await owner_of(IdentityKey(IdentityKind.APP_USER, app_user_id))
    if customer_id is None:
        return AppWalletOut(app_user_id=app_user_id, customer_id=None, coupons=[])
    owner_id, by_state = await wallet.wallet(customer_id=customer_id)
    held = [(coupon, now_state) for now_state, items in by_state.items() if state in (None, now_state)
            for coupon in items]
    held.sort(key=lambda pair: pair[0].id, reverse=True)
    return AppWalletOut(app_user_id=app_user_id, customer_id=owner_id,
                        coupons=[CouponOut.of(coupon, now_state) for coupon, now_state in held])


@router.post("/users/{app_user_id}/claims", status_code=201, summary="Claim a coupon for an app user",
             responses=problems(404, 409))
async def app_claim(app_user_id: AppUserId, body: AppClaimIn, key: AppKey, request_id: RequestId) -> TransitionOut:
    customer = await get_or_create_by_identity(kind=IdentityKind.APP_USER, value=app_user_id)
    return transition_out(await claims.claim(batch_id=body.batch_id, customer_id=customer.id, channel=CouponChannel.APP,
                                             request_id=request_id, actor=actor_of(key)))


async def _known_customer(app_user_id: str) -> int:
    """The customer behind an app user the hub already knows; a 404 naming ``app_user_id`` otherwise."""
    customer_id = await owner_of(IdentityKey(IdentityKind.APP_USER, app_user_id))
    if customer_id is None:
        message = "no customer has this app user id"
        raise AppUserNotFound(f"app_user_id: {message}", errors=[FieldError(field="app_user_id", message=message)])
    return customer_id


def share_url(token: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/s/gifts/{token}"


@router.post("/users/{app_user_id}/coupons/{code}/claim", summary="An app user claims a coupon issued to them",
             responses=problems(404, 409))
async def app_claim_issued(
    app_user_id: AppUserId, code: CodeInPath, key: AppKey, request_id: RequestId
) -> TransitionOut:
    return transition_out(await issues.claim_issued(
        code=code, customer_id=await _known_customer(app_user_id), channel=CouponChannel.APP, request_id=request_id,
        actor=actor_of(key)))


@router.post("/users/{app_user_id}/coupons/{code}/shares", status_code=201,
             summary="An app user makes a single-use link giving the coupon to a friend", responses=problems(404, 409))
async def app_share(app_user_id: AppUserId, code: CodeInPath, key: AppKey, request_id: RequestId,
                    body: AppShareIn | None = None) -> AppShareOut:
    body = body or AppShareIn()
    gift = await gifting.share(code=code, customer_id=await _known_customer(app_user_id), ttl_hours=body.ttl_hours,
                               request_id=request_id, actor=actor_of(key))
    return AppShareOut(**dict(share_out(gift)), url=share_url(gift.share.token))


@router.post("/users/{app_user_id}/shares/{token}/accept",
             summary="An app user accepts a friend's share link: the coupon becomes theirs",
             responses=problems(404, 409))
async def app_accept_share(app_user_id: AppUserId, token: TokenInPath, key: AppKey, request_id: RequestId) -> ShareOut:
    customer = await get_or_create_by_identity(kind=IdentityKind.APP_USER, value=app_user_id)
    return share_out(await gifting.accept(token=token, customer_id=customer.id, request_id=request_id,
                                          actor=actor_of(key)))


@router.post("/users/{app_user_id}/shares/{token}/revoke", summary="An app user takes back a pending share link",
             responses=problems(404, 409))
async def app_revoke_share(app_user_id: AppUserId, token: TokenInPath, key: AppKey, request_id: RequestId) -> ShareOut:
    return share_out(await gifting.revoke(token=token, customer_id=await _known_customer(app_user_id),
                                          request_id=request_id, actor=actor_of(key)))
