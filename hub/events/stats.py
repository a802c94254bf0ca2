"""Scan statistics and the first funnel figures, read from the ScanDaily rollup.

The event table grows with every scan (tens of millions of rows); ScanDaily grows with codes × days. Every
figure here is a SUM over ScanDaily (or, for visitors, a count over the visitor table), so a request costs
the same at 10 thousand scans as at 10 million. Nothing here reads the event table.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.functions import Sum
from tortoise.queryset import QuerySet

from hub import clock
from hub.codes.models import Code
from hub.errors import InvalidInput
from hub.events.models import ScanDaily, Visitor
from hub.pagination import filter_given
from hub.schemas import SHANGHAI
from hub.staff.models import Staff
from hub.stores.models import Store

# Columns of ScanDaily summed into every figure set. The four in-app browsers split the human scans, as
# do qr_scans/link_scans; bots (crawlers, link-preview fetchers) are outside both splits.
FIGURES = ("scans", "unique_scanners", "qr_scans", "link_scans", "wechat", "wecom", "other_app", "browser", "bots")
CHANNELS = ("wechat", "wecom", "other_app", "browser")
DEFAULT_DAYS = 30
MAX_DAYS = 366  # a leap year, so "the whole of last year" always fits
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)  # keeps date arithmetic far from date.min/max


class GroupBy(StrEnum):
    STORE = "store"
    STAFF = "staff"
    CODE = "code"
    DAY = "day"
    CHANNEL = "channel"  # the in-app browser the scan came from: wechat, wecom, other_app, browser


# The columns each grouping adds in front of the figures (rows, CSV and CLI alike).
KEY_COLUMNS = {
    GroupBy.STORE: ("store_id", "store_code", "store_name"),
    GroupBy.STAFF: ("staff_id", "staff_no", "staff_name", "store_code", "store_name"),
    GroupBy.CODE: ("code_id", "code_slug", "code_name", "store_code", "staff_no"),
    GroupBy.DAY: ("day",),
    GroupBy.CHANNEL: ("channel",),
}
_GROUP_COLUMN = {GroupBy.STORE: "store_id", GroupBy.STAFF: "staff_id", GroupBy.CODE: "code_id"}

# CSV headers in Chinese for the people who open the file in Excel, with the API name after it.
CSV_HEADERS = {
    "day": "日期", "channel": "打开环境", "store_id": "门店ID", "store_code": "门店编码", "store_name": "门店名称",
    "staff_id": "员工ID", "staff_no": "工号", "staff_name": "员工姓名", "code_id": "码ID", "code_slug": "码标识",
    "code_name": "码名称", "scans": "扫码次数", "unique_scanners": "扫码人数", "qr_scans": "二维码扫码",
    "link_scans": "链接点击", "wechat": "微信内", "wecom": "企业微信内", "other_app": "其他App内",
    "browser": "浏览器", "bots": "机器人及预览",
}


@dataclass(frozen=True)
class ScanFilter:
    """Which rollup rows count: Shanghai days ``day_from``..``day_to`` inclusive, and each id given."""

    day_from: date
    day_to: date
    store_id: int | None = None
    staff_id: int | None = None
    code_id: int | None = None
    campaign_id: int | None = None
    product_id: int | None = None


def shanghai_today() -> date:
    return clock.now().astimezone(SHANGHAI).date()


def day_range(
    *, day_from: date | None, day_to: date | None, names: tuple[str, str] = ("from", "to"), today: date | None = None
) -> tuple[date, date]:
    """The inclusive Shanghai date range asked for: by default the last 30 days up to today.

    ``names`` are the request's names for the two bounds, so the 422 names the field the caller typed.
    """
    for value, name in ((day_from, names[0]), (day_to, names[1])):
        if value is not None and not FIRST_DAY <= value <= LAST_DAY:
            raise InvalidInput.field(name, f"must be between {FIRST_DAY} and {LAST_DAY}")
    end = day_to or today or shanghai_today()
    start = day_from or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise InvalidInput.field(names[1] if day_to else names[0], f"{names[0]} {start} is after {names[1]} {end}")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput.field(names[0], f"the range may span at most {MAX_DAYS} days ({start} to {end} is more)")
    return start, end


def _rollup(f: ScanFilter) -> QuerySet[ScanDaily]:
    return filter_given(
        ScanDaily.filter(day__gte=f.day_from, day__lte=f.day_to),
        store_id=f.store_id, staff_id=f.staff_id, code_id=f.code_id, campaign_id=f.campaign_id,
        product_id=f.product_id,
    )


def _sums() -> dict[str, Sum]:
    return {f"sum_{name}": Sum(name) for name in FIGURES}


def _figures(row: dict[str, Any] | None) -> dict[str, int]:
    # PostgreSQL answers SUM(bigint) as numeric (Decimal), and NULL over no rows.
    return {name: int((row or {}).get(f"sum_{name}") or 0) for name in FIGURES}


async def scan_totals(*, filters: ScanFilter) -> dict[str, int]:
    """Every figure summed over the filtered rollup rows; bots apart from scans.

    ``unique_scanners`` is the sum of the daily column: a visitor counts once per code per hour, so one
    person scanning twice hours apart, or two codes, counts twice. It is scanner-hours, an upper bound on
    distinct people; exact distinct people over a range would need the per-visitor tables.
    """
    rows = await _rollup(filters).annotate(**_sums()).values(*_sums())
    return _figures(rows[0] if rows else None)


@dataclass(frozen=True)
class ScanReport:
    totals: dict[str, int]
    rows: list[dict[str, Any]]
    truncated: bool = False  # more stores, staff or codes had scans than ``limit``


async def scan_report(*, filters: ScanFilter, group_by: GroupBy, limit: int = 1000) -> ScanReport:
    """Totals and one row of figures per group, labelled from the small tables after aggregating.

    Days come in date order, empty days as zeros (and their sum is the totals: one query); stores, staff
    and codes by scans, most first, at most ``limit`` of them; channel rows split the human scans by in-app
    browser (taken from the totals).
    """
    if group_by == GroupBy.DAY:
        rows = await _day_rows(filters)
        return ScanReport({name: sum(r[name] for r in rows) for name in FIGURES}, rows)
    totals = await scan_totals(filters=filters)
    if group_by == GroupBy.CHANNEL:
        return ScanReport(totals, [{"channel": channel, "scans": totals[channel]} for channel in CHANNELS])
    column = _GROUP_COLUMN[group_by]
    query = _rollup(filters).annotate(**_sums()).group_by(column).order_by("-sum_scans", column)
    rows = await query.limit(limit + 1).values(column, *_sums())
    labels = await _LABELLERS[group_by]([r[column] for r in rows[:limit] if r[column] is not None])
    labelled = [{**labels.get(r[column], _no_label(group_by, r[column])), **_figures(r)} for r in rows[:limit]]
    return ScanReport(totals, labelled, truncated=len(rows) > limit)


async def _day_rows(f: ScanFilter) -> list[dict[str, Any]]:
    query = _rollup(f).annotate(**_sums()).group_by("day").values("day", *_sums())
    found = {r["day"]: _figures(r) for r in await query}
    days = [f.day_from + timedelta(days=n) for n in range((f.day_to - f.day_from).days + 1)]
    return [{"day": d, **found.get(d, _figures(None))} for d in days]


def _no_label(group_by: GroupBy, key: int | None) -> dict[str, Any]:
    # A group without a row in the small table: codes with no store or staff, or a deleted row.
    columns = KEY_COLUMNS[group_by]
    return {columns[0]: key, **{c: None for c in columns[1:]}}


async def _store_labels(ids: list[int]) -> dict[int, dict[str, Any]]:
    stores = await Store.filter(id__in=ids).values("id", "code", "name")
    return {s["id"]: {"store_id": s["id"], "store_code": s["code"], "store_name": s["name"]} for s in stores}


async def _staff_labels(ids: list[int]) -> dict[int, dict[str, Any]]:
    staff = await Staff.filter(id__in=ids).values("id", "staff_no", "name", "store__code", "store__name")
    return {
        s["id"]: {"staff_id": s["id"], "staff_no": s["staff_no"], "staff_name": s["name"],
                  "store_code": s["store__code"], "store_name": s["store__name"]}
        for s in staff
    }


async def _code_labels(ids: list[int]) -> dict[int, dict[str, Any]]:
    codes = await Code.filter(id__in=ids).values("id", "slug", "name", "store_id", "staff_id")
    store_ids = {c["store_id"] for c in codes if c["store_id"] is not None}
    staff_ids = {c["staff_id"] for c in codes if c["staff_id"] is not None}
    stores = {s["id"]: s["code"] for s in await Store.filter(id__in=store_ids).values("id", "code")}
    staff = {s["id"]: s["staff_no"] for s in await Staff.filter(id__in=staff_ids).values("id", "staff_no")}
    return {
        c["id"]: {"code_id": c["id"], "code_slug": c["slug"], "code_name": c["name"],
                  "store_code": stores.get(c["store_id"]), "staff_no": staff.get(c["staff_id"])}
        for c in codes
    }


_LABELLERS = {GroupBy.STORE: _store_labels, GroupBy.STAFF: _staff_labels, GroupBy.CODE: _code_labels}


async def funnel(*, filters: ScanFilter) -> dict[str, int]:
    """The first funnel figures for the filtered codes and Shanghai days (ARCHITECTURE.md §5 names).

    - ``scans``: QR clicks (二维码点击), scans with bots excluded (ScanDaily.scans).
    - ``unique_scanners``: the ARCHITECTURE's "unique scanners", as in ``scan_totals``: a visitor counts once
      per code per hour, summed over codes and days.
    - ``visitors``: Visitor rows (one per cookie) whose first or last touch came through one of these codes
      within the range. Read from the visitor table, never the event table, so a visitor whose touches in
      the range were all between their first and last is not seen, and the codes are matched by their
      current store/staff/product/campaign. Cookies, not people: a customer's cookies share one first and
      last touch once identified, so a customer on two phones counts twice.
    - ``bots``: scans flagged as bots or link previews, reported apart and in no other figure.

    WeCom adds, claims and redemptions are recorded as funnel events too, but this report stops at the
    visit: the funnel reports (a later issue) carry them, rather than this one showing half a funnel.
    """
    totals = await scan_totals(filters=filters)
    return {"scans": totals["scans"], "unique_scanners": totals["unique_scanners"],
            "visitors": await visitor_count(filters=filters), "bots": totals["bots"]}


async def visitor_count(*, filters: ScanFilter) -> int:
    """Visitors whose first or last touch is through a filtered code between the range's Shanghai midnights."""
    f = filters
    start = datetime.combine(f.day_from, time(0), SHANGHAI)
    end = datetime.combine(f.day_to + timedelta(days=1), time(0), SHANGHAI)
    code_filters = {name: value for name, value in (
        ("id", f.code_id), ("store_id", f.store_id), ("staff_id", f.staff_id),
        ("campaign_id", f.campaign_id), ("product_id", f.product_id)) if value is not None}

    def touch(which: str) -> Q:
        codes = ({f"{which}_code_id__in": Subquery(Code.filter(**code_filters).values("id"))} if code_filters
                 else {f"{which}_code_id__isnull": False})
        conditions: dict[str, Any] = {**codes, f"{which}_at__gte": start, f"{which}_at__lt": end}
        return Q(**conditions)

    return await Visitor.filter(touch("first") | touch("last")).count()


def _csv_cell(column: str, value: Any) -> Any:
    # A free-text name starting with = + - @ would run as a formula in Excel; an apostrophe shows it as text.
    if column.endswith("_name") and isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def to_csv(*, rows: list[dict[str, Any]], group_by: GroupBy) -> bytes:
    """The rows as CSV: UTF-8 with a BOM (so Excel in China opens it right), Chinese and API headers."""
    columns = [*KEY_COLUMNS[group_by], *(("scans",) if group_by == GroupBy.CHANNEL else FIGURES)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f"{CSV_HEADERS[c]} {c}" for c in columns])
    for row in rows:
        writer.writerow([_csv_cell(c, row.get(c)) for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
