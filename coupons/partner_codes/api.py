"""Ops upload an equity batch's partner codes (the partner's file, as it came) and watch the pool drain."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Path, UploadFile

from coupons.partner_codes import service as partner_codes
from coupons.partner_codes.service import LoadSummary, PoolSummary
from hub.auth.deps import OpsKey
from hub.edge import APIRouter
from hub.errors import problems
from hub.imports.api import read_upload
from hub.schemas import DbId

router = APIRouter(prefix="/coupons", tags=["coupons"], responses=problems(401, 403, 422))
BatchId = Annotated[DbId, Path()]


@router.post(
    "/batches/{batch_id}/partner-codes", status_code=201,
    summary="Load an equity batch's codes from the partner's file",
    description="One code a line, or a CSV whose first column is the code (a header line `code` is allowed); "
    "UTF-8 or GB18030. The whole file is checked first: one bad line and nothing is loaded, and the 422 answer "
    "lists every bad line (`line`, `message`). Codes the pool already holds are counted as `already_loaded`, "
    "so uploading the same file again adds nothing.",
    responses=problems(404, 409, 413),
)
async def load(
    batch_id: BatchId,
    key: OpsKey,
    file: Annotated[UploadFile, File(description="The partner's codes, UTF-8 or GB18030")],
) -> LoadSummary:
    data, source = await read_upload(file, fallback_name="upload.txt")
    return await partner_codes.load(batch_id=batch_id, codes=partner_codes.parse(data, source=source), source=source)


@router.get("/batches/{batch_id}/partner-codes", responses=problems(404),
            summary="An equity batch's pool of partner codes: total, assigned, free")
async def status(batch_id: BatchId, key: OpsKey) -> PoolSummary:
    return await partner_codes.pool_summary(batch_id)
