"""Liveness, readiness and metrics endpoints (no key needed: they reveal no data)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub import database
from hub.edge import APIRouter
from hub.settings import get_settings

router = APIRouter(tags=["operations"])
log = logging.getLogger("hub.health")


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check(name: str, probe) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe(), timeout=2)
        return name, "ok"
    except Exception as exc:
        log.warning("readiness check %s failed: %r", name, exc)
        return name, "unavailable"


async def _redis_ping() -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(get_settings().required_redis_url)  # only called when redis_url is set
    try:
        await client.ping()
    finally:
        await client.aclose()


@router.get(
    "/readyz",
    summary="The database (and Redis, when configured) answer",
    responses={503: {"description": "A dependency does not answer"}},
)
async def readyz() -> JSONResponse:
    checks = [_check("database", database.ping)]
    if get_settings().redis_url:
        checks.append(_check("redis", _redis_ping))
    results = dict(await asyncio.gather(*checks))
    ready = all(v == "ok" for v in results.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", "checks": results},
                        status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    from hub.outbox.service import refresh_gauges

    try:
        await refresh_gauges()
    except Exception as exc:  # metrics must answer even when the database does not
        log.warning("could not refresh outbox gauges: %r", exc)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
