"""Contact-me jobs: the outbox handlers that sync and delete contact ways in WeCom, and the minute re-plan.

A sync plans for the later of the message's ``at`` (when the change that asked for it happened) and the
delivering worker's clock: never for a moment before the change, even when clocks disagree.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hub import clock
from hub.database import transaction
from hub.jobs import periodic
from hub.outbox.models import OutboxMessage
from hub.outbox.service import handler
from hub.wecom.contact_ways import replanning, sync
from hub.wecom.contact_ways import service as contact_ways

# Each tick looks back two minutes, so a tick that runs late or not at all misses no duty boundary;
# planning a way twice is harmless (a sync is published only when the plan differs from WeCom's list).
REPLAN_LOOKBACK = timedelta(minutes=2)


def _last_try(message: OutboxMessage) -> bool:
    return message.attempts >= message.max_attempts


@handler(contact_ways.SYNC_TOPIC)
async def contact_way_sync(message: OutboxMessage) -> None:
    at = datetime.fromisoformat(message.payload["at"])
    await sync.sync(contact_way_id=message.payload["contact_way_id"],
                    now=max(at, clock.now()), last_try=_last_try(message))


@handler(contact_ways.DELETE_TOPIC)
async def contact_way_delete(message: OutboxMessage) -> None:
    await sync.delete(contact_way_id=message.payload["contact_way_id"], last_try=_last_try(message))


@periodic(every_seconds=60)
async def wecom_contact_ways_replan(ctx: dict) -> int:
    """Duty hours starting or ending, and midnight bringing capped staff back, reach WeCom within a minute."""
    now = clock.now()
    async with transaction():
        return len(await replanning.replan(now=now, since=now - REPLAN_LOOKBACK))
