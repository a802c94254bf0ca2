import os
import subprocess
from pathlib import Path

from hub.auth.models import Role
from hub.regions.models import RegionLevel
from hub.stores.models import Store
from tests.factories import make_key, make_region, make_store

HUB = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hub")
MACHINE_READERS = (Role.CARRIER_APP, Role.POS)


def hub_cli(*args: str) -> subprocess.CompletedProcess:
    """Run the real ``hub`` command against the test database (the environment points at it)."""
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([HUB, *args], env=env, capture_output=True, text=True, timeout=120)


def store_body(**overrides):
    return {"code": "GZ-TH-001", "name": "天河营业厅", "region_code": "G1", "kind": "hall",
            "address": "天河路1号", "phone": "020-12345678", "latitude": 23.13, "longitude": 113.32, **overrides}


class TestStoreScope:
    async def test_store_roles_list_only_their_own_store(self, client):
        own, other = await make_store(), await make_store()
        for role in (Role.STAFF, Role.STORE_MANAGER):
            headers = await make_key(role=role, store=own)
            page = (await client.get("/api/v1/stores", headers=headers)).json()
            assert [s["code"] for s in page["items"]] == [own.code]
            by_region = await client.get(f"/api/v1/stores?region_id={other.region_id}", headers=headers)
            assert by_region.json()["items"] == []

    async def test_store_roles_read_their_store_but_get_403_for_another(self, client):
        own, other = await make_store(), await make_store()
        for role in (Role.STAFF, Role.STORE_MANAGER):
            headers = await make_key(role=role, store=own)
            assert (await client.get(f"/api/v1/stores/{own.id}", headers=headers)).json()["code"] == own.code
            response = await client.get(f"/api/v1/stores/{other.id}", headers=headers)
            assert response.status_code == 403 and response.json()["type"] == "/problems/forbidden"
            # a missing id is not revealed either
            assert (await client.get("/api/v1/stores/999999", headers=headers)).status_code == 403

    async def test_ops_admin_and_machine_readers_see_every_store(self, client):
        stores = [await make_store(), await make_store()]
        for role in (Role.OPS, Role.ADMIN, *MACHINE_READERS):
            headers = await make_key(role=role)
            page = (await client.get("/api/v1/stores", headers=headers)).json()
            assert [s["code"] for s in page["items"]] == [s.code for s in stores]
            assert (await client.get(f"/api/v1/stores/{stores[1].id}", headers=headers)).status_code == 200

    async def test_strategy_engine_may_not_read_stores(self, client):
        store = await make_store()
        headers = await make_key(role=Role.STRATEGY_ENGINE)
        assert (await client.get("/api/v1/stores", headers=headers)).status_code == 403
        assert (await client.get(f"/api/v1/stores/{store.id}", headers=headers)).status_code == 403

    async def test_only_ops_and_admin_create_or_change_stores(self, client):
        store = await make_store(name="原名")
        await make_region(code="G1")
        for role in (Role.STAFF, Role.STORE_MANAGER, *MACHINE_READERS):
            headers = await make_key(role=role, store=store if role in (Role.STAFF, Role.STORE_MANAGER) else None)
            assert (await client.post("/api/v1/stores", headers=headers, json=store_body())).status_code == 403
            patch = await client.patch(f"/api/v1/stores/{store.id}", headers=headers, json={"name": "新名"})
            assert patch.status_code == 403
        assert not await Store.exists(code="GZ-TH-001")
        assert (await Store.get(id=store.id)).name == "原名"


