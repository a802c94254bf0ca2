from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from hub.auth.deps import OpsKey
from hub.edge import APIRouter
from hub.errors import problems
from hub.outbox import service
from hub.outbox.models import OutboxMessage, OutboxStatus
from hub.pagination import paginate
from hub.schemas import Out, OutTime, Page, PageQuery, Text

router = APIRouter(prefix="/outbox", tags=["operations"], responses=problems(401, 403, 422))


class OutboxOut(Out):
    id: int
    topic: str
    status: OutboxStatus
    attempts: int
    max_attempts: int
    last_error: str | None
    created_at: OutTime
    next_attempt_at: OutTime
    delivered_at: OutTime | None


@router.get("", summary="Outbox messages, e.g. the dead ones")
async def list_outbox(
    key: OpsKey,
    page: PageQuery,
    status: OutboxStatus | None = None,
    topic: Annotated[Annotated[str, Text(100)] | None, Query()] = None,
) -> Page[OutboxOut]:
    query = OutboxMessage.all()
    if status is not None:
        query = query.filter(status=status)
    if topic:
        query = query.filter(topic=topic)
    return await paginate(query, limit=page.limit, after=page.after, to_out=OutboxOut.model_validate)


@router.post("/{message_id}/replay", summary="Give a dead message fresh attempts", responses=problems(404))
async def replay(key: OpsKey, message_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> OutboxOut:
    await service.replay(message_id=message_id)  # 404 unless the message is dead, so it exists below
    return OutboxOut.model_validate(await OutboxMessage.get(id=message_id))
