"""Stores: the halls and outlets, each hanging under a region of the organisation map."""

from __future__ import annotations

from typing import Any

from hub import rawsql
from hub.database import unique_or
from hub.errors import InvalidInput, NotFound
from hub.pagination import sql_page
from hub.regions.models import Region, RegionLevel
from hub.stores.models import Store, StoreKind


class StoreNotFound(NotFound):
    title = "Store not found"


async def get_store(*, store_id: int) -> Store:
    """One store with its region loaded (responses show the region code)."""
    store = await Store.get_or_none(id=store_id).select_related("region")
    if store is None:
        raise StoreNotFound(f"No store {store_id}")
    return store


async def get_store_by_code(*, code: str, field: str = "store_code") -> Store:
    """The store with this code, or a 422 naming the request field that carried it."""
    store = await Store.get_or_none(code=code)
    if store is None:
        raise InvalidInput.field(field, f"no store {code}")
    return store


async def _region_by_code(code: str) -> Region:
    region = await Region.get_or_none(code=code)
    if region is None:
        raise InvalidInput.field("region_code", f"no region {code}")
    if region.level != RegionLevel.GRID:
        raise InvalidInput.field("region_code", f"{code} is a {region.level}; stores belong to a grid (网格)")
    return region


async def create_store(
    *,
    code: str,
    name: str,
    region_code: str,
    kind: StoreKind = StoreKind.HALL,
    address: str = "",
    phone: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    active: bool = True,
) -> Store:
    taken = InvalidInput.field("code", f"store {code} already exists")
    if await Store.exists(code=code):
        raise taken
    region = await _region_by_code(region_code)
    async with unique_or(taken):  # a twin request got past the check first
        store = await Store.create(
            code=code, name=name, kind=kind, region=region, address=address, phone=phone,
            latitude=latitude, longitude=longitude, active=active,
        )
    return await get_store(store_id=store.id)


async def update_store(*, store_id: int, region_code: str | None = None, **changes: Any) -> Store:
    """Change the given columns (name, kind, address, phone, latitude, longitude, active) and the region."""
    # The row lock keeps two concurrent edits from interleaving; without select_related (PostgreSQL
    # refuses FOR UPDATE on an outer join).
    store = await Store.select_for_update().get_or_none(id=store_id)
    if store is None:
        raise StoreNotFound(f"No store {store_id}")
    if region_code is not None:
        changes["region_id"] = (await _region_by_code(region_code)).id
    for name, value in changes.items():
        setattr(store, name, value)
    await store.save(update_fields=[*changes, "updated_at"])
    return await get_store(store_id=store_id)


async def list_stores(
    *,
    region_ids: list[int] | None = None,
    kind: StoreKind | None = None,
    active: bool | None = None,
    q: str | None = None,
    store_id: int | None = None,
    limit: int,
    after: int | None = None,
) -> tuple[list[dict], int | None]:
    """One page of the stores matching every filter given (``store_id`` pins it to one store, for
    store-scoped keys), as ``StoreOut``'s fields, and the ``next_after`` of the next page. The hottest
    list of the API, so one statement written once (``hub.rawsql``)."""
    where = (rawsql.Where().equal("s.id", store_id).any_of("s.region_id", region_ids).equal("s.kind", kind)
             .equal("s.active", active).contains("s.name", q))
    return await sql_page(_LIST_SELECT, where, model=Store, id_column="s.id", limit=limit, after=after)


# What a listed store shows (``StoreOut``), its region's code joined in the same statement.
_LIST_SELECT = (
    "SELECT s.id, s.code, s.name, s.kind, s.region_id, s.address, s.phone, s.latitude, s.longitude, s.active, "
    "s.created_at, s.updated_at, r.code AS region_code FROM store s JOIN region r ON r.id = s.region_id"
)
