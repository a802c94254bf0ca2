from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from hub.auth.deps import CurrentKey, OpsKey
from hub.edge import APIRouter
from hub.errors import problems
from hub.pagination import paginate
from hub.regions import service
from hub.regions.models import RegionLevel
from hub.regions.schemas import RegionIn, RegionOut, RegionPatch
from hub.schemas import DbId, Page, PageQuery, SearchText

router = APIRouter(prefix="/regions", tags=["regions"], responses=problems(401, 403, 422))


@router.get("", summary="List regions")
async def list_regions(
    key: CurrentKey,
    page: PageQuery,
    level: RegionLevel | None = None,
    parent_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    q: Annotated[SearchText | None, Query(description="Part of the name")] = None,
) -> Page[RegionOut]:
    query = service.list_regions(level=level, parent_id=parent_id, q=q)
    return await paginate(query, limit=page.limit, after=page.after, to_out=RegionOut.model_validate)


@router.get("/{region_id}", summary="One region", responses=problems(404))
async def get_region(key: CurrentKey, region_id: Annotated[DbId, Path()]) -> RegionOut:
    return RegionOut.model_validate(await service.get_region(region_id=region_id))


@router.post("", status_code=201, summary="Create a region", responses=problems(409))
async def create_region(body: RegionIn, key: OpsKey) -> RegionOut:
    return RegionOut.model_validate(await service.create_region(**body.model_dump()))


@router.patch("/{region_id}", summary="Rename a region", responses=problems(404))
async def patch_region(region_id: Annotated[DbId, Path()], body: RegionPatch, key: OpsKey) -> RegionOut:
    region = await service.get_region(region_id=region_id)
    if body.name is not None:
        region = await service.rename_region(region_id=region_id, name=body.name)
    return RegionOut.model_validate(region)
