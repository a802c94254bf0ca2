"""Coupons on one hot batch: claims per second and redemptions per second through the hub's API, each
against a bare SQL baseline doing the same atomic work with asyncpg in the same run.

Claim (hub: ``POST /api/v1/coupons/batches/{id}/claims``, each with its own Idempotency-Key): the person's
row locked, their coupons of the batch counted against the per-customer limit, the stock taken by one
conditional UPDATE, the coupon and its ledger row inserted, a funnel event written. The baseline runs
those same statements in one transaction. Redemption (hub: ``POST /api/v1/coupons/redemptions`` with a
store's POS key): the coupon read, checked and moved by a conditional UPDATE on state and version, a
ledger row and a funnel event. Both sides run at the same concurrency for the same time; every answer must
be a success, and afterwards the batch's counter must equal the coupons it holds (no stock leaked).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from bench.cases import case
from bench.harness import Bench, BenchError, Figure, console, database, run_hub_cli
from bench.load import RawConnection, raw_request
from bench.processes import postgres_dsn

STOCK = 10_000_000
REDEEMABLE = {"hub": 10_000, "baseline": 60_000}  # claimed coupons ready for each side's redemptions
SPEND_FEN = 10_000
FACE_FEN = 500


@case("coupons", "Coupons: claims/s on one hot batch and redemptions/s, against the same SQL done bare")
def coupons(bench: Bench) -> list[Figure]:
    if not bench.hub.has_path("/api/v1/coupons/redemptions"):
        raise BenchError("the hub has no coupons API")
    database_url = bench.options.database_url
    seeded = asyncio.run(_seed(database_url))
    out = run_hub_cli(["keys", "create", "--role", "pos", "--store", seeded["store_code"], "--name", "bench pos"],
                      env=bench.hub.env, cwd=bench.workdir)
    pos_key = out.strip().splitlines()[-1].strip()
    try:
        hub_url, _, _ = bench.start_hub_server(name="hub-serve-coupons", workers=bench.options.workers)
        figures = []
        for label, hub_op, base_op in (
            ("claims/s, one hot batch", _hub_claims(hub_url, bench, seeded), _sql_claims(seeded)),
            ("redemptions/s", _hub_redemptions(hub_url, seeded, pos_key), _sql_redemptions(seeded)),
        ):
            rates: dict[str, list[float]] = {"hub": [], "baseline": []}
            for round_no in range(bench.options.rounds):
                for who in (["hub", "baseline"] if round_no % 2 == 0 else ["baseline", "hub"]):
                    runner = hub_op if who == "hub" else base_op
                    done, seconds = asyncio.run(_drive(runner, database_url, bench.options, _address(hub_url)))
                    rates[who].append(done / seconds)
                    console.print(f"  round {round_no + 1}/{bench.options.rounds} {who:8} {label:26} "
                                  f"{done / seconds:8,.0f}/s ({done:,} in {seconds:.1f} s)")
            figures.append(Figure(f"coupon {label}", statistics.median(rates["hub"]),
                                  statistics.median(rates["baseline"]), "req/s"))
        issued, held = asyncio.run(_stock_check(database_url, seeded["hub_batch"]))
        if issued != held:
            raise BenchError(f"batch counter {issued:,} but {held:,} coupons: stock leaked")
        bench.note(
            f"Coupons: one active batch of {STOCK:,}; claims cycle through the demo's customers (per-customer limit "
            f"1000), each claim with its own Idempotency-Key; redemptions of pre-claimed coupons with a store's POS "
            f"key. Hub with {bench.options.workers} API processes; concurrency {bench.options.concurrency} on both "
            f"sides; the baseline is the same SQL statements in "
            f"one transaction per operation with asyncpg (no HTTP, no framework). Afterwards the hub batch's counter "
            f"equalled its coupons ({held:,})."
        )
        return figures
    finally:
        asyncio.run(_clean(database_url))


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


async def _drive(op, database_url: str, options, hub_address: tuple[str, int]) -> tuple[int, float]:
    """Run ``op(worker_resources, n)`` from ``options.concurrency`` workers for ``options.max_seconds``."""
    import asyncpg

    pool = await asyncpg.create_pool(postgres_dsn(database_url), min_size=options.concurrency,
                                     max_size=options.concurrency)
    counter = itertools.count()
    done = 0
    deadline = time.perf_counter() + options.max_seconds
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal done
        connection = RawConnection(*hub_address)  # opened by the first request; the baseline never sends one
        try:
            while time.perf_counter() < deadline:
                if not await op(connection, pool, next(counter)):
                    return  # ran out of coupons to redeem
                done += 1
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(options.concurrency)))
    seconds = time.perf_counter() - started
    await pool.close()
    return done, seconds


def _post(url: str, body: dict, headers: dict[str, str]) -> bytes:
    """One JSON POST as bytes for ``RawConnection.exchange`` (httpx costs the client over a millisecond of
    CPU a request, taken from the same 2 cores as the servers: bench/load.py)."""
    parts = urlsplit(url)
    return raw_request("POST", parts.path, parts.netloc, {"Content-Type": "application/json", **headers},
                       json.dumps(body).encode())


def _hub_claims(hub_url: str, bench: Bench, seeded: dict):
    url = f"{hub_url}/api/v1/coupons/batches/{seeded['hub_batch']}/claims"
    customers = seeded["customers"]

    async def op(http: RawConnection, pool, n: int) -> bool:
        status, body = await http.exchange(_post(url, {"customer_id": customers[n % len(customers)], "channel": "app"},
                                                 {**bench.hub.auth, "Idempotency-Key": uuid.uuid4().hex}))
        if status != 201:
            raise BenchError(f"claim answered {status}: {body[:300]!r}")
        return True

    return op


def _sql_claims(seeded: dict):
    from coupons.codes import new_code

    customers, batch, key_id = seeded["customers"], seeded["base_batch"], seeded["key_id"]

    async def op(http: RawConnection, pool, n: int) -> bool:
        customer = customers[n % len(customers)]
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT id FROM customer WHERE id = $1 FOR UPDATE", customer)
            await conn.fetchval("SELECT count(*) FROM coupon WHERE batch_id = $1 AND owner_id = $2", batch, customer)
            taken = await conn.fetchval("UPDATE coupon_batch SET issued_count = issued_count + 1 WHERE id = $1 AND "
                                        "status = 'active' AND issued_count < total_quantity RETURNING id", batch)
            if taken is None:
                raise BenchError("the baseline batch ran out of stock")
            coupon_id = await conn.fetchval(
                "INSERT INTO coupon (created_at, updated_at, code, batch_id, owner_id, state, valid_from, valid_until, "
                "claimed_at, version) VALUES (now(), now(), $1, $2, $3, 'claimed', now(), now() + interval '30 days', "
                "now(), 1) RETURNING id", new_code(), batch, customer)
            await conn.execute(
                "INSERT INTO coupon_ledger (coupon_id, operation, to_state, actor_key_id, actor_role, channel, "
                "request_id, created_at) VALUES ($1, 'claim', 'claimed', $2, 'ops', 'app', $3, now())",
                coupon_id, key_id, uuid.uuid4().hex)
            await conn.execute("INSERT INTO event (type, occurred_at, customer_id, channel, counted, props) "
                               "VALUES ('claim', now(), $1, 'app', true, $2)",
                               customer, json.dumps({"coupon_id": coupon_id}))
        return True

    return op


def _hub_redemptions(hub_url: str, seeded: dict, pos_key: str):
    url = f"{hub_url}/api/v1/coupons/redemptions"
    codes, position = seeded["hub_codes"], itertools.count()  # each coupon once, across rounds

    async def op(http: RawConnection, pool, _n: int) -> bool:
        n = next(position)
        if n >= len(codes):
            return False
        headers = {"Authorization": f"Bearer {pos_key}", "Idempotency-Key": uuid.uuid4().hex}
        status, body = await http.exchange(_post(url, {"code": codes[n], "spend_fen": SPEND_FEN}, headers))
        if status != 200:
            raise BenchError(f"redemption answered {status}: {body[:300]!r}")
        return True

    return op


def _sql_redemptions(seeded: dict):
    codes, store_id, key_id = seeded["base_codes"], seeded["store_id"], seeded["key_id"]
    position = itertools.count()  # each coupon once, across rounds

    async def op(http: RawConnection, pool, _n: int) -> bool:
        n = next(position)
        if n >= len(codes):
            return False
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow("SELECT c.id, c.version, c.owner_id FROM coupon c JOIN coupon_batch b ON "
                                      "b.id = c.batch_id WHERE c.code = $1", codes[n])
            moved = await conn.fetchval(
                "UPDATE coupon SET state = 'redeemed', version = version + 1, redeemed_at = now(), "
                "redeemed_store_id = $2, redeemed_spend_fen = $3, redeemed_discount_fen = $4, updated_at = now() "
                "WHERE id = $1 AND state = 'claimed' AND version = $5 AND valid_until > now() RETURNING id",
                row["id"], store_id, SPEND_FEN, FACE_FEN, row["version"])
            if moved is None:
                raise BenchError("a baseline redemption found its coupon taken")
            await conn.execute(
                "INSERT INTO coupon_ledger (coupon_id, operation, from_state, to_state, actor_key_id, actor_role, "
                "channel, store_id, amount_fen, request_id, created_at) VALUES ($1, 'redeem', 'claimed', 'redeemed', "
                "$2, 'pos', 'store', $3, $4, $5, now())", row["id"], key_id, store_id, FACE_FEN, uuid.uuid4().hex)
            await conn.execute("INSERT INTO event (type, occurred_at, customer_id, store_id, channel, counted, props) "
                               "VALUES ('redeem', now(), $1, $2, 'store', true, '{}')", row["owner_id"], store_id)
        return True

    return op


async def _seed(database_url: str) -> dict:
    """Two active batches (hub, baseline) and claimed coupons for each side's redemptions, straight in SQL."""
    from coupons.codes import new_code

    async with database(database_url) as conn:
        await _delete(conn)
        key_id = await conn.fetchval("SELECT id FROM api_key ORDER BY id LIMIT 1")
        store = await conn.fetchrow("SELECT id, code FROM store ORDER BY id LIMIT 1")
        customers = [r["id"] for r in await conn.fetch("SELECT id FROM customer WHERE merged_into_id IS NULL "
                                                       "ORDER BY id LIMIT 5000")]
        if not (key_id and store and customers):
            raise BenchError("the bench database needs demo data (stores, customers) and a key")
        batches = {}
        for side in ("hub", "base"):
            batches[side] = await conn.fetchval(
                "INSERT INTO coupon_batch (created_at, updated_at, name, kind, face_value_fen, min_spend_fen, "
                "total_quantity, issued_count, per_customer_limit, return_days, valid_days, valid_start_days, "
                "store_ids, region_ids, discount_given_fen, categories, product_ids, channels, usable_weekdays, "
                "usable_hours, stackable, transferable, status, created_by_id, version) "
                "VALUES (now(), now(), $1, 'cash', $2, 0, $3, 0, 1000, 7, 30, 0, '[]', '[]', 0, '[]', '[]', '[]', "
                "'[]', '[]', false, true, 'active', $4, 1) RETURNING id", f"bench-{side}", FACE_FEN, STOCK, key_id)
        seeded = {"key_id": key_id, "store_id": store["id"], "store_code": store["code"], "customers": customers,
                  "hub_batch": batches["hub"], "base_batch": batches["base"]}
        for side, count in (("hub", REDEEMABLE["hub"]), ("base", REDEEMABLE["baseline"])):
            codes = [new_code() for _ in range(count)]
            now = datetime.now(UTC)
            await conn.copy_records_to_table("coupon", columns=[
                "created_at", "updated_at", "code", "batch_id", "owner_id", "state", "valid_from", "valid_until",
                "claimed_at", "version"], records=[
                (now, now, code, batches[side], customers[n % len(customers)], "claimed", now,
                 now + timedelta(days=30), now, 1) for n, code in enumerate(codes)])
            await conn.execute("UPDATE coupon_batch SET issued_count = $2 WHERE id = $1", batches[side], count)
            seeded[f"{side}_codes"] = codes
        return seeded


async def _stock_check(database_url: str, batch_id: int) -> tuple[int, int]:
    async with database(database_url) as conn:
        issued = await conn.fetchval("SELECT issued_count FROM coupon_batch WHERE id = $1", batch_id)
        held = await conn.fetchval("SELECT count(*) FROM coupon WHERE batch_id = $1", batch_id)
        return issued, held


async def _clean(database_url: str) -> None:
    async with database(database_url) as conn:
        await _delete(conn)


async def _delete(conn) -> None:
    """Everything the case made, so the cases after it see the database as seeded."""
    batches = "SELECT id FROM coupon_batch WHERE name LIKE 'bench-%'"
    await conn.execute(
        f"DELETE FROM coupon_ledger WHERE coupon_id IN (SELECT id FROM coupon WHERE batch_id IN ({batches}))")
    await conn.execute(f"DELETE FROM coupon WHERE batch_id IN ({batches})")
    await conn.execute(f"DELETE FROM coupon_batch_day WHERE batch_id IN ({batches})")
    await conn.execute("DELETE FROM coupon_batch WHERE name LIKE 'bench-%'")
    await conn.execute("DELETE FROM event WHERE type IN ('claim', 'redeem')")
