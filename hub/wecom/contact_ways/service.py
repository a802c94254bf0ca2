"""Contact-me (联系我) codes: the ContactWay behind a staff or store code whose target is WeCom.

The codes service calls in here through ``hub.codes.hooks`` (filled in ``hub/package.py``), inside its
transaction (create, disable, enable again); the API changes a way's settings; the callbacks count adds and
a minute tick re-plans store ways (``replanning``). Whatever WeCom must learn is published to the outbox in
the same transaction, and ``sync`` makes the WeCom calls when the message is delivered (with the outbox's
retries). Every sync message carries the time of the change that
asked for it (``at``).

``state`` is ``staff-`` or ``store-`` plus the code's slug (at most 6 + 16 = 22 of WeCom's 30 characters):
unique because slugs are, readable in WeCom's console, and distinct from states admins give by hand.

Until WeCom has made the contact way, the code's target is its store's storefront (``pending_target``),
so ``/c/{slug}`` leads somewhere real from the first second; the sync then points it at WeCom's QR code.

``ContactWay.version`` is bumped by every change of the settings (PUT) and of the way's life (disabled,
enabled again): the API's and the sync's conditional updates compare it, so neither overwrites a change
it did not see. A sync's own result does not bump it (see ``sync``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from tortoise.expressions import F

from hub import clock
from hub.codes.models import Code, CodeKind
from hub.codes.targets import pending_contact_target
from hub.errors import Conflict, InvalidInput, NotFound, present
from hub.outbox.service import publish
from hub.schemas import shanghai_day
from hub.staff.models import Staff, StaffRole
from hub.stores.models import Store
from hub.wecom import hooks
from hub.wecom.contact_ways.models import ContactAddCount, ContactWayMember
from hub.wecom.contact_ways.plan import DutyHours, MemberState, Plan, plan
from hub.wecom.models import ContactWay, ContactWayStatus

SYNC_TOPIC = "wecom.contact_way.sync"
DELETE_TOPIC = "wecom.contact_way.delete"
STATE_PREFIX = {CodeKind.STAFF: "staff-", CodeKind.STORE: "store-"}
WAY_TYPE = {CodeKind.STAFF: 1, CodeKind.STORE: 2}
BACKUP_ROLES = (StaffRole.MANAGER, StaffRole.MANAGER_ON_DUTY)  # store managers step in by default
S = ContactWayStatus


class ContactWayNotFound(NotFound):
    title = "The code has no WeCom contact way"


class ContactWayChanged(Conflict):
    title = "The contact way changed meanwhile"


class ContactWayDeleted(Conflict):
    title = "The code is disabled and its contact way deleted"


@dataclass(frozen=True)
class MemberSetting:
    staff_id: int
    backup: bool = False
    duty_hours: DutyHours = field(default_factory=dict)


@dataclass(frozen=True)
class MemberView:
    staff: Staff
    backup: bool
    duty_hours: DutyHours
    adds_today: int
    eligible_now: bool  # in the plan for now (the tier says whether that is a fallback)
    applied: bool  # in the user list WeCom has


@dataclass(frozen=True)
class ContactWayView:
    way: ContactWay
    code: Code
    members: list[MemberView]
    plan: Plan


def state_for(code: Code) -> str:
    return STATE_PREFIX[code.kind] + code.slug


def pending_target(*, store: Store | None) -> str:
    """Where the code leads while WeCom has no contact way for it: the store's storefront."""
    return pending_contact_target(store_code=store.code if store else None)


async def publish_sync(way: ContactWay | int, *, reason: str, at: datetime) -> None:
    """Ask for a sync after the commit; ``reason`` makes the dedup key (one message per cause)."""
    way_id = way if isinstance(way, int) else way.id
    await publish(SYNC_TOPIC, {"contact_way_id": way_id, "at": at.isoformat()},
                  dedup_key=f"{SYNC_TOPIC}:{way_id}:{reason}")


async def staff_changed(*, staff_id: int) -> int:
    """A member was deactivated, came back, moved store or got another WeCom account: every contact way
    they are on plans again (the planner skips members who cannot take customers). Returns how many."""
    member_of = await ContactWayMember.filter(staff_id=staff_id).values_list("contact_way_id", flat=True)
    own = await ContactWay.filter(code__staff_id=staff_id).values_list("id", flat=True)
    way_ids = cast(list[int], await ContactWay.filter(id__in={*member_of, *own}).exclude(status=S.DELETED).values_list(
        "id", flat=True))
    now = clock.now()
    for way_id in way_ids:
        await publish_sync(way_id, reason=f"staff:{staff_id}:{now.isoformat()}", at=now)
    return len(way_ids)


# ---- the codes service's hooks ---------------------------------------------------------------------------


