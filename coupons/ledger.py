"""The coupon ledger: one append-only row per transition, and replays answered from it.

(operation, request_id) is unique, so the row a request wrote is also its receipt: a retried request finds
it and gets the first answer back, and two copies of one request racing each other cannot both commit.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coupons import statements
from coupons.models import Coupon, CouponLedger, CouponState, Operation
from hub import rawsql
from hub.errors import InvalidInput
from hub.events.models import Event


@dataclass(frozen=True)
class Actor:
    """Who asked for a transition: an API key (id and role), or a job (no key, role "system")."""

    key_id: int | None
    role: str


# Makes a transition's funnel event from the coupon after it and the ledger row's columns (``funnel.columns``).
EventOf = Callable[..., dict[str, Any]]

SYSTEM = Actor(key_id=None, role="system")  # the scheduled jobs


@dataclass(frozen=True)
class Transition:
    """The outcome of one operation: its ledger row and the coupon as it is now."""

    entry: CouponLedger
    coupon: Coupon
    replayed: bool = False


async def load_coupon(coupon_id: int) -> Coupon:
    return await Coupon.get(id=coupon_id).select_related("batch")


async def replay(*, operation: Operation, request_id: str, coupon_id: int | None = None,
                 batch_id: int | None = None) -> Transition | None:
    """The first outcome of this request, if it already happened; the same request id used for another
    coupon or batch is a client bug and refused."""
    entry = await CouponLedger.get_or_none(operation=operation, request_id=request_id)
    if entry is None:
        return None
    coupon = await load_coupon(entry.coupon_id)
    if (coupon_id is not None and coupon.id != coupon_id) or (batch_id is not None and coupon.batch_id != batch_id):
        raise InvalidInput.field("request_id", "was already used for another coupon")
    return Transition(entry=entry, coupon=coupon, replayed=True)


async def record(*, coupon_id: int, operation: Operation, from_state: CouponState | None, to_state: CouponState,
                 actor: Actor, request_id: str, coupon: Coupon | None = None, **details: Any) -> Transition:
    """Append the ledger row of a transition that has just been applied, in the same transaction; the
    coupon as it is now is read again unless the caller has it (with its batch)."""
    entry = await rawsql.insert(CouponLedger, **_entry(
        coupon_id=coupon_id, operation=operation, from_state=from_state, to_state=to_state, actor=actor,
        request_id=request_id, **details))
    return Transition(entry=entry, coupon=coupon if coupon is not None else await load_coupon(coupon_id))


async def apply(coupon: Coupon, *, operation: Operation, to_state: CouponState, actor: Actor, request_id: str,
                now: datetime, changes: dict[str, Any] | None = None, guard: dict[str, Any] | None = None,
                event: EventOf | None = None, **details: Any) -> Transition | None:
    """Move ``coupon`` from the state and version it was read in to ``to_state`` and append the ledger row,
    and the funnel event ``event`` makes of the coupon after it and the row's columns (``funnel.columns``):
    one round trip on PostgreSQL. None when the coupon changed since (the caller decides what that means)."""
    changes = {"updated_at": now, **(changes or {})}
    # The row is exactly the one read plus these changes (state and version guard it): no need to read it.
    after = copy(coupon)
    for name, value in {"state": to_state, "version": coupon.version + 1, **changes}.items():
        setattr(after, name, value)
    columns = _entry(coupon_id=coupon.id, operation=operation, from_state=coupon.state, to_state=to_state, actor=actor,
                     request_id=request_id, created_at=now, **details)
    also = (Event, event(after, at=now, **columns)) if event is not None else None
    update, values = statements.move(coupon, to_state=to_state, changes=changes, guard=guard or {})
    entry = await rawsql.insert_if_changed(update, values, CouponLedger, also=also, **columns)
    return Transition(entry=entry, coupon=after) if entry is not None else None


def _entry(*, actor: Actor, **columns: Any) -> dict[str, Any]:
    """A ledger row's columns: ``details`` name them already (``store_id``, ``amount_fen``, ``detail``…)."""
    return {"actor_key_id": actor.key_id, "actor_role": actor.role, **columns}


async def settle(done: Transition | None, *, operation: Operation, request_id: str, coupon: Coupon,
                 lost: Exception) -> Transition:
    """The outcome of ``apply``: its transition, or, when the coupon changed first, the answer of an earlier
    copy of this very request that won, or else ``lost`` raised (another request got there first)."""
    if done is not None:
        return done
    earlier = await replay(operation=operation, request_id=request_id, coupon_id=coupon.id)
    if earlier is None:
        raise lost
    return earlier
