from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from hub.auth.deps import HUMANS, OpsKey, require
from hub.auth.models import Role
from hub.auth.service import Principal
from hub.campaigns import service
from hub.campaigns.models import Campaign, CampaignStatus
from hub.campaigns.schemas import CampaignIn, CampaignOut, CampaignPatch
from hub.database import transaction
from hub.errors import problems
from hub.idempotency.service import IdempotencyKey, idempotent
from hub.pagination import paginate
from hub.schemas import DbId, InTime, Page, PageParams, SearchText

router = APIRouter(prefix="/campaigns", tags=["campaigns"], responses=problems(401, 403, 422))

# The strategy engine reads campaigns to plan offers; it never writes them.
ReaderKey = Annotated[Principal, require(*HUMANS, Role.STRATEGY_ENGINE)]
# Approval is a business sign-off: only ops, never admin (which manages keys, not campaigns).
ApproverKey = Annotated[Principal, require(Role.OPS)]
CampaignId = Annotated[DbId, Path()]


@router.get("", summary="List campaigns")
async def list_campaigns(
    key: ReaderKey,
    page: Annotated[PageParams, Depends()],
    status: CampaignStatus | None = None,
    q: Annotated[SearchText | None, Query(description="Part of the name")] = None,
    active_at: Annotated[InTime | None, Query(description="Only campaigns whose window holds this time")] = None,
) -> Page[CampaignOut]:
    query = service.list_campaigns(status=status, q=q, active_at=active_at)
    return await paginate(query, limit=page.limit, after=page.after, to_out=CampaignOut.of)


@router.get("/{campaign_id}", summary="One campaign", responses=problems(404))
async def get_campaign(key: ReaderKey, campaign_id: CampaignId) -> CampaignOut:
    return CampaignOut.of(await service.get_campaign(campaign_id=campaign_id))


@router.post("", status_code=201, summary="Draft a campaign")
async def create_campaign(body: CampaignIn, key: OpsKey, idempotency_key: IdempotencyKey = None) -> CampaignOut:
    async def create() -> CampaignOut:
        return CampaignOut.of(await service.create_campaign(**body.model_dump(), drafted_by_id=key.key_id))

    async with transaction():
        return await idempotent(
            key=idempotency_key, principal=key, endpoint="POST /campaigns", body=body, action=create, status_code=201
        )


@router.patch("/{campaign_id}", summary="Change a draft campaign", responses=problems(404, 409))
async def patch_campaign(campaign_id: CampaignId, body: CampaignPatch, key: OpsKey) -> CampaignOut:
    async with transaction():
        changes = body.model_dump(exclude_unset=True)
        return CampaignOut.of(await service.update_campaign(campaign_id=campaign_id, changes=changes))


async def _transition(
    *, name: str, campaign_id: int, key: Principal, idempotency_key: str | None,
    call: Callable[[], Awaitable[Campaign]],
) -> CampaignOut:
    async def act() -> CampaignOut:
        return CampaignOut.of(await call())

    async with transaction():
        return await idempotent(
            key=idempotency_key, principal=key, endpoint=f"POST /campaigns/{campaign_id}/{name}",
            body={"campaign_id": campaign_id}, action=act,
        )


@router.post("/{campaign_id}/approve", summary="Approve a draft (ops, not the drafter)", responses=problems(404, 409))
async def approve_campaign(campaign_id: CampaignId, key: ApproverKey, idempotency_key: IdempotencyKey = None) -> CampaignOut:
    return await _transition(
        name="approve", campaign_id=campaign_id, key=key, idempotency_key=idempotency_key,
        call=lambda: service.approve_campaign(campaign_id=campaign_id, approver_id=key.key_id),
    )


@router.post("/{campaign_id}/start", summary="Start an approved campaign now", responses=problems(404, 409))
async def start_campaign(campaign_id: CampaignId, key: OpsKey, idempotency_key: IdempotencyKey = None) -> CampaignOut:
    return await _transition(
        name="start", campaign_id=campaign_id, key=key, idempotency_key=idempotency_key,
        call=lambda: service.start_campaign(campaign_id=campaign_id),
    )


@router.post("/{campaign_id}/end", summary="End (or cancel) a campaign", responses=problems(404, 409))
async def end_campaign(campaign_id: CampaignId, key: OpsKey, idempotency_key: IdempotencyKey = None) -> CampaignOut:
    return await _transition(
        name="end", campaign_id=campaign_id, key=key, idempotency_key=idempotency_key,
        call=lambda: service.end_campaign(campaign_id=campaign_id),
    )
