"""Liveness and readiness (no key needed: they reveal no data) and the metrics (a token, or this host)."""

from __future__ import annotations

import asyncio
import hmac
import logging

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub import database
from hub.edge import APIRouter
from hub.errors import Forbidden, Unauthenticated
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


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@router.get("/metrics", summary="Prometheus metrics (HUB_METRICS_TOKEN as a bearer token, else loopback only)",
            response_class=Response)
async def metrics(request: Request) -> Response:
    _may_scrape(request)
    from hub.outbox.service import refresh_gauges

    try:
        await refresh_gauges()
    except Exception as exc:  # metrics must answer even when the database does not
        log.warning("could not refresh outbox gauges: %r", exc)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _may_scrape(request: Request) -> None:
    """Metrics name routes, queues and volumes: a scraper proves itself with HUB_METRICS_TOKEN, or, with no
    token set, is on this host. Behind a proxy the client is the address it forwards (``hub serve``
    trusts the loopback proxy's X-Forwarded-For), so a local proxy does not open them to everyone."""
    token = get_settings().metrics_token
    if token is not None:
        if not hmac.compare_digest(request.headers.get("authorization", ""), f"Bearer {token.get_secret_value()}"):
            raise Unauthenticated("Send HUB_METRICS_TOKEN as a bearer token to read the metrics")
    elif request.client is None or request.client.host not in LOOPBACK:
        raise Forbidden("Metrics are served to this host only; set HUB_METRICS_TOKEN to scrape from elsewhere")
