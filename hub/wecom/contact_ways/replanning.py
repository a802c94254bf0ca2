"""What changes a store way's user list without anyone editing it: a member reaching the daily add cap
(``record_add``, as the callbacks count each add), a duty boundary or a Shanghai midnight (``replan``, the
minute tick). Either publishes a sync (``service.publish_sync``); the sync job makes the WeCom call.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from hub.schemas import shanghai_day
from hub.wecom.contact_ways.models import ContactAddCount, ContactWayMember
from hub.wecom.contact_ways.plan import duty_boundary_between, midnight_between
from hub.wecom.contact_ways.service import publish_sync, store_way_plans
from hub.wecom.models import ContactWay, ContactWayStatus

S = ContactWayStatus


# ---- adds and the daily cap ------------------------------------------------------------------------------


async def record_add(*, contact_way_id: int, staff_id: int, at: datetime) -> None:
    """Count one add for the staff member's Shanghai day of ``at`` (in the caller's transaction).

    When that reaches a store way's daily cap, a sync is published: it takes the member out of WeCom's
    list (midnight's re-plan puts them back). One message per member and day, however many adds follow.
    """
    day = shanghai_day(at)
    count = ContactAddCount.filter(contact_way_id=contact_way_id, staff_id=staff_id, day=day)
    if not await count.update(adds=F("adds") + 1):
        try:
            async with in_transaction("default"):  # a savepoint: a concurrent first add must not abort ours
                await ContactAddCount.create(contact_way_id=contact_way_id, staff_id=staff_id, day=day, adds=1)
        except IntegrityError:
            await count.update(adds=F("adds") + 1)
    way = await ContactWay.filter(id=contact_way_id).first().values("way_type", "daily_cap", "status")
    if way is None or way["way_type"] != 2 or way["daily_cap"] is None or way["status"] == S.DELETED:
        return
    adds = await count.first().values_list("adds", flat=True)
    if adds >= way["daily_cap"]:
        await publish_sync(contact_way_id, reason=f"cap:{staff_id}:{day.isoformat()}", at=at)


# ---- the minute tick -------------------------------------------------------------------------------------


async def replan(*, now: datetime, since: datetime | None = None) -> list[int]:
    """Publish a sync for each active store way whose plan at ``now`` differs from the list WeCom has.

    With ``since``, only ways whose plan can have changed in ``(since, now]`` are planned: a member's duty
    starts or ends, or a Shanghai midnight passed and yesterday's adds (and caps) no longer count. Caps
    reached during the day need no tick: ``record_add`` publishes those. Returns the ways synced.
    """
    ways = ContactWay.filter(way_type=2, status__in=[S.SYNCED, S.FAILED])
    if since is not None:
        ways = ways.filter(id__in=await _changed_between(since, now))
    candidates = await ways
    plans = await store_way_plans(candidates, now=now)
    stale = [w for w in candidates if set(plans[w.id].userids) != set(w.applied_userids)]
    for way in stale:
        await publish_sync(way, reason=f"replan:{now.strftime('%Y%m%dT%H%M')}", at=now)
    return [w.id for w in stale]


async def _changed_between(since: datetime, now: datetime) -> set[int]:
    """Ids of store ways with a duty boundary, or with adds on the day that ended, in ``(since, now]``."""
    ids = {
        way_id
        for way_id, duty_hours in await ContactWayMember.filter(contact_way__way_type=2).exclude(
            duty_hours={}
        ).values_list("contact_way_id", "duty_hours")
        if duty_boundary_between(duty_hours, since, now)
    }
    if midnight_between(since, now):
        ids.update(await ContactAddCount.filter(
            day=shanghai_day(since), contact_way__daily_cap__not_isnull=True
        ).distinct().values_list("contact_way_id", flat=True))
    return ids
