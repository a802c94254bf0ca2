"""No request input can produce a 500: every API route is sent malformed ids, queries and bodies."""

from __future__ import annotations

import itertools
import re

import pytest

from hub.auth.models import Role
from tests.factories import make_key, make_staff

BAD_PATH_VALUES = ["0", "-1", "99999999999999999999", "abc", "%00", "1.5", "1"]
BAD_VALUES = [
    None, "", "\x00", "a\x00b", "x" * 5000, -1, 2**70, -(2**70), 1.5, float("1e308"), [], {}, True,
    "2026-13-45T99:00:00", "‮evil", ["a", None], {"nested": {"deep": [1]}},
]
BAD_BODIES = [None, [], "text", 12, {"unexpected": "field"}]


def _api_routes(app):
    spec = app.openapi()
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            yield path, method.upper(), operation, spec


def _body_fields(operation, spec) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = (content.get("application/json") or {}).get("schema", {})
    ref = schema.get("$ref")
    if ref:
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return list(schema.get("properties", {}))


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


@pytest.fixture
async def keys():
    staff = await make_staff()
    return [
        await make_key(role=Role.ADMIN),
        await make_key(role=Role.OPS),
        await make_key(role=Role.STAFF, staff=staff),
    ]


async def test_malformed_requests_never_get_a_500(client, keys):
    from hub.app import create_app

    failures = []
    for path, method, operation, spec in _api_routes(create_app(manage_resources=False)):
        requests = []
        for value in BAD_PATH_VALUES:
            requests.append((_fill(path, value), {}, None))
        query_names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        for name, value in itertools.product(query_names, BAD_VALUES[:10]):
            requests.append((_fill(path, "1"), {name: "" if value is None else str(value)[:2000]}, None))
        if method in {"POST", "PUT", "PATCH"}:
            for body in BAD_BODIES:
                requests.append((_fill(path, "1"), {}, body))
            for field, value in itertools.product(_body_fields(operation, spec), BAD_VALUES):
                requests.append((_fill(path, "1"), {}, {field: value}))
        for (url, params, body), headers in itertools.product(requests, keys):
            try:
                response = await client.request(method, url, params=params, json=body, headers=headers)
            except ValueError:  # httpx refuses to send some values (NaN, huge floats): nothing reached the app
                continue
            if response.status_code >= 500:
                failures.append(f"{method} {url} params={params} body={str(body)[:80]} -> {response.status_code}")
    assert failures == []
