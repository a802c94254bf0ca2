"""`hub wecom contact-ways list|sync`, run as a separate process against the test database and the sandbox."""

from __future__ import annotations

import os
import subprocess

from hub.wecom.models import ContactWay, ContactWayStatus
from tests.factories import make_key, make_staff


def hub(wecom, *args: str) -> subprocess.CompletedProcess:
    # os.environ points HUB_DATABASE_URL at the test database; the sandbox's variables point WeCom at it.
    return subprocess.run([".venv/bin/hub", "wecom", "contact-ways", *args],
                          env={**os.environ, **wecom.env(), "COLUMNS": "200"}, capture_output=True, text=True,
                          timeout=60)


async def test_a_failed_way_is_listed_and_pushed_to_wecom_again(client, wecom, queue, settings):
    # One refusal per delivery attempt: the way fails for good, and the next call succeeds.
    await wecom.fault("externalcontact/add_contact_way", 60111, times=settings.outbox_max_attempts)
    made = await client.post("/api/v1/codes", headers=await make_key(), json={
        "kind": "staff", "staff_id": (await make_staff()).id, "target_kind": "wecom_contact"})
    await queue.drain()
    slug = made.json()["slug"]
    listed = hub(wecom, "list", "--status", "failed")
    assert listed.returncode == 0, listed.stderr
    assert slug in listed.stdout and "60111" in listed.stdout
    assert slug not in hub(wecom, "list", "--status", "synced").stdout

    pushed = hub(wecom, "sync", str(made.json()["id"]))
    assert pushed.returncode == 0, pushed.stderr
    way = await ContactWay.get(code_id=made.json()["id"])
    assert (way.status, way.last_error) == (ContactWayStatus.SYNCED, "")
    assert [w["state"] for w in await wecom.contact_ways()] == [f"staff-{slug}"]


async def test_sync_without_a_code_replans_every_store_way(wecom):
    done = hub(wecom, "sync")
    assert done.returncode == 0, done.stderr
    assert "0 store contact way(s)" in done.stdout


async def test_demo_wecom_prints_a_simulate_command_that_works_on_its_sandbox(wecom):
    """`make demo SANDBOX_PORT=9111` printed a command aimed at the default port 9101, which failed."""
    await make_staff()
    env = {**os.environ, **wecom.env(), "COLUMNS": "200"}
    shown = _run([".venv/bin/hub", "demo-wecom", "--sandbox-url", wecom.url], env)
    assert shown.returncode == 0, shown.stderr
    [command] = [line.strip() for line in shown.stdout.splitlines() if "simulate add" in line]
    assert command.endswith(f"--sandbox-url {wecom.url}")
    played = _run(command.split(), env)
    assert played.returncode == 0, played.stdout + played.stderr


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Blocking on purpose: the sandbox serves from its own thread."""
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
