"""Codes: creating, changing and disabling them, with the attribution each kind needs and who may own it.

Every change is one conditional UPDATE on ``version`` (and bumps it): two editors racing cannot both
win, and the public link's cache compares ``version`` to notice a change it was not told about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import F, RawSQL
from tortoise.models import Model
from tortoise.queryset import QuerySet

from hub import clock
from hub.auth.models import Role
from hub.auth.service import Principal
from hub.campaigns.models import Campaign, CampaignStatus
from hub.codes import hooks
from hub.codes.models import Code, CodeKind, TargetKind
from hub.codes.slugs import insert_code
from hub.codes.targets import check_target_url, pending_contact_target, storefront_url
from hub.database import current_unit_of_work, dialect
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.pagination import filter_given
from hub.products.models import Product
from hub.staff.models import Staff
from hub.stores.models import Store

K, T = CodeKind, TargetKind
# The attribution ids each kind carries; the first is required (livestream: staff_id or store_id).
_ATTRIBUTION = {
    K.STORE: ("store_id", "campaign_id"),
    K.PRODUCT: ("product_id", "store_id", "staff_id", "campaign_id"),
    K.STAFF: ("staff_id", "store_id", "campaign_id"),
    K.LIVESTREAM: ("staff_id", "store_id", "campaign_id"),
    K.CAMPAIGN: ("campaign_id", "store_id", "staff_id"),
}
_TARGET_KINDS = {
    K.STORE: (T.STOREFRONT, T.WECOM_CONTACT),
    K.STAFF: (T.STOREFRONT, T.WECOM_CONTACT),
    K.LIVESTREAM: (T.STOREFRONT, T.LIVESTREAM),
    K.PRODUCT: (T.STOREFRONT,),
    K.CAMPAIGN: (T.STOREFRONT,),
}
_TAG_RE = re.compile(r"[\w.-]{1,32}")


class CodeNotFound(NotFound):
    title = "Code not found"


class CodeChanged(Conflict):
    title = "The code changed meanwhile"


@dataclass(frozen=True)
class Attribution:
    store: Store | None
    staff: Staff | None
    product: Product | None
    campaign: Campaign | None


def _loaded(query: QuerySet | None = None) -> QuerySet:
    """Codes with what ``CodeOut`` shows: attribution and creating key joined, products prefetched."""
    query = query if query is not None else Code.all()
    return query.select_related("store", "staff", "product", "created_by").prefetch_related("products")


async def get_code(*, code_id: int) -> Code:
    code = await _loaded(Code.filter(id=code_id)).first()
    if code is None:
        raise CodeNotFound(f"No code {code_id}")
    return code


async def get_code_by_slug(*, slug: str) -> Code:
    code = await _loaded(Code.filter(slug=slug)).first()
    if code is None:
        raise CodeNotFound(f"No code {slug}")
    return code


def list_codes(
    *, kind: CodeKind | None = None, store_id: int | None = None, staff_id: int | None = None,
    product_id: int | None = None, campaign_id: int | None = None, active: bool | None = None,
    tag: str | None = None, q: str | None = None,
) -> QuerySet[Code]:
    """Codes matching every filter given; store-scoped callers pass their own store or staff id."""
    query = filter_given(
        _loaded(), kind=kind, store_id=store_id, staff_id=staff_id, product_id=product_id,
        campaign_id=campaign_id, active=active, name__icontains=q,
    )
    if tag:
        if not _TAG_RE.fullmatch(tag):  # the API checks this too; the SQLite filter below relies on it
            raise InvalidInput.field("tag", "letters, digits, _ . - only")
        if dialect() == "postgres":
            query = query.filter(tags__contains=[tag])
        else:  # SQLite has no JSON containment operator; the tag's alphabet (no quotes) makes a safe literal
            literal = tag.replace("'", "''")
            query = query.annotate(has_tag=RawSQL(
                f"EXISTS (SELECT 1 FROM json_each(\"code\".\"tags\") WHERE json_each.value = '{literal}')"  # noqa: S608  tag matched _TAG_RE above
            )).filter(has_tag=True)
    return query


def scoped_ids(principal: Principal, *, kind: CodeKind, store_id: int | None, staff_id: int | None) -> dict:
    """Fill a store-scoped key's own staff/store into a new code, refusing another one before any lookup."""
    carries = _ATTRIBUTION[kind]
    if principal.role == Role.STAFF:
        if principal.staff_id is None:
            raise Forbidden("This staff key names no staff member, so it cannot own codes")
        if staff_id not in (None, principal.staff_id):
            raise Forbidden("A staff key creates codes only for its own staff member")
        principal.require_store(store_id if store_id is not None else principal.store_id)
        if staff_id is None and "staff_id" in carries:
            staff_id = principal.staff_id
    elif principal.role == Role.STORE_MANAGER:
        principal.require_store(store_id if store_id is not None else principal.store_id)
        if store_id is None and staff_id is None and "store_id" in carries:
            store_id = principal.store_id
    return {"store_id": store_id, "staff_id": staff_id}


