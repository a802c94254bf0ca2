"""The edge every route goes through: one unit of work per write, idempotency under concurrency, and the
guard that refuses a write made outside a transaction."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime

import httpx
import pytest
from tortoise import Tortoise

from coupons.models import Coupon, CouponLedger, CouponState
from hub.app import create_app
from hub.auth.models import Role
from hub.database import WriteOutsideTransaction, transaction, writes_need_transaction
from hub.edge import APIRouter, check_routes
from hub.idempotency.models import IdempotencyRecord
from hub.stores.models import Store
from tests.coupons.helpers import claim, make_batch, make_customer
from tests.factories import make_code, make_key, make_region, make_store

CONCURRENT = 20


async def _twenty(client, method: str, url: str, headers: dict, json: dict) -> list:
    return await asyncio.gather(*(client.request(method, url, headers=headers, json=json) for _ in range(CONCURRENT)))


def _one_answer(responses) -> dict:
    """Every answer is the first one (or 409 in progress, never another error); returns the first body."""
    finished = [r for r in responses if r.status_code != 409]
    assert {r.status_code for r in finished} in ({200}, {201}), [(r.status_code, r.text) for r in responses]
    assert all(r.json()["type"] == "/problems/idempotency-in-progress" for r in responses if r.status_code == 409)
    bodies = {r.content for r in finished}
    assert len(bodies) == 1, bodies
    return finished[0].json()


class TestTwentyAtOnceWithOneKey:
    async def test_claims_make_one_coupon_and_every_answer_is_the_first(self, client):
        batch, customer = await make_batch(), await make_customer()
        headers = {**await make_key(role=Role.CARRIER_APP), "Idempotency-Key": "claim-once"}
        responses = await _twenty(client, "POST", f"/api/v1/coupons/batches/{batch.id}/claims", headers,
                                  {"customer_id": customer.id, "channel": "app"})
        answer = _one_answer(responses)
        assert await Coupon.filter(batch_id=batch.id).count() == 1
        assert answer["coupon"]["code"] == (await Coupon.get(batch_id=batch.id)).code

    async def test_redemptions_redeem_once_and_every_answer_is_the_first(self, client):
        store = await make_store()
        coupon = (await claim(await make_batch(), await make_customer(), now=datetime.now(UTC))).coupon
        headers = {**await make_key(role=Role.POS, store=store), "Idempotency-Key": "till-7-retry"}
        responses = await _twenty(client, "POST", "/api/v1/coupons/redemptions", headers,
                                  {"code": coupon.code, "spend_fen": 10_000})
        answer = _one_answer(responses)
        assert answer["coupon"]["state"] == "redeemed"
        assert await CouponLedger.filter(coupon_id=coupon.id, to_state=CouponState.REDEEMED).count() == 1

    async def test_creates_make_one_store_and_every_answer_is_the_first(self, client):
        await make_region(code="TH-G1", level="grid")
        headers = {**await make_key(), "Idempotency-Key": "store-once"}
        responses = await _twenty(client, "POST", "/api/v1/stores", headers,
                                  {"code": "TH01", "name": "天河营业厅", "region_code": "TH-G1"})
        assert _one_answer(responses)["code"] == "TH01"
        assert await Store.filter(code="TH01").count() == 1
        assert await IdempotencyRecord.filter(key="store-once").count() == 1


class TestStoredAnswers:
    async def test_a_replay_is_the_stored_bytes_not_revalidated(self, client):
        """The replay is the answer as first sent, byte for byte: not rebuilt from the row (renamed since)
        and not validated again (a stored answer holding a time before 1901 used to fail that: a 500)."""
        headers = {**await make_key(), "Idempotency-Key": "old-campaign"}
        body = {"name": "百年", "starts_at": "2027-01-01T00:00:00Z", "ends_at": "2027-02-01T00:00:00Z",
                "channels": ["app"]}
        first = await client.post("/api/v1/campaigns", headers=headers, json=body)
        await Tortoise.get_connection("default").execute_query("UPDATE campaign SET name = 'renamed'")
        await IdempotencyRecord.filter(key="old-campaign").update(
            body=first.text.replace("2027-01-01T08:00:00+08:00", "1900-01-01T08:05:43+08:05:43"))
        again = await client.post("/api/v1/campaigns", headers=headers, json=body)
        assert first.status_code == again.status_code == 201, again.text
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["name"] == "百年" and again.json()["starts_at"] == "1900-01-01T08:05:43+08:05:43"

    async def test_the_key_is_bound_to_the_route_template_and_the_request(self, client):
        headers = {**await make_key(), "Idempotency-Key": "k-1"}
        await make_region(code="G1", level="grid")
        first = await client.post("/api/v1/stores", headers=headers,
                                  json={"code": "A1", "name": "甲", "region_code": "G1"})
        assert first.status_code == 201
        record = await IdempotencyRecord.get(key="k-1")
        assert record.endpoint == "POST /api/v1/stores" and record.status_code == 201
        assert record.body.encode() == first.content
        other = await client.post("/api/v1/products", headers=headers,
                                  json={"sku": "S1", "name": "流量包", "category": "light", "price_fen": 100})
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"

    async def test_a_failed_first_request_leaves_the_key_free(self, client):
        headers = {**await make_key(), "Idempotency-Key": "k-2"}
        refused = await client.post("/api/v1/stores", headers=headers,
                                    json={"code": "A1", "name": "甲", "region_code": "NOPE"})
        assert refused.status_code == 422 and await IdempotencyRecord.all().count() == 0
        await make_region(code="NOPE", level="grid")
        done = await client.post("/api/v1/stores", headers=headers,
                                 json={"code": "A1", "name": "甲", "region_code": "NOPE"})
        assert done.status_code == 201

    async def test_another_key_holder_never_gets_the_answer(self, client):
        body = {"sku": "S9", "name": "流量包", "category": "light", "price_fen": 100}
        mine = await client.post("/api/v1/products", headers={**await make_key(), "Idempotency-Key": "same"}, json=body)
        theirs = await client.post("/api/v1/products", headers={**await make_key(), "Idempotency-Key": "same"},
                                   json=body)
        assert mine.status_code == 201 and theirs.status_code == 422  # their own first try: the sku exists
        assert "Idempotent-Replayed" not in theirs.headers


@pytest.mark.skipif(not os.environ.get("HUB_TEST_DATABASE_URL", "").startswith("postgres"),
                    reason="SQLite runs one writer at a time: a repeat always waits for the first")
async def test_a_repeat_that_cannot_wait_is_told_in_progress(client, settings, monkeypatch):
    await make_region(code="G1", level="grid")
    headers = {**await make_key(), "Idempotency-Key": "slow-first"}
    prefix = headers["Authorization"].split("_")[1]
    monkeypatch.setattr(settings, "idempotency_wait_seconds", 0.3)
    holding, release = asyncio.Event(), asyncio.Event()

    async def first_request_still_running() -> None:
        async with transaction():
            await IdempotencyRecord.create(scope=prefix, key="slow-first", endpoint="POST /api/v1/stores",
                                           request_hash="x", status_code=0)
            holding.set()
            await release.wait()
            raise RuntimeError("the first request fails: its claim goes")

    first = asyncio.create_task(first_request_still_running())
    await holding.wait()
    repeat = await client.post("/api/v1/stores", headers=headers,
                               json={"code": "A1", "name": "甲", "region_code": "G1"})
    release.set()
    with pytest.raises(RuntimeError):
        await first
    assert repeat.status_code == 409 and repeat.headers["Retry-After"] == "1"
    assert repeat.json()["type"] == "/problems/idempotency-in-progress"
    retried = await client.post("/api/v1/stores", headers=headers,
                                json={"code": "A1", "name": "甲", "region_code": "G1"})
    assert retried.status_code == 201


class TestWritesNeedATransaction:
    async def test_a_bare_write_inside_the_edge_raises_and_writes_nothing(self):
        with writes_need_transaction(), pytest.raises(WriteOutsideTransaction):
            await make_store()
        assert await Store.all().count() == 0

    async def test_the_same_write_in_a_transaction_goes_through(self):
        with writes_need_transaction():
            async with transaction():
                await make_store()
        assert await Store.all().count() == 1

    async def test_a_nested_block_is_a_savepoint_its_caught_error_undoes_only_it(self):
        async with transaction():
            kept = await make_store()
            with pytest.raises(RuntimeError):
                async with transaction():
                    await make_store()
                    raise RuntimeError("refused: the page shows why, the outer work stays")
        assert await Store.all().values_list("id", flat=True) == [kept.id]

    async def test_reads_are_free(self):
        with writes_need_transaction():
            assert await Tortoise.get_connection("default").execute_query_dict("SELECT 1 AS one") == [{"one": 1}]

    async def test_a_read_route_that_writes_fails_loudly(self, client):
        async def sneaky() -> dict:
            await make_store()
            return {}

        app = create_app(manage_resources=False)
        router = APIRouter()
        router.add_api_route("/sneaky", sneaky, methods=["GET"])
        app.include_router(router)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                     base_url="http://hub.test") as sneaky_client:
            answer = await sneaky_client.get("/sneaky")
        assert answer.status_code == 500 and await Store.all().count() == 0


def test_the_app_refuses_a_route_outside_the_edge():
    import fastapi

    app = create_app(manage_resources=False)
    loose = fastapi.APIRouter()
    loose.add_api_route("/loose", lambda: {}, methods=["POST"])
    app.include_router(loose)
    with pytest.raises(RuntimeError, match="/loose"):
        check_routes(app)


def test_every_route_of_the_app_is_built_by_the_edge():
    check_routes(create_app(manage_resources=False))


class TestUnknownQueryParameters:
    """A filter the operation does not have is a 422 naming it, not silently ignored."""

    async def test_an_unknown_filter_is_a_422_naming_it(self, client):
        headers = await make_key()
        response = await client.get("/api/v1/stats/funnel?code_id=9", headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [
            {"field": "query.code_id", "message": "is not a parameter of this operation"}]
        assert (await client.get("/api/v1/stats/funnel", headers=headers)).status_code == 200

    async def test_declared_parameters_of_dependencies_are_known(self, client):
        headers = await make_key()
        response = await client.get("/api/v1/stores?limit=5&after=0&q=x", headers=headers)
        assert response.status_code == 200, response.text

    async def test_public_links_keep_working_with_parameters_they_gained(self, client):
        code = await make_code()
        response = await client.get(f"/c/{code.slug}?from=singlemessage&isappinstalled=0")
        assert response.status_code == 302
