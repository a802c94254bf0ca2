from hub.auth.models import Role
from hub.products.models import Product, ProductCategory
from tests.factories import make_key, make_product, make_store

BODY = {"sku": "DATA-10G", "name": "10G 流量包", "category": "light", "price_fen": 3000}


class TestCreateProduct:
    async def test_ops_creates_a_product(self, client):
        ops = await make_key(role=Role.OPS)
        response = await client.post("/api/v1/products", headers=ops, json={**BODY, "description": "月包"})
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["sku"] == "DATA-10G" and body["price_fen"] == 3000 and body["active"] is True
        assert body["created_at"].endswith("+08:00")
        row = await Product.get(id=body["id"])
        assert (row.name, row.category, row.description) == ("10G 流量包", ProductCategory.LIGHT, "月包")

    async def test_duplicate_sku_is_422_naming_sku(self, client):
        ops = await make_key(role=Role.OPS)
        await make_product(sku="DATA-10G")
        response = await client.post("/api/v1/products", headers=ops, json=BODY)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "sku"
        assert await Product.filter(sku="DATA-10G").count() == 1

    async def test_price_must_be_whole_non_negative_fen(self, client):
        ops = await make_key(role=Role.OPS)
        for price in (-1, 12.5, 10**13, "ten"):
            response = await client.post("/api/v1/products", headers=ops, json={**BODY, "price_fen": price})
            assert response.status_code == 422, price
            assert [e["field"] for e in response.json()["errors"]] == ["price_fen"]
        assert await Product.all().count() == 0

    async def test_bad_category_and_sku_name_their_fields(self, client):
        ops = await make_key(role=Role.OPS)
        response = await client.post("/api/v1/products", headers=ops,
                                     json={**BODY, "sku": "no spaces", "category": "moon", "name": "a\x00b"})
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} == {"sku", "category", "name"}

    async def test_idempotency_key_returns_first_answer(self, client):
        ops = {**await make_key(role=Role.OPS), "Idempotency-Key": "product-1"}
        first = await client.post("/api/v1/products", headers=ops, json=BODY)
        second = await client.post("/api/v1/products", headers=ops, json=BODY)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert await Product.all().count() == 1
        other = await client.post("/api/v1/products", headers=ops, json={**BODY, "price_fen": 1})
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"

    async def test_only_ops_and_admin_may_create(self, client):
        store = await make_store()
        for role, status in ((Role.ADMIN, 201), (Role.STORE_MANAGER, 403), (Role.CARRIER_APP, 403), (Role.POS, 403)):
            headers = await make_key(role=role, store=store if role == Role.STORE_MANAGER else None)
            response = await client.post("/api/v1/products", headers=headers, json={**BODY, "sku": f"X-{role}"})
            assert response.status_code == status, role
        assert await Product.all().values_list("sku", flat=True) == ["X-admin"]


class TestListProducts:
    async def _catalogue(self):
        await Product.create(sku="A", name="5G 畅享套餐", category="light", price_fen=12900)
        await Product.create(sku="B", name="华为手机", category="terminal", price_fen=399900)
        await Product.create(sku="C", name="千兆宽带", category="home", price_fen=9900, active=False)
        await Product.create(sku="D", name="视频会员", category="equity", price_fen=1500)

    async def _skus(self, client, headers, query=""):
        response = await client.get(f"/api/v1/products{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [p["sku"] for p in response.json()["items"]]

    async def test_filters_by_category_active_name_and_price(self, client):
        await self._catalogue()
        ops = await make_key(role=Role.OPS)
        assert await self._skus(client, ops) == ["A", "B", "C", "D"]
        assert await self._skus(client, ops, "?category=terminal") == ["B"]
        assert await self._skus(client, ops, "?active=false") == ["C"]
        assert await self._skus(client, ops, "?active=true") == ["A", "B", "D"]
        assert await self._skus(client, ops, "?q=宽带") == ["C"]
        assert await self._skus(client, ops, "?min_price_fen=9900&max_price_fen=12900") == ["A", "C"]
        assert await self._skus(client, ops, "?max_price_fen=1500") == ["D"]

    async def test_any_authenticated_key_reads_the_catalogue(self, client):
        await self._catalogue()
        store = await make_store()
        for headers in (await make_key(role=Role.STAFF, store=store), await make_key(role=Role.CARRIER_APP)):
            assert await self._skus(client, headers, "?category=equity") == ["D"]
        product_id = (await Product.get(sku="D")).id
        staff = await make_key(role=Role.STAFF, store=store)
        assert (await client.get(f"/api/v1/products/{product_id}", headers=staff)).json()["name"] == "视频会员"
        assert (await client.get("/api/v1/products")).status_code == 401

    async def test_pagination_walks_every_product_once(self, client):
        for n in range(5):
            await make_product(sku=f"P{n}")
        ops = await make_key(role=Role.OPS)
        first = (await client.get("/api/v1/products?limit=3", headers=ops)).json()
        second = (await client.get(f"/api/v1/products?limit=3&after={first['next_after']}", headers=ops)).json()
        assert [p["sku"] for p in first["items"] + second["items"]] == [f"P{n}" for n in range(5)]
        assert second["next_after"] is None

    async def test_bad_filters_are_422_not_500(self, client):
        ops = await make_key(role=Role.OPS)
        for query in ("?category=moon", "?min_price_fen=-1", "?max_price_fen=1e99", "?active=maybe",
                      "?q=%00", f"?q={'x' * 101}", "?limit=0", "?after=-5"):
            response = await client.get(f"/api/v1/products{query}", headers=ops)
            assert response.status_code == 422, query


class TestPatchProduct:
    async def test_changes_only_the_given_fields(self, client):
        product = await make_product(sku="A", price_fen=1000)
        ops = await make_key(role=Role.OPS)
        response = await client.patch(f"/api/v1/products/{product.id}", headers=ops,
                                      json={"price_fen": 800, "active": False, "category": "equity"})
        assert response.status_code == 200, response.text
        row = await Product.get(id=product.id)
        assert (row.price_fen, row.active, row.category, row.name) == (800, False, "equity", product.name)
        assert response.json()["price_fen"] == 800

    async def test_unknown_product_is_404_and_staff_is_403(self, client):
        product = await make_product()
        ops = await make_key(role=Role.OPS)
        assert (await client.patch("/api/v1/products/12345", headers=ops, json={"name": "x"})).status_code == 404
        staff = await make_key(role=Role.STAFF, store=await make_store())
        response = await client.patch(f"/api/v1/products/{product.id}", headers=staff, json={"name": "x"})
        assert response.status_code == 403
        assert (await Product.get(id=product.id)).name == product.name

    async def test_invalid_values_are_422(self, client):
        product = await make_product()
        ops = await make_key(role=Role.OPS)
        for body in ({"price_fen": -5}, {"category": "moon"}, {"name": ""}, {"active": "perhaps"}):
            response = await client.patch(f"/api/v1/products/{product.id}", headers=ops, json=body)
            assert response.status_code == 422, body


class TestProductIds:
    async def test_huge_or_malformed_ids_are_422(self, client):
        ops = await make_key(role=Role.OPS)
        for path in ("99999999999999999999", "abc", "0", "-1"):
            assert (await client.get(f"/api/v1/products/{path}", headers=ops)).status_code == 422, path
            assert (await client.patch(f"/api/v1/products/{path}", headers=ops, json={})).status_code == 422
        assert (await client.get("/api/v1/products/12345", headers=ops)).status_code == 404
