"""Who a store's contact-me code hands customers to right now: a pure function of the members and a clock.

A type-2 contact way shares one QR code among at most 100 staff members (WeCom's ``user`` list); the hub
chooses that list. The first of these tiers that is not empty wins:

1. ``regular``: members who are not backups, on duty now and under today's add cap;
2. ``backup``: backups on duty and under the cap (managers step in when the floor staff cannot);
3. ``backup_any``: every backup, on duty or not, capped or not;
4. ``any``: every member (a store without backups must still answer).

Tiers 3 and 4 exist because WeCom refuses an empty user list: a scan must always reach somebody.

Rotation decides who fills the 100 places when more are eligible: fewest adds today first, then the
least recently applied (members WeCom's list left out last time before those already in it, who keep
their previous order), then staff id. The list WeCom has is compared as a set, so a mere reordering
never costs an API call.

Days, weekdays and duty hours are Asia/Shanghai, which has no daylight saving time. Duty hours are
``{"1": [["09:00", "18:00"]], …}`` with 1 = Monday; an empty mapping means always on duty, a weekday
missing from a non-empty mapping means off that day. "24:00" may end an interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from hub.schemas import SHANGHAI, shanghai_day, shanghai_midnight

MAX_USERS = 100  # WeCom's limit on a contact way's user list
DAY_MINUTES = 24 * 60

DutyHours = Mapping[str, Sequence[Sequence[str]]]


class Tier(StrEnum):
    REGULAR = "regular"
    BACKUP = "backup"
    BACKUP_ANY = "backup_any"
    ANY = "any"

    @property
    def fallback(self) -> bool:
        """Nobody eligible: the list holds members only because WeCom needs one."""
        return self in (Tier.BACKUP_ANY, Tier.ANY)
    NOBODY = "nobody"  # no member has a WeCom account: nothing can be applied


@dataclass(frozen=True)
class MemberState:
    """One member as the planner sees it: who, which WeCom account, backup or not, duty, adds today."""

    staff_id: int
    userid: str
    backup: bool
    duty_hours: DutyHours
    adds_today: int


@dataclass(frozen=True)
class Plan:
    userids: list[str]  # WeCom userids in rotation order, at most MAX_USERS
    staff_ids: list[int]  # the same members by staff id
    tier: Tier


def minutes(hhmm: str) -> int:
    """Minutes after midnight for "HH:MM" ("24:00" = 1440)."""
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


def on_duty(duty_hours: DutyHours, now: datetime) -> bool:
    """Whether ``now`` falls in one of the weekday's intervals (start included, end excluded)."""
    if not duty_hours:
        return True
    local = now.astimezone(SHANGHAI)
    minute = local.hour * 60 + local.minute
    return any(minutes(start) <= minute < minutes(end) for start, end in duty_hours.get(str(local.isoweekday()), ()))


def under_cap(adds_today: int, daily_cap: int | None) -> bool:
    return daily_cap is None or adds_today < daily_cap


def plan(members: Iterable[MemberState], *, daily_cap: int | None, applied: Sequence[str], now: datetime,
         limit: int = MAX_USERS) -> Plan:
    """The user list a type-2 contact way should have at ``now`` (see the module docstring)."""
    members = list(members)
    eligible = [m for m in members if on_duty(m.duty_hours, now) and under_cap(m.adds_today, daily_cap)]
    tiers = (
        (Tier.REGULAR, [m for m in eligible if not m.backup]),
        (Tier.BACKUP, [m for m in eligible if m.backup]),
        (Tier.BACKUP_ANY, [m for m in members if m.backup]),
        (Tier.ANY, members),
    )
    tier, chosen = next(((t, c) for t, c in tiers if c), (Tier.NOBODY, []))
    position = {userid: index for index, userid in enumerate(applied)}
    chosen.sort(key=lambda m: (m.adds_today, m.userid in position, position.get(m.userid, 0), m.staff_id))
    chosen = chosen[:limit]
    return Plan(userids=[m.userid for m in chosen], staff_ids=[m.staff_id for m in chosen], tier=tier)


def duty_boundary_between(duty_hours: DutyHours, start: datetime, end: datetime) -> bool:
    """Whether a member's duty starts or ends in ``(start, end]``, so a plan made at ``start`` may be stale."""
    first, last = shanghai_day(start), shanghai_day(end)
    day = first
    while day <= last:
        midnight = shanghai_midnight(day)
        for interval in duty_hours.get(str(day.isoweekday()), ()):
            for boundary in interval:
                if start < midnight + timedelta(minutes=minutes(boundary)) <= end:
                    return True
        day += timedelta(days=1)
    return False


def midnight_between(start: datetime, end: datetime) -> bool:
    """Whether a Shanghai midnight falls in ``(start, end]``: yesterday's capped members are back."""
    return shanghai_day(start) != shanghai_day(end)