async def create_for_code(*, code: Code, store: Store | None, staff: Staff | None) -> ContactWay:
    """The contact way of a new staff code (its staff member) or store code (the store's staff on WeCom)."""
    if code.kind == CodeKind.STAFF:
        staff = present(staff, "a staff code carries its staff member (codes.service.resolve_attribution)")
        if not staff.wecom_userid:
            raise InvalidInput.field("staff_id", f"staff member {staff.staff_no} has no WeCom account (wecom_userid)")
        members: list[Staff] = []
    else:  # a store code: the only other kind with a WeCom contact target
        store = present(store, "a store code carries its store (codes.service.resolve_attribution)")
        members = await Staff.filter(store_id=store.id, active=True, wecom_userid__not_isnull=True).order_by("id")
        if not members:
            raise InvalidInput.field("store_id", f"no active staff member of store {store.code} has a WeCom account")
    way = await ContactWay.create(code=code, way_type=WAY_TYPE[code.kind], state=state_for(code))
    await ContactWayMember.bulk_create(
        [ContactWayMember(contact_way=way, staff=m, backup=m.role in BACKUP_ROLES) for m in members]
    )
    await publish_sync(way, reason=f"v{way.version}", at=clock.now())
    return way


async def code_disabled(*, code_id: int) -> None:
    """The code stopped: its contact way is to be deleted in WeCom (by a job)."""
    if await ContactWay.filter(code_id=code_id).exclude(status=S.DELETED).update(
        status=S.DELETED, version=F("version") + 1, updated_at=clock.now()
    ):
        way = await ContactWay.get(code_id=code_id)
        await publish(DELETE_TOPIC, {"contact_way_id": way.id},
                      dedup_key=f"{DELETE_TOPIC}:{way.id}:v{way.version}")


async def code_enabled(*, code_id: int) -> None:
    """The code runs again: WeCom gets a new contact way (the deleted one cannot come back)."""
    if await ContactWay.filter(code_id=code_id, status=S.DELETED).update(
        status=S.PENDING, last_error="", version=F("version") + 1, updated_at=clock.now()
    ):
        way = await ContactWay.get(code_id=code_id)
        await publish_sync(way, reason=f"v{way.version}", at=clock.now())


async def has_contact_way(*, code_id: int) -> bool:
    return await ContactWay.exists(code_id=code_id)


# ---- settings --------------------------------------------------------------------------------------------


async def get_way(*, code_id: int) -> ContactWay:
    way = await ContactWay.get_or_none(code_id=code_id)
    if way is None:
        raise ContactWayNotFound(f"Code {code_id} has no WeCom contact way made by the hub")
    return way


async def view(*, code: Code, now: datetime) -> ContactWayView:
    """The way with its members, today's adds and the plan for ``now``."""
    way = await get_way(code_id=code.id)
    day = shanghai_day(now)
    counts = dict(await ContactAddCount.filter(contact_way_id=way.id, day=day).values_list("staff_id", "adds"))
    if way.way_type == 1:
        rows = _staff_code_rows(code)
    else:
        rows = await ContactWayMember.filter(contact_way_id=way.id).select_related("staff").order_by("id")
    states = _states(rows, counts, store_id=code.store_id if way.way_type == 2 else None)
    current = _plan_for(way, states, now)
    chosen, applied = set(current.staff_ids), set(way.applied_userids)
    members = [
        MemberView(staff=r.staff, backup=r.backup, duty_hours=r.duty_hours, adds_today=counts.get(r.staff.id, 0),
                   eligible_now=r.staff.id in chosen, applied=r.staff.wecom_userid in applied)
        for r in rows
    ]
    return ContactWayView(way=way, code=code, members=members, plan=current)


async def configure(
    *, code: Code, welcome_text: str, welcome_link_url: str, welcome_link_title: str, tag_names: list[str],
    daily_cap: int | None, skip_verify: bool, members: Sequence[MemberSetting] | None,
    welcome_coupon_batch_id: int | None = None,
) -> ContactWay:
    """Replace the way's settings (``members`` None keeps them); WeCom learns the change through a sync."""
    way = await get_way(code_id=code.id)
    if way.status == S.DELETED:
        raise ContactWayDeleted(f"Code {code.id} is disabled; enable it before changing its contact way")
    if welcome_link_url and not welcome_link_title:
        raise InvalidInput.field("welcome_link_title", "a welcome link needs its title")
    if way.way_type == 1:
        for name, value in (("members", members), ("daily_cap", daily_cap)):
            if value is not None:
                raise InvalidInput.field(name, "a staff code's contact way is its staff member alone")
    elif members is not None:
        await _check_members(members, store_id=present(code.store_id, "a store code's way (way_type 2) has its store"))
    if welcome_coupon_batch_id is not None:
        await _check_welcome_batch(welcome_coupon_batch_id)
    changed = await ContactWay.filter(id=way.id, version=way.version).update(
        welcome_text=welcome_text, welcome_link_url=welcome_link_url, welcome_link_title=welcome_link_title,
        welcome_coupon_batch_id=welcome_coupon_batch_id,
        tag_names=list(tag_names), daily_cap=daily_cap, skip_verify=skip_verify, status=S.PENDING, last_error="",
        version=F("version") + 1, updated_at=clock.now(),
    )
    if not changed:
        raise ContactWayChanged(f"The contact way of code {code.id} was changed meanwhile; reload and retry")
    if members is not None:
        await ContactWayMember.filter(contact_way_id=way.id).delete()
        await ContactWayMember.bulk_create([
            ContactWayMember(contact_way_id=way.id, staff_id=m.staff_id, backup=m.backup, duty_hours=dict(m.duty_hours))
            for m in members
        ])
    await publish_sync(way.id, reason=f"v{way.version + 1}", at=clock.now())
    return await ContactWay.get(id=way.id)


