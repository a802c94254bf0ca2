"""Scan statistics and the first funnel figures over HTTP: JSON, or CSV with ``?format=csv``.

Store-scoped keys see only their own figures: a staff key its own codes, a store manager its store. Asking
for another store's or staff member's figures is a 403, never an empty answer, so a key cannot probe.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from hub.auth.deps import HumanKey
from hub.auth.models import STORE_SCOPED_ROLES, Role
from hub.auth.service import Principal
from hub.codes import service as codes
from hub.codes.models import Code
from hub.codes.service import CodeNotFound
from hub.edge import APIRouter
from hub.errors import Forbidden, problems
from hub.events import stats
from hub.events.stats import GroupBy, ScanFilter
from hub.schemas import DbId
from hub.staff.models import Staff

router = APIRouter(tags=["stats"], responses=problems(401, 403, 422))

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
QUERY_NAMES = ("query.from", "query.to")  # how request validation names the two query parameters


class OutputFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class ScanFigures(BaseModel):
    scans: int = Field(0, description="QR clicks (二维码点击): human scans, bots excluded")
    unique_scanners: int = Field(0, description="Visitors counted once per code per hour, summed (scanner-hours)")
    qr_scans: int = Field(0, description="Human scans that came from the printed QR code")
    link_scans: int = Field(0, description="Human scans that came from the shared link")
    wechat: int = Field(0, description="Human scans opened in WeChat")
    wecom: int = Field(0, description="Human scans opened in WeCom")
    other_app: int = Field(0, description="Human scans opened in another app's browser")
    browser: int = Field(0, description="Human scans opened in a plain browser")
    bots: int = Field(0, description="Crawlers and link-preview fetchers: stored, counted in no other figure")


class _RowKey(BaseModel):
    day: date | None = None
    channel: str | None = None
    store_id: int | None = None
    store_code: str | None = None
    store_name: str | None = None
    staff_id: int | None = None
    staff_no: str | None = None
    staff_name: str | None = None
    code_id: int | None = None
    code_slug: str | None = None
    code_name: str | None = None


class ScanRow(ScanFigures, _RowKey):
    """One group's figures after its key; only the grouping's own columns are present (channel rows: scans)."""


class ScanStatsOut(BaseModel):
    day_from: date = Field(serialization_alias="from")
    to: date
    group_by: GroupBy
    totals: ScanFigures
    rows: list[ScanRow]
    truncated: bool = Field(description="True when more groups exist than `limit`; narrow the filters")


class CodeOut(BaseModel):
    id: int
    slug: str
    name: str
    kind: str
    store_id: int | None
    staff_id: int | None


# The codes API has a CodeOut too, so OpenAPI names both by their module's path. This one keeps the name the
# API was published with (hub__codes__stats_api__CodeOut), so clients generated from it keep theirs; pinned
# before CodeStatsOut, which refers to it, is built.
CodeOut.__module__ = "hub.codes.stats_api"
CodeOut.model_rebuild(force=True)


class CodeStatsOut(BaseModel):
    code: CodeOut
    day_from: date = Field(serialization_alias="from")
    to: date
    totals: ScanFigures
    days: list[ScanRow]
    channels: list[ScanRow]


class FunnelOut(BaseModel):
    """The first funnel figures; WeCom adds, orders and redemptions follow once they are tracked."""

    day_from: date = Field(serialization_alias="from")
    to: date
    scans: int = Field(description="QR clicks (二维码点击): scans with bots excluded")
    unique_scanners: int = Field(description="Unique scanners: once per visitor per code per hour, summed")
    visitors: int = Field(description="Distinct visitors whose first or last touch came through these codes in range")
    bots: int = Field(description="Bot and link-preview scans, in no other figure")


class StatsQuery(BaseModel):
    """The filters every statistics route shares; dates are Asia/Shanghai days, both inclusive."""

    store_id: DbId | None = None
    staff_id: DbId | None = None
    campaign_id: DbId | None = None
    product_id: DbId | None = None


DayFrom = Annotated[date | None, Query(alias="from", description="First Shanghai day (default: 29 days before `to`)")]
DayTo = Annotated[date | None, Query(alias="to", description="Last Shanghai day, inclusive (default: today); "
                                                              "at most 366 days from `from`")]


async def _filter(key: Principal, query: StatsQuery, day_from: date | None, day_to: date | None) -> ScanFilter:
    """The filter this key may use: scoped keys are pinned to their own staff member or store."""
    store_id, staff_id = query.store_id, query.staff_id
    if key.role == Role.STAFF:
        if key.staff_id is None:
            raise Forbidden("This staff key names no staff member; ask for a key made with --staff")
        if staff_id not in (None, key.staff_id):
            raise Forbidden("A staff key sees only its own codes' figures")
        if store_id is not None:
            key.require_store(store_id)
        staff_id = key.staff_id
    elif key.role == Role.STORE_MANAGER:
        if store_id is not None:
            key.require_store(store_id)
        if staff_id is not None and not await Staff.exists(id=staff_id, store_id=key.store_id):
            raise Forbidden("This key is limited to another store")  # also for a missing id: nothing to probe
        store_id = key.store_id
    start, end = stats.day_range(day_from=day_from, day_to=day_to, names=QUERY_NAMES)
    return ScanFilter(day_from=start, day_to=end, store_id=store_id, staff_id=staff_id,
                      campaign_id=query.campaign_id, product_id=query.product_id)


def _csv(rows: list[dict[str, Any]], group_by: GroupBy, f: ScanFilter) -> Response:
    filename = f"scans-by-{group_by.value}-{f.day_from}-{f.day_to}.csv"
    return Response(stats.to_csv(rows=rows, group_by=group_by), media_type=CSV_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get(
    "/stats/scans", response_model=ScanStatsOut, response_model_exclude_unset=True,
    summary="Scan figures grouped by store, staff, code, day or in-app browser; ?format=csv for Excel",
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV (UTF-8 with BOM) with format=csv"}},
)
async def scan_stats(
    key: HumanKey,
    query: Annotated[StatsQuery, Depends()],
    day_from: DayFrom = None,
    day_to: DayTo = None,
    group_by: GroupBy = GroupBy.DAY,
    format: OutputFormat = OutputFormat.JSON,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Most groups returned (stores, staff, codes)")] = 1000,
) -> Any:
    f = await _filter(key, query, day_from, day_to)
    report = await stats.scan_report(filters=f, group_by=group_by, limit=limit)
    if format == OutputFormat.CSV:
        return _csv(report.rows, group_by, f)
    return ScanStatsOut(day_from=f.day_from, to=f.day_to, group_by=group_by, totals=ScanFigures(**report.totals),
                        rows=[ScanRow(**row) for row in report.rows], truncated=report.truncated)


@router.get("/stats/funnel", summary="The first funnel figures: QR clicks, unique scanners, visitors")
async def funnel(
    key: HumanKey, query: Annotated[StatsQuery, Depends()], day_from: DayFrom = None, day_to: DayTo = None
) -> FunnelOut:
    f = await _filter(key, query, day_from, day_to)
    return FunnelOut(day_from=f.day_from, to=f.day_to, **await stats.funnel(filters=f))


@router.get(
    "/codes/{code_id}/stats", response_model=CodeStatsOut, response_model_exclude_unset=True,
    summary="One code's scans by day and by in-app browser", responses=problems(404),
)
async def code_stats(
    key: HumanKey, code_id: Annotated[DbId, Path()], day_from: DayFrom = None, day_to: DayTo = None
) -> Any:
    code = await Code.get_or_none(id=code_id)
    if code is None:
        if key.role in STORE_SCOPED_ROLES:  # the same 403 as for another's code, so ids cannot be probed
            raise Forbidden("This key sees only its own codes' figures")
        raise CodeNotFound(f"No code {code_id}")
    codes.authorise(key, store_id=code.store_id, staff_id=code.staff_id)  # the owners the codes API knows
    start, end = stats.day_range(day_from=day_from, day_to=day_to, names=QUERY_NAMES)
    filters = ScanFilter(day_from=start, day_to=end, code_id=code.id)
    report = await stats.scan_report(filters=filters, group_by=GroupBy.DAY)
    return CodeStatsOut(
        code=CodeOut(id=code.id, slug=code.slug, name=code.name, kind=code.kind.value, store_id=code.store_id,
                     staff_id=code.staff_id),
        day_from=start, to=end, totals=ScanFigures(**report.totals), days=[ScanRow(**d) for d in report.rows],
        channels=[ScanRow(channel=c, scans=report.totals[c]) for c in stats.CHANNELS],
    )
