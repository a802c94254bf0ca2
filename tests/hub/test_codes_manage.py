"""Codes after creation: who may own and see which code, changes and disabling, and the CLI."""

import asyncio
import os
import subprocess
from pathlib import Path

from hub.auth.models import ApiKey, Role
from hub.codes.models import Code
from tests.factories import make_code, make_key, make_product, make_staff, make_store

HUB = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hub")
URL = "/api/v1/codes"
CONTACT_ME = "https://work.weixin.qq.com/ca/cawcde1234567890"
LIVE_WINDOW = {"live_starts_at": "2026-12-01T20:00:00", "live_ends_at": "2026-12-01T22:00:00"}


async def create(client, headers, **body):
    return await client.post(URL, headers=headers, json=body)


def fields_of(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


class TestStaffKeysOwnOnlyTheirCodes:
    async def test_staff_key_creates_its_own_code_without_naming_itself(self, client):
        member = await make_staff()
        headers = await make_key(role=Role.STAFF, staff=member)
        response = await create(client, headers, kind="staff", channel="poster")
        assert response.status_code == 201, response.text
        row = await Code.get(id=response.json()["id"])
        assert (row.staff_id, row.store_id) == (member.id, member.store_id)
        key = await ApiKey.get(id=row.created_by_id)
        assert response.json()["created_by"] == key.prefix

    async def test_staff_key_cannot_create_for_another_staff_member_or_store(self, client):
        store, other_store = await make_store(), await make_store()
        member, colleague = await make_staff(store=store), await make_staff(store=store)
        headers = await make_key(role=Role.STAFF, staff=member)
        for body in ({"kind": "staff", "staff_id": colleague.id},
                     {"kind": "product", "product_id": (await make_product()).id, "store_id": other_store.id},
                     {"kind": "store", "store_id": store.id}):
            response = await create(client, headers, **body)
            assert response.status_code == 403, (body, response.text)
            assert response.json()["type"] == "/problems/forbidden"
        assert await Code.all().count() == 0

    async def test_staff_key_without_a_staff_member_cannot_create_or_list(self, client):
        store = await make_store()
        headers = await make_key(role=Role.STAFF, store=store)
        assert (await create(client, headers, kind="store", store_id=store.id)).status_code == 403
        assert (await create(client, headers, kind="staff")).status_code == 403
        assert (await client.get(URL, headers=headers)).status_code == 403
        assert await Code.all().count() == 0

    async def test_staff_key_lists_reads_and_changes_only_its_own_codes(self, client):
        store = await make_store()
        member, colleague = await make_staff(store=store), await make_staff(store=store)
        mine = await make_code(staff=member)
        theirs = await make_code(staff=colleague)
        await make_code(kind="store", store=store)
        headers = await make_key(role=Role.STAFF, staff=member)
        page = (await client.get(URL, headers=headers)).json()
        assert [c["id"] for c in page["items"]] == [mine.id]
        assert (await client.get(f"{URL}?staff_id={colleague.id}", headers=headers)).status_code == 403
        assert (await client.get(f"{URL}/{theirs.id}", headers=headers)).status_code == 403
        assert (await client.patch(f"{URL}/{theirs.id}", headers=headers, json={"name": "x"})).status_code == 403
        assert (await client.post(f"{URL}/{theirs.id}/disable", headers=headers)).status_code == 403
        renamed = await client.patch(f"{URL}/{mine.id}", headers=headers, json={"name": "我的码"})
        assert renamed.status_code == 200 and renamed.json()["name"] == "我的码"
        assert (await Code.get(id=theirs.id)).active is True


class TestStoreManagersStayInTheirStore:
    async def test_manager_creates_for_any_staff_of_its_store_but_not_another(self, client):
        store, other = await make_store(), await make_store()
        member, stranger = await make_staff(store=store), await make_staff(store=other)
        headers = await make_key(role=Role.STORE_MANAGER, store=store)
        assert (await create(client, headers, kind="staff", staff_id=member.id)).status_code == 201
        own_store = await create(client, headers, kind="store")
        assert own_store.status_code == 201 and own_store.json()["store_id"] == store.id
        assert (await create(client, headers, kind="staff", staff_id=stranger.id)).status_code == 403
        assert (await create(client, headers, kind="store", store_id=other.id)).status_code == 403
        assert sorted(c.store_id for c in await Code.all()) == [store.id, store.id]

    async def test_manager_lists_and_changes_only_its_stores_codes(self, client):
        store, other = await make_store(), await make_store()
        ours = [await make_code(kind="store", store=store), await make_code(staff=await make_staff(store=store))]
        foreign = await make_code(kind="store", store=other)
        headers = await make_key(role=Role.STORE_MANAGER, store=store)
        page = (await client.get(URL, headers=headers)).json()
        assert [c["id"] for c in page["items"]] == [c.id for c in ours]
        assert (await client.get(f"{URL}?store_id={other.id}", headers=headers)).status_code == 403
        assert (await client.patch(f"{URL}/{foreign.id}", headers=headers, json={"name": "x"})).status_code == 403
        assert (await client.post(f"{URL}/{ours[1].id}/disable", headers=headers)).status_code == 200

    async def test_ops_and_admin_see_everything_and_machines_nothing(self, client):
        codes = [await make_code(), await make_code()]
        for role in (Role.OPS, Role.ADMIN):
            page = (await client.get(URL, headers=await make_key(role=role))).json()
            assert [c["id"] for c in page["items"]] == [c.id for c in codes]
        for role in (Role.CARRIER_APP, Role.POS, Role.STRATEGY_ENGINE):
            headers = await make_key(role=role)
            assert (await client.get(URL, headers=headers)).status_code == 403
            assert (await create(client, headers, kind="store", store_id=codes[0].store_id)).status_code == 403

class TestChangingCodes:
    async def test_every_patch_bumps_the_version(self, client):
        member = await make_staff()
        ops = await make_key()
        code = (await create(client, ops, kind="staff", staff_id=member.id, target_kind="wecom_contact",
                             target_url=CONTACT_ME)).json()
        first = await client.patch(f"{URL}/{code['id']}", headers=ops,
                                   json={"name": "春节", "tags": ["春节", "poster-a"], "scan_limit": 500,
                                         "valid_until": "2027-02-01T00:00:00", "channel": "poster"})
        assert first.status_code == 200, first.text
        assert first.json()["version"] == 2 and first.json()["valid_until"] == "2027-02-01T00:00:00+08:00"
        second = await client.patch(f"{URL}/{code['id']}", headers=ops,
                                    json={"target_url": "https://work.weixin.qq.com/ca/other", "scan_limit": None})
        assert second.json()["version"] == 3
        row = await Code.get(id=code["id"])
        assert (row.name, row.tags, row.scan_limit, row.channel) == ("春节", ["春节", "poster-a"], None, "poster")
        assert row.version == 3
        assert row.target_url == "https://work.weixin.qq.com/ca/other"

    async def test_racing_patches_never_overwrite_silently(self, client):
        code = await make_code()
        ops = await make_key()
        responses = await asyncio.gather(*(
            client.patch(f"{URL}/{code.id}", headers=ops, json={"name": f"名{i}"}) for i in range(6)
        ))
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {200, 409}, statuses
        assert all(r.json()["type"] == "/problems/conflict" for r in responses if r.status_code == 409)
        row = await Code.get(id=code.id)
        assert row.version == 1 + statuses.count(200)
        last = max((r.json() for r in responses if r.status_code == 200), key=lambda body: body["version"])
        assert row.name == last["name"]

    async def test_patch_checks_targets_windows_and_nulls(self, client):
        code = await make_code()
        ops = await make_key()
        cases = [
            ({"target_url": "https://work.weixin.qq.com/ca/x"}, "target_url"),  # storefront: built by the hub
            ({"valid_from": "2027-01-02T00:00:00", "valid_until": "2027-01-01T00:00:00"}, "valid_until"),
            ({"name": None}, "name"),
            ({"active": None}, "active"),
            ({"live_starts_at": "2027-01-01T00:00:00"}, "live_starts_at"),
            ({"store_id": 1}, "store_id"),
        ]
        for body, field in cases:
            response = await client.patch(f"{URL}/{code.id}", headers=ops, json=body)
            assert response.status_code == 422 and fields_of(response) == [field], (body, response.text)
        assert (await Code.get(id=code.id)).version == 1

    async def test_livestream_products_are_replaced(self, client):
        member = await make_staff()
        a, b = await make_product(), await make_product()
        ops = await make_key()
        code = (await create(client, ops, kind="livestream", staff_id=member.id, product_ids=[a.id],
                             **LIVE_WINDOW)).json()
        changed = await client.patch(f"{URL}/{code['id']}", headers=ops, json={"product_ids": [b.id]})
        assert changed.json()["product_ids"] == [b.id] and changed.json()["version"] == 2
        assert [p.id for p in await (await Code.get(id=code["id"])).products] == [b.id]
        bad = await client.patch(f"{URL}/{code['id']}", headers=ops, json={"live_ends_at": "2026-12-01T19:00:00"})
        assert bad.status_code == 422 and fields_of(bad) == ["live_ends_at"]

    async def test_disable_switches_the_code_off_once(self, client):
        code = await make_code()
        ops = await make_key()
        first = await client.post(f"{URL}/{code.id}/disable", headers=ops)
        assert first.status_code == 200 and first.json()["active"] is False and first.json()["version"] == 2
        again = await client.post(f"{URL}/{code.id}/disable", headers=ops)
        assert again.status_code == 200 and again.json()["version"] == 2
        assert (await Code.get(id=code.id)).active is False

class TestCodesCli:
    async def test_create_list_show_and_disable(self):
        member = await make_staff(staff_no="E000123", store=await make_store(code="CLI-SHOP"))
        env = {**os.environ, "COLUMNS": "200"}

        def hub(*args):
            return subprocess.run([HUB, "codes", *args], env=env, capture_output=True, text=True, timeout=120)

        made = hub("create", "--kind", "staff", "--staff", "E000123", "--channel", "poster", "--name", "海报")
        assert made.returncode == 0, made.stderr
        row = await Code.get(staff_id=member.id)
        assert (row.channel, row.name, row.created_by_id) == ("poster", "海报", None)
        assert f"http://hub.test/c/{row.slug}" in made.stdout and f"/c/{row.slug}?src=qr" in made.stdout
        listed = hub("list", "--store", "CLI-SHOP", "--kind", "staff")
        assert listed.returncode == 0 and row.slug in listed.stdout and "E000123" in listed.stdout
        shown = hub("show", row.slug)
        assert shown.returncode == 0 and "CLI-SHOP" in shown.stdout
        off = hub("disable", row.slug)
        assert off.returncode == 0, off.stderr
        assert (await Code.get(id=row.id)).active is False
        unknown = hub("create", "--kind", "staff", "--staff", "NOPE")
        assert unknown.returncode == 2 and "NOPE" in unknown.stderr
        assert "HUB_PUBLIC_BASE_URL is not set" not in made.stderr  # the tests set it

    async def test_without_a_public_address_it_says_which_one_the_links_use(self):
        await make_staff(staff_no="E000777")
        env = {k: v for k, v in os.environ.items() if k != "HUB_PUBLIC_BASE_URL"}

        def hub(*args):
            return subprocess.run([HUB, "codes", *args], env=env, capture_output=True, text=True, timeout=120)

        made = hub("create", "--kind", "staff", "--staff", "E000777")
        assert made.returncode == 0, made.stderr
        assert "HUB_PUBLIC_BASE_URL is not set, so links use http://127.0.0.1:8000" in made.stderr
