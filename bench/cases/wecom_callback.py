"""WeCom callbacks under a burst: 200 distinct ``add_external_contact`` deliveries at once.

The hub (``hub serve`` + ``hub worker`` on PostgreSQL and Redis, the WeCom sandbox as the platform)
checks each signature, decrypts, stores a receipt and answers; its urgent lane then applies the add and
sends the welcome message. Measured: the acknowledgement latency (p50, p99) against a bare endpoint that
answers "success" to the same requests without work, and the time from a callback's delivery to its
welcome message arriving at the sandbox, against the 20 seconds the welcome code lives. Every callback
must end as a processed receipt and a welcome the sandbox received.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import string
import time

import httpx

from bench.cases import case
from bench.harness import BIN, Bench, BenchError, Figure, console, database, free_port, wait_until_ready

BURST = 200
STAFF = 50  # staff codes the customers scan (one contact way each)
SLUG_PREFIX = "benchWc"
WELCOME_WINDOW_MS = 20_000
ACK_LIMIT_MS = 5_000


def _corp() -> dict[str, str]:
    alnum = string.ascii_letters + string.digits
    return {
        "HUB_WECOM_CORP_ID": "wwbench" + secrets.token_hex(6),
        "HUB_WECOM_SECRET": secrets.token_urlsafe(32),
        "HUB_WECOM_TOKEN": "".join(secrets.choice(alnum) for _ in range(32)),
        "HUB_WECOM_AES_KEY": "".join(secrets.choice(alnum) for _ in range(43)),
        "HUB_WECOM_AGENT_ID": "1000002",
    }


@case("wecom-callback", "WeCom callbacks: acknowledgement at 200 concurrent deliveries, time to the welcome")
def wecom_callback(bench: Bench) -> list[Figure]:
    corp = _corp()
    sandbox_port = free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    env = {**corp, "HUB_WECOM_API_BASE": f"{sandbox_url}/cgi-bin/",
           "HUB_WECOM_OAUTH_URL": f"{sandbox_url}/connect/oauth2/authorize"}
    states = asyncio.run(_seed(bench.options.database_url))
    try:
        proc, log_path = bench.procs.start("wecom-sandbox", [str(BIN / "hub"), "sandbox", "wecom", "serve", "--port",
                                                             str(sandbox_port)], env={**bench.hub.env, **env},
                                           cwd=bench.workdir)
        wait_until_ready(f"{sandbox_url}/sandbox/stats", proc, log_path)
        hub_url, _, _ = bench.start_hub_server(name="hub-serve-wecom", workers=bench.options.workers, env=env)
        bench.procs.start("hub-worker-wecom", [str(BIN / "hub"), "worker"], env={**bench.hub.env, **env},
                          cwd=bench.workdir)
        baseline_url = bench.start_baseline(name="wecom-callback", path="/webhooks/wecom", body=b"success",
                                            content_type="text/plain; charset=utf-8", method="POST",
                                            workers=bench.options.workers)
        acks: dict[str, list[list[float]]] = {"hub": [], "baseline": []}
        welcomes: list[list[float]] = []
        for round_no in range(bench.options.rounds):
            order = ["hub", "baseline"] if round_no % 2 == 0 else ["baseline", "hub"]
            for who in order:
                burst = asyncio.run(_build_burst(sandbox_url, states))
                target = hub_url if who == "hub" else baseline_url
                latencies, sent_at = asyncio.run(_fire(target, burst))
                acks[who].append(latencies)
                line = f"  round {round_no + 1}/{bench.options.rounds} {who:8} ack p50 {_pct(latencies, 50):7.1f} ms" \
                       f"  p99 {_pct(latencies, 99):7.1f} ms"
                if who == "hub":
                    waits = asyncio.run(_welcome_waits(sandbox_url, burst, sent_at))
                    welcomes.append(waits)
                    line += f"  welcome p50 {_pct(waits, 50):7.1f} ms  p99 {_pct(waits, 99):7.1f} ms"
                console.print(line)
        receipts, done = asyncio.run(_receipts(bench.options.database_url))
        expected = BURST * bench.options.rounds
        if (receipts, done) != (expected, expected):
            raise BenchError(f"{expected} callbacks sent, {receipts} receipts stored, {done} processed")

        def median(samples: list[list[float]], pct: int) -> float:
            return statistics.median(_pct(s, pct) for s in samples)

        bench.note(
            f"WeCom callbacks: {BURST} distinct add_external_contact deliveries at once per round (customers of "
            f"{STAFF} staff codes, each with a welcome code from the sandbox), hub with {bench.options.workers} API "
            f"processes and one `hub worker`; baseline: a bare FastAPI POST answering `success`. All "
            f"{expected:,} callbacks were stored and processed, each welcome received by the sandbox. Welcome figures "
            f"are measured against the welcome code's 20 s life ({WELCOME_WINDOW_MS:,} ms); acknowledgement p99 must "
            f"stay far below WeCom's {ACK_LIMIT_MS:,} ms."
        )
        return [
            Figure("WeCom callback ack (200 at once): p50 (ms)", median(acks["hub"], 50), median(acks["baseline"], 50),
                   "ms"),
            Figure("WeCom callback ack (200 at once): p99 (ms)", median(acks["hub"], 99), median(acks["baseline"], 99),
                   "ms"),
            Figure("callback → welcome sent: p50 (ms) vs the 20 s window", median(welcomes, 50), WELCOME_WINDOW_MS,
                   "ms"),
            Figure("callback → welcome sent: p99 (ms) vs the 20 s window", median(welcomes, 99), WELCOME_WINDOW_MS,
                   "ms"),
        ]
    finally:
        asyncio.run(_clean(bench.options.database_url))


def _pct(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


async def _build_burst(sandbox_url: str, states: list[tuple[str, str]]) -> list[dict]:
    """The sandbox plays 200 customers adding staff (contacts and welcome codes made, nothing posted yet)."""
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=30, trust_env=False) as client:
        async def one(n: int) -> dict:
            userid, state = states[n % len(states)]
            answer = await client.post("/sandbox/simulate/add", json={"staff": userid, "state": state,
                                                                       "deliver": False})
            if answer.status_code != 200:
                raise BenchError(f"sandbox simulate/add: HTTP {answer.status_code} {answer.text[:300]}")
            data = answer.json()
            return {"params": data["callback"]["params"], "xml": data["callback"]["xml"],
                    "welcome_code": data["welcome_code"]}

        gate = asyncio.Semaphore(16)

        async def gated(n: int) -> dict:
            async with gate:
                return await one(n)

        return list(await asyncio.gather(*(gated(n) for n in range(BURST))))


async def _fire(base_url: str, burst: list[dict]) -> tuple[list[float], dict[str, float]]:
    """All deliveries at once; each one's latency (ms) and the wall time it was sent, by welcome code."""
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
    sent_at: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits, trust_env=False) as client:
        start = asyncio.Event()

        async def deliver(item: dict) -> float:
            await start.wait()
            sent_at[item["welcome_code"]] = time.time()
            began = time.perf_counter()
            answer = await client.post("/webhooks/wecom", params=item["params"], content=item["xml"].encode(),
                                       headers={"Content-Type": "text/xml"})
            elapsed = (time.perf_counter() - began) * 1000
            if answer.status_code != 200 or answer.text.strip() not in ("success", ""):
                raise BenchError(f"{base_url} answered a callback with {answer.status_code}: {answer.text[:300]}")
            return elapsed

        tasks = [asyncio.create_task(deliver(item)) for item in burst]
        await asyncio.sleep(0.05)  # every task waiting at the gate
        start.set()
        return list(await asyncio.gather(*tasks)), sent_at


