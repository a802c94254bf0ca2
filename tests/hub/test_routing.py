"""The route index picks, for every path, the route FastAPI's own in-order matching would pick."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Match

from hub.app import create_app
from hub.routing import RouteIndex, _routes_in_matching_order

SAMPLES = ("1", "abc", "AbC123xyz0", "2026-07-10")


def _scope(path: str, method: str) -> dict:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}


def _linear(routes, scope):
    for _, route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return route
    return None


@pytest.fixture(scope="module")
def app():
    return create_app(manage_resources=False)


def test_the_index_is_first_and_files_every_route(app):
    index = app.router.routes[0]
    assert isinstance(index, RouteIndex)
    routes = _routes_in_matching_order(app)
    assert len(routes) > 100 and any(path == "/c/{slug}" for path, _ in routes)
    assert sum(len(bucket) for bucket in index._buckets.values()) == len(routes)


def test_every_route_is_reached_as_fastapis_in_order_matching_would(app):
    index, routes = app.router.routes[0], _routes_in_matching_order(app)
    checked = 0
    for path, route in routes:
        for sample in SAMPLES:
            concrete = re.sub(r"\{[^}]+\}", sample, path)
            for method in sorted(getattr(route, "methods", None) or {"GET"}):
                scope = _scope(concrete, method)
                expected = _linear(routes, scope)
                match, child = index.matches(scope)
                chosen = child.get("hub.route_index.selected") if match == Match.FULL else None
                assert chosen is expected, (method, concrete)
                checked += 1
    assert checked > 300


@pytest.mark.parametrize("path", ["/", "/nope", "/api", "/api/v1", "/api/v1/nope/1", "/c", "/c/", "/s/x/y/z/w"])
def test_paths_no_route_takes_are_left_to_fastapi(app, path):
    assert app.router.routes[0].matches(_scope(path, "GET"))[0] == Match.NONE


async def test_a_late_route_answers_through_the_index(client):
    from tests.factories import make_key

    answer = await client.get("/api/v1/coupons/reconciliations/999", headers=await make_key())
    assert answer.status_code == 404 and answer.json()["type"] == "/problems/not-found"
    wrong_method = await client.delete("/api/v1/coupons/reconciliations/999", headers=await make_key())
    assert wrong_method.status_code == 405  # no full match: FastAPI's own matching answers
