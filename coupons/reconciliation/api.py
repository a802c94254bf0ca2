"""Ops upload a settlement file and read the run back: its summary, and its differences as CSV."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import File, Path, Query, UploadFile
from fastapi.responses import Response

from coupons.reconciliation import service
from coupons.reconciliation.models import ReconciliationRun
from coupons.reconciliation.schemas import ReconciliationOut, RunListItem
from hub.auth.deps import OpsKey
from hub.edge import APIRouter
from hub.errors import problems
from hub.imports.api import read_upload
from hub.pagination import filter_given, paginate
from hub.schemas import DbId, Page, PageQuery, Text

router = APIRouter(prefix="/coupons/reconciliations", tags=["coupons"], responses=problems(401, 403, 422))
RunId = Annotated[DbId, Path()]
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


async def _out(run: ReconciliationRun) -> ReconciliationOut:
    return ReconciliationOut(id=run.id, source=run.source, period_from=run.period_from, period_to=run.period_to,
                             file_name=run.file_name, file_sha256=run.file_sha256, pos_file_name=run.pos_file_name,
                             pos_file_sha256=run.pos_file_sha256, created_at=run.created_at,
                             counts=run.counts, stores=await service.summary(run.id))


@router.post(
    "", status_code=201, summary="Reconcile a settlement CSV against the hub's redemptions over a period",
    description="Columns `date, store_code, coupon_code, amount_fen, partner_ref, kind` (redemption or "
    "reversal). The whole file is checked first: one bad line and nothing is stored, and the 422 answer lists "
    "every bad line (`line`, `field`, `message`). Days are Shanghai days. With `pos_journal` (the same "
    "columns) the run is three-way: the journal is compared with the hub and with the file too.",
    responses=problems(409, 413),
)
async def create_run(
    key: OpsKey,
    file: Annotated[UploadFile, File(description="The settlement CSV, UTF-8 or GB18030")],
    period_from: Annotated[date, Query(alias="from", description="First Shanghai day of the period")],
    period_to: Annotated[date, Query(alias="to", description="Last Shanghai day of the period")],
    source: Annotated[str, Text(64), Query(description="Whose file: the partner or system name")] = "partner",
    pos_journal: Annotated[UploadFile | None, File(description="The POS journal, for a three-way run")] = None,
) -> ReconciliationOut:
    data, file_name = await read_upload(file, fallback_name="upload.csv")
    pos_data, pos_file_name = (await read_upload(pos_journal, fallback_name="upload.csv") if pos_journal is not None
                               else (None, None))
    run = await service.run_reconciliation(data=data, file_name=file_name, source=source,
                                           period_from=period_from, period_to=period_to, pos_journal=pos_data,
                                           pos_file_name=pos_file_name, created_by_id=key.key_id)
    return await _out(run)


@router.get("", summary="Reconciliation runs, oldest first (filter by source or a day the period covers)")
async def list_runs(
    key: OpsKey,
    page: PageQuery,
    source: Annotated[Annotated[str, Text(64)] | None, Query()] = None,
    covers: Annotated[date | None, Query(description="Only runs whose period includes this Shanghai day")] = None,
) -> Page[RunListItem]:
    query = filter_given(ReconciliationRun.all(), source=source, period_from__lte=covers, period_to__gte=covers)
    return await paginate(query, limit=page.limit, after=page.after, to_out=RunListItem.model_validate)


@router.get("/{run_id}", summary="A reconciliation run: counts per class and a summary per store and day",
            responses=problems(404))
async def get_run(key: OpsKey, run_id: RunId) -> ReconciliationOut:
    return await _out(await service.get_run(run_id))


@router.get(
    "/{run_id}/differences.csv", summary="Every line of a run that is not matched, as CSV for Excel",
    responses={**problems(404), 200: {"content": {"text/csv": {}}, "description": "CSV, UTF-8 with BOM"}},
)
async def differences(key: OpsKey, run_id: RunId) -> Response:
    run = await service.get_run(run_id)
    return Response(await service.differences_csv(run.id), media_type=CSV_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="reconciliation-{run.id}-differences.csv"'})