async def _welcome_waits(sandbox_url: str, burst: list[dict], sent_at: dict[str, float]) -> list[float]:
    """Milliseconds from each delivery to its welcome reaching the sandbox (waits up to 30 s for all)."""
    codes = {item["welcome_code"] for item in burst}
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=30, trust_env=False) as client:
        while True:
            sent = (await client.get("/sandbox/sent", params={"kind": "welcome"})).json()
            arrived = {m["welcome_code"]: m["at"] for m in sent if m["welcome_code"] in codes}
            if len(arrived) == len(codes):
                return [(arrived[c] - sent_at[c]) * 1000 for c in codes]
            if time.monotonic() > deadline:
                raise BenchError(f"only {len(arrived)} of {len(codes)} welcome messages arrived within 30 s")
            await asyncio.sleep(0.2)



async def _seed(database_url: str) -> list[tuple[str, str]]:
    """Staff codes with contact ways straight in the tables; (staff userid, state) pairs."""
    async with database(database_url) as conn:
        await _delete(conn)
        staff = await conn.fetch("SELECT id, store_id, wecom_userid FROM staff WHERE wecom_userid IS NOT NULL "
                                 "ORDER BY id LIMIT $1", STAFF)
        if not staff:
            raise BenchError("the bench database has no staff on WeCom (hub demo-data seeds them)")
        pairs = []
        for n, member in enumerate(staff):
            slug = f"{SLUG_PREFIX}{n:05d}"
            code_id = await conn.fetchval(
                "INSERT INTO code (created_at, updated_at, slug, kind, name, target_kind, target_url, store_id, "
                "staff_id, channel, scans_counted, active, tags, version) VALUES (now(), now(), $1, 'staff', '', "
                "'wecom_contact', 'https://wework.qpic.cn/wwpic/bench.png', $2, $3, 'wecom', 0, true, '[]', 1) "
                "RETURNING id", slug, member["store_id"], member["id"])
            state = f"s{slug}"
            await conn.execute(
                "INSERT INTO wecom_contact_way (created_at, updated_at, code_id, way_type, state, skip_verify, "
                "welcome_text, welcome_link_url, welcome_link_title, tag_names, applied_userids, status, "
                "last_error, version) VALUES (now(), now(), $1, 1, $2, true, '', '', '', '[]', $3, 'synced', '', 1)",
                code_id, state, f'["{member["wecom_userid"]}"]')
            pairs.append((member["wecom_userid"], state))
        return pairs


