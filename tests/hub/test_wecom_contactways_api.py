"""GET/PUT/PATCH /api/v1/codes/{id}/wecom: what the answer shows, bad bodies (422 naming the field), who may
touch which code, Idempotency-Key and racing writers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from hub.auth.models import Role
from hub.database import transaction
from hub.outbox.models import OutboxMessage
from hub.wecom.contact_ways.replanning import record_add
from hub.wecom.contact_ways.service import SYNC_TOPIC
from hub.wecom.models import ContactWay
from tests.factories import make_code, make_key, make_staff, make_store

URL = "/api/v1/codes"


async def make_wecom_code(client, **body) -> dict:
    response = await client.post(URL, headers=await make_key(), json={"target_kind": "wecom_contact", **body})
    assert response.status_code == 201, response.text
    return response.json()


def fields_of(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


class TestAnswer:
    async def test_shows_sync_state_todays_adds_and_who_is_eligible_now(self, client, wecom, queue):
        store = await make_store()
        a, b = await make_staff(store=store), await make_staff(store=store)
        made = await make_wecom_code(client, kind="store", store_id=store.id)
        ops = await make_key()
        assert (await client.put(f"{URL}/{made['id']}/wecom", headers=ops, json={"daily_cap": 1})).status_code == 200
        await queue.drain()
        async with transaction():
            await record_add(contact_way_id=(await ContactWay.get(code_id=made["id"])).id, staff_id=a.id,
                             at=datetime.now(UTC))
        await queue.drain()
        body = (await client.get(f"{URL}/{made['id']}/wecom", headers=ops)).json()
        [way] = await wecom.contact_ways()
        assert (body["status"], body["config_id"], body["qr_code"], body["last_error"]) == (
            "synced", way["config_id"], way["qr_code"], "")
        assert (body["way_type"], body["state"], body["daily_cap"], body["plan_tier"]) == (
            2, f"store-{made['slug']}", 1, "regular")
        assert body["applied_userids"] == [b.wecom_userid] == way["user"]
        assert [(m["staff_id"], m["adds_today"], m["eligible_now"], m["applied"]) for m in body["members"]] == [
            (a.id, 1, False, False), (b.id, 0, True, True)]

    async def test_a_code_the_hub_made_no_contact_way_for_is_404(self, client):
        code = await make_code()
        response = await client.get(f"{URL}/{code.id}/wecom", headers=await make_key())
        assert response.status_code == 404

    async def test_the_target_of_a_hub_made_contact_way_cannot_be_patched(self, client, wecom):
        made = await make_wecom_code(client, kind="staff", staff_id=(await make_staff()).id)
        response = await client.patch(f"{URL}/{made['id']}", headers=await make_key(),
                                      json={"target_url": "https://work.weixin.qq.com/ca/other"})
        assert response.status_code == 422 and fields_of(response) == ["target_url"]


class TestBadBodies:
    @pytest.fixture
    async def store_code(self, client, wecom):
        store = await make_store()
        members = [await make_staff(store=store), await make_staff(store=store)]
        return await make_wecom_code(client, kind="store", store_id=store.id), members

    @pytest.mark.parametrize(("member", "field"), [
        ({"duty_hours": {"8": [["09:00", "18:00"]]}}, "members[0].duty_hours.8.[key]"),
        ({"duty_hours": {"1": [["18:00", "09:00"]]}}, "members[0].duty_hours.1[0]"),
        ({"duty_hours": {"1": [["09:00", "09:00"]]}}, "members[0].duty_hours.1[0]"),
        ({"duty_hours": {"1": [["9:00", "18:00"]]}}, "members[0].duty_hours.1[0][0]"),
        ({"duty_hours": {"1": [["09:00", "24:01"]]}}, "members[0].duty_hours.1[0][1]"),
        ({"duty_hours": {"1": [["24:00", "24:00"]]}}, "members[0].duty_hours.1[0]"),
        ({"duty_hours": {"1": [["09:00"]]}}, "members[0].duty_hours.1[0][1]"),
        ({"backup": "often"}, "members[0].backup"),
    ])
    async def test_bad_duty_hours_name_the_member_and_day(self, client, store_code, member, field):
        code, staff = store_code
        response = await client.put(f"{URL}/{code['id']}/wecom", headers=await make_key(),
                                    json={"members": [{"staff_id": staff[0].id, **member}]})
        assert response.status_code == 422 and fields_of(response) == [field], response.text

    @pytest.mark.parametrize(("body", "field"), [
        ({"daily_cap": 0}, "daily_cap"),
        ({"tag_names": ["标" * 31]}, "tag_names[0]"),
        ({"tag_names": ["春节", "春节"]}, "tag_names"),
        ({"welcome_link_url": "http://shop.example/p"}, "welcome_link_url"),
        ({"welcome_link_url": "https://shop.example/p"}, "welcome_link_title"),
        ({"welcome_text": "x" * 1001}, "welcome_text"),
        ({"members": []}, "members"),
        ({"state": "mine"}, "state"),
    ])
    async def test_bad_settings_name_the_field(self, client, store_code, body, field):
        code, _ = store_code
        response = await client.put(f"{URL}/{code['id']}/wecom", headers=await make_key(), json=body)
        assert response.status_code == 422 and fields_of(response) == [field], response.text

    async def test_members_must_be_distinct_staff_of_the_store_on_wecom(self, client, store_code, queue):
        code, (a, b) = store_code
        outsider = await make_staff()
        b.wecom_userid = None
        await b.save()
        ops = await make_key()
        await queue.drain()
        before = await ContactWay.get(code_id=code["id"])
        for members, field in (
            ([{"staff_id": a.id}, {"staff_id": outsider.id}], "members[1].staff_id"),
            ([{"staff_id": a.id}, {"staff_id": b.id}], "members[1].staff_id"),
            ([{"staff_id": a.id}, {"staff_id": a.id}], "members[1].staff_id"),
            ([{"staff_id": 2**31 - 1}], "members[0].staff_id"),
        ):
            response = await client.put(f"{URL}/{code['id']}/wecom", headers=ops, json={"members": members})
            assert response.status_code == 422 and fields_of(response) == [field], response.text
        after = await ContactWay.get(code_id=code["id"])
        assert (after.version, after.status) == (before.version, before.status)  # refused: nothing written

    async def test_a_staff_code_takes_neither_members_nor_a_cap(self, client, wecom):
        member = await make_staff()
        made = await make_wecom_code(client, kind="staff", staff_id=member.id)
        ops = await make_key()
        for body, field in (({"daily_cap": 5}, "daily_cap"), ({"members": [{"staff_id": member.id}]}, "members")):
            response = await client.put(f"{URL}/{made['id']}/wecom", headers=ops, json=body)
            assert response.status_code == 422 and fields_of(response) == [field], response.text


class TestScope:
    async def test_staff_manage_their_own_staff_code_only(self, client, wecom):
        store = await make_store()
        me, colleague = await make_staff(store=store), await make_staff(store=store)
        mine = await make_wecom_code(client, kind="staff", staff_id=me.id)
        theirs = await make_wecom_code(client, kind="staff", staff_id=colleague.id)
        shared = await make_wecom_code(client, kind="store", store_id=store.id)
        key = await make_key(role=Role.STAFF, staff=me)
        assert (await client.get(f"{URL}/{mine['id']}/wecom", headers=key)).status_code == 200
        put = await client.put(f"{URL}/{mine['id']}/wecom", headers=key, json={"welcome_text": "您好，我是店员"})
        assert put.status_code == 200 and put.json()["welcome_text"] == "您好，我是店员"
        for code in (theirs, shared):
            assert (await client.get(f"{URL}/{code['id']}/wecom", headers=key)).status_code == 403
            refused = await client.put(f"{URL}/{code['id']}/wecom", headers=key, json={"welcome_text": "改"})
            assert refused.status_code == 403
        assert (await ContactWay.get(code_id=theirs["id"])).welcome_text == ""

    async def test_store_managers_manage_their_stores_codes_only(self, client, wecom):
        home, other = await make_store(), await make_store()
        await make_staff(store=home)
        await make_staff(store=other)
        ours = await make_wecom_code(client, kind="store", store_id=home.id)
        foreign = await make_wecom_code(client, kind="store", store_id=other.id)
        key = await make_key(role=Role.STORE_MANAGER, store=home)
        for code, status in ((ours, 200), (foreign, 403)):
            response = await client.put(f"{URL}/{code['id']}/wecom", headers=key, json={"daily_cap": 30})
            assert response.status_code == status, response.text
        for role in (Role.POS, Role.CARRIER_APP):
            response = await client.get(f"{URL}/{ours['id']}/wecom", headers=await make_key(role=role))
            assert response.status_code == 403


class TestWrites:
    async def test_same_idempotency_key_returns_the_first_answer_and_changes_once(self, client, wecom, queue):
        made = await make_wecom_code(client, kind="staff", staff_id=(await make_staff()).id)
        await queue.drain()
        headers = {**await make_key(), "Idempotency-Key": "welcome-2031-spring"}
        first = await client.put(f"{URL}/{made['id']}/wecom", headers=headers, json={"welcome_text": "春节好"})
        await queue.drain()
        second = await client.put(f"{URL}/{made['id']}/wecom", headers=headers, json={"welcome_text": "春节好"})
        assert first.status_code == second.status_code == 200 and first.json() == second.json()
        assert await OutboxMessage.filter(topic=SYNC_TOPIC).count() == 2  # the creation's and one PUT's
        other = await client.put(f"{URL}/{made['id']}/wecom", headers=headers, json={"welcome_text": "元宵好"})
        assert other.status_code == 422 and fields_of(other) == ["Idempotency-Key"]

    async def test_racing_writers_never_overwrite_silently(self, client, wecom):
        made = await make_wecom_code(client, kind="staff", staff_id=(await make_staff()).id)
        ops = await make_key()
        responses = await asyncio.gather(*(
            client.put(f"{URL}/{made['id']}/wecom", headers=ops, json={"welcome_text": f"欢迎{i}"}) for i in range(6)
        ))
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {200, 409} and 200 in statuses, statuses
        assert all(r.json()["type"] == "/problems/conflict" for r in responses if r.status_code == 409)
        last = max((r.json() for r in responses if r.status_code == 200), key=lambda body: body["version"])
        assert (await ContactWay.get(code_id=made["id"])).welcome_text == last["welcome_text"]


class TestPatch:
    """PUT replaces the settings; PATCH changes only those sent (the probe lost a welcome coupon to a PUT of
    the welcome text alone)."""

    async def test_patch_keeps_what_it_does_not_send_and_put_replaces(self, client, wecom, queue):
        store = await make_store()
        await make_staff(store=store)
        made = await make_wecom_code(client, kind="store", store_id=store.id)
        ops = await make_key()
        settings = {"welcome_text": "欢迎", "tag_names": ["春节"], "daily_cap": 30, "skip_verify": False}
        assert (await client.put(f"{URL}/{made['id']}/wecom", headers=ops, json=settings)).status_code == 200

        patched = await client.patch(f"{URL}/{made['id']}/wecom", headers=ops, json={"welcome_text": "新年好"})
        assert patched.status_code == 200, patched.text
        kept = {name: patched.json()[name] for name in ("welcome_text", "tag_names", "daily_cap", "skip_verify")}
        assert kept == {**settings, "welcome_text": "新年好"}

        replaced = await client.put(f"{URL}/{made['id']}/wecom", headers=ops, json={"welcome_text": "你好"})
        assert {name: replaced.json()[name] for name in ("welcome_text", "tag_names", "daily_cap", "skip_verify")} \
            == {"welcome_text": "你好", "tag_names": [], "daily_cap": None, "skip_verify": True}

    async def test_patch_refuses_what_put_refuses(self, client, wecom):
        store = await make_store()
        await make_staff(store=store)
        made = await make_wecom_code(client, kind="store", store_id=store.id)
        response = await client.patch(f"{URL}/{made['id']}/wecom", headers=await make_key(), json={"daily_cap": 0})
        assert response.status_code == 422 and fields_of(response) == ["daily_cap"], response.text
