"""``/api/v1/wecom/contacts``: who added whom on WeCom, through which code, and whether they still do.

Store-scoped keys see their store (staff keys only their own contacts); ops see everything.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from hub.auth.deps import HumanKey
from hub.auth.models import STORE_SCOPED_ROLES, Role
from hub.edge import APIRouter
from hub.errors import Forbidden, problems
from hub.pagination import filter_given, paginate
from hub.schemas import InTime, Page, PageQuery
from hub.wecom.contacts.schemas import StaffContactOut
from hub.wecom.models import ContactStatus, StaffContact

router = APIRouter(prefix="/wecom", tags=["wecom"], responses=problems(401, 403, 422))
Id = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


@router.get("/contacts", summary="Staff ↔ customer relationships from WeCom (store keys: their store's)")
async def list_contacts(
    key: HumanKey,
    page: PageQuery,
    staff_id: Id = None,
    store_id: Id = None,
    code_id: Id = None,
    customer_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    status: ContactStatus | None = None,
    added_since: Annotated[InTime | None, Query(description="Added at or after (Shanghai time without offset)")] = None,
) -> Page[StaffContactOut]:
    if key.role == Role.STAFF:
        staff_id = _own(staff_id, key.staff_id)
    if store_id is not None:
        key.require_store(store_id)
    elif key.role in STORE_SCOPED_ROLES:
        store_id = key.store_id
    query = filter_given(StaffContact.all(), staff_id=staff_id, store_id=store_id, code_id=code_id,
                         customer_id=customer_id, status=status, added_at__gte=added_since)
    return await paginate(query, limit=page.limit, after=page.after, to_out=StaffContactOut.model_validate)


def _own(asked: int | None, own: int | None) -> int:
    if own is None or asked not in (None, own):
        raise Forbidden("A staff key sees only its own staff member's contacts")
    return own