class TestStoreListFilters:
    async def test_region_filter_includes_every_grid_below(self, client):
        city = await make_region(level=RegionLevel.CITY)
        county = await make_region(level=RegionLevel.COUNTY, parent=city)
        grid_a = await make_region(level=RegionLevel.GRID, parent=county)
        grid_b = await make_region(level=RegionLevel.GRID, parent=county)
        in_a, in_b = await make_store(region=grid_a), await make_store(region=grid_b)
        await make_store()  # another province altogether
        ops = await make_key(role=Role.OPS)

        async def codes(region_id):
            page = (await client.get(f"/api/v1/stores?region_id={region_id}", headers=ops)).json()
            return [s["code"] for s in page["items"]]

        assert await codes(city.parent_id) == [in_a.code, in_b.code]
        assert await codes(county.id) == [in_a.code, in_b.code]
        assert await codes(grid_b.id) == [in_b.code]
        assert await codes(999999) == []

    async def test_kind_active_and_name_filters(self, client):
        hall = await make_store(name="天河营业厅")
        outlet = await make_store(name="天河代理点")
        closed = await make_store(name="越秀营业厅")
        await Store.filter(id=outlet.id).update(kind="outlet")
        await Store.filter(id=closed.id).update(active=False)
        ops = await make_key(role=Role.OPS)

        async def codes(query):
            response = await client.get(f"/api/v1/stores?{query}", headers=ops)
            assert response.status_code == 200, response.text
            return [s["code"] for s in response.json()["items"]]

        assert await codes("kind=outlet") == [outlet.code]
        assert await codes("active=false") == [closed.code]
        assert await codes("q=天河") == [hall.code, outlet.code]
        assert await codes("q=天河&kind=hall&active=true") == [hall.code]

    async def test_items_carry_region_code_and_shanghai_times(self, client):
        store = await make_store()
        region = await store.region
        item = (await client.get("/api/v1/stores", headers=await make_key(role=Role.POS))).json()["items"][0]
        assert item["region_code"] == region.code and item["region_id"] == region.id
        assert item["created_at"].endswith("+08:00") and item["updated_at"].endswith("+08:00")

    async def test_pagination_walks_every_row_once(self, client):
        region = await make_region()
        made = [await make_store(region=region) for _ in range(7)]
        ops = await make_key(role=Role.OPS)
        seen, after = [], None
        while True:
            url = "/api/v1/stores?limit=3" + (f"&after={after}" if after else "")
            page = (await client.get(url, headers=ops)).json()
            seen += [s["code"] for s in page["items"]]
            after = page["next_after"]
            if after is None:
                break
        assert seen == [s.code for s in made]


class TestCreateStore:
    async def test_ops_creates_a_store_under_a_region(self, client):
        region = await make_region(code="G1")
        response = await client.post("/api/v1/stores", headers=await make_key(role=Role.ADMIN), json=store_body())
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["region_code"] == "G1" and body["kind"] == "hall" and body["active"] is True
        row = await Store.get(code="GZ-TH-001")
        assert (row.id, row.region_id, row.name, row.latitude) == (body["id"], region.id, "天河营业厅", 23.13)

    async def test_duplicate_code_names_code_and_writes_nothing(self, client):
        await make_region(code="G1")
        await make_store(code="GZ-TH-001", name="先来的")
        response = await client.post("/api/v1/stores", headers=await make_key(), json=store_body(name="后来的"))
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["code"]
        assert [s.name for s in await Store.filter(code="GZ-TH-001")] == ["先来的"]

    async def test_a_store_must_sit_in_a_grid(self, client):
        grid = await make_region(code="G1")
        county = await grid.parent
        response = await client.post("/api/v1/stores", headers=await make_key(),
                                     json=store_body(region_code=county.code))
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "region_code" and await Store.all().count() == 0

    async def test_unknown_region_names_region_code(self, client):
        response = await client.post("/api/v1/stores", headers=await make_key(), json=store_body(region_code="NOPE"))
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["region_code"]
        assert await Store.all().count() == 0

    async def test_out_of_range_or_nan_coordinates_name_the_fields(self, client):
        await make_region(code="G1")
        ops = await make_key()
        response = await client.post("/api/v1/stores", headers=ops, json=store_body(latitude=90.5, longitude=-181))
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} == {"latitude", "longitude"}
        nan = b'{"code": "X1", "name": "x", "region_code": "G1", "latitude": NaN}'
        response = await client.post("/api/v1/stores", headers={**ops, "content-type": "application/json"}, content=nan)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "latitude"
        assert await Store.all().count() == 0

    async def test_idempotency_key_returns_first_answer(self, client):
        await make_region(code="G1")
        headers = {**await make_key(), "Idempotency-Key": "store-th-1"}
        first = await client.post("/api/v1/stores", headers=headers, json=store_body())
        second = await client.post("/api/v1/stores", headers=headers, json=store_body())
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert await Store.all().count() == 1
        other = await client.post("/api/v1/stores", headers=headers, json=store_body(code="OTHER"))
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
        assert await Store.all().count() == 1


