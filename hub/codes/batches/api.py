"""Batch generation over the API: start a batch, follow its progress, download its ZIP.

The work happens in workers through the outbox (``hub.codes.batches.service``); these routes only write the
batch's row and read it back. Store managers batch their own store, ops and admin any scope.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from fastapi.responses import StreamingResponse

from hub.auth.deps import ManagerKey
from hub.auth.models import STORE_SCOPED_ROLES
from hub.auth.service import Principal
from hub.codes.batches import items
from hub.codes.batches import service as batches
from hub.codes.batches.models import CodeBatch
from hub.codes.batches.schemas import BatchIn, BatchOut
from hub.edge import APIRouter
from hub.errors import Forbidden, InvalidInput, problems
from hub.regions.models import Region
from hub.stores.models import Store

router = APIRouter(prefix="/codes/batches", tags=["codes"])

BATCH_ID_PATTERN = r"^[0-9a-f]{32}$"
BatchId = Annotated[str, Path(pattern=BATCH_ID_PATTERN, description="The id the batch was started with")]
BATCH_ERRORS = problems(401, 403, 404, 422)


@router.post("", status_code=202, summary="Start generating a batch of codes with their images",
             responses=problems(401, 403, 422))
async def start_batch(body: BatchIn, key: ManagerKey) -> BatchOut:
    if (body.store_id is not None) + (body.region_id is not None) + body.province != 1:
        raise InvalidInput.field("store_id", "give exactly one of store_id, region_id or province")
    if body.store_id is not None:
        key.require_store(body.store_id)
        if not await Store.exists(id=body.store_id):
            raise InvalidInput.field("store_id", f"no store {body.store_id}")
    elif key.role in STORE_SCOPED_ROLES:
        raise Forbidden("A store manager's key may batch only its own store")
    elif body.region_id is not None and not await Region.exists(id=body.region_id):
        raise InvalidInput.field("region_id", f"no region {body.region_id}")
    total = await items.count_codes(
        per=body.per, stores=await items.scope_stores(store_id=body.store_id, region_id=body.region_id))
    row = await batches.start(per=body.per, store_id=body.store_id, region_id=body.region_id,
                              created_by_id=key.key_id, total=total)
    return BatchOut.of(row)


async def _readable_batch(key: Principal, batch_id: str) -> CodeBatch:
    row = await batches.get_batch(batch_id)
    key.require_store(row.store_id)  # store managers: batches of their own store only
    return row


@router.get("/{batch_id}", summary="A batch's progress", responses=BATCH_ERRORS)
async def batch_status(batch_id: BatchId, key: ManagerKey) -> BatchOut:
    return BatchOut.of(await _readable_batch(key, batch_id))  # a read only: the outbox keeps the batch going


@router.get("/{batch_id}/download", summary="The finished batch: QR PNGs, card PNGs, manifest.csv",
            response_class=StreamingResponse, responses={200: {"content": {"application/zip": {}}},
                                                         **problems(401, 403, 404, 409, 422)})
async def batch_download(batch_id: BatchId, key: ManagerKey) -> StreamingResponse:
    row = await _readable_batch(key, batch_id)
    filename = f"codes-{row.per.value}-{batch_id}.zip"
    return StreamingResponse(await batches.download(row), media_type="application/zip", headers={
        "Cache-Control": "private, no-store", "Content-Disposition": f'attachment; filename="{filename}"'})
