"""Scan statistics over 10 million scans against the same query over 10 thousand, in one run.

The statistics read the ScanDaily rollup, whose size is codes × days, never the event table. Two data
sets with the same rollup shape (1,000 codes × 10 Shanghai days = 10,000 rows each) differ only in the
scans behind them, which really are in the event table: 10,000 scans under one campaign, 10,000,000 under
another, each put there by one ``INSERT … SELECT … FROM generate_series``. With both loaded, the same
request for either campaign is timed in alternation, so whatever else the machine does hits both alike.
The table's "hub" column is the 10M figure, "baseline" the 10k one; a ratio near 1 is the claim: the
answer costs the same however many scans there are. (It grows with codes × days in range, fixed here.)
The 10k query is also timed before the 10M load, on a database with only 10k events: see the note.

Everything seeded carries a marker (code ids from 2,000,000,000 up, events with channel
``bench-scan-stats``) and is removed at the end, and before seeding if an earlier run was interrupted.
``BENCH_SCAN_EVENTS`` changes the large size.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from datetime import date, timedelta

import httpx

from bench.cases import case
from bench.harness import Bench, BenchError, Figure, console, database

MARKER = "bench-scan-stats"
CODE_BASE = 2_000_000_000  # far above any real code id (ids are 32-bit): the marker of seeded rollup rows
SMALL_CAMPAIGN, BIG_CAMPAIGN = 2_000_000_001, 2_000_000_002  # ids no real campaign has
CODES, DAYS = 1_000, 10
FIRST_DAY = date(2025, 3, 1)
BIG = int(os.environ.get("BENCH_SCAN_EVENTS", 10_000_000))
SMALL = 10_000
WARMUP, REPEATS = 5, 40
QUERIES = ["group_by=store", "group_by=day", "group_by=code&limit=100"]

# One generated scan per i ($2 of them, campaign $3), in time order as the scan writer appends them: spread
# evenly over DAYS Shanghai days, code (i * 7919) % CODES (every code on every day), five scans per visitor
# with scattered cookie ids, 2% bots, a quarter from links, browsers 6:2:1:1 (wechat, wecom, other app, none).
_GENERATED = f"""
    SELECT i, c.code_id, c.store_id, c.staff_id,
           ($1::date::timestamp + ((i * {DAYS * 86_400_000}) / $2::bigint) * interval '1 millisecond')
               AT TIME ZONE 'Asia/Shanghai' AS occurred_at,
           'bv' || $3::int || '-' || ((i * 104729) % greatest($2::bigint / 5, 1)) AS visitor_id,
           (i / 7) % 50 <> 0 AS counted,
           CASE WHEN i % 4 = 0 THEN 'link' ELSE 'qr' END AS source,
           CASE WHEN (i / 3) % 10 < 6 THEN 'wechat' WHEN (i / 3) % 10 < 8 THEN 'wecom'
                WHEN (i / 3) % 10 = 8 THEN 'other_app' ELSE 'none' END AS in_app
    FROM generate_series(0, $2::bigint - 1) AS i JOIN bench_code c ON c.k = (i * 7919) % {CODES}
"""

_EVENTS = f"""
    INSERT INTO event (type, occurred_at, visitor_id, code_id, store_id, staff_id, campaign_id, channel, counted, props)
    SELECT 'scan', occurred_at, visitor_id, code_id, store_id, staff_id, $3, '{MARKER}', counted,
           jsonb_build_object('source', source, 'in_app', in_app)
    FROM ({_GENERATED}) g
"""

# The same scans folded as the scan writer folds them; unique scanners once per visitor per code per hour.
_ROLLUP = f"""
    INSERT INTO scan_daily (code_id, day, store_id, staff_id, campaign_id, scans, unique_scanners, qr_scans,
                            link_scans, wechat, wecom, other_app, browser, bots)
    SELECT code_id, (occurred_at AT TIME ZONE 'Asia/Shanghai')::date, min(store_id), min(staff_id), $3,
           count(*) FILTER (WHERE counted),
           count(DISTINCT (visitor_id, date_trunc('hour', occurred_at))) FILTER (WHERE counted),
           count(*) FILTER (WHERE counted AND source = 'qr'), count(*) FILTER (WHERE counted AND source = 'link'),
           count(*) FILTER (WHERE counted AND in_app = 'wechat'), count(*) FILTER (WHERE counted AND in_app = 'wecom'),
           count(*) FILTER (WHERE counted AND in_app = 'other_app'),
           count(*) FILTER (WHERE counted AND in_app = 'none'),
           count(*) FILTER (WHERE NOT counted)
    FROM ({_GENERATED}) g GROUP BY 1, 2
