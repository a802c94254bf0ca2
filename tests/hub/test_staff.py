import os
import subprocess
from pathlib import Path

from hub.auth.models import Role
from hub.staff.models import Staff
from tests.factories import make_key, make_staff, make_store

HUB = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hub")
MACHINES = (Role.CARRIER_APP, Role.POS, Role.STRATEGY_ENGINE)


def hub_cli(*args: str) -> subprocess.CompletedProcess:
    """Run the real ``hub`` command against the test database (the environment points at it)."""
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([HUB, *args], env=env, capture_output=True, text=True, timeout=120)


def staff_body(store_code, **overrides):
    return {"staff_no": "E9001", "name": "李店员", "store_code": store_code, "role": "clerk",
            "wecom_userid": "li.dianyuan", **overrides}


class TestReadingStaffByScope:
    async def test_staff_key_reads_its_own_store_but_not_another(self, client):
        own, other = await make_store(), await make_store()
        colleague, stranger = await make_staff(store=own), await make_staff(store=other)
        headers = await make_key(role=Role.STAFF, store=own)
        page = (await client.get("/api/v1/staff", headers=headers)).json()
        assert [m["staff_no"] for m in page["items"]] == [colleague.staff_no]
        assert page["items"][0]["store_code"] == own.code
        assert (await client.get(f"/api/v1/staff?store_id={own.id}", headers=headers)).status_code == 200
        assert (await client.get(f"/api/v1/staff/{colleague.id}", headers=headers)).json()["name"] == colleague.name
        other_list = await client.get(f"/api/v1/staff?store_id={other.id}", headers=headers)
        assert other_list.status_code == 403 and other_list.json()["type"] == "/problems/forbidden"
        assert (await client.get(f"/api/v1/staff/{stranger.id}", headers=headers)).status_code == 403

    async def test_store_manager_sees_only_its_store(self, client):
        own, other = await make_store(), await make_store()
        member = await make_staff(store=own)
        stranger = await make_staff(store=other)
        headers = await make_key(role=Role.STORE_MANAGER, store=own)
        page = (await client.get("/api/v1/staff", headers=headers)).json()
        assert [m["id"] for m in page["items"]] == [member.id]
        assert (await client.get(f"/api/v1/staff/{stranger.id}", headers=headers)).status_code == 403

    async def test_ops_and_admin_read_every_store(self, client):
        members = [await make_staff(), await make_staff()]
        for role in (Role.OPS, Role.ADMIN):
            headers = await make_key(role=role)
            page = (await client.get("/api/v1/staff", headers=headers)).json()
            assert [m["staff_no"] for m in page["items"]] == [m.staff_no for m in members]
            by_store = (await client.get(f"/api/v1/staff?store_id={members[1].store_id}", headers=headers)).json()
            assert [m["id"] for m in by_store["items"]] == [members[1].id]

    async def test_machine_roles_are_403_on_staff(self, client):
        member = await make_staff()
        for role in MACHINES:
            headers = await make_key(role=role)
            assert (await client.get("/api/v1/staff", headers=headers)).status_code == 403
            assert (await client.get(f"/api/v1/staff/{member.id}", headers=headers)).status_code == 403
            store = await member.store
            created = await client.post("/api/v1/staff", headers=headers, json=staff_body(store.code))
            assert created.status_code == 403
        assert await Staff.all().count() == 1

    async def test_missing_member_is_404(self, client):
        assert (await client.get("/api/v1/staff/999999", headers=await make_key())).status_code == 404


