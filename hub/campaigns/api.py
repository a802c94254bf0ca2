from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from hub.auth.deps import HUMANS, ApproverKey, OpsKey, require
from hub.auth.models import Role
from hub.auth.service import Principal
from hub.campaigns import service
from hub.campaigns.models import CampaignStatus
from hub.campaigns.schemas import CampaignIn, CampaignOut, CampaignPatch
from hub.edge import APIRouter
from hub.errors import problems
from hub.pagination import paginate
from hub.schemas import DbId, InTime, Page, PageQuery, SearchText

router = APIRouter(prefix="/campaigns", tags=["campaigns"], responses=problems(401, 403, 422))

# The strategy engine reads campaigns to plan offers; it never writes them.
ReaderKey = Annotated[Principal, require(*HUMANS, Role.STRATEGY_ENGINE)]
CampaignId = Annotated[DbId, Path()]


@router.get("", summary="List campaigns")
async def list_campaigns(
    key: ReaderKey,
    page: PageQuery,
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
async def create_campaign(body: CampaignIn, key: OpsKey) -> CampaignOut:
    return CampaignOut.of(await service.create_campaign(**body.model_dump(), drafted_by_id=key.key_id))


@router.patch("/{campaign_id}", summary="Change a draft campaign", responses=problems(404, 409))
async def patch_campaign(campaign_id: CampaignId, body: CampaignPatch, key: OpsKey) -> CampaignOut:
    changes = body.model_dump(exclude_unset=True)
    return CampaignOut.of(await service.update_campaign(campaign_id=campaign_id, changes=changes))


@router.post("/{campaign_id}/approve", summary="Approve a draft (ops, not the drafter)", responses=problems(404, 409))
async def approve_campaign(campaign_id: CampaignId, key: ApproverKey) -> CampaignOut:
    return CampaignOut.of(await service.approve_campaign(campaign_id=campaign_id, approver_id=key.key_id))


@router.post("/{campaign_id}/start", summary="Start an approved campaign now", responses=problems(404, 409))
async def start_campaign(campaign_id: CampaignId, key: OpsKey) -> CampaignOut:
    return CampaignOut.of(await service.start_campaign(campaign_id=campaign_id))


@router.post("/{campaign_id}/end", summary="End (or cancel) a campaign", responses=problems(404, 409))
async def end_campaign(campaign_id: CampaignId, key: OpsKey) -> CampaignOut:
    return CampaignOut.of(await service.end_campaign(campaign_id=campaign_id))
