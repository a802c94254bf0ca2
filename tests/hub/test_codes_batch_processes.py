"""Batches in production's shape: the API and an arq worker as separate processes in separate working
directories (separate containers, nothing shared but PostgreSQL and Redis)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from hub.auth.models import Role
from hub.codes.batches.models import CodeBatch
from hub.codes.models import BatchStatus
from tests.factories import make_key
from tests.hub.test_codes_batch import checked_rows, city_with_stores
from tests.processes import Processes


async def status_until(http: httpx.AsyncClient, url: str, wanted: str, *, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        body = (await http.get(url)).raise_for_status().json()
        if body["status"] == wanted or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.3)


async def test_a_batch_the_api_starts_is_finished_by_a_worker_in_another_container(
        processes: Processes, redis_url, tmp_path: Path):
    city, *_ = await city_with_stores()
    ops = await make_key(role=Role.OPS)
    api, worker = tmp_path / "api", tmp_path / "worker"
    base = await processes.serve(processes.env(HUB_REDIS_URL=redis_url, HUB_VAR_DIR=str(api / "var")), cwd=api)
    async with httpx.AsyncClient(base_url=base, headers=ops, timeout=30, trust_env=False) as http:
        started = await http.post("/api/v1/codes/batches", json={"per": "staff", "region_id": city.id})
        assert started.status_code == 202, started.text
        status_url = started.json()["status_url"]
        await asyncio.sleep(1)
        waiting = (await http.get(status_url)).json()  # no worker yet: the API runs no jobs itself
        assert (waiting["status"], waiting["done"], waiting["total"]) == ("queued", 0, 3)

        processes.worker(processes.env(HUB_REDIS_URL=redis_url, HUB_VAR_DIR=str(worker / "var")), cwd=worker)
        done = await status_until(http, status_url, "done", seconds=120)
        assert (done["status"], done["done"], done["total"], done["created"]) == ("done", 3, 3, 3), done
        download = await http.get(done["download_url"])
        assert download.status_code == 200 and download.headers["content-type"] == "application/zip"

    rows = await checked_rows(download.content)  # QR images and cards decoded against the codes' rows
    assert [(r["store_code"], r["staff_no"]) for r in rows] == [("GZ-A", "E1"), ("GZ-A", "E2"), ("GZ-B", "E3")]
    assert (await CodeBatch.get(id=started.json()["id"])).status == BatchStatus.DONE
    for folder in (api, worker):  # nothing of the batch on either process's disk
        assert not list(folder.rglob("*.zip")) and not (folder / "var" / "batches").exists()
