"""The scan writer's writes: one batch of scans becomes event rows, unique scanners (ScanVisitorHour),
ScanDaily increments, Code.scans_counted increments and the visitors' first / last touch, in the caller's
transaction (``buffer.py`` opens one per batch).

On PostgreSQL each table gets one statement per batch over ``unnest`` of arrays (asyncpg encodes them in
C; the database does the per-row work), which keeps a scan's write cost far below one INSERT per row.
Other databases (SQLite on a laptop) take the same rows through ``executemany``. Every table is written
in a fixed key order (code rows locked in id order first), so two API processes flushing at the same
time queue on row locks and never deadlock. Days are Asia/Shanghai days; hours are UTC hours (Shanghai
is a whole number of hours ahead, so the boundaries are the same).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from tortoise import Tortoise

from hub.errors import present
from hub.events.models import ScanVisitorHour

_SHANGHAI_OFFSET = 8 * 3600  # Asia/Shanghai has no daylight saving time
_EPOCH_DAY = date(1970, 1, 1)
# ScanDaily counters, in the order of the value lists built below.
COUNTS = ("scans", "unique_scanners", "qr_scans", "link_scans", "wechat", "wecom", "other_app", "browser", "bots")
_APP = {"wechat": 4, "wecom": 5, "other_app": 6, "none": 7}
# Why a row's code_id is set past write_scans' filter: orphan scans (unknown slug) only become events.
_CODED = "write_scans passes on only the scans of a known code"


class ScanRow(NamedTuple):
    """One scan, ready to store (``buffer.prepare`` builds it off the request path)."""

    at: float  # Unix seconds
    code_id: int | None  # None: an orphan scan (unknown slug)
    store_id: int | None
    staff_id: int | None
    product_id: int | None
    campaign_id: int | None
    channel: str
    slug: str
    visitor_id: str
    counted: bool  # a person's scan of a code that redirected
    bot: bool  # a crawler or preview fetcher that was redirected (counted in ScanDaily.bots only)
    qr: bool
    in_app: str  # wechat, wecom, other_app, none
    props: str  # Event.props as JSON text


def shanghai_day(at: float) -> date:
    number = int((at + _SHANGHAI_OFFSET) // 86400)
    day = _DAYS.get(number)
    if day is None:
        if len(_DAYS) > 1000:
            _DAYS.clear()
        day = _DAYS[number] = _EPOCH_DAY + timedelta(days=number)
    return day


_DAYS: dict[int, date] = {}  # day number -> date: a batch has one or two days


async def write_scans(*, rows: Sequence[ScanRow]) -> None:
    """Store one batch of scans and everything they change (in the caller's transaction)."""
    if not rows:
        return
    conn = Tortoise.get_connection("default")
    postgres = conn.capabilities.dialect == "postgres"
    await (_events_pg if postgres else _events_generic)(conn, rows)
    coded = [r for r in rows if r.code_id is not None and (r.counted or r.bot)]
    people = [r for r in coded if r.counted]
    uniques = await (_uniques_pg if postgres else _uniques_generic)(conn, people)
    daily: dict[tuple[int, date], list] = {}
    for r in coded:
        key = (present(r.code_id, _CODED), shanghai_day(r.at))
        counts = daily.get(key)
        if counts is None:
            counts = daily[key] = [0] * len(COUNTS)
            counts.append((r.store_id, r.staff_id, r.product_id, r.campaign_id))
        if r.counted:
            counts[0] += 1
            counts[2 if r.qr else 3] += 1
            counts[_APP.get(r.in_app, 7)] += 1
        else:
            counts[8] += 1
    for key, n in uniques.items():
        daily[key][1] += n
    daily_values = [(code_id, day, *counts[-1], *counts[:-1]) for (code_id, day), counts in sorted(daily.items())]
    per_code: dict[int, int] = {}
    for r in people:
        code_id = present(r.code_id, _CODED)
        per_code[code_id] = per_code.get(code_id, 0) + 1
    touches = _touches(people)
    if postgres:
        await _rollups_pg(conn, daily_values, sorted(per_code.items()), touches)
    else:
        await _rollups_generic(conn, daily_values, sorted(per_code.items()), touches)


async def prune_scan_hours(*, before: datetime) -> int:
    """Forget who scanned what in the hours before ``before``: only the current hour decides uniqueness."""
    return await ScanVisitorHour.filter(hour__lt=before).delete()


def _touches(people: list[ScanRow]) -> list[tuple]:
    """Each visitor's earliest and latest scan of the batch: (visitor, first code, first at, first touch
    JSON, last code, last at, last touch JSON), sorted by visitor; the last three are None when the
    visitor scanned once (the first touch is then the last too)."""
    spans: dict[str, list[ScanRow]] = {}
    for r in people:
        span = spans.get(r.visitor_id)
        if span is None:
            spans[r.visitor_id] = [r, r]
        elif r.at < span[0].at:
            span[0] = r
        elif r.at >= span[1].at:
            span[1] = r
    prefixes: dict[int, str] = {}
    out: list[tuple] = []
    for visitor, (first, last) in sorted(spans.items()):
        if last is first:
            out.append((visitor, first.code_id, first.at, _touch(first, prefixes), None, None, None))
        else:
            out.append((visitor, first.code_id, first.at, _touch(first, prefixes), last.code_id, last.at,
                        _touch(last, prefixes)))
    return out


def _touch(r: ScanRow, prefixes: dict[int, str]) -> str:
    """The touch a Visitor row keeps (``hub.events.attribution.Attribution.to_json``'s shape)."""
    code_id = present(r.code_id, _CODED)
    prefix = prefixes.get(code_id)
    if prefix is None:
        prefix = prefixes[code_id] = json.dumps(
            {"code_id": r.code_id, "slug": r.slug, "store_id": r.store_id, "staff_id": r.staff_id,
             "product_id": r.product_id, "campaign_id": r.campaign_id, "channel": r.channel},
            ensure_ascii=False, separators=(",", ":"))[:-1]
    return f'{prefix},"visitor_id":"{r.visitor_id}","at":{int(r.at)}}}'


# --- PostgreSQL: one statement per table over arrays ---------------------------------------------------

_EVENTS_PG = """
INSERT INTO event (type, occurred_at, visitor_id, code_id, store_id, staff_id, product_id, campaign_id, channel,
                   counted, props)
SELECT 'scan', to_timestamp(t), v, c, s, st, p, ca, ch, co, pr::jsonb
FROM unnest($1::text::float8[], $2::text::text[], $3::text::int[], $4::text::int[], $5::text::int[],
            $6::text::int[], $7::text::int[], $8::text[], $9::text::bool[], $10::text[])
     AS x(t, v, c, s, st, p, ca, ch, co, pr)"""
_UNIQUES_PG = """
WITH inserted AS (
    INSERT INTO scan_visitor_hour (code_id, visitor_id, hour)
    SELECT c, v, to_timestamp(h) FROM unnest($1::text::int[], $2::text::text[], $3::text::float8[]) AS x(c, v, h)
    ORDER BY c, v, h
    ON CONFLICT DO NOTHING RETURNING code_id, hour)
SELECT code_id, extract(epoch FROM hour)::float8 AS h, count(*) AS n FROM inserted GROUP BY 1, 2"""
_DAILY_PG = (
    "INSERT INTO scan_daily (code_id, day, store_id, staff_id, product_id, campaign_id, " + ", ".join(COUNTS) + ") "  # noqa: S608  constant column names
    "SELECT * FROM unnest($1::int[], $2::date[], $3::int[], $4::int[], $5::int[], $6::int[], "
    + ", ".join(f"${i}::bigint[]" for i in range(7, 7 + len(COUNTS))) + ") ORDER BY 1, 2 "
    "ON CONFLICT (code_id, day) DO UPDATE SET " + ", ".join(f"{c} = scan_daily.{c} + excluded.{c}" for c in COUNTS)
)
_LOCK_CODES_PG = "SELECT id FROM code WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE"
_CODES_PG = """
UPDATE code SET scans_counted = code.scans_counted + x.n
FROM unnest($1::int[], $2::bigint[]) AS x(id, n) WHERE code.id = x.id"""
_NEWER_FIRST = "visitor.first_code_id IS NULL OR excluded.first_at < visitor.first_at"
_NEWER_LAST = "visitor.last_code_id IS NULL OR excluded.last_at >= visitor.last_at"
_VISITOR_UPDATE = (
    " ON CONFLICT (visitor_id) DO UPDATE SET "
    + ", ".join(f"{c} = CASE WHEN {_NEWER_FIRST} THEN excluded.{c} ELSE visitor.{c} END"
                for c in ("first_code_id", "first_at", "first_attribution"))
    + ", "
    + ", ".join(f"{c} = CASE WHEN {_NEWER_LAST} THEN excluded.{c} ELSE visitor.{c} END"
                for c in ("last_code_id", "last_at", "last_attribution"))
)
# A visitor seen once in the batch has the same first and last touch: its JSON is sent (and parsed) once.
_VISITORS_PG = """
INSERT INTO visitor (visitor_id, first_code_id, first_at, first_attribution, last_code_id, last_at, last_attribution)
SELECT v, c1, to_timestamp(t1), j, coalesce(c2, c1), to_timestamp(coalesce(t2, t1)), coalesce(a2::jsonb, j)
FROM unnest($1::text::text[], $2::text::int[], $3::text::float8[], $4::text[], $5::text::int[],
            $6::text::float8[], $7::text[])
     AS x(v, c1, t1, a1, c2, t2, a2), LATERAL (SELECT a1::jsonb AS j) AS first ORDER BY v""" + _VISITOR_UPDATE


def _literal(values) -> str:
    """A PostgreSQL array literal of numbers, booleans (None: NULL) or visitor ids (``[A-Za-z0-9_-]`` only,
    never quoted). The server parses it in C; as a list, asyncpg would type-check every element in Python,
    which costs more than the rest of the batch's preparation."""
    return "{" + ",".join(["NULL" if v is None else str(v) for v in values]) + "}"


async def _events_pg(conn, rows: Sequence[ScanRow]) -> None:
    at, code, store, staff, product, campaign, channel, _slug, visitor, counted, _bot, _qr, _app, props = zip(
        *rows, strict=True)
    await conn.execute_query(_EVENTS_PG, [
        _literal(at), _literal(visitor), _literal(code), _literal(store), _literal(staff), _literal(product),
        _literal(campaign), list(channel), _literal(counted), list(props)])


async def _uniques_pg(conn, people: list[ScanRow]) -> dict[tuple[int, date], int]:
    if not people:
        return {}
    keys = {(r.code_id, r.visitor_id, r.at - r.at % 3600) for r in people}
    codes, visitors, hours = zip(*keys, strict=True)
    found: dict[tuple[int, date], int] = {}
    for row in await conn.execute_query_dict(_UNIQUES_PG, [_literal(codes), _literal(visitors), _literal(hours)]):
        key = (row["code_id"], shanghai_day(row["h"]))
        found[key] = found.get(key, 0) + row["n"]
    return found


async def _rollups_pg(conn, daily: list[tuple], per_code: list[tuple[int, int]], touches: list[tuple]) -> None:
    if daily:
        await conn.execute_query(_DAILY_PG, [list(column) for column in zip(*daily, strict=True)])
    if per_code:
        ids, increments = zip(*per_code, strict=True)
        await conn.execute_query(_LOCK_CODES_PG, [list(ids)])
        await conn.execute_query(_CODES_PG, [list(ids), list(increments)])
    if touches:
        visitor, first_code, first_at, first, last_code, last_at, last = zip(*touches, strict=True)
        await conn.execute_query(_VISITORS_PG, [_literal(visitor), _literal(first_code), _literal(first_at),
                                                list(first), _literal(last_code), _literal(last_at), list(last)])


# --- SQLite (and anything else): executemany over the same values ---------------------------------------

_EVENTS_GENERIC = ("INSERT INTO event (type, occurred_at, visitor_id, code_id, store_id, staff_id, product_id, "
                   "campaign_id, channel, counted, props) VALUES ('scan',?,?,?,?,?,?,?,?,?,?)")
_DAILY_GENERIC = (
    "INSERT INTO scan_daily (code_id, day, store_id, staff_id, product_id, campaign_id, " + ", ".join(COUNTS)  # noqa: S608  constant column names
    + ") VALUES (" + ",".join("?" * (6 + len(COUNTS))) + ") ON CONFLICT (code_id, day) DO UPDATE SET "
    + ", ".join(f"{c} = scan_daily.{c} + excluded.{c}" for c in COUNTS)
)
_CODES_GENERIC = "UPDATE code SET scans_counted = scans_counted + ? WHERE id = ?"
_VISITORS_GENERIC = ("INSERT INTO visitor (visitor_id, first_code_id, first_at, first_attribution, last_code_id, "  # noqa: S608  constants
                     "last_at, last_attribution) VALUES (?,?,?,?,?,?,?)" + _VISITOR_UPDATE)
_CHUNK = 300  # rows per multi-row INSERT: well below SQLite's parameter limit


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


async def _events_generic(conn, rows: Sequence[ScanRow]) -> None:
    await conn.execute_many(_EVENTS_GENERIC, [
        (_utc(r.at), r.visitor_id, r.code_id, r.store_id, r.staff_id, r.product_id, r.campaign_id, r.channel,
         r.counted, r.props) for r in rows
    ])


async def _uniques_generic(conn, people: list[ScanRow]) -> dict[tuple[int, date], int]:
    by_hour: dict[float, set[tuple[int, str]]] = {}
    for r in people:
        by_hour.setdefault(r.at - r.at % 3600, set()).add((present(r.code_id, _CODED), r.visitor_id))
    found: dict[tuple[int, date], int] = {}
    for hour, keys in sorted(by_hour.items()):
        day, ordered = shanghai_day(hour), sorted(keys)
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            sql = ("INSERT INTO scan_visitor_hour (code_id, visitor_id, hour) VALUES "  # noqa: S608  placeholders only
                   + ",".join(["(?,?,?)"] * len(chunk)) + " ON CONFLICT DO NOTHING RETURNING code_id")
            params = [value for code_id, visitor in chunk for value in (code_id, visitor, _utc(hour))]
            for row in await conn.execute_query_dict(sql, params):
                found[(row["code_id"], day)] = found.get((row["code_id"], day), 0) + 1
    return found


async def _rollups_generic(conn, daily: list[tuple], per_code: list[tuple[int, int]], touches: list[tuple]) -> None:
    if daily:
        await conn.execute_many(_DAILY_GENERIC, daily)
    if per_code:
        await conn.execute_many(_CODES_GENERIC, [(n, code_id) for code_id, n in per_code])
    if touches:
        await conn.execute_many(_VISITORS_GENERIC, [
            (v, c1, _utc(t1), a1, c1, _utc(t1), a1) if c2 is None else (v, c1, _utc(t1), a1, c2, _utc(t2), a2)
            for v, c1, t1, a1, c2, t2, a2 in touches
        ])