async def _check_welcome_batch(batch_id: int) -> None:
    """Whether a welcome may carry this batch's claim link is the coupons package's rule (it fills the hook);
    without a coupon package no batch can be carried."""
    check = hooks.check_welcome_coupon_batch.only()
    if check is None:
        raise InvalidInput.field("welcome_coupon_batch_id", "no coupon package is installed")
    await check(batch_id=batch_id)


async def _check_members(members: Sequence[MemberSetting], *, store_id: int) -> None:
    staff = {s.id: s for s in await Staff.filter(id__in=[m.staff_id for m in members])}
    seen: set[int] = set()
    for index, member in enumerate(members):
        where = f"members[{index}].staff_id"
        row = staff.get(member.staff_id)
        if member.staff_id in seen:
            raise InvalidInput.field(where, f"staff member {member.staff_id} is listed twice")
        seen.add(member.staff_id)
        if row is None or row.store_id != store_id:
            raise InvalidInput.field(where, f"no staff member {member.staff_id} works at the code's store")
        if not row.active:
            raise InvalidInput.field(where, f"staff member {row.staff_no} is not active")
        if not row.wecom_userid:
            raise InvalidInput.field(where, f"staff member {row.staff_no} has no WeCom account (wecom_userid)")


async def resync(*, code_id: int) -> ContactWay:
    """Apply the way in WeCom again even if the hub thinks WeCom has it (a failed way, a console edit)."""
    way = await get_way(code_id=code_id)
    if way.status == S.DELETED:
        raise ContactWayDeleted(f"Code {code_id} is disabled; enable it to make a new contact way")
    await ContactWay.filter(id=way.id).exclude(status=S.DELETED).update(status=S.PENDING, updated_at=clock.now())
    await publish_sync(way, reason=f"resync:{clock.now().isoformat()}", at=clock.now())
    return await ContactWay.get(id=way.id)


# ---- planning inputs -------------------------------------------------------------------------------------


def _staff_code_rows(code: Code) -> list[ContactWayMember]:
    """A staff code's one member, unsaved: staff codes keep no member rows, the code names its staff."""
    return [ContactWayMember(staff=code.staff, backup=False, duty_hours={})]


def _states(rows: Iterable[ContactWayMember], counts: dict[int, int], *,
            store_id: int | None = None) -> list[MemberState]:
    """Members who can take customers (active, on WeCom and, for a store's way, still at that store), with
    their adds today. A member moved to another store keeps their row, so moving back restores them."""
    return [
        MemberState(staff_id=r.staff.id, userid=r.staff.wecom_userid, backup=r.backup, duty_hours=r.duty_hours,
                    adds_today=counts.get(r.staff.id, 0))
        for r in rows
        if r.staff.active and r.staff.wecom_userid and (store_id is None or r.staff.store_id == store_id)
    ]


def _plan_for(way: ContactWay, states: list[MemberState], now: datetime) -> Plan:
    return plan(states, daily_cap=way.daily_cap if way.way_type == 2 else None, applied=way.applied_userids, now=now)


async def plan_now(*, way: ContactWay, code: Code, now: datetime) -> Plan:
    """The user list ``way`` should have at ``now`` (a staff code: its staff member, when on WeCom)."""
    if way.way_type == 1:
        return _plan_for(way, _states(_staff_code_rows(code), {}), now)
    return (await store_way_plans([way], now=now))[way.id]


async def store_way_plans(ways: Sequence[ContactWay], *, now: datetime) -> dict[int, Plan]:
    """Plans for several store ways with four queries, whatever their number."""
    ids = [w.id for w in ways]
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    for way_id, staff_id, adds in await ContactAddCount.filter(
        contact_way_id__in=ids, day=shanghai_day(now)
    ).values_list("contact_way_id", "staff_id", "adds"):
        counts[way_id][staff_id] = adds
    rows: dict[int, list[ContactWayMember]] = defaultdict(list)
    for row in await ContactWayMember.filter(contact_way_id__in=ids).select_related("staff").order_by("id"):
        rows[row.contact_way_id].append(row)
    stores = dict(await Code.filter(id__in={w.code_id for w in ways}).values_list("id", "store_id"))
    return {w.id: _plan_for(w, _states(rows[w.id], counts[w.id], store_id=stores.get(w.code_id)), now)
            for w in ways}
