"""Batches for ops: draft, approve (by another key), open, pause, end, change the stock."""

from __future__ import annotations

from coupons.batches import service as batches
from coupons.batches.schemas import BatchIn, BatchOut, QuantityIn
from coupons.deps import (
    BatchId,
)
from coupons.models import BatchStatus
from hub.auth.deps import ApproverKey, OpsKey
from hub.edge import APIRouter
from hub.errors import problems
from hub.pagination import paginate
from hub.schemas import DbId, Page, PageQuery

router = APIRouter(prefix="/coupons", tags=["coupons"], responses=problems(401, 403, 422))


@router.get("/batches", summary="List coupon batches")
async def list_batches(key: OpsKey, page: PageQuery, status: BatchStatus | None = None,
                       campaign_id: DbId | None = None) -> Page[BatchOut]:
    query = batches.list_batches(status=status, campaign_id=campaign_id)
    return await paginate(query, limit=page.limit, after=page.after, to_out=BatchOut.of)


@router.get("/batches/{batch_id}", summary="One coupon batch", responses=problems(404))
async def get_batch(key: OpsKey, batch_id: BatchId) -> BatchOut:
    return BatchOut.of(await batches.get_batch(batch_id=batch_id))


@router.post("/batches", status_code=201, summary="Draft a coupon batch")
async def create_batch(body: BatchIn, key: OpsKey) -> BatchOut:
    return BatchOut.of(await batches.create_batch(**body.model_dump(), created_by_id=key.key_id))


@router.post("/batches/{batch_id}/approve", summary="Approve a draft (ops, not its author)",
             responses=problems(404, 409))
async def approve_batch(batch_id: BatchId, key: ApproverKey) -> BatchOut:
    return BatchOut.of(await batches.approve_batch(batch_id=batch_id, approver_id=key.key_id))


@router.post("/batches/{batch_id}/activate", summary="Open an approved batch for claims", responses=problems(404, 409))
async def activate_batch(batch_id: BatchId, key: OpsKey) -> BatchOut:
    return BatchOut.of(await batches.activate_batch(batch_id=batch_id))


@router.post("/batches/{batch_id}/pause", summary="Stop claims for a while", responses=problems(404, 409))
async def pause_batch(batch_id: BatchId, key: OpsKey) -> BatchOut:
    return BatchOut.of(await batches.pause_batch(batch_id=batch_id))


@router.post("/batches/{batch_id}/resume", summary="Reopen a paused batch", responses=problems(404, 409))
async def resume_batch(batch_id: BatchId, key: OpsKey) -> BatchOut:
    return BatchOut.of(await batches.resume_batch(batch_id=batch_id))


@router.post("/batches/{batch_id}/end", summary="End a batch for good", responses=problems(404, 409))
async def end_batch(batch_id: BatchId, key: OpsKey) -> BatchOut:
    return BatchOut.of(await batches.end_batch(batch_id=batch_id))


@router.post("/batches/{batch_id}/quantity", summary="Change the stock (compare-and-set on the value you saw)",
             responses=problems(404, 409))
async def set_quantity(batch_id: BatchId, body: QuantityIn, key: OpsKey) -> BatchOut:
    return BatchOut.of(await batches.set_quantity(batch_id=batch_id, expected=body.expected,
                                                  quantity=body.total_quantity))
