"""Who may call the coupon routes, the path parameters they share, and how a transition is answered."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from coupons.ledger import Actor, Transition
from coupons.rules import effective_state
from coupons.schemas import TransitionOut
from hub import clock
from hub.auth.deps import require
from hub.auth.models import Role
from hub.auth.service import Principal
from hub.errors import Forbidden, InvalidInput
from hub.schemas import DbId
from hub.stores.models import Store

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
    return TransitionOut.of(transition, effective_state(transition.coupon, clock.now()))


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
