from datetime import UTC

from hub.auth.models import Role
from hub.regions.models import Region
from tests.factories import make_key


class TestRegionsApi:
    async def test_create_tree_and_filter(self, client):
        ops = await make_key(role=Role.OPS)
        for body in (
            {"code": "GD", "name": "广东省", "level": "province"},
            {"code": "GZ", "name": "广州市", "level": "city", "parent_code": "GD"},
            {"code": "TH", "name": "天河区", "level": "county", "parent_code": "GZ"},
        ):
            response = await client.post("/api/v1/regions", headers=ops, json=body)
            assert response.status_code == 201, response.text
        page = (await client.get("/api/v1/regions?level=city", headers=ops)).json()
        assert [r["code"] for r in page["items"]] == ["GZ"]
        assert page["items"][0]["created_at"].endswith("+08:00")

    async def test_wrong_parent_level_names_the_field(self, client):
        ops = await make_key(role=Role.OPS)
        await client.post("/api/v1/regions", headers=ops, json={"code": "GD", "name": "广东省", "level": "province"})
        response = await client.post("/api/v1/regions", headers=ops,
                                     json={"code": "TH", "name": "天河区", "level": "county", "parent_code": "GD"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "parent_code"
        assert await Region.filter(code="TH").count() == 0

    async def test_validation_error_names_the_field(self, client):
        ops = await make_key(role=Role.OPS)
        response = await client.post("/api/v1/regions", headers=ops,
                                     json={"code": "bad code!", "name": "", "level": "moon"})
        assert response.status_code == 422
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields == {"code", "name", "level"}

    async def test_idempotency_key_returns_first_answer(self, client):
        ops = await make_key(role=Role.OPS)
        headers = {**ops, "Idempotency-Key": "create-gd-1"}
        body = {"code": "GD", "name": "广东省", "level": "province"}
        first = await client.post("/api/v1/regions", headers=headers, json=body)
        second = await client.post("/api/v1/regions", headers=headers, json=body)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert await Region.all().count() == 1
        other = await client.post("/api/v1/regions", headers=headers, json={**body, "name": "别的"})
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"

    async def test_pagination_walks_every_row_once(self, client):
        ops = await make_key(role=Role.OPS)
        for i in range(7):
            await Region.create(code=f"P{i}", name=f"省{i}", level="province")
        seen, after = [], None
        while True:
            url = "/api/v1/regions?limit=3" + (f"&after={after}" if after else "")
            page = (await client.get(url, headers=ops)).json()
            seen += [r["code"] for r in page["items"]]
            after = page["next_after"]
            if after is None:
                break
        assert seen == [f"P{i}" for i in range(7)]

    async def test_huge_or_malformed_ids_are_4xx(self, client):
        ops = await make_key(role=Role.OPS)
        for path in ("/api/v1/regions/99999999999999999999", "/api/v1/regions/abc", "/api/v1/regions/0"):
            assert (await client.get(path, headers=ops)).status_code == 422
        assert (await client.get("/api/v1/regions/12345", headers=ops)).status_code == 404
        bad_json = await client.post("/api/v1/regions", headers={**ops, "content-type": "application/json"},
                                     content=b"{nope")
        assert bad_json.status_code == 422


class TestBodyLimit:
    async def test_oversized_body_is_413_problem_and_nothing_written(self, client):
        ops = await make_key(role=Role.OPS)
        body = b'{"code": "GD", "name": "' + b"x" * (2 * 1024 * 1024) + b'", "level": "province"}'
        response = await client.post("/api/v1/regions", headers={**ops, "content-type": "application/json"},
                                     content=body)
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert await Region.all().count() == 0

    async def test_oversized_chunked_body_is_413_too(self, client):
        ops = await make_key(role=Role.OPS)

        async def chunks():
            for _ in range(40):
                yield b"x" * 65536

        response = await client.post("/api/v1/regions", headers={**ops, "content-type": "application/json"},
                                     content=chunks())
        assert response.status_code == 413 and response.json()["type"] == "/problems/too-large"


class TestIdempotencyPrune:
    async def test_answers_older_than_a_day_are_forgotten(self, client):
        from datetime import datetime, timedelta

        from hub.idempotency.jobs import prune
        from hub.idempotency.models import IdempotencyRecord

        ops = await make_key(role=Role.OPS)
        body = {"code": "GD", "name": "广东省", "level": "province"}
        await client.post("/api/v1/regions", headers={**ops, "Idempotency-Key": "k1"}, json=body)
        now = datetime.now(UTC)
        assert await prune(now=now) == 0
        assert await prune(now=now + timedelta(hours=25)) == 1
        assert await IdempotencyRecord.all().count() == 0