class TestPatchStore:
    async def test_ops_changes_fields_and_moves_the_store(self, client):
        store = await make_store()
        new_region = await make_region(code="G2")
        response = await client.patch(f"/api/v1/stores/{store.id}", headers=await make_key(), json={
            "name": "新名字", "kind": "flagship", "phone": "+86 20 8888", "region_code": "G2", "active": False})
        assert response.status_code == 200, response.text
        assert response.json()["region_code"] == "G2"
        row = await Store.get(id=store.id)
        assert (row.name, row.kind, row.phone, row.region_id, row.active) == (
            "新名字", "flagship", "+86 20 8888", new_region.id, False)
        assert row.updated_at > store.updated_at

    async def test_coordinates_clear_with_null_but_required_fields_refuse_null(self, client):
        store = await make_store()
        await Store.filter(id=store.id).update(latitude=23.1, longitude=113.3)
        ops = await make_key()
        cleared = await client.patch(f"/api/v1/stores/{store.id}", headers=ops,
                                     json={"latitude": None, "longitude": None})
        assert cleared.status_code == 200 and cleared.json()["latitude"] is None
        refused = await client.patch(f"/api/v1/stores/{store.id}", headers=ops, json={"name": None, "active": None})
        assert refused.status_code == 422
        assert {e["field"] for e in refused.json()["errors"]} == {"name", "active"}
        row = await Store.get(id=store.id)
        assert (row.latitude, row.name, row.active) == (None, store.name, True)

    async def test_unknown_store_is_404_and_unknown_region_is_422(self, client):
        store = await make_store()
        ops = await make_key()
        assert (await client.patch("/api/v1/stores/999999", headers=ops, json={"name": "x"})).status_code == 404
        response = await client.patch(f"/api/v1/stores/{store.id}", headers=ops,
                                      json={"region_code": "NOPE", "name": "x"})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "region_code"
        assert (await Store.get(id=store.id)).name == store.name


class TestBadInput:
    async def test_huge_or_malformed_ids_are_422_not_500(self, client):
        ops = await make_key()
        for path in ("/stores/99999999999999999999", "/stores/abc", "/stores/0", "/stores?region_id=99999999999",
                     "/stores?region_id=x", "/stores?after=-1", "/stores?limit=0", "/stores?kind=moon",
                     "/stores?q=" + "x" * 65):
            assert (await client.get("/api/v1" + path, headers=ops)).status_code == 422, path
        assert (await client.get("/api/v1/stores/12345", headers=ops)).status_code == 404
        assert (await client.patch("/api/v1/stores/abc", headers=ops, json={})).status_code == 422
        bad = await client.post("/api/v1/stores", headers=ops, json=store_body(name="a\x00b", code="bad code!"))
        assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"name", "code"}


class TestStoresCli:
    async def test_list_prints_the_stores_under_a_region(self):
        city = await make_region(level=RegionLevel.CITY, code="GZ")
        county = await make_region(level=RegionLevel.COUNTY, parent=city)
        grid = await make_region(level=RegionLevel.GRID, parent=county, code="GZ-G1")
        await make_store(region=grid, code="SHOP-IN")
        await make_store(code="SHOP-OUT")
        everything = hub_cli("stores", "list")
        assert everything.returncode == 0, everything.stderr
        assert "SHOP-IN" in everything.stdout and "SHOP-OUT" in everything.stdout
        in_city = hub_cli("stores", "list", "--region", "GZ")
        assert "SHOP-IN" in in_city.stdout and "GZ-G1" in in_city.stdout and "SHOP-OUT" not in in_city.stdout
        unknown = hub_cli("stores", "list", "--region", "NOPE")
        assert unknown.returncode == 2 and "no region NOPE" in unknown.stderr


class TestRegionsCli:
    async def test_list_prints_regions_filtered_by_level(self):
        city = await make_region(level=RegionLevel.CITY, code="GZ", name="广州市")
        await make_region(level=RegionLevel.COUNTY, parent=city, code="TH", name="天河区")
        result = hub_cli("regions", "list", "--level", "county")
        assert result.returncode == 0, result.stderr
        assert "TH" in result.stdout and "GZ" in result.stdout  # the county and its parent column
        assert "广州市" not in result.stdout
        by_name = hub_cli("regions", "list", "--q", "广州")
        assert "GZ" in by_name.stdout and "天河区" not in by_name.stdout
