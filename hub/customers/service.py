"""Customers and the identities that point at them; phone numbers enter here and leave as hash + mask.

For ``phone_hash`` identities every function takes the clear number as ``value``: no caller ever holds
a hash, and the one place that makes it is ``phone_identity``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from hub import clock
from hub.customers.models import Channel, ChannelConsent, Customer, Identity, IdentityKind
from hub.customers.phones import InvalidPhone, mask_phone, phone_hash
from hub.database import unique_or
from hub.errors import Conflict, FieldError, InvalidInput, NotFound
from hub.pagination import filter_given
from hub.regions.models import Region
from hub.stores.models import Store


class CustomerNotFound(NotFound):
    title = "Customer not found"


class IdentityTaken(Conflict):
    title = "The identity belongs to another customer"


class IdentityRace(Conflict):
    title = "Another request made this customer at the same moment"
    headers = {"Retry-After": "1"}


class CustomerMerged(Conflict):
    title = "The customer was merged into another"


@dataclass(frozen=True)
class IdentityKey:
    """An identity as stored: for phones the keyed hash, plus the masked number for display."""

    kind: IdentityKind
    value: str
    masked: str = ""


def phone_identity(phone: str, *, field: str = "phone") -> IdentityKey:
    try:
        return IdentityKey(IdentityKind.PHONE_HASH, phone_hash(phone), mask_phone(phone))
    except InvalidPhone as exc:  # the message never repeats the number
        raise InvalidInput.field(field, str(exc)) from None


def identity_key(kind: IdentityKind, value: str, *, field: str = "value") -> IdentityKey:
    if kind == IdentityKind.PHONE_HASH:
        return phone_identity(value, field=field)
    return IdentityKey(kind, value)


async def owner_of(key: IdentityKey) -> int | None:
    """The id of the customer holding this identity, if any."""
    ids = cast(list[int], await Identity.filter(kind=key.kind, value=key.value).limit(1).values_list(
        "customer_id", flat=True))
    return ids[0] if ids else None


async def get_customer(*, customer_id: int) -> Customer:
    customer = await Customer.get_or_none(id=customer_id).prefetch_related("identities", "channels")
    if customer is None:
        raise CustomerNotFound(f"No customer {customer_id}")
    return customer


async def find_by_phone(*, phone: str) -> Customer | None:
    customer_id = await owner_of(phone_identity(phone))
    return None if customer_id is None else await get_customer(customer_id=customer_id)


async def get_or_create_by_identity(*, kind: IdentityKind, value: str, verified: bool = False) -> Customer:
    """The customer with this identity, made if new; a concurrent twin loses on the unique index (409)."""
    key = identity_key(kind, value)
    customer_id = await owner_of(key)
    if customer_id is None:
        customer = await Customer.create(phone_masked=key.masked)
        async with unique_or(IdentityRace("Another request made this customer at the same moment; retry")):
            await Identity.create(customer=customer, kind=key.kind, value=key.value, verified=verified)
        customer_id = customer.id
    elif verified:
        await Identity.filter(kind=key.kind, value=key.value, verified=False).update(
            verified=True, updated_at=clock.now())
    return await get_customer(customer_id=customer_id)


def identity_taken(field: str, key: IdentityKey, owner_id: int | None) -> IdentityTaken:
    """The 409 naming the field; the owner is unknown when a concurrent request took the identity."""
    owner = f"customer {owner_id}" if owner_id is not None else "another customer"
    message = f"this {key.kind.value} already belongs to {owner}"
    return IdentityTaken(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


async def create_customer(
    *,
    phone: str | None = None,
    display_name: str = "",
    region_code: str | None = None,
    home_store_code: str | None = None,
    identities: Sequence[Mapping[str, Any]] = (),
) -> Customer:
    """Check every identity first, so a taken one leaves nothing written."""
    wanted: list[tuple[str, IdentityKey, bool]] = []
    if phone is not None:
        wanted.append(("phone", phone_identity(phone), True))
    for n, item in enumerate(identities):
        wanted.append((f"identities[{n}].value", identity_key(item["kind"], item["value"]), item["verified"]))
    seen: set[tuple[str, str]] = set()
    for field, key, _ in wanted:
        if (key.kind, key.value) in seen:
            raise InvalidInput.field(field, "is given twice")
        seen.add((key.kind, key.value))
        owner_id = await owner_of(key)
        if owner_id is not None:
            raise identity_taken(field, key, owner_id)
    store = region = None
    if home_store_code is not None:
        store = await Store.get_or_none(code=home_store_code)
        if store is None:
            raise InvalidInput.field("home_store_code", f"no store {home_store_code}")
    if region_code is not None:
        region = await Region.get_or_none(code=region_code)
        if region is None:
            raise InvalidInput.field("region_code", f"no region {region_code}")
    customer = await Customer.create(
        display_name=display_name,
        phone_masked=wanted[0][1].masked if phone is not None else "",
        region_id=region.id if region else (store.region_id if store else None),
        home_store=store,
    )
    for field, key, verified in wanted:
        async with unique_or(identity_taken(field, key, None)):  # a twin request got past the check first
            await Identity.create(customer=customer, kind=key.kind, value=key.value, verified=verified)
    return await get_customer(customer_id=customer.id)


async def list_customers(
    *,
    phone: str | None = None,
    identity_kind: IdentityKind | None = None,
    identity_value: str | None = None,
    home_store_id: int | None = None,
    region_id: int | None = None,
    do_not_disturb: bool | None = None,
):
    """Live customers (merged ones are left out); identity filters resolve to ids first."""
    query = Customer.filter(merged_into_id=None).prefetch_related("identities", "channels")
    keys = []
    if phone is not None:
        keys.append(phone_identity(phone))
    if (identity_kind is None) != (identity_value is None):
        raise InvalidInput.field("identity_value", "give identity_kind and identity_value together")
    if identity_kind is not None and identity_value is not None:  # both or neither, checked just above
        if identity_kind == IdentityKind.PHONE_HASH:
            raise InvalidInput.field("identity_kind", "look a phone up with phone")
        keys.append(IdentityKey(identity_kind, identity_value))
    for key in keys:
        query = query.filter(id=await owner_of(key) or 0)  # no owner: id 0 matches nothing
    return filter_given(query, home_store_id=home_store_id, region_id=region_id, do_not_disturb=do_not_disturb)


async def live_customer(*, customer_id: int) -> Customer:
    customer = await Customer.get_or_none(id=customer_id)
    if customer is None:
        raise CustomerNotFound(f"No customer {customer_id}")
    if customer.merged_into_id is not None:
        raise CustomerMerged(f"Customer {customer_id} was merged into customer {customer.merged_into_id}")
    return customer


async def lock_live(*customer_ids: int) -> dict[int, Customer]:
    """Lock the customers' rows in id order (no deadlock between two merges) and check none was merged."""
    rows = await Customer.filter(id__in=sorted(set(customer_ids))).order_by("id").select_for_update()
    found = {c.id: c for c in rows}
    for customer_id in customer_ids:
        customer = found.get(customer_id)
        if customer is None:
            raise CustomerNotFound(f"No customer {customer_id}")
        if customer.merged_into_id is not None:
            raise CustomerMerged(f"Customer {customer_id} was merged into customer {customer.merged_into_id}")
    return found


async def set_channel(
    *, customer_id: int, channel: Channel, consent: bool, do_not_disturb: bool, source: str
) -> ChannelConsent:
    """Upsert one channel; the customer's row lock keeps a merge from moving channels meanwhile."""
    await lock_live(customer_id)
    values: dict[str, Any] = {"consent": consent, "do_not_disturb": do_not_disturb, "source": source}
    updated = await ChannelConsent.filter(customer_id=customer_id, channel=channel).update(
        **values, updated_at=clock.now())
    if not updated:
        await ChannelConsent.create(customer_id=customer_id, channel=channel, **values)
    return await ChannelConsent.get(customer_id=customer_id, channel=channel)


async def set_do_not_disturb(*, customer_id: int, do_not_disturb: bool) -> Customer:
    updated = await Customer.filter(id=customer_id, merged_into_id=None).update(
        do_not_disturb=do_not_disturb, updated_at=clock.now()
    )
    if not updated:
        await live_customer(customer_id=customer_id)  # raises the reason
    return await get_customer(customer_id=customer_id)
