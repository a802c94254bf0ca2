"""The funnel events of coupons: claim, redeem and reverse (a cancelled redemption or a return).

Accepting a gift is the friend's claim of the coupon: a ``claim`` event for the receiver, whose props say
operation ``accept`` and name the share and the giver (no event type of its own, so the funnel counts the
friend as won without another kind of row to add up).

Each carries the attribution of the touch that brought the customer to claim (the signed link token or the
visitor's last touch, kept on the coupon at claim time, so the redemption weeks later still credits the
same code), with the campaign set to the coupon's own campaign when its batch belongs to one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from coupons.ledger import Transition
from coupons.models import Coupon, Operation
from hub import rawsql
from hub.errors import present
from hub.events.attribution import Attribution
from hub.events.models import Event, EventType
from hub.events.service import event_columns

TYPES = {"claim": EventType.CLAIM, "accept": EventType.CLAIM, "redeem": EventType.REDEEM,
         "cancel_redemption": EventType.REVERSE, "return": EventType.REVERSE}


async def record(transition: Transition, *, at: datetime) -> None:
    """The funnel event of a claim, accepted gift, redemption or cancelled redemption just written to the
    ledger; the customer is the coupon's owner after it (for an accept, the receiver)."""
    entry = transition.entry
    await rawsql.insert(Event, **columns(transition.coupon, operation=entry.operation, store_id=entry.store_id,
                                         amount_fen=entry.amount_fen, detail=entry.detail, at=at))


def columns(coupon: Coupon, *, operation: Operation, store_id: int | None = None, amount_fen: int | None = None,
            detail: dict[str, Any] | None = None, at: datetime, **_other_ledger_columns: Any) -> dict[str, Any]:
    """The event row of a transition: ``coupon`` as it is after it, the ledger row's columns. Also what
    ``coupons.ledger.apply`` takes as ``event=``, to write it in the transition's one statement."""
    attribution = Attribution.from_json(coupon.attribution)
    if coupon.batch.campaign_id is not None:
        attribution = replace(attribution or Attribution(), campaign_id=coupon.batch.campaign_id)
    props = {"coupon_id": coupon.id, "batch_id": coupon.batch_id, "operation": operation.value,
             "store_id": store_id, "amount_fen": amount_fen}
    if operation == Operation.ACCEPT:
        given = present(detail, "an accept's ledger row names the share and the giver (gifting._detail)")
        props |= {"share_id": given["share_id"], "from_customer_id": given["from_customer_id"]}
    return event_columns(type=TYPES[operation.value], customer_id=coupon.owner_id, attribution=attribution,
                         occurred_at=at, props=props)
