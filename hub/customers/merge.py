"""Linking identities, and merging the customer that held one into the customer that proved it.

Both customers' rows are locked in id order before anything moves, so two merges of the same pair
(or a merge and a channel upsert) queue up instead of interleaving; every change is a conditional or
monotone UPDATE (consent only ever switched off, do-not-disturb only on), never a value computed from a
stale read.
"""

from __future__ import annotations

from typing import cast

from hub import clock
from hub.customers.models import Channel, ChannelConsent, Customer, Identity, IdentityKind
from hub.customers.service import (
    IdentityKey,
    get_customer,
    identity_key,
    identity_taken,
    live_customer,
    lock_live,
    owner_of,
    phone_identity,
)
from hub.errors import Conflict, InvalidInput


class LinkRaced(Conflict):
    title = "The identity changed hands while linking; retry"


def link_target(*, kind: IdentityKind | None, value: str | None, phone: str | None) -> tuple[str, IdentityKey]:
    """The identity a link request names, and the field to blame for it."""
    if phone is not None:
        if value is not None or kind not in (None, IdentityKind.PHONE_HASH):
            raise InvalidInput.field("phone", "give either phone or kind and value")
        return "phone", phone_identity(phone)
    if kind is None:
        raise InvalidInput.field("kind", "is required unless phone is given")
    if kind == IdentityKind.PHONE_HASH:
        raise InvalidInput.field("kind", "link a phone number with phone")
    if value is None:
        raise InvalidInput.field("value", "is required with kind")
    return "value", identity_key(kind, value)


async def link_identity(
    *,
    customer_id: int,
    kind: IdentityKind | None = None,
    value: str | None = None,
    phone: str | None = None,
    verified: bool = False,
) -> Customer:
    """Attach an identity; a verified one held by another customer merges that customer into this one."""
    field, key = link_target(kind=kind, value=value, phone=phone)
    await live_customer(customer_id=customer_id)
    owner_id = await owner_of(key)
    if owner_id is not None and owner_id != customer_id and not verified:
        raise identity_taken(field, key, owner_id)
    await lock_live(customer_id, *([owner_id] if owner_id is not None else []))
    if await owner_of(key) != owner_id:
        raise LinkRaced(f"{field}: changed hands while linking")
    now = clock.now()
    if owner_id is None:
        await Identity.create(customer_id=customer_id, kind=key.kind, value=key.value, verified=verified)
    elif owner_id != customer_id:
        await merge_into(survivor_id=customer_id, absorbed_id=owner_id)
    if verified:
        await Identity.filter(kind=key.kind, value=key.value, verified=False).update(verified=True, updated_at=now)
    if key.masked:
        await Customer.filter(id=customer_id, phone_masked="").update(phone_masked=key.masked, updated_at=now)
    return await get_customer(customer_id=customer_id)


async def merge_into(*, survivor_id: int, absorbed_id: int) -> None:
    """Move everything of ``absorbed`` onto ``survivor``, keeping the stricter consent; both rows locked."""
    if survivor_id == absorbed_id:
        raise InvalidInput.field("customer_id", "a customer cannot be merged into itself")
    now = clock.now()
    absorbed = await Customer.get(id=absorbed_id)
    await Identity.filter(customer_id=absorbed_id).update(customer_id=survivor_id, updated_at=now)

    ours = set(cast(list[Channel], await ChannelConsent.filter(customer_id=survivor_id).values_list(
        "channel", flat=True)))
    for theirs in await ChannelConsent.filter(customer_id=absorbed_id):
        if theirs.channel not in ours:
            await ChannelConsent.filter(id=theirs.id).update(customer_id=survivor_id, updated_at=now)
            continue
        mine = ChannelConsent.filter(customer_id=survivor_id, channel=theirs.channel)
        if not theirs.consent:
            await mine.update(consent=False, updated_at=now)
        if theirs.do_not_disturb:
            await mine.update(do_not_disturb=True, updated_at=now)
        await ChannelConsent.filter(id=theirs.id).delete()

    survivor = Customer.filter(id=survivor_id)
    if absorbed.do_not_disturb:
        await survivor.update(do_not_disturb=True, updated_at=now)
    # Fill only what the survivor lacks: the survivor's own data always wins.
    for name in ("display_name", "phone_masked"):
        if getattr(absorbed, name):
            await survivor.filter(**{name: ""}).update(**{name: getattr(absorbed, name)}, updated_at=now)
    for name in ("region_id", "home_store_id"):
        if getattr(absorbed, name) is not None:
            await survivor.filter(**{f"{name}__isnull": True}).update(**{name: getattr(absorbed, name)})

    # Keep merge chains one step long: whoever pointed at the absorbed customer now points at the survivor.
    await Customer.filter(merged_into_id=absorbed_id).update(merged_into_id=survivor_id, updated_at=now)
    done = await Customer.filter(id=absorbed_id, merged_into_id=None).update(merged_into_id=survivor_id, updated_at=now)
    if done != 1:
        raise LinkRaced(f"Customer {absorbed_id} was merged meanwhile")

