"""Funnel events: recording them with the attribution they carry, and the visitor's first and last touch
merged into the customer once known. (Scans are written in batches by ``hub.links``, which also keeps
each visitor's touches up to date.)

Callers own the transaction (``hub.database.transaction()``), as everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.expressions import Q

from hub import clock, rawsql
from hub.events import hooks
from hub.events.attribution import Attribution
from hub.events.models import Event, EventType, Visitor


async def record_event(*, type: EventType | str, customer_id: int | None = None, visitor_id: str | None = None,
                       attribution: Attribution | None = None, props: dict[str, Any] | None = None,
                       occurred_at: datetime | None = None, counted: bool = True) -> Event:
    """Insert one funnel event carrying ``attribution`` in its columns (see ``attribution_for``)."""
    # On every claim and redemption: Tortoise's create cost more than the INSERT.
    return await rawsql.insert(Event, **event_columns(
        type=type, customer_id=customer_id, visitor_id=visitor_id, attribution=attribution, props=props,
        occurred_at=occurred_at, counted=counted))


def event_columns(*, type: EventType | str, customer_id: int | None = None, visitor_id: str | None = None,
                  attribution: Attribution | None = None, props: dict[str, Any] | None = None,
                  occurred_at: datetime | None = None, counted: bool = True) -> dict[str, Any]:
    """The columns of an event row, for ``record_event`` or for a caller that inserts it in one statement
    with its own write (``coupons.ledger.apply``)."""
    columns = attribution.columns() if attribution else {}
    return dict(type=EventType(type), occurred_at=occurred_at or clock.now(), customer_id=customer_id,
                visitor_id=visitor_id or (attribution.visitor_id if attribution else None), counted=counted,
                props=props or {}, **{k: v for k, v in columns.items() if v is not None})


async def attribution_for(*, visitor_id: str | None = None, token: str | None = None) -> Attribution | None:
    """What a later event should carry: a valid link token first, else the visitor's last touch.

    An identified visitor answers with the latest touch of any visitor of the same customer.
    """
    if token:
        verify = hooks.verify_attribution_token.only()
        found = verify(token) if verify is not None else None
        if found is not None:
            return found
    if not visitor_id:
        return None
    visitor = await Visitor.get_or_none(visitor_id=visitor_id)
    if visitor is None:
        return None
    if visitor.customer_id is not None:
        latest = await Visitor.filter(customer_id=visitor.customer_id, last_code_id__not_isnull=True).order_by(
            "-last_at").first()
        visitor = latest or visitor
    return Attribution.from_json(visitor.last_attribution)


async def identify_visitor(*, visitor_id: str, customer_id: int) -> Visitor:
    """Tie a visitor to a customer; all the customer's visitors then share its earliest first touch and
    latest last touch. A visitor never seen before is kept too, so its later scans land on the customer."""
    now = clock.now()
    visitor, created = await Visitor.get_or_create(visitor_id=visitor_id, defaults={
        "first_at": now, "last_at": now, "customer_id": customer_id})
    if not created:
        await Visitor.filter(id=visitor.id).update(customer_id=customer_id)
    rows = await Visitor.filter(customer_id=customer_id).select_for_update().order_by("id")
    touched = [v for v in rows if v.first_code_id is not None]
    if touched:
        first = min(touched, key=lambda v: v.first_at)
        last = max(touched, key=lambda v: v.last_at)
        # Conditional: a first touch only moves earlier and a last touch only later, so a scan the writer
        # stores meanwhile is never overwritten by an older one.
        await Visitor.filter(Q(first_code_id__isnull=True) | Q(first_at__gt=first.first_at),
                             customer_id=customer_id).update(
            first_code_id=first.first_code_id, first_at=first.first_at, first_attribution=first.first_attribution)
        await Visitor.filter(Q(last_code_id__isnull=True) | Q(last_at__lt=last.last_at),
                             customer_id=customer_id).update(
            last_code_id=last.last_code_id, last_at=last.last_at, last_attribution=last.last_attribution)
    return await Visitor.get(visitor_id=visitor_id)
