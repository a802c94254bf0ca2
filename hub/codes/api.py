"""Codes over the API: staff keys manage their own codes, store managers their store's, ops everything."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from hub.auth.deps import HumanKey
from hub.auth.models import Role
from hub.auth.service import Principal
from hub.codes import service
from hub.codes.models import CodeKind
from hub.codes.schemas import CodeIn, CodeOut, CodePatch, Tag
from hub.edge import APIRouter
from hub.errors import Forbidden, problems
from hub.pagination import paginate
from hub.schemas import DbId, Page, PageQuery, SearchText

router = APIRouter(prefix="/codes", tags=["codes"], responses=problems(401, 403, 422))

CodeId = Annotated[DbId, Path()]
IdFilter = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


def _list_scope(key: Principal, *, store_id: int | None, staff_id: int | None) -> tuple[int | None, int | None]:
    """Pin a store-scoped key's list to its own codes; asking for someone else's is a 403."""
    if key.role == Role.STAFF:
        if key.staff_id is None or staff_id not in (None, key.staff_id):
            raise Forbidden("A staff key lists only the codes of its own staff member")
        if store_id is not None:
            key.require_store(store_id)
        return store_id, key.staff_id
    if key.role == Role.STORE_MANAGER:
        key.require_store(store_id if store_id is not None else key.store_id)
        return key.store_id, staff_id
    return store_id, staff_id


@router.get("", summary="List codes (staff keys: their own; store managers: their store's)")
async def list_codes(
    key: HumanKey,
    page: PageQuery,
    kind: CodeKind | None = None,
    store_id: IdFilter = None,
    staff_id: IdFilter = None,
    product_id: IdFilter = None,
    campaign_id: IdFilter = None,
    active: bool | None = None,
    tag: Annotated[Tag | None, Query(description="Codes carrying this tag")] = None,
    q: Annotated[SearchText | None, Query(description="Part of the name")] = None,
) -> Page[CodeOut]:
    store_id, staff_id = _list_scope(key, store_id=store_id, staff_id=staff_id)
    query = service.list_codes(kind=kind, store_id=store_id, staff_id=staff_id, product_id=product_id,
                               campaign_id=campaign_id, active=active, tag=tag, q=q)
    return await paginate(query, limit=page.limit, after=page.after, to_out=CodeOut.of)


@router.get("/{code_id}", summary="One code", responses=problems(404))
async def get_code(key: HumanKey, code_id: CodeId) -> CodeOut:
    code = await service.get_code(code_id=code_id)
    service.authorise(key, store_id=code.store_id, staff_id=code.staff_id)
    return CodeOut.of(code)


@router.post("", status_code=201, summary="Create a code (staff keys: for themselves)", responses=problems(409))
async def create_code(body: CodeIn, key: HumanKey) -> CodeOut:
    fields = body.model_dump()
    fields.update(service.scoped_ids(key, kind=body.kind, store_id=body.store_id, staff_id=body.staff_id))
    return CodeOut.of(await service.create_code(**fields, created_by_id=key.key_id, principal=key))


@router.patch("/{code_id}", summary="Change a code (bumps its version)", responses=problems(404, 409))
async def patch_code(code_id: CodeId, body: CodePatch, key: HumanKey) -> CodeOut:
    changes = body.model_dump(exclude_unset=True)
    return CodeOut.of(await service.update_code(code_id=code_id, changes=changes, principal=key))


@router.post("/{code_id}/disable", summary="Disable a code: its link stops redirecting", responses=problems(404))
async def disable_code(code_id: CodeId, key: HumanKey) -> CodeOut:
    return CodeOut.of(await service.disable_code(code_id=code_id, principal=key))