class TestWritingStaffByScope:
    async def test_store_manager_adds_staff_to_its_own_store_only(self, client):
        own, other = await make_store(), await make_store()
        headers = await make_key(role=Role.STORE_MANAGER, store=own)
        created = await client.post("/api/v1/staff", headers=headers, json=staff_body(own.code))
        assert created.status_code == 201, created.text
        assert created.json()["store_code"] == own.code
        row = await Staff.get(staff_no="E9001")
        assert (row.store_id, row.name, row.wecom_userid, row.role) == (own.id, "李店员", "li.dianyuan", "clerk")
        refused = await client.post("/api/v1/staff", headers=headers, json=staff_body(other.code, staff_no="E9002",
                                                                                    wecom_userid=None))
        assert refused.status_code == 403
        assert not await Staff.exists(staff_no="E9002")

    async def test_store_manager_cannot_change_or_take_away_another_stores_staff(self, client):
        own, other = await make_store(), await make_store()
        member, stranger = await make_staff(store=own, name="本店"), await make_staff(store=other, name="别店")
        headers = await make_key(role=Role.STORE_MANAGER, store=own)
        renamed = await client.patch(f"/api/v1/staff/{member.id}", headers=headers,
                                     json={"name": "改名", "role": "supervisor"})
        assert renamed.status_code == 200 and renamed.json()["role"] == "supervisor"
        moved = await client.patch(f"/api/v1/staff/{member.id}", headers=headers, json={"store_code": other.code})
        assert moved.status_code == 403
        foreign = await client.patch(f"/api/v1/staff/{stranger.id}", headers=headers, json={"store_code": own.code})
        assert foreign.status_code == 403
        assert [(m.name, m.store_id) for m in await Staff.all().order_by("id")] == [
            ("改名", own.id), ("别店", other.id)]

    async def test_plain_staff_key_cannot_create_or_change_staff(self, client):
        store = await make_store()
        member = await make_staff(store=store, name="原名")
        headers = await make_key(role=Role.STAFF, store=store, staff=member)
        assert (await client.post("/api/v1/staff", headers=headers, json=staff_body(store.code))).status_code == 403
        assert (await client.patch(f"/api/v1/staff/{member.id}", headers=headers,
                                   json={"name": "新"})).status_code == 403
        assert [m.name for m in await Staff.all()] == ["原名"]

    async def test_ops_manages_staff_of_any_store_and_moves_them(self, client):
        first, second = await make_store(), await make_store()
        ops = await make_key(role=Role.OPS)
        created = await client.post("/api/v1/staff", headers=ops, json=staff_body(first.code, role="manager"))
        assert created.status_code == 201
        staff_id = created.json()["id"]
        moved = await client.patch(f"/api/v1/staff/{staff_id}", headers=ops,
                                   json={"store_code": second.code, "active": False, "wecom_userid": None})
        assert moved.status_code == 200, moved.text
        assert moved.json()["store_code"] == second.code
        row = await Staff.get(id=staff_id)
        assert (row.store_id, row.active, row.wecom_userid, row.role) == (second.id, False, None, "manager")


