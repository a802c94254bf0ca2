"""Staff: the people in the stores, each with a 工号 and optionally a WeCom userid."""

from __future__ import annotations

from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from hub.database import unique_or
from hub.errors import InvalidInput, NotFound
from hub.pagination import filter_given
from hub.staff import hooks
from hub.staff.models import Staff, StaffRole


class StaffNotFound(NotFound):
    title = "Staff member not found"


async def get_staff(*, staff_id: int) -> Staff:
    """One staff member with the store loaded (responses show the store code)."""
    staff = await Staff.get_or_none(id=staff_id).select_related("store")
    if staff is None:
        raise StaffNotFound(f"No staff member {staff_id}")
    return staff


async def _check_wecom_userid_free(wecom_userid: str | None, *, staff_id: int | None = None) -> None:
    if wecom_userid is None:
        return
    taken = Staff.filter(wecom_userid=wecom_userid)
    if staff_id is not None:
        taken = taken.exclude(id=staff_id)
    if await taken.exists():
        raise InvalidInput.field("wecom_userid", f"{wecom_userid} belongs to another staff member")


async def create_staff(
    *, staff_no: str, name: str, store_id: int, role: StaffRole = StaffRole.CLERK, wecom_userid: str | None = None
) -> Staff:
    """Add a staff member; the caller resolved the store (and checked the key may act for it)."""
    taken = InvalidInput.field("staff_no", f"staff member {staff_no} already exists")
    if await Staff.exists(staff_no=staff_no):
        raise taken
    await _check_wecom_userid_free(wecom_userid)
    async with unique_or(taken):  # a twin request got past the checks first
        staff = await Staff.create(staff_no=staff_no, name=name, store_id=store_id, role=role,
                                   wecom_userid=wecom_userid)
    return await get_staff(staff_id=staff.id)


async def lock_staff(*, staff_id: int) -> Staff:
    """The row, locked until the transaction ends, so a check on its store holds while we change it."""
    # No select_related: PostgreSQL refuses FOR UPDATE on an outer join.
    staff = await Staff.select_for_update().get_or_none(id=staff_id)
    if staff is None:
        raise StaffNotFound(f"No staff member {staff_id}")
    return staff


async def update_staff(*, staff: Staff, store_id: int | None = None, **changes: Any) -> Staff:
    """Change the given columns (name, role, wecom_userid, active) and the store of a locked row."""
    if "wecom_userid" in changes:
        await _check_wecom_userid_free(changes["wecom_userid"], staff_id=staff.id)
    if store_id is not None:
        changes["store_id"] = store_id
    changed = {name for name, value in changes.items() if getattr(staff, name) != value}
    for name, value in changes.items():
        setattr(staff, name, value)
    await staff.save(update_fields=[*changes, "updated_at"])
    if changed & {"active", "wecom_userid", "store_id"}:
        await hooks.staff_changed.notify(staff_id=staff.id)  # e.g. the WeCom contact ways they take customers on
    return await get_staff(staff_id=staff.id)


def list_staff(
    *,
    store_id: int | None = None,
    role: StaffRole | None = None,
    active: bool | None = None,
    q: str | None = None,
) -> QuerySet[Staff]:
    query = filter_given(Staff.all().select_related("store"), store_id=store_id, role=role, active=active)
    if q:
        query = query.filter(Q(name__icontains=q) | Q(staff_no__icontains=q))
    return query

