"""An authenticated list endpoint of the hub against a bare FastAPI app answering the same bytes.

The hub does the whole job: key check (hash lookup), a keyset page from PostgreSQL, pydantic
serialisation, the request-id/metrics/access-log middleware. The baseline does only the framework and
server part, so the ratio shows what the hub's own work costs per request.
"""

from __future__ import annotations

from bench.cases import case
from bench.harness import Bench, BenchError, Figure

# Stores once that domain has landed and has data (demo-data seeds it), regions before.
CANDIDATES = ["/api/v1/stores", "/api/v1/regions"]
LIMIT = 50


@case("list", "Authenticated list endpoint")
def list_endpoint(bench: Bench) -> list[Figure]:
    path, response = _pick(bench)
    target = f"{path}?limit={LIMIT}"
    if bench.hub.get(target, auth=False).status_code != 401:
        raise BenchError(f"GET {target} without a key should answer 401")
    items = len(response.json()["items"])
    content_type = response.headers["content-type"]
    baseline_url = bench.start_baseline(name="list", path=path, body=response.content, content_type=content_type)
    bench.note(
        f"GET {target}: {items} items, {len(response.content):,} bytes of {content_type}, "
        f"data from {bench.hub.seeded_with}; with an ops key (Authorization: Bearer)."
    )
    return bench.compare(
        label=f"GET {target}", path=target, baseline_url=baseline_url, headers=bench.hub.auth,
        expect_body=response.content,
    )


def _pick(bench: Bench):
    """The first candidate the hub has that answers some data."""
    for path in CANDIDATES:
        if not bench.hub.has_path(path):
            continue
        response = bench.hub.get(f"{path}?limit={LIMIT}")
        if response.status_code != 200:
            raise BenchError(f"GET {path}?limit={LIMIT} answered {response.status_code}: {response.text[:300]}")
        if response.json().get("items"):
            return path, response
    raise BenchError(f"none of {', '.join(CANDIDATES)} has data ({bench.hub.seeded_with})")