"""

# The event table's indexes other than its primary key (and any constraint's), with their definitions.
_SECONDARY_INDEXES = """
    SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
    WHERE x.indrelid = 'event'::regclass AND NOT x.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
    ORDER BY i.relname
"""

# CODES fake codes from $1 on, each given to a real staff member and their store when demo data has them.
_CODES = """
    CREATE TEMP TABLE bench_code AS
    SELECT k, $1::int + k AS code_id, s.id AS staff_id, s.store_id
    FROM generate_series(0, $2::int - 1) AS k
    LEFT JOIN (SELECT id, store_id, row_number() OVER (ORDER BY id) - 1 AS n, count(*) OVER () AS total FROM staff) s
           ON s.n = k % s.total
"""


@case("scan-stats", "Scan statistics: 10M scans against 10k")
def scan_stats(bench: Bench) -> list[Figure]:
    url = bench.options.database_url
    window = f"from={FIRST_DAY}&to={FIRST_DAY + timedelta(days=DAYS - 1)}"
    paths = {size: {q: f"/api/v1/stats/scans?{q}&{window}&campaign_id={campaign}" for q in QUERIES}
             for size, campaign in ((SMALL, SMALL_CAMPAIGN), (BIG, BIG_CAMPAIGN))}
    try:
        asyncio.run(_clean(url))
        asyncio.run(_seed(url, SMALL, campaign=SMALL_CAMPAIGN, first_code=CODE_BASE))
        alone = _measure(bench, {SMALL: paths[SMALL]})[SMALL]
        seeded = asyncio.run(_seed(url, BIG, campaign=BIG_CAMPAIGN, first_code=CODE_BASE + CODES))
        both = _measure(bench, paths)
    finally:
        asyncio.run(_clean(url))
    small, big = (_medians(both[size]) for size in (SMALL, BIG))
    bench.note(
        f"scan-stats: {BIG + SMALL:,} scan events in the event table ({seeded['insert_s']:.1f} s for the one INSERT … "
        f"SELECT … FROM generate_series of {BIG:,}, with its {seeded['indexes']} secondary indexes dropped; "
        f"{seeded['index_s']:.1f} s to rebuild them; {seeded['rollup_s']:.1f} s to fold the scans into "
        f"{seeded['rollup_rows']:,} ScanDaily rows). 'hub' = the campaign with {BIG:,} scans, 'baseline' = the one "
        f"with {SMALL:,}, each {CODES:,} codes × {DAYS} days of rollup rows; through the running hub with the ops key, "
        f"one keep-alive connection, JSON, requests alternating between the two: medians of {REPEATS} after "
        f"{WARMUP} warm-up. The {SMALL:,}-scan query before the {BIG:,} load (only {SMALL:,} events in the table): "
        + ", ".join(f"{q} {statistics.median(alone[q]):.1f} ms" for q in QUERIES) + "."
    )
    return [
        Figure(f"GET /api/v1/stats/scans?{q} (ms, {BIG / 1e6:g}M vs {SMALL / 1e3:g}k scans)", big[q], small[q], "ms")
        for q in QUERIES
    ]



async def _seed(url: str, scans: int, *, campaign: int, first_code: int) -> dict:
    """The scans as events, and their rollup; how long each step took.

    The event table's secondary indexes are dropped for the one INSERT and rebuilt from their own
    definitions afterwards, the bulk-load practice: at 10M rows on 2 cores about 1 min + 1 min, against
    about 5 min with the indexes live. VACUUM ANALYZE and a CHECKPOINT then leave the database as in
    steady state, so neither autovacuum nor the load's writes run during the timed requests.
    """
    async with database(url) as conn:
        await conn.execute("SET work_mem = '256MB'; SET maintenance_work_mem = '1GB'")
        await conn.execute(_CODES, first_code, CODES)
        indexes = await conn.fetch(_SECONDARY_INDEXES)
        try:
            for index in indexes:
                await conn.execute(f'DROP INDEX "{index["name"]}"')
            started = time.perf_counter()
            status = await conn.execute(_EVENTS, FIRST_DAY, scans, campaign)
            insert_s = time.perf_counter() - started
        finally:
            started = time.perf_counter()
            for index in indexes:  # also after a failure: the table keeps the schema the migrations gave it
                if await conn.fetchval("SELECT to_regclass($1) IS NULL", f'"{index["name"]}"'):
                    await conn.execute(index["definition"].replace(" ON ONLY ", " ON "))
            index_s = time.perf_counter() - started
        if status != f"INSERT 0 {scans}":
            raise BenchError(f"seeding scan events answered {status!r}, expected {scans:,} rows")
        started = time.perf_counter()
        rollup_rows = int((await conn.execute(_ROLLUP, FIRST_DAY, scans, campaign)).rsplit(" ", 1)[1])
        rollup_s = time.perf_counter() - started
        if rollup_rows != CODES * DAYS:  # the claim needs the same rollup shape in both data sets
            raise BenchError(f"{scans:,} scans folded into {rollup_rows:,} rollup rows, expected {CODES * DAYS:,}")
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE event")
        await conn.execute("VACUUM ANALYZE scan_daily")
        await conn.execute("CHECKPOINT")
        vacuum_s = time.perf_counter() - started
    console.print(f"  {scans:,} scan events: INSERT {insert_s:.1f} s, "
                  f"{len(indexes)} indexes rebuilt in {index_s:.1f} s, "
                  f"{rollup_rows:,} rollup rows in {rollup_s:.1f} s, VACUUM ANALYZE and CHECKPOINT {vacuum_s:.1f} s")
    return {"insert_s": insert_s, "index_s": index_s, "indexes": len(indexes), "rollup_s": rollup_s,
            "rollup_rows": rollup_rows}


async def _clean(url: str) -> None:
    """Remove what this case seeded; the event table is emptied at once when it holds nothing else."""
    async with database(url) as conn:
        await conn.execute("DELETE FROM scan_daily WHERE code_id >= $1", CODE_BASE)
        if await conn.fetchval("SELECT NOT EXISTS (SELECT 1 FROM event WHERE channel <> $1)", MARKER):
            await conn.execute("TRUNCATE event")
        else:
            await conn.execute("DELETE FROM event WHERE channel = $1", MARKER)


def _measure(bench: Bench, paths: dict[int, dict[str, str]]) -> dict[int, dict[str, list[float]]]:
    """Milliseconds of each request, per data set and query; the sets take turns on every repeat.

    Each answer is checked first: its totals must add up to the scans seeded under that campaign.
    """
    times: dict[int, dict[str, list[float]]] = {size: {q: [] for q in QUERIES} for size in paths}
    with httpx.Client(base_url=bench.hub.base_url, headers=bench.hub.auth, timeout=30, trust_env=False) as client:
        for size, by_query in paths.items():
            for path in by_query.values():
                response = client.get(path)
                if response.status_code != 200:
                    raise BenchError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
                totals = response.json()["totals"]
                if totals["scans"] + totals["bots"] != size:
                    raise BenchError(f"GET {path} counted {totals['scans'] + totals['bots']:,} scans, seeded {size:,}")
        for query in QUERIES:
            order = list(paths)
            for repeat in range(WARMUP + REPEATS):
                for size in order if repeat % 2 else reversed(order):
                    started = time.perf_counter()
                    client.get(paths[size][query]).raise_for_status()
                    if repeat >= WARMUP:
                        times[size][query].append((time.perf_counter() - started) * 1000)
            for size in order:
                values = times[size][query]
                console.print(f"  {size:>12,} scans  {query:28} median {statistics.median(values):7.1f} ms  "
                              f"max {max(values):7.1f} ms")
    return times


def _medians(times: dict[str, list[float]]) -> dict[str, float]:
    return {query: statistics.median(values) for query, values in times.items()}