class TestStaffValidation:
    async def test_duplicate_wecom_userid_names_the_field_and_writes_nothing(self, client):
        store = await make_store()
        taken = await make_staff(store=store)
        response = await client.post("/api/v1/staff", headers=await make_key(),
                                     json=staff_body(store.code, wecom_userid=taken.wecom_userid))
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["wecom_userid"]
        assert not await Staff.exists(staff_no="E9001")

    async def test_patch_to_a_taken_wecom_userid_is_422_but_keeping_ones_own_is_fine(self, client):
        a, b = await make_staff(), await make_staff()
        ops = await make_key()
        clash = await client.patch(f"/api/v1/staff/{b.id}", headers=ops, json={"wecom_userid": a.wecom_userid})
        assert clash.status_code == 422 and clash.json()["errors"][0]["field"] == "wecom_userid"
        assert (await Staff.get(id=b.id)).wecom_userid == b.wecom_userid
        same = await client.patch(f"/api/v1/staff/{b.id}", headers=ops, json={"wecom_userid": b.wecom_userid})
        assert same.status_code == 200

    async def test_duplicate_staff_no_and_unknown_store_name_their_fields(self, client):
        store = await make_store()
        await make_staff(store=store, staff_no="E9001", name="先来的")
        ops = await make_key()
        duplicate = await client.post("/api/v1/staff", headers=ops, json=staff_body(store.code, wecom_userid=None))
        assert duplicate.status_code == 422 and duplicate.json()["errors"][0]["field"] == "staff_no"
        unknown = await client.post("/api/v1/staff", headers=ops, json=staff_body("NOPE", staff_no="E9002"))
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "store_code"
        assert [m.name for m in await Staff.all()] == ["先来的"]

    async def test_null_for_required_fields_and_bad_values_name_the_fields(self, client):
        member = await make_staff()
        ops = await make_key()
        response = await client.patch(f"/api/v1/staff/{member.id}", headers=ops,
                                      json={"name": None, "role": "boss", "store_code": None,
                                            "wecom_userid": "有 空格"})
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} == {"name", "role", "store_code", "wecom_userid"}
        assert (await Staff.get(id=member.id)).name == member.name

    async def test_idempotency_key_returns_first_answer(self, client):
        store = await make_store()
        headers = {**await make_key(role=Role.STORE_MANAGER, store=store), "Idempotency-Key": "hire-li-1"}
        first = await client.post("/api/v1/staff", headers=headers, json=staff_body(store.code))
        second = await client.post("/api/v1/staff", headers=headers, json=staff_body(store.code))
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert await Staff.all().count() == 1
        other = await client.post("/api/v1/staff", headers=headers, json=staff_body(store.code, name="别人"))
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"

    async def test_huge_or_malformed_ids_are_422_not_500(self, client):
        ops = await make_key()
        for path in ("/staff/99999999999999999999", "/staff/abc", "/staff/0", "/staff?store_id=99999999999",
                     "/staff?store_id=-3", "/staff?role=boss", "/staff?active=maybe", "/staff?after=x"):
            assert (await client.get("/api/v1" + path, headers=ops)).status_code == 422, path
        assert (await client.patch("/api/v1/staff/99999999999", headers=ops, json={})).status_code == 422
        assert (await client.patch("/api/v1/staff/12345", headers=ops, json={"name": "x"})).status_code == 404


class TestStaffList:
    async def test_role_active_and_text_filters(self, client):
        store = await make_store()
        clerk = await make_staff(store=store, name="王小明", staff_no="E100")
        manager = await make_staff(store=store, name="张店长", staff_no="E200")
        gone = await make_staff(store=store, name="王离职", staff_no="E300")
        await Staff.filter(id=manager.id).update(role="manager")
        await Staff.filter(id=gone.id).update(active=False)
        headers = await make_key(role=Role.STORE_MANAGER, store=store)

        async def ids(query):
            response = await client.get(f"/api/v1/staff?{query}", headers=headers)
            assert response.status_code == 200, response.text
            return [m["id"] for m in response.json()["items"]]

        assert await ids("role=manager") == [manager.id]
        assert await ids("active=false") == [gone.id]
        assert await ids("q=王") == [clerk.id, gone.id]
        assert await ids("q=E2") == [manager.id]
        assert await ids("q=王&active=true") == [clerk.id]

    async def test_pagination_walks_every_row_once(self, client):
        store = await make_store()
        made = [await make_staff(store=store) for _ in range(7)]
        headers = await make_key(role=Role.STAFF, store=store)
        seen, after = [], None
        while True:
            url = "/api/v1/staff?limit=3" + (f"&after={after}" if after else "")
            page = (await client.get(url, headers=headers)).json()
            seen += [m["staff_no"] for m in page["items"]]
            after = page["next_after"]
            if after is None:
                break
        assert seen == [m.staff_no for m in made]


class TestStaffCli:
    async def test_list_prints_the_staff_of_a_store(self):
        shop, elsewhere = await make_store(code="SHOP-A"), await make_store(code="SHOP-B")
        await make_staff(store=shop, staff_no="E-HERE")
        await make_staff(store=elsewhere, staff_no="E-THERE")
        result = hub_cli("staff", "list", "--store", "SHOP-A")
        assert result.returncode == 0, result.stderr
        assert "E-HERE" in result.stdout and "SHOP-A" in result.stdout and "E-THERE" not in result.stdout
        everyone = hub_cli("staff", "list")
        assert "E-HERE" in everyone.stdout and "E-THERE" in everyone.stdout
        unknown = hub_cli("staff", "list", "--store", "NOPE")
        assert unknown.returncode == 2 and "no store NOPE" in unknown.stderr
