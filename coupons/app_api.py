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

The write helpers are ``coupons.api``'s, so the ledger's request id is built from the Idempotency-Key the
same way on every route.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from coupons import claims, wallet
from coupons.api import actor_of, request_id_for, transition_out, write
from coupons.models import CouponChannel, CouponState
from coupons.schemas import CouponOut, TransitionOut
from hub.auth.deps import require
from hub.auth.models import Role
from hub.auth.service import Principal
from hub.customers.models import IdentityKind
from hub.customers.service import IdentityKey, get_or_create_by_identity, owner_of
from hub.errors import problems
from hub.idempotency.service import IdempotencyKey
from hub.schemas import DbId

router = APIRouter(prefix="/app", tags=["carrier app"], responses=problems(401, 403, 422))

AppKey = Annotated[Principal, require(Role.CARRIER_APP)]
AppUserId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$",
                                 description="The app's own user id (the customer's app_user identity)")]


class AppClaimIn(BaseModel):
    batch_id: DbId


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
async def app_claim(app_user_id: AppUserId, body: AppClaimIn, key: AppKey,
                    idempotency_key: IdempotencyKey = None) -> TransitionOut:
    async def act() -> TransitionOut:
        customer = await get_or_create_by_identity(kind=IdentityKind.APP_USER, value=app_user_id)
        return transition_out(await claims.claim(batch_id=body.batch_id, customer_id=customer.id, channel=CouponChannel.APP,
                                       request_id=request_id_for(key, idempotency_key), actor=actor_of(key)))

    return await write(key=key, idempotency_key=idempotency_key, endpoint=f"POST /app/users/{app_user_id}/claims",
                        body=body, action=act, status_code=201)
