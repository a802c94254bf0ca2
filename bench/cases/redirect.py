"""The public link ``GET /c/{slug}`` against a bare FastAPI app answering the same 302, both served by
uvicorn with the same number of processes (``hub serve --workers N`` on PostgreSQL + Redis).

The hub does the whole job per request: code lookup in its cache (300 codes, every slug in turn, half with
the QR marker), visitor cookie, signed attribution token, User-Agent classification, the scan buffered
for the writer that stores it (events, unique scanners, daily rollups, code counters, visitors) in
batches, and the middleware's request id and metrics. The baseline answers a fixed copy of one hub answer
(same status, Location, Set-Cookie and body). After the load the hub is stopped gracefully, and every
request it answered must be a stored scan: the check that batching loses nothing.
"""

from __future__ import annotations

import asyncio

from bench.cases import case
from bench.harness import Bench, BenchError, Figure, console, database

CODES = 300
SLUG_PREFIX = "benchRd"  # + 5 digits: 12 characters, inside the slug rules (8-16 base62)
PERSON = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Mobile/15E148 MicroMessenger/8.0.49(0x18003127) NetType/WIFI Language/zh_CN")
PROBE = "bench-probe/1.0"  # not a browser: its scan is stored flagged, not counted


@case("redirect", "Public link GET /c/{slug}: redirect, token, scan recorded")
def redirect(bench: Bench) -> list[Figure]:
    workers = bench.options.workers
    asyncio.run(_seed(bench.options.database_url))
    try:
        url, proc, log_path = bench.start_hub_server(name="hub-serve-redirect", workers=workers)
        import httpx

        probe = httpx.get(f"{url}/c/{SLUG_PREFIX}00000", headers={"User-Agent": PROBE}, timeout=10, trust_env=False)
        person = httpx.get(f"{url}/c/{SLUG_PREFIX}00001?src=qr", headers={"User-Agent": PERSON}, timeout=10,
                           trust_env=False)
        for answer in (probe, person):
            if answer.status_code != 302 or "hub_attr=" not in answer.headers.get("location", ""):
                raise BenchError(f"GET /c/… answered {answer.status_code} {answer.headers}: {answer.text[:200]}")
        copied = {name: person.headers[name] for name in ("location", "cache-control", "referrer-policy", "set-cookie")}
        baseline_url = bench.start_baseline(name="redirect", path="/c/{slug}", body=person.content,
                                            content_type=person.headers["content-type"], status=302,
                                            headers=copied, workers=workers)
        paths = bench.workdir / "redirect-paths.txt"
        paths.write_text("\n".join(f"/c/{SLUG_PREFIX}{n:05d}" + ("?src=qr" if n % 2 else "") for n in range(CODES)))
        figures = bench.compare(label="GET /c/{slug}", path="/c/{slug}", baseline_url=baseline_url,
                                headers={"User-Agent": PERSON}, baseline_headers={"User-Agent": PERSON},
                                expect_body=None, expect_status=302, paths_file=paths, hub_url=url)
        sent = bench.sent[url] + 2
        console.print(f"  stopping the redirect hub gracefully after {sent:,} requests")
        bench.stop_gracefully(proc, log_path)
        events, scans, bots, uniques = asyncio.run(_counts(bench.options.database_url))
        if (events, scans, bots) != (sent, sent - 1, 1):
            raise BenchError(f"scans lost: {sent:,} requests answered, {events:,} scan events stored "
                             f"({scans:,} counted, {bots:,} bots; expected {sent - 1:,} and 1)")
        bench.note(
            f"GET /c/{{slug}}: {CODES} codes, each slug in turn (half with ?src=qr), WeChat in-app User-Agent, no "
            f"cookie kept (each request a new visitor: the heaviest write path); hub and baseline with {workers} "
            f"uvicorn processes each. After a graceful stop all {sent:,} requests were stored scans "
            f"({scans:,} counted, {uniques:,} unique scanners, {bots} bot probe)."
        )
        return figures
    finally:
        asyncio.run(_clean(bench.options.database_url))



async def _seed(database_url: str) -> None:
    """Codes straight in the table, owned by the seeded staff (the codes API is not what is measured)."""
    async with database(database_url) as conn:
        await _delete(conn)
        staff = await conn.fetch("SELECT id, store_id FROM staff ORDER BY id LIMIT $1", CODES)
        stores = await conn.fetch("SELECT id FROM store ORDER BY id LIMIT $1", CODES)
        if not stores:
            raise BenchError("the bench database has no stores to own the codes (hub demo-data seeds them)")
        rows = []
        for n in range(CODES):
            owner = staff[n % len(staff)] if staff else None
            store_id = owner["store_id"] if owner else stores[n % len(stores)]["id"]
            rows.append((f"{SLUG_PREFIX}{n:05d}", "staff" if owner else "store", f"https://shop.example/s/{n}?from=bench",
                         store_id, owner["id"] if owner else None, "bench"))
        await conn.executemany(
            "INSERT INTO code (created_at, updated_at, slug, kind, name, target_kind, target_url, store_id, staff_id, "
            "channel, scans_counted, active, tags, version) VALUES (now(), now(), $1, $2, '', 'storefront', $3, $4, "
            "$5, $6, 0, true, '[]', 1)", rows)


async def _counts(database_url: str) -> tuple[int, int, int, int]:
    async with database(database_url) as conn:
        codes = f"SELECT id FROM code WHERE slug LIKE '{SLUG_PREFIX}%'"
        events = await conn.fetchval(f"SELECT count(*) FROM event WHERE type = 'scan' AND code_id IN ({codes})")
        row = await conn.fetchrow("SELECT coalesce(sum(scans), 0) AS scans, coalesce(sum(bots), 0) AS bots, "
                                  "coalesce(sum(unique_scanners), 0) AS uniques "
                                  f"FROM scan_daily WHERE code_id IN ({codes})")
        return events, row["scans"], row["bots"], row["uniques"]


async def _clean(database_url: str) -> None:
    async with database(database_url) as conn:
        await _delete(conn)


async def _delete(conn) -> None:
    """Everything the case made, so the cases after it see the database as seeded."""
    codes = f"SELECT id FROM code WHERE slug LIKE '{SLUG_PREFIX}%'"
    await conn.execute(f"DELETE FROM visitor WHERE first_code_id IN ({codes}) OR last_code_id IN ({codes})")
    for table in ("event", "scan_daily", "scan_visitor_hour"):
        await conn.execute(f"DELETE FROM {table} WHERE code_id IN ({codes})")
    await conn.execute(f"DELETE FROM code WHERE slug LIKE '{SLUG_PREFIX}%'")