def authorise(principal: Principal | None, *, store_id: int | None, staff_id: int | None) -> None:
    """Staff keys own only codes of their staff member, store managers those of their store."""
    if principal is None or principal.role in (Role.OPS, Role.ADMIN):
        return  # the CLI (ops) and ops/admin keys
    if principal.role == Role.STAFF:
        if principal.staff_id is None or staff_id != principal.staff_id:
            raise Forbidden("A staff key acts only on codes of its own staff member")
        principal.require_store(store_id)
    elif principal.role == Role.STORE_MANAGER:
        principal.require_store(store_id)
    else:
        raise Forbidden(f"Role {principal.role.value} may not manage codes")


async def _row(model: type[Model], field: str, row_id: int | None, what: str) -> Any:
    if row_id is None:
        return None
    row = await model.get_or_none(id=row_id)
    if row is None:
        raise InvalidInput.field(field, f"no {what} {row_id}")
    if getattr(row, "active", True) is False:
        raise InvalidInput.field(field, f"{what} {row_id} is not active")
    return row


async def resolve_attribution(
    *, kind: CodeKind, store_id: int | None, staff_id: int | None, product_id: int | None, campaign_id: int | None
) -> Attribution:
    """Load the attribution rows, checking the kind's required and allowed fields; staff implies their store."""
    given = {"store_id": store_id, "staff_id": staff_id, "product_id": product_id, "campaign_id": campaign_id}
    carries = _ATTRIBUTION[kind]
    for field, value in given.items():
        if value is not None and field not in carries:
            raise InvalidInput.field(field, f"a {kind.value} code does not carry a {field.removesuffix('_id')}")
    if kind == K.LIVESTREAM and staff_id is None and store_id is None:
        raise InvalidInput.field("staff_id", "a livestream code needs staff_id or store_id")
    if kind != K.LIVESTREAM and given[carries[0]] is None:
        raise InvalidInput.field(carries[0], f"a {kind.value} code needs one")
    staff = await _row(Staff, "staff_id", staff_id, "staff member")
    if staff is not None:
        if store_id is not None and store_id != staff.store_id:
            raise InvalidInput.field("store_id", f"staff member {staff.staff_no} works at another store")
        store_id = staff.store_id
    store = await _row(Store, "store_id", store_id, "store")
    product = await _row(Product, "product_id", product_id, "product")
    campaign = await _row(Campaign, "campaign_id", campaign_id, "campaign")
    if campaign is not None and campaign.status == CampaignStatus.ENDED:
        raise InvalidInput.field("campaign_id", f"campaign {campaign_id} has ended")
    return Attribution(store=store, staff=staff, product=product, campaign=campaign)


def _target(kind: CodeKind, target_kind: TargetKind, target_url: str | None, a: Attribution) -> str:
    if target_kind not in _TARGET_KINDS[kind]:
        allowed = ", ".join(t.value for t in _TARGET_KINDS[kind])
        raise InvalidInput.field("target_kind", f"a {kind.value} code may point at: {allowed}")
    if target_kind == T.WECOM_CONTACT and target_url is None:
        return pending_contact_target(store_code=a.store.code if a.store else None)  # the way: create_code
    if target_kind != T.STOREFRONT:
        if target_url is None:
            raise InvalidInput.field("target_url", f"a {target_kind.value} target needs its URL")
        return check_target_url(target_url, target_kind=target_kind)
    if target_url is not None:
        raise InvalidInput.field("target_url", "storefront targets are built by the hub; leave target_url out")
    return storefront_url(
        store_code=a.store.code if a.store else None,
        product_sku=a.product.sku if a.product else None,
        campaign_id=a.campaign.id if a.campaign else None,
    )


def _check_times(kind: CodeKind, values: dict[str, Any]) -> None:
    start, end = values.get("valid_from"), values.get("valid_until")
    if start is not None and end is not None and end <= start:
        raise InvalidInput.field("valid_until", "must be after valid_from")
    live_start, live_end = values.get("live_starts_at"), values.get("live_ends_at")
    if kind != K.LIVESTREAM:
        for field in ("live_starts_at", "live_ends_at", "product_ids"):
            if values.get(field):
                raise InvalidInput.field(field, "only livestream codes have live times and products")
        return
    if live_start is None:
        raise InvalidInput.field("live_starts_at", "a livestream code needs its live window")
    if live_end is None:
        raise InvalidInput.field("live_ends_at", "a livestream code needs its live window")
    if live_end <= live_start:
        raise InvalidInput.field("live_ends_at", "must be after live_starts_at")


