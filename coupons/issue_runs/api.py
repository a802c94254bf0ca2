"""``/api/v1/coupons/batches/{id}/issue-runs``: the strategy engine or ops hand over a list of customers
and the hub issues each a coupon by job (see ``coupons.issue_runs``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field

from coupons.deps import IssuerKey
from coupons.issue_runs import service as issue_runs
from coupons.issue_runs.models import CouponIssueRun, IssueRunStatus
from coupons.models import CouponChannel
from hub.edge import APIRouter
from hub.errors import problems
from hub.schemas import DbId, OutTime, Text

router = APIRouter(prefix="/coupons", tags=["coupons"], responses=problems(401, 403, 422))


class IssueRunIn(BaseModel):
    offer_ref: Annotated[str, Text(64)] = Field(
        description="The offer's id at the strategy engine; one run per batch and offer"
    )
    channel: CouponChannel = Field(description="The channel whose message will carry the coupons")
    customer_ids: Annotated[list[DbId], Field(min_length=1, max_length=issue_runs.MAX_CUSTOMERS)]


class IssueRunOut(BaseModel):
    id: int
    batch_id: int
    offer_ref: str
    channel: str
    status: IssueRunStatus
    total: int
    outcomes: dict[str, int] = Field(description='Customers so far by outcome: "issued" or why they were skipped')
    created_at: OutTime
    finished_at: OutTime | None

    @classmethod
    async def of(cls, run: CouponIssueRun) -> IssueRunOut:
        return cls(id=run.id, batch_id=run.batch_id, offer_ref=run.offer_ref, channel=run.channel, status=run.status,
                   total=run.total, outcomes=await issue_runs.outcomes(run_id=run.id), created_at=run.created_at,
                   finished_at=run.finished_at)


@router.post("/batches/{batch_id}/issue-runs", status_code=202, responses=problems(404, 409),
             summary="Issue a coupon to each customer of a list, by job (answers at once; poll the run)")
async def start_issue_run(batch_id: Annotated[DbId, Path()], body: IssueRunIn, key: IssuerKey) -> IssueRunOut:
    """A repeated offer_ref answers its first run as it stands, without reading the list again."""
    run, _ = await issue_runs.start(batch_id=batch_id, offer_ref=body.offer_ref, channel=body.channel,
                                    customer_ids=body.customer_ids, created_by_id=key.key_id,
                                    actor_role=key.role.value)
    return await IssueRunOut.of(run)


@router.get("/issue-runs/{run_id}", summary="An issue run and its outcomes so far", responses=problems(404))
async def get_issue_run(run_id: Annotated[DbId, Path()], key: IssuerKey) -> IssueRunOut:
    return await IssueRunOut.of(await issue_runs.get_run(run_id=run_id))
