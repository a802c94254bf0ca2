"""The edge every API route goes through, so a handler reads like the business sentence.

``hub.edge.APIRouter`` makes every route a ``HubRoute``. For a write (POST, PUT, PATCH, DELETE) the
route opens the unit of work (``hub.database.transaction``) around the whole handler, and, when an API
key's caller sends an Idempotency-Key, claims the key once the request is authenticated and validated,
before the endpoint runs, and stores the answer in the same transaction (``hub.idempotency``); a repeat
gets the first answer replayed as it was sent. The endpoint a key is bound to is the matched route's
template, never a hand-typed name. Every route, reads included, runs inside ``writes_need_transaction()``,
so a write that bypasses the unit of work fails loudly.

After-commit hooks (outbox deliveries) run once the transaction has committed, before the answer.
"""

from __future__ import annotations

import functools
import inspect
import re
import uuid
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any

import fastapi
from fastapi import Depends
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from hub.database import transaction, writes_need_transaction
from hub.errors import InvalidInput
from hub.idempotency import service as idempotency
from hub.middleware import route_template

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENCY_HEADER = "idempotency-key"
_KEY = re.compile(idempotency.KEY_PATTERN)
_BEARER = re.compile(r"^Bearer (hub_([A-Za-z0-9]+)_[A-Za-z0-9]+)$")  # group 2: the key's prefix, the scope
REPLAYED_HEADER = "Idempotent-Replayed"

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

# Documented on every write; read by the edge itself, before FastAPI parses the request.
_IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": idempotency.KEY_DESCRIPTION,
    "schema": {"type": "string", "maxLength": 128, "pattern": idempotency.KEY_PATTERN},
}


@dataclass
class _Claim:
    """A write carrying an Idempotency-Key: who sent it, where, and the record once claimed."""

    scope: str
    key: str
    endpoint: str
    record_id: int | None = None


_claim: ContextVar[_Claim | None] = ContextVar("hub_idempotency_claim", default=None)


class HubRoute(APIRoute):
    """An API route whose writes are one unit of work each, idempotent under a client's key."""

    opens_transaction = True

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {m.upper() for m in kwargs.get("methods") or ()}
        if methods - SAFE_METHODS and self.opens_transaction:
            extra = dict(kwargs.get("openapi_extra") or {})
            extra["parameters"] = [*extra.get("parameters", []), _IDEMPOTENCY_PARAMETER]
            kwargs["openapi_extra"] = extra
            endpoint = _claiming(endpoint)
        super().__init__(path, endpoint, **kwargs)

    @functools.cached_property
    def query_names(self) -> frozenset[str]:
        """The query parameters the operation declares, its dependencies' included."""
        names: set[str] = set()
        dependants = [self.dependant]
        while dependants:
            current = dependants.pop()
            names.update(param.alias for param in current.query_params)
            dependants.extend(current.dependencies)
        return frozenset(names)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def edge(request: Request) -> Response:
            if request.scope["path"].startswith("/api/"):
                _refuse_unknown_query(request, self.query_names)
            with writes_need_transaction():
                if request.method in SAFE_METHODS or not self.opens_transaction:
                    return await handler(request)
                return await _write(request, handler)

        return edge


class SelfCommittingRoute(HubRoute):
    """A route whose handler opens its own transaction, for an answer that depends on whether the write
    could happen at all (a webhook tells its sender to retry when the database is down). No Idempotency-Key:
    such callers dedup by their own key."""

    opens_transaction = False


class APIRouter(fastapi.APIRouter):
    """The router every package uses: its routes are ``HubRoute``s (``own_transactions=True``: a
    ``SelfCommittingRoute``'s, still under the bare-write guard)."""

    def __init__(self, *, own_transactions: bool = False, **kwargs: Any) -> None:
        super().__init__(route_class=SelfCommittingRoute if own_transactions else HubRoute, **kwargs)


def _refuse_unknown_query(request: Request, known: frozenset[str]) -> None:
    """An API client's misspelt or unsupported filter is a 422, not silently ignored (a funnel asked for
    ``?code_id=9`` would otherwise answer the unfiltered totals as if filtered). Public pages and links
    are not held to this: shared links gain parameters (WeChat adds ``from=singlemessage``)."""
    for name in request.query_params:
        if name not in known:
            raise InvalidInput.field(f"query.{name}", "is not a parameter of this operation")


async def _write(request: Request, handler: Handler) -> Response:
    """The unit of work around the whole request; the answer is stored before the commit."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    caller = _BEARER.match(request.headers.get("authorization", "")) if key is not None else None
    if key is not None and not _KEY.match(key):
        raise InvalidInput.field("Idempotency-Key", "must be 1 to 128 letters, digits or . _ : -")
    # Without an API key to scope it to (pages, callbacks), a key is ignored: the work simply runs.
    claim = None
    if caller and key is not None:
        claim = _Claim(caller.group(2), key, f"{request.method} {route_template(request.scope)}")
    token = _claim.set(claim)
    try:
        async with transaction():
            response = await handler(request)
            if claim is not None and claim.record_id is not None:
                body = getattr(response, "body", None)
                if isinstance(body, bytes):
                    await idempotency.store_answer(record_id=claim.record_id, status_code=response.status_code,
                                                   body=body)
                else:  # a streamed answer cannot be replayed: the key stays free for a retry
                    await idempotency.release(record_id=claim.record_id)
            return response
    finally:
        _claim.reset(token)


def _claiming(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a write's endpoint so the key is claimed once FastAPI has authenticated the caller and
    validated the request: two spellings of the same request (a phone with or without spaces, keys in
    another order, a new multipart boundary) are the same request."""
    if not inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"write endpoint {endpoint.__qualname__} must be async")

    @functools.wraps(endpoint)
    async def claim_then_run(**values: Any) -> Any:
        claim = _claim.get()
        if claim is not None:
            found = await idempotency.claim(scope=claim.scope, key=claim.key, endpoint=claim.endpoint,
                                            request_hash=await idempotency.fingerprint(values))
            if isinstance(found, idempotency.StoredAnswer):
                return Response(found.body, status_code=found.status_code, media_type="application/json",
                                headers={REPLAYED_HEADER: "true"})
            claim.record_id = found
        return await endpoint(**values)

    return claim_then_run


def check_routes(app: fastapi.FastAPI) -> None:
    """Refuse to start an app with an API route that bypasses the edge."""
    loose = sorted(path for path, route in api_routes(app) if not isinstance(route, HubRoute))
    if loose:
        raise RuntimeError(f"routes not built with hub.edge.APIRouter: {', '.join(loose)}")


def api_routes(app: fastapi.FastAPI) -> list[tuple[str, APIRoute]]:
    """Every API route of the app with its full path, through included routers."""
    found: list[tuple[str, APIRoute]] = []
    for route in app.router.routes:
        if isinstance(route, APIRoute):
            found.append((route.path, route))
        for context in getattr(route, "effective_route_contexts", lambda: [])():
            if isinstance(context.original_route, APIRoute):
                found.append((context.path, context.original_route))
    return found


async def _request_id(request: Request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    caller = _BEARER.match(request.headers.get("authorization", "")) if key else None
    return f"{caller.group(2)}:{key}" if caller else f"once:{uuid.uuid4().hex}"


# The write's request id for a ledger: the caller's Idempotency-Key scoped to the caller, else a fresh one,
# so even a replay that missed the stored answer cannot act twice.
RequestId = Annotated[str, Depends(_request_id)]
