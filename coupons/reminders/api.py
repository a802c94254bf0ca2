"""What the expiry reminders of one batch did, for ops: counts by outcome, channel and reason.

A suppressed reminder is not an error but a rule at work (do-not-disturb, no consent, no reachable channel),
so ops need the reasons next to the counts to tell a quiet batch from a broken one. ``awaiting_wecom``
counts reminders handed to the outbox whose WeCom task has not been created yet.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field

from coupons.batches import service as batches
from coupons.reminders import service as reminders
from coupons.reminders.models import ReminderOutcome
from hub.auth.deps import OpsKey
from hub.edge import APIRouter
from hub.errors import problems
from hub.schemas import DbId

router = APIRouter(prefix="/coupons/batches", tags=["coupons"], responses=problems(401, 403, 422))


class ReasonCountOut(BaseModel):
    outcome: ReminderOutcome
    channel: str = Field(description='The channel it was routed on; "" when none applied')
    reason: str = Field(description='Why it was suppressed or failed; "" for a sent reminder')
    count: int


class ReminderCountsOut(BaseModel):
    batch_id: int
    remind_days_before: int | None
    total: int
    outcomes: dict[ReminderOutcome, int] = Field(description="Every outcome, zero included")
    awaiting_wecom: int = Field(description="Sent reminders whose WeCom task is not created yet")
    reasons: list[ReasonCountOut]


@router.get("/{batch_id}/reminders", summary="What the batch's expiry reminders did", responses=problems(404))
async def reminder_counts(key: OpsKey, batch_id: Annotated[DbId, Path()]) -> ReminderCountsOut:
    batch = await batches.get_batch(batch_id=batch_id)
    rows, waiting = await reminders.counts(batch_id=batch.id)
    outcomes = dict.fromkeys(ReminderOutcome, 0)
    for row in rows:
        outcomes[row.outcome] += row.count
    return ReminderCountsOut(
        batch_id=batch.id, remind_days_before=batch.remind_days_before, total=sum(outcomes.values()),
        outcomes=outcomes, awaiting_wecom=waiting,
        reasons=[ReasonCountOut(outcome=r.outcome, channel=r.channel, reason=r.reason, count=r.count) for r in rows],
    )
