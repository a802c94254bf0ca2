"""The real server, as `make demo` starts it: migrate, serve, and the first things a person opens."""

from __future__ import annotations

import os
import subprocess
import time

import httpx
import pytest

from tests.processes import HUB, free_port


@pytest.fixture
def served(tmp_path):
    """`hub migrate` then `hub serve` on a fresh SQLite database, with in-process jobs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATABASE_URL=f"sqlite://{tmp_path}/hub.db", HUB_VAR_DIR=str(tmp_path / "var"))
    subprocess.run([HUB, "migrate"], env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    server = subprocess.Popen([HUB, "serve", "--port", str(port)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    output = server.stdout.read().decode()[-2000:]
                    raise AssertionError(f"hub serve did not come up: {output}") from None
                time.sleep(0.2)
        yield base, env
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_docs_health_and_readiness_answer_and_the_api_wants_a_key(served):
    base, env = served
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{base}/readyz").json() == {"status": "ok", "checks": {"database": "ok"}}
    docs = httpx.get(f"{base}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = httpx.get(f"{base}/openapi.json").json()
    assert "/api/v1/stores" in spec["paths"]
    assert "401" in spec["paths"]["/api/v1/stores"]["get"]["responses"]
    denied = httpx.get(f"{base}/api/v1/stores")
    assert denied.status_code == 401 and denied.json()["type"] == "/problems/unauthenticated"

    created = subprocess.run([HUB, "keys", "create", "--role", "ops", "--name", "smoke"], env=env,
                             capture_output=True, text=True, timeout=60, check=True)
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("hub_")
    allowed = httpx.get(f"{base}/api/v1/stores", headers={"Authorization": f"Bearer {key}"})
    assert allowed.status_code == 200 and allowed.json() == {"items": [], "next_after": None}
