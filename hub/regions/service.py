"""Regions: the province → city → county → grid tree."""

from __future__ import annotations

from typing import cast

from hub.database import unique_or
from hub.errors import InvalidInput, NotFound
from hub.pagination import filter_given
from hub.regions.models import PARENT_LEVEL, Region, RegionLevel


class RegionNotFound(NotFound):
    title = "Region not found"


async def get_region(*, region_id: int) -> Region:
    region = await Region.get_or_none(id=region_id)
    if region is None:
        raise RegionNotFound(f"No region {region_id}")
    return region


async def resolve_parent(*, level: RegionLevel, parent_code: str | None) -> Region | None:
    """The parent a region of ``level`` must hang under; provinces have none."""
    expected = PARENT_LEVEL[level]
    if expected is None:
        if parent_code:
            raise InvalidInput.field("parent_code", "a province has no parent")
        return None
    if not parent_code:
        raise InvalidInput.field("parent_code", f"a {level.value} needs a parent {expected.value}")
    parent = await Region.get_or_none(code=parent_code)
    if parent is None:
        raise InvalidInput.field("parent_code", f"no region {parent_code}")
    if parent.level != expected:
        raise InvalidInput.field("parent_code", f"a {level.value}'s parent must be a {expected.value}")
    return parent


async def create_region(*, code: str, name: str, level: RegionLevel, parent_code: str | None) -> Region:
    taken = InvalidInput.field("code", f"region {code} already exists")
    if await Region.exists(code=code):
        raise taken
    parent = await resolve_parent(level=level, parent_code=parent_code)
    async with unique_or(taken):  # a twin request got past the check first
        return await Region.create(code=code, name=name, level=level, parent=parent)


async def rename_region(*, region_id: int, name: str) -> Region:
    region = await get_region(region_id=region_id)
    region.name = name
    await region.save(update_fields=["name", "updated_at"])
    return region


def list_regions(*, level: RegionLevel | None = None, parent_id: int | None = None, q: str | None = None):
    return filter_given(Region.all(), level=level, parent_id=parent_id, name__icontains=q)


async def region_ids_under(region_id: int) -> list[int]:
    """The region and every region below it (at most four levels deep)."""
    ids = [region_id]
    frontier = [region_id]
    while frontier:
        frontier = cast(list[int], await Region.filter(parent_id__in=frontier).values_list("id", flat=True))
        ids.extend(frontier)
    return ids


async def regions_above_store(store_id: int) -> frozenset[int]:
    """The store's grid and every region above it (county, city, province), in one query: what a rule
    scoped to regions matches a store against."""
    rows = await Region.filter(stores__id=store_id).values_list(
        "id", "parent_id", "parent__parent_id", "parent__parent__parent_id")
    return frozenset(region for row in rows for region in row if region is not None)