async def _receipts(database_url: str) -> tuple[int, int]:
    async with database(database_url) as conn:
        deadline = time.monotonic() + 60
        while True:
            row = await conn.fetchrow("SELECT count(*) AS n, count(*) FILTER (WHERE status = 'done') AS done "
                                      "FROM webhook_receipt WHERE source = 'wecom'")
            if row["n"] == row["done"] or time.monotonic() > deadline:
                return row["n"], row["done"]
            await asyncio.sleep(0.5)


async def _clean(database_url: str) -> None:
    async with database(database_url) as conn:
        await _delete(conn)


async def _delete(conn) -> None:
    """Everything the case made, so the cases after it see the database as seeded."""
    codes = f"SELECT id FROM code WHERE slug LIKE '{SLUG_PREFIX}%'"
    await conn.execute("DELETE FROM event WHERE type IN ('wecom_add', 'wecom_remove')")
    await conn.execute("DELETE FROM staff_contact")
    await conn.execute("DELETE FROM customer WHERE id IN (SELECT customer_id FROM customer_identity "
                       "WHERE kind = 'wecom_external')")
    await conn.execute("DELETE FROM webhook_receipt WHERE source = 'wecom'")
    await conn.execute(f"DELETE FROM wecom_contact_add_count WHERE contact_way_id IN "
                       f"(SELECT id FROM wecom_contact_way WHERE code_id IN ({codes}))")
    await conn.execute(f"DELETE FROM wecom_contact_way WHERE code_id IN ({codes})")
    await conn.execute(f"DELETE FROM code WHERE slug LIKE '{SLUG_PREFIX}%'")
