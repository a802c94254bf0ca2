from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from hub.auth.deps import HumanKey, ManagerKey
from hub.auth.models import STORE_SCOPED_ROLES
from hub.edge import APIRouter
from hub.errors import problems
from hub.pagination import paginate
from hub.schemas import DbId, Page, PageQuery, SearchText
from hub.staff import service
from hub.staff.models import StaffRole
from hub.staff.schemas import StaffIn, StaffOut, StaffPatch
from hub.stores.service import get_store_by_code

router = APIRouter(prefix="/staff", tags=["staff"], responses=problems(401, 403, 422))


@router.get("", summary="List staff (store-scoped keys see only their store's)")
async def list_staff(
    key: HumanKey,
    page: PageQuery,
    store_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    role: StaffRole | None = None,
    active: bool | None = None,
    q: Annotated[SearchText | None, Query(description="Part of the name or staff number")] = None,
) -> Page[StaffOut]:
    if store_id is not None:
        key.require_store(store_id)
    elif key.role in STORE_SCOPED_ROLES:
        store_id = key.store_id
    query = service.list_staff(store_id=store_id, role=role, active=active, q=q)
    return await paginate(query, limit=page.limit, after=page.after, to_out=StaffOut.model_validate)


@router.get("/{staff_id}", summary="One staff member", responses=problems(404))
async def get_staff(key: HumanKey, staff_id: Annotated[DbId, Path()]) -> StaffOut:
    staff = await service.get_staff(staff_id=staff_id)
    key.require_store(staff.store_id)
    return StaffOut.model_validate(staff)


@router.post("", status_code=201, summary="Add a staff member (store managers: to their own store)",
             responses=problems(409))
async def create_staff(body: StaffIn, key: ManagerKey) -> StaffOut:
    store = await get_store_by_code(code=body.store_code)
    key.require_store(store.id)
    fields = body.model_dump(exclude={"store_code"})
    return StaffOut.model_validate(await service.create_staff(store_id=store.id, **fields))


@router.patch("/{staff_id}", summary="Change a staff member (store managers: within their own store)",
              responses=problems(404, 409))
async def patch_staff(staff_id: Annotated[DbId, Path()], body: StaffPatch, key: ManagerKey) -> StaffOut:
    changes = body.model_dump(exclude_unset=True)
    staff = await service.lock_staff(staff_id=staff_id)
    key.require_store(staff.store_id)
    store_id = None
    if (store_code := changes.pop("store_code", None)) is not None:
        store_id = (await get_store_by_code(code=store_code)).id
        key.require_store(store_id)  # a store manager cannot hand staff to another store
    return StaffOut.model_validate(await service.update_staff(staff=staff, store_id=store_id, **changes))
