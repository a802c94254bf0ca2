"""The funnel events of coupons: claim, redeem and reverse (a cancelled redemption or a return).

Each carries the attribution of the touch that brought the customer to claim (the signed link token or the
visitor's last touch, kept on the coupon at claim time, so the redemption weeks later still credits the
same code), with the campaign set to the coupon's own campaign when its batch belongs to one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from coupons.ledger import Transition
from hub.events.attribution import Attribution
from hub.events.models import EventType
from hub.events.service import record_event

TYPES = {"claim": EventType.CLAIM, "redeem": EventType.REDEEM, "cancel_redemption": EventType.REVERSE,
         "return": EventType.REVERSE}


async def record(transition: Transition, *, at: datetime) -> None:
    """The funnel event of a claim, redemption or cancelled redemption just written to the ledger."""
    coupon, entry = transition.coupon, transition.entry
    attribution = Attribution.from_json(coupon.attribution)
    if coupon.batch.campaign_id is not None:
        attribution = replace(attribution or Attribution(), campaign_id=coupon.batch.campaign_id)
    await record_event(
        type=TYPES[entry.operation.value], customer_id=coupon.owner_id, attribution=attribution,
        occurred_at=at,
        props={"coupon_id": coupon.id, "batch_id": coupon.batch_id, "operation": entry.operation.value,
               "store_id": entry.store_id, "amount_fen": entry.amount_fen},
    )
