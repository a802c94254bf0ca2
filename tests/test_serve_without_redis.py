"""`hub serve` starts while Redis does not answer, serves, and uses Redis once it does (PostgreSQL + Redis)."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis

from hub.outbox.models import OutboxMessage, OutboxStatus
from hub.wecom.contact_ways.service import SYNC_TOPIC
from tests.factories import make_key, make_staff
from tests.processes import free_port, wait_until


async def test_the_api_starts_without_redis_and_its_writes_are_delivered_once_redis_answers(
    processes, wecom_sandbox
):
    first, second = await make_staff(), await make_staff()
    await wecom_sandbox.load_users([{"userid": s.wecom_userid, "name": s.name} for s in (first, second)])
    ops = await make_key()
    redis_port = free_port()  # nothing listens here until the test starts a redis-server on it
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = processes.env(HUB_REDIS_URL=redis_url, **wecom_sandbox.env())
    base = await processes.serve(env)

    async def contact_me_code(staff) -> dict:
        """A write that publishes an outbox message: the hub makes the code's WeCom contact way by job."""
        response = await http.post("/api/v1/codes", headers=ops,
                                   json={"kind": "staff", "staff_id": staff.id, "target_kind": "wecom_contact"})
        assert response.status_code == 201, response.text
        return response.json()

    async with httpx.AsyncClient(base_url=base, timeout=10, trust_env=False) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        not_ready = await http.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["checks"] == {"database": "ok", "redis": "unavailable"}

        # Without Redis the write still commits: its outbox row is the durable record of the delivery owed.
        during = await contact_me_code(first)
        [owed] = await OutboxMessage.filter(topic=SYNC_TOPIC)
        assert owed.status == OutboxStatus.PENDING and owed.attempts == 0

        processes.redis_server(redis_port)

        async def ready() -> bool:
            return (await http.get("/readyz")).status_code == 200

        await wait_until(ready, within=10, what="/readyz answers 200 once Redis does")
        assert (await http.get("/readyz")).json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}

        after = await contact_me_code(second)

    # The API process enqueued the second delivery itself, on the Redis that came back.
    redis = Redis.from_url(redis_url)
    try:
        assert await redis.zcard("hub:jobs") == 1
    finally:
        await redis.aclose()

    # A worker delivers both: the second from its job, the first (never enqueued) through the sweeper.
    processes.worker({**env, "HUB_OUTBOX_STALE_SECONDS": "1"})

    async def both_delivered() -> bool:
        return await OutboxMessage.filter(topic=SYNC_TOPIC, status=OutboxStatus.DELIVERED).count() == 2

    await wait_until(both_delivered, within=30, what="both outbox messages delivered by the worker")
    ways = await wecom_sandbox.contact_ways()
    assert sorted(w["state"] for w in ways) == sorted(f"staff-{c['slug']}" for c in (during, after))
