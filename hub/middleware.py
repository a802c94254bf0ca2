"""Request id, access log and metrics as one plain ASGI middleware (cheaper than BaseHTTPMiddleware)."""

from __future__ import annotations

import json
import logging
import os
import re
import time

from hub.logging import request_id_var
from hub.metrics import LATENCY, REQUESTS

log = logging.getLogger("hub.access")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def route_template(scope) -> str:
    """The matched route's template (``/api/v1/stores/{store_id}``), so metrics do not explode per id."""
    # FastAPI ≥0.16x keeps included routers apart and records the full path here.
    effective = scope.get("fastapi", {}).get("effective_route_context")
    if effective is not None:  # a plain Starlette route (the public link) keeps its path on the route
        return effective.path or getattr(effective.starlette_route, "path", None) or "unmatched"
    return getattr(scope.get("route"), "path", None) or "unmatched"


# Answers not logged one line each (still counted in metrics): the public link's redirects, tens of millions,
# are stored as scan events, and the log line would cost as much as the redirect itself.
UNLOGGED = {("/c/{slug}", 302)}

# Bodies above these sizes are refused before anything reads them (longest matching path prefix wins).
BODY_LIMITS = {"": 1024 * 1024, "/api/v1/imports": 21 * 1024 * 1024}


def body_limit(path: str) -> int:
    return BODY_LIMITS[max((p for p in BODY_LIMITS if path.startswith(p)), key=len)]


async def _too_large(send, request_id: str, limit: int) -> None:
    body = json.dumps({
        "type": "/problems/too-large", "title": "The request body is too large", "status": 413,
        "detail": f"The body may be at most {limit} bytes", "request_id": request_id,
    }).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]})
    await send({"type": "http.response.body", "body": body})


_children: dict[tuple[str, str, int], tuple] = {}


def _metric_children(method: str, route: str, status: int) -> tuple:
    """The labelled counter and histogram for a request, looked up once per (method, route, status)."""
    key = (method, route, status)
    found = _children.get(key)
    if found is None:
        found = _children[key] = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
    return found


class RequestContextMiddleware:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        status = 500
        started = time.perf_counter()

        declared = headers.get(b"content-length", b"")
        limit = body_limit(scope["path"])
        refused = False
        received = 0

        async def counted_receive():
            # A body that grows past the limit without declaring its length (chunked) is refused too:
            # answer 413 ourselves and tell the app the client went away.
            nonlocal refused, received, status
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > limit:
                    refused, status = True, 413
                    await _too_large(send, request_id, limit)
                    return {"type": "http.disconnect"}
            return message

        async def send_with_id(message) -> None:
            nonlocal status
            if refused:
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            if declared.isdigit() and int(declared) > limit:
                status = 413
                await _too_large(send, request_id, limit)
                return
            await self.app(scope, counted_receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            requests, latency = _metric_children(scope["method"], route, status)
            requests.inc()
            latency.observe(elapsed)
            state = scope.get("state", {})
            if (route, status) not in UNLOGGED:
                log.info(
                    "%s %s %s",
                    scope["method"],
                    route,
                    status,
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "key_prefix": state.get("key_prefix"),
                    },
                )
            request_id_var.reset(token)