async def _products(product_ids: list[int]) -> list[Product]:
    products = await Product.filter(id__in=product_ids) if product_ids else []
    missing = sorted(set(product_ids) - {p.id for p in products})
    if missing:
        raise InvalidInput.field("product_ids", f"no product {', '.join(map(str, missing))}")
    return products


async def create_code(
    *, kind: CodeKind, target_kind: TargetKind = T.STOREFRONT, target_url: str | None = None,
    store_id: int | None = None, staff_id: int | None = None, product_id: int | None = None,
    campaign_id: int | None = None, product_ids: Iterable[int] = (), created_by_id: int | None = None,
    principal: Principal | None = None, **fields: Any,
) -> Code:
    """A new code; ``fields`` are name, channel, valid_from/until, scan_limit, tags and the live window."""
    a = await resolve_attribution(kind=kind, store_id=store_id, staff_id=staff_id, product_id=product_id,
                                  campaign_id=campaign_id)
    authorise(principal, store_id=a.store.id if a.store else None, staff_id=a.staff.id if a.staff else None)
    url = _target(kind, target_kind, target_url, a)
    _check_times(kind, {**fields, "product_ids": list(product_ids)})
    products = await _products(list(product_ids))
    code = await insert_code(
        kind=kind, target_kind=target_kind, target_url=url, store=a.store, staff=a.staff, product=a.product,
        campaign=a.campaign, created_by_id=created_by_id, **fields,
    )
    if products:
        await code.products.add(*products)
    if target_kind == T.WECOM_CONTACT and target_url is None:
        make_contact_way = hooks.contact_way_wanted.only()
        if make_contact_way is None:
            raise InvalidInput.field("target_url", "no package makes WeCom contact ways here; give the target's URL")
        await make_contact_way(code=code, store=a.store, staff=a.staff)
    _invalidate_after_commit(code.id)
    return await get_code(code_id=code.id)


async def update_code(*, code_id: int, changes: dict[str, Any], principal: Principal | None = None) -> Code:
    """Change the given fields; the attribution and kind never change (make a new code for that)."""
    current = await get_code(code_id=code_id)
    authorise(principal, store_id=current.store_id, staff_id=current.staff_id)
    changes = dict(changes)
    if "target_url" in changes:
        if current.target_kind == T.STOREFRONT:
            raise InvalidInput.field("target_url", "storefront targets are built by the hub")
        if current.target_kind == T.WECOM_CONTACT and await hooks.target_kept_by_hub.any(code_id=code_id):
            raise InvalidInput.field("target_url", "the hub keeps this code's target: its WeCom contact-me code")
        changes["target_url"] = check_target_url(changes["target_url"], target_kind=current.target_kind)
    product_ids = changes.pop("product_ids", None)
    fields = ("valid_from", "valid_until", "live_starts_at", "live_ends_at")
    merged = {f: changes.get(f, getattr(current, f)) for f in fields}
    _check_times(current.kind, {**merged, "product_ids": product_ids})
    products = await _products(product_ids) if product_ids is not None else None
    if not changes and products is None:
        return current
    count = await Code.filter(id=code_id, version=current.version).update(
        **changes, version=F("version") + 1, updated_at=clock.now()
    )
    if not count:
        raise CodeChanged(f"Code {code_id} was changed by someone else; reload and retry")
    if products is not None:
        await current.products.clear()
        if products:
            await current.products.add(*products)
    if changes.get("active", current.active) != current.active:
        hook = hooks.code_enabled if changes["active"] else hooks.code_disabled
        await hook.notify(code_id=code_id)
    _invalidate_after_commit(code_id)
    return await get_code(code_id=code_id)


async def disable_code(*, code_id: int, principal: Principal | None = None) -> Code:
    """Stop the code (its link then answers "no longer valid"); disabling a disabled code changes nothing."""
    current = await get_code(code_id=code_id)
    authorise(principal, store_id=current.store_id, staff_id=current.staff_id)
    if await Code.filter(id=code_id, active=True).update(
        active=False, version=F("version") + 1, updated_at=clock.now()
    ):
        await hooks.code_disabled.notify(code_id=code_id)
        _invalidate_after_commit(code_id)
    return await get_code(code_id=code_id)


def _invalidate_after_commit(code_id: int) -> None:
    # After the commit, so a request between the invalidation and the commit cannot cache the old row. A missed
    # call only delays the change: the public link's cache also compares the code's ``version``.
    current_unit_of_work().after_commit(lambda: hooks.code_committed.notify(code_id=code_id))
