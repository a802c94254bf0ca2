from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from hub.auth.deps import HUMANS, OpsKey, require
from hub.auth.models import STORE_SCOPED_ROLES, Role
from hub.auth.service import Principal
from hub.edge import APIRouter
from hub.errors import problems
from hub.regions.service import region_ids_under
from hub.schemas import DbId, Page, PageQuery, SearchText
from hub.stores import service
from hub.stores.models import StoreKind
from hub.stores.schemas import StoreIn, StoreOut, StorePatch

router = APIRouter(prefix="/stores", tags=["stores"], responses=problems(401, 403, 422))

# People, plus the carrier app and the tills, which show and stamp store details.
StoreReader = Annotated[Principal, require(*HUMANS, Role.CARRIER_APP, Role.POS)]


@router.get("", summary="List stores (store-scoped keys see only their own)")
async def list_stores(
    key: StoreReader,
    page: PageQuery,
    region_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="This region and all below it")] = None,
    kind: StoreKind | None = None,
    active: bool | None = None,
    q: Annotated[SearchText | None, Query(description="Part of the name")] = None,
) -> Page[StoreOut]:
    region_ids = await region_ids_under(region_id) if region_id is not None else None
    own_store = key.store_id if key.role in STORE_SCOPED_ROLES else None
    rows, next_after = await service.list_stores(region_ids=region_ids, kind=kind, active=active, q=q,
                                                 store_id=own_store, limit=page.limit, after=page.after)
    return StorePage.model_validate({"items": rows, "next_after": next_after})  # one validation of the page


StorePage = Page[StoreOut]


@router.get("/{store_id}", summary="One store", responses=problems(404))
async def get_store(key: StoreReader, store_id: Annotated[DbId, Path()]) -> StoreOut:
    key.require_store(store_id)  # before the lookup, so a scoped key cannot probe which ids exist
    return StoreOut.model_validate(await service.get_store(store_id=store_id))


@router.post("", status_code=201, summary="Create a store", responses=problems(409))
async def create_store(body: StoreIn, key: OpsKey) -> StoreOut:
    return StoreOut.model_validate(await service.create_store(**body.model_dump()))


@router.patch("/{store_id}", summary="Change a store", responses=problems(404, 409))
async def patch_store(store_id: Annotated[DbId, Path()], body: StorePatch, key: OpsKey) -> StoreOut:
    store = await service.update_store(store_id=store_id, **body.model_dump(exclude_unset=True))
    return StoreOut.model_validate(store)
