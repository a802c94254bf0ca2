"""What the staff home shows, read in a handful of bounded queries.

A staff member sees their own codes, their store's codes and the customers they added this week (from
Monday 00:00 Asia/Shanghai); a store manager also sees the store's staff, each with this week's adds and
codes. Every list has a limit and every count runs on a ``(staff_id, added_at)`` index range of one week:
a store may hold thousands of contacts, and the page must stay as fast on the thousandth as on the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.functions import Count

from hub import clock
from hub.auth.models import Role
from hub.auth.service import Principal
from hub.codes.models import Code, CodeKind
from hub.codes.slugs import public_url
from hub.schemas import SHANGHAI
from hub.staff.models import Staff, StaffRole
from hub.wecom.models import ContactStatus, ContactWay, ContactWayStatus, StaffContact

MY_CODES = 20
STORE_CODES = 10
WEEK_CONTACTS = 50
TEAM = 100
TEAM_CODES = 300


@dataclass(frozen=True)
class CodeView:
    id: int
    name: str
    kind: CodeKind
    link: str
    contact_status: ContactWayStatus | None  # the WeCom contact-me setting behind it, if any


@dataclass(frozen=True)
class ContactView:
    name: str
    added_at: datetime
    code_name: str | None  # None: the add matched no code
    code_kind: CodeKind | None
    status: ContactStatus


@dataclass(frozen=True)
class MemberView:
    name: str
    staff_no: str
    role: StaffRole
    week_adds: int
    codes: list[CodeView]


@dataclass(frozen=True)
class Home:
    name: str
    staff_no: str
    role: StaffRole
    store_name: str
    week_start: datetime
    my_codes: list[CodeView]
    store_codes: list[CodeView]
    week_contacts: list[ContactView]  # the latest WEEK_CONTACTS
    week_by_status: dict[ContactStatus, int]  # all of this week's adds
    team: list[MemberView] | None  # store managers only

    @property
    def week_adds(self) -> int:
        return sum(self.week_by_status.values())


def week_start(now: datetime) -> datetime:
    """Monday 00:00 in Asia/Shanghai of the week holding ``now``, in UTC."""
    local = now.astimezone(SHANGHAI)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday.astimezone(UTC)


async def _codes(rows: list[dict]) -> list[CodeView]:
    ways = dict(await ContactWay.filter(code_id__in=[r["id"] for r in rows]).values_list("code_id", "status"))
    return [CodeView(id=r["id"], name=r["name"], kind=CodeKind(r["kind"]), link=public_url(r["slug"]),
                     contact_status=ContactWayStatus(ways[r["id"]]) if r["id"] in ways else None) for r in rows]


def _code_rows(limit: int, **filters):
    return Code.filter(active=True, **filters).order_by("-id").limit(limit).values(
        "id", "name", "kind", "slug", "staff_id")


async def _week_contacts(staff_id: int, since: datetime, until: datetime) -> list[ContactView]:
    rows = await StaffContact.filter(staff_id=staff_id, added_at__gte=since, added_at__lt=until).order_by(
        "-added_at", "-id").limit(WEEK_CONTACTS).values(
        "added_at", "status", "remark", "customer__display_name", "code__name", "code__kind")
    return [ContactView(name=r["customer__display_name"] or r["remark"], added_at=r["added_at"],
                        code_name=r["code__name"], code_kind=CodeKind(r["code__kind"]) if r["code__kind"] else None,
                        status=ContactStatus(r["status"])) for r in rows]


async def _week_counts(group: str, since: datetime, until: datetime, **filters) -> dict:
    """This week's adds counted per ``group`` column, on the (staff_id, added_at) index."""
    return dict(await StaffContact.filter(added_at__gte=since, added_at__lt=until, **filters)
                .annotate(n=Count("id")).group_by(group).values_list(group, "n"))


async def _team(store_id: int, since: datetime, until: datetime) -> list[MemberView]:
    members = await Staff.filter(store_id=store_id, active=True).order_by("id").limit(TEAM).values(
        "id", "name", "staff_no", "role")
    ids = [m["id"] for m in members]
    adds = await _week_counts("staff_id", since, until, staff_id__in=ids)
    rows = await _code_rows(TEAM_CODES, staff_id__in=ids)
    owners = {r["id"]: r["staff_id"] for r in rows}
    codes: dict[int, list[CodeView]] = {}
    for code in await _codes(rows):
        codes.setdefault(owners[code.id], []).append(code)
    return [MemberView(name=m["name"], staff_no=m["staff_no"], role=StaffRole(m["role"]),
                       week_adds=adds.get(m["id"], 0), codes=codes.get(m["id"], [])) for m in members]


async def home(*, principal: Principal, now: datetime | None = None) -> Home:
    """The staff home of a signed-in staff member (a session principal: it names the staff member)."""
    staff = await Staff.get(id=principal.staff_id).select_related("store")
    since = week_start(now or clock.now())
    until = since + timedelta(days=7)
    by_status = await _week_counts("status", since, until, staff_id=staff.id)
    return Home(
        name=staff.name, staff_no=staff.staff_no, role=StaffRole(staff.role), store_name=staff.store.name,
        week_start=since,
        my_codes=await _codes(await _code_rows(MY_CODES, staff_id=staff.id)),
        store_codes=await _codes(await _code_rows(STORE_CODES, store_id=staff.store_id, kind=CodeKind.STORE)),
        week_contacts=await _week_contacts(staff.id, since, until),
        week_by_status={ContactStatus(status): n for status, n in by_status.items()},
        team=await _team(staff.store_id, since, until) if principal.role == Role.STORE_MANAGER else None,
    )
