"""A `hub worker` killed (SIGKILL) while it holds outbox messages and a WeCom callback receipt: its short
leases lapse, and another worker started afterwards delivers them within seconds (PostgreSQL + Redis)."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from hub.database import transaction
from hub.outbox import service as outbox
from hub.outbox.models import OutboxMessage, OutboxStatus
from tests.envs import settings_env
from tests.factories import make_staff
from tests.processes import wait_until
from webhooks.models import ReceiptStatus, WebhookReceipt

HOLD = 40  # the first worker's WeCom timeout: longer than the test, so it is mid-call when killed
RECOVERY = 15  # the brief: a lost worker's work is delivered within this after another worker starts


@pytest.fixture
def configured(wecom_sandbox):
    """The test process verifies callbacks for the sandbox's corp (the webhook runs here, on arq)."""
    with settings_env(wecom_sandbox.env()):
        yield


@pytest_asyncio.fixture
async def unanswering_wecom():
    """A WeCom address that takes connections and never answers; yields (its API base, connections held)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/cgi-bin/", held
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def _workers_polling(redis_url: str) -> bool:
    """Both lanes' arq workers have started (each records a health check when it polls)."""
    redis = Redis.from_url(redis_url)
    try:
        return all([await redis.exists("hub:jobs:health-check"), await redis.exists("hub:urgent:health-check")])
    finally:
        await redis.aclose()


async def test_a_killed_workers_messages_and_receipt_are_delivered_by_the_next_worker(
    processes, wecom_sandbox, configured, unanswering_wecom, arq_queue, client, redis_url
):
    staff = await make_staff(name="王芳")
    await wecom_sandbox.load_users([{"userid": staff.wecom_userid, "name": staff.name}])
    env = processes.env(HUB_REDIS_URL=redis_url, **wecom_sandbox.env())
    # The first worker's WeCom never answers, so it is mid-call when killed and nothing it asked for happens.
    api_base, wecom_calls = unanswering_wecom
    first = processes.worker({**env, "HUB_WECOM_API_BASE": api_base, "HUB_WECOM_TIMEOUT_SECONDS": str(HOLD)})

    async def polling() -> bool:
        if first.poll() is not None:
            raise AssertionError(f"the first worker exited:\n{processes.output(first)}")
        return await _workers_polling(redis_url)

    await wait_until(polling, within=60, what="the first worker polls both lanes")

    async with transaction():
        for n in (1, 2):
            await outbox.publish("wecom.app_message", {"touser": [staff.wecom_userid], "content": f"通知 {n}"})
    added = await wecom_sandbox.simulate("add", staff=staff.wecom_userid, state="", name="李雷", deliver=False)
    callback = added["callback"]
    stored = await client.post("/webhooks/wecom", params=callback["params"], content=callback["xml"].encode(),
                               headers={"Content-Type": "text/xml"})
    assert (stored.status_code, stored.text) == (200, "success")

    async def held() -> bool:
        return (await OutboxMessage.filter(status=OutboxStatus.IN_FLIGHT).count() == 2
                and await WebhookReceipt.filter(status=ReceiptStatus.PROCESSING).count() == 1
                and len(wecom_calls) >= 1)

    await wait_until(held, within=20, what="the first worker holds both messages and the receipt, calling WeCom")

    # The leases are short and renewed while the calls hang (the heartbeat), never the job's whole timeout.
    rows = [*await OutboxMessage.all(), *await WebhookReceipt.all()]
    claimed = {(type(r).__name__, r.id): r.lease_until for r in rows}
    assert all(until.timestamp() - time.time() <= 6.5 for until in claimed.values())

    async def renewed() -> bool:
        rows = [*await OutboxMessage.all(), *await WebhookReceipt.all()]
        return all(r.lease_until is not None and r.lease_until > claimed[(type(r).__name__, r.id)] for r in rows)

    await wait_until(renewed, within=10, what="the worker renews each lease while its work runs")

    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    processes.worker(env)  # a fresh worker; the killed one's arq jobs stay "in progress" in Redis for minutes

    async def delivered() -> bool:
        return (await OutboxMessage.filter(status=OutboxStatus.DELIVERED).count() == 2
                and await WebhookReceipt.filter(status=ReceiptStatus.DONE).count() == 1)

    took = await wait_until(delivered, within=RECOVERY, what="the next worker delivers the killed worker's work")
    assert took < RECOVERY

    # Each taken back once and delivered on its second try, the customer greeted inside the welcome code's
    # window (the sandbox refuses a late or repeated welcome code) and each staff notice sent once.
    assert [m.attempts for m in await OutboxMessage.all().order_by("id")] == [2, 2]
    [receipt] = await WebhookReceipt.all()
    assert receipt.attempts == 2 and "welcome sent" in receipt.outcome
    [welcome] = await wecom_sandbox.sent("welcome")
    assert welcome["welcome_code"] == added["welcome_code"]
    notices = await wecom_sandbox.sent("app_message")
    assert sorted(n["content"] for n in notices) == ["通知 1", "通知 2"]
