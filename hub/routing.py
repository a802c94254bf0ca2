"""An index in front of FastAPI's route matching, so a request is matched against a handful of routes.

FastAPI tries every route in order, and since 0.16x each try through an included router copies and
restores parts of the scope: with a hundred routes a late one cost about a millisecond before its handler
ran (README, Performance). ``RouteIndex`` sits first in the app's routes. It files every route under its
leading static path segments (at most three: ``/api/v1/coupons/…`` under ``("api", "v1", "coupons")``,
``/c/{slug}`` under ``("c",)``) and, for a request, tries only the routes filed under a prefix of the
request's path, in FastAPI's own order, so the first full match is the one FastAPI would have chosen. When
none matches fully it steps aside and FastAPI's own matching runs as before (404s, 405s, slash redirects).

It relies on FastAPI's per-route contexts (``effective_route_contexts``); ``tests/hub/test_routing.py``
checks that every route of the app is reached through the index exactly as through FastAPI, so a FastAPI
upgrade that changes them fails there first.
"""

from __future__ import annotations

import logging
from itertools import chain
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute, Match, get_route_path
from starlette.types import Receive, Scope, Send

log = logging.getLogger("hub.routing")

try:  # FastAPI 0.16x's internals for handing a matched route its context, as its own router does
    from fastapi.routing import _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY as _CONTEXT_KEY
    from fastapi.routing import APIRoute, _get_fastapi_scope

    _INDEXABLE = True
except ImportError:  # pragma: no cover - another FastAPI: matching stays FastAPI's own
    _CONTEXT_KEY = ""  # never used: no index is installed
    _INDEXABLE = False

DEPTH = 3  # static segments a route is filed under
_SELECTED = "hub.route_index.selected"


def _static_prefix(path: str) -> tuple[str, ...]:
    key: list[str] = []
    for segment in path.split("/")[1 : DEPTH + 1]:
        if "{" in segment:
            break
        key.append(segment)
    return tuple(key)


class RouteIndex(BaseRoute):
    """The app's routes filed by leading path segments; see the module docstring."""

    def __init__(self, routes: list[Any]) -> None:
        self._buckets: dict[tuple[str, ...], list[tuple[int, Any]]] = {}
        for order, (path, route) in enumerate(routes):
            self._buckets.setdefault(_static_prefix(path), []).append((order, route))
        self._merged: dict[tuple[tuple[str, ...], ...], list[Any]] = {}

    def candidates(self, path: str) -> list[Any]:
        """The routes that could match ``path``, in matching order."""
        key: tuple[str, ...] = ()
        hit = [key] if key in self._buckets else []
        for segment in path.split("/")[1 : DEPTH + 1]:
            key = (*key, segment)
            if key in self._buckets:
                hit.append(key)
        found = tuple(hit)
        merged = self._merged.get(found)
        if merged is None:  # bounded: one entry per combination of filed prefixes
            entries = sorted(chain.from_iterable(self._buckets[k] for k in found), key=lambda e: e[0])
            merged = self._merged[found] = [route for _, route in entries]
        return merged

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        for route in self.candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match == Match.FULL:
                return Match.FULL, {**child_scope, _SELECTED: route}
        return Match.NONE, {}  # FastAPI's own matching answers 404, 405 and slash redirects

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = scope.pop(_SELECTED)
        original = getattr(route, "original_route", None)
        if original is None:  # a route of the app itself (/openapi.json, /docs)
            await route.handle(scope, receive, send)
            return
        _get_fastapi_scope(scope)[_CONTEXT_KEY] = route  # as FastAPI's included router hands a route over
        if isinstance(original, APIRoute):
            scope["route"] = original
            await original.handle(scope, receive, send)
        else:  # a plain Starlette route inside a router (the public link), at its full path
            await route.starlette_route.handle(scope, receive, send)


def _routes_in_matching_order(app: FastAPI) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for route in app.router.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is None:
            path = getattr(route, "path", None)
            if path is not None and hasattr(route, "matches"):
                found.append((path, route))
            continue
        for context in contexts():
            if not isinstance(context.original_route, APIRoute) and context.starlette_route is None:
                return []  # a kind FastAPI hands over differently: leave matching to it
            found.append((context.path if isinstance(context.original_route, APIRoute)
                          else context.starlette_route.path, context))
    return found


def install_route_index(app: FastAPI) -> RouteIndex | None:
    """Put the index in front of the app's routes (after every router is included)."""
    if not _INDEXABLE:
        log.warning("FastAPI without per-route contexts: route matching is not indexed")
        return None
    routes = _routes_in_matching_order(app)
    if not routes:
        return None
    index = RouteIndex(routes)
    app.router.routes.insert(0, index)
    return index
