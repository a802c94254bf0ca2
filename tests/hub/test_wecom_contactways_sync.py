"""Contact-me codes against the WeCom sandbox over real HTTP: creation, settings, the daily cap across
midnight, duty hours, backups, disabling, and WeCom failing (fixed clocks in 2031, see ``at`` in jobs.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from hub.codes.models import Code
from hub.database import transaction
from hub.imports.kinds import ImportKind
from hub.imports.service import import_csv
from hub.links import lifecycle
from hub.outbox.models import OutboxMessage, OutboxStatus
from hub.staff.models import StaffRole
from hub.wecom.contact_ways.models import ContactAddCount
from hub.wecom.contact_ways.replanning import record_add, replan
from hub.wecom.contact_ways.service import resync
from hub.wecom.contact_ways.sync import sync
from hub.wecom.models import ContactWay, ContactWayStatus
from tests.factories import make_key, make_staff, make_store

URL = "/api/v1/codes"
UTC = UTC
# Monday 2031-03-03 in Shanghai (UTC+8): 23:58 and 23:59 are 15:58 and 15:59 UTC; Tuesday 00:01 is 16:01 UTC.
MON_2358 = datetime(2031, 3, 3, 15, 58, tzinfo=UTC)
MON_2359 = datetime(2031, 3, 3, 15, 59, tzinfo=UTC)
TUE_0001 = datetime(2031, 3, 3, 16, 1, tzinfo=UTC)


def monday(hour: int, minute: int) -> datetime:
    """That time (08:00 or later) on Monday 2031-03-03 in Shanghai, as UTC."""
    return datetime(2031, 3, 3, hour - 8, minute, tzinfo=UTC)


@pytest.fixture
async def links(settings):
    await lifecycle.start(settings)
    yield
    await lifecycle.stop()


async def make_wecom_code(client, **body) -> dict:
    response = await client.post(URL, headers=await make_key(), json={"target_kind": "wecom_contact", **body})
    assert response.status_code == 201, response.text
    return response.json()


async def put_settings(client, code_id: int, **body) -> dict:
    response = await client.put(f"{URL}/{code_id}/wecom", headers=await make_key(), json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def sandbox_way(wecom, slug: str, kind: str = "store") -> dict | None:
    return next((w for w in await wecom.contact_ways() if w["state"] == f"{kind}-{slug}"), None)


async def calls(wecom, api: str) -> int:
    return (await wecom.stats())["calls"].get(f"externalcontact/{api}", 0)


async def count_adds(way: ContactWay, *adds) -> None:
    """Record adds (staff, at) the way the callbacks do: inside a transaction."""
    async with transaction():
        for staff, at in adds:
            await record_add(contact_way_id=way.id, staff_id=staff.id, at=at)


async def replan_at(now: datetime, since: datetime | None = None) -> list[int]:
    async with transaction():
        return await replan(now=now, since=since)


class TestStaffCode:
    async def test_gets_a_one_person_qr_contact_way_and_the_link_leads_to_it(self, client, wecom, queue, links):
        member = await make_staff()
        store = await member.store
        made = await make_wecom_code(client, kind="staff", staff_id=member.id)
        assert made["target_url"] == f"http://hub.test/s/{store.code}"  # until WeCom answers: the storefront
        await queue.drain()
        way = await sandbox_way(wecom, made["slug"], "staff")
        assert (way["type"], way["scene"], way["user"], way["skip_verify"]) == (1, 2, [member.wecom_userid], True)
        code = await Code.get(id=made["id"])
        assert (code.wecom_config_id, code.wecom_qr_code, code.target_url) == (
            way["config_id"], way["qr_code"], way["qr_code"])
        assert code.version == made["version"] + 1  # the link cache notices the new target
        row = await ContactWay.get(code_id=code.id)
        assert (row.status, row.applied_userids, row.last_error) == (ContactWayStatus.SYNCED, [member.wecom_userid], "")
        redirect = await client.get(f"/c/{code.slug}")
        assert redirect.status_code == 302
        assert redirect.headers["location"].startswith(way["qr_code"] + "?hub_attr=")

    async def test_state_is_the_kind_prefix_and_slug_within_thirty_characters(self, client, wecom, queue):
        made = await make_wecom_code(client, kind="staff", staff_id=(await make_staff()).id)
        row = await ContactWay.get(code_id=made["id"])
        assert row.state == f"staff-{made['slug']}" and len(row.state) <= 30

    async def test_a_staff_member_without_wecom_account_is_422_on_staff_id(self, client, wecom):
        member = await make_staff()
        member.wecom_userid = None
        await member.save()
        response = await client.post(URL, headers=await make_key(),
                                     json={"kind": "staff", "staff_id": member.id, "target_kind": "wecom_contact"})
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["staff_id"]
        assert await Code.all().count() == 0 and await ContactWay.all().count() == 0


class TestStoreCode:
    async def test_is_shared_by_the_stores_staff_on_wecom_with_managers_as_backups(self, client, wecom, queue):
        store = await make_store()
        clerks = [await make_staff(store=store), await make_staff(store=store)]
        manager = await make_staff(store=store, role=StaffRole.MANAGER)
        offline = await make_staff(store=store)
        offline.wecom_userid = None
        await offline.save()
        await make_staff()  # another store's
        made = await make_wecom_code(client, kind="store", store_id=store.id)
        await queue.drain()
        way = await sandbox_way(wecom, made["slug"])
        assert way["type"] == 2 and sorted(way["user"]) == sorted(c.wecom_userid for c in clerks)
        body = (await client.get(f"{URL}/{made['id']}/wecom", headers=await make_key())).json()
        assert [(m["staff_id"], m["backup"]) for m in body["members"]] == [
            (clerks[0].id, False), (clerks[1].id, False), (manager.id, True)]

    async def test_new_settings_reach_wecom_with_update_contact_way(self, client, wecom, queue):
        store = await make_store()
        a, b, c = [await make_staff(store=store) for _ in range(3)]
        made = await make_wecom_code(client, kind="store", store_id=store.id)
        await queue.drain()
        body = await put_settings(client, made["id"], skip_verify=False,
                                  members=[{"staff_id": a.id}, {"staff_id": c.id, "backup": True}])
        assert body["status"] == "pending"
        await queue.drain()
        way = await sandbox_way(wecom, made["slug"])
        assert (way["user"], way["skip_verify"]) == ([a.wecom_userid], False)
        assert await calls(wecom, "add_contact_way") == 1 and await calls(wecom, "update_contact_way") == 1
        row = await ContactWay.get(code_id=made["id"])
        assert (row.status, row.applied_userids) == (ContactWayStatus.SYNCED, [a.wecom_userid])
        listed = (await client.get(f"{URL}/{made['id']}/wecom", headers=await make_key())).json()["members"]
        assert [(m["staff_id"], m["backup"]) for m in listed] == [(a.id, False), (c.id, True)]  # b is out

    async def test_a_contact_way_wecom_no_longer_has_is_made_again(self, client, wecom, queue):
        """Deleted in the admin console (or a restarted sandbox): a resync makes a new one, the link follows."""
        store = await make_store()
        member = await make_staff(store=store)
        made = await make_wecom_code(client, kind="store", store_id=store.id)
        await queue.drain()
        old = await sandbox_way(wecom, made["slug"])
        async with wecom.client() as admin:
            await admin.del_contact_way(old["config_id"])
        async with transaction():
            await resync(code_id=made["id"])
        await queue.drain()
        new = await sandbox_way(wecom, made["slug"])
        assert new is not None and new["config_id"] != old["config_id"] and new["user"] == [member.wecom_userid]
        code = await Code.get(id=made["id"])
        assert (code.wecom_config_id, code.target_url) == (new["config_id"], new["qr_code"])
        assert (await ContactWay.get(code_id=made["id"])).status == ContactWayStatus.SYNCED

    async def test_a_member_deactivated_or_back_changes_the_list_in_wecom(self, client, wecom, queue):
        store = await make_store()
        a, b = await make_staff(store=store), await make_staff(store=store)
        made = await make_wecom_code(client, kind="store", store_id=store.id)
        await queue.drain()
        assert sorted((await sandbox_way(wecom, made["slug"]))["user"]) == sorted([a.wecom_userid, b.wecom_userid])

        off = await client.patch(f"/api/v1/staff/{b.id}", headers=await make_key(), json={"active": False})
        assert off.status_code == 200, off.text
        await queue.drain()
        assert (await sandbox_way(wecom, made["slug"]))["user"] == [a.wecom_userid]

        await client.patch(f"/api/v1/staff/{b.id}", headers=await make_key(), json={"active": True})
        await queue.drain()
        assert sorted((await sandbox_way(wecom, made["slug"]))["user"]) == sorted([a.wecom_userid, b.wecom_userid])

    async def test_a_staff_csv_import_that_deactivates_or_moves_a_member_changes_the_list_in_wecom(
            self, client, wecom, queue):
        store, elsewhere = await make_store(), await make_store()
        a, b, c = [await make_staff(store=store) for _ in range(3)]
        made = await make_wecom_code(client, kind="store", store_id=store.id)
        await queue.drain()
        assert len((await sandbox_way(wecom, made["slug"]))["user"]) == 3

        rows = "".join(f"{s.staff_no},{s.name},{code},clerk,{s.wecom_userid},{active}\n" for s, code, active in [
            (a, store.code, "true"), (b, store.code, "false"), (c, elsewhere.code, "true")])
        async with transaction():
            report = await import_csv(kind=ImportKind.STAFF,
                                      data=f"staff_no,name,store_code,role,wecom_userid,active\n{rows}".encode())
        assert (report.updated, report.unchanged) == (2, 1)
        await queue.drain()
        assert (await sandbox_way(wecom, made["slug"]))["user"] == [a.wecom_userid]

    async def test_a_store_without_staff_on_wecom_is_422_on_store_id(self, client, wecom):
        store = await make_store()
        response = await client.post(URL, headers=await make_key(),
                                     json={"kind": "store", "store_id": store.id, "target_kind": "wecom_contact"})
        assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == ["store_id"]


class TestDailyCapAcrossMidnight:
    async def test_cap_takes_a_member_out_and_shanghai_midnight_puts_them_back(self, client, wecom, queue):
        store = await make_store()
        a, b = await make_staff(store=store), await make_staff(store=store)
        made = await make_wecom_code(client, kind="store", store_id=store.id)
        await put_settings(client, made["id"], daily_cap=2)
        await queue.drain()
        way = await ContactWay.get(code_id=made["id"])
        await count_adds(way, (a, MON_2358))
        await queue.drain()
        assert sorted((await sandbox_way(wecom, made["slug"]))["user"]) == sorted([a.wecom_userid, b.wecom_userid])

        await count_adds(way, (a, MON_2359))  # the second add of the Shanghai day reaches the cap
        await queue.drain()
        assert (await sandbox_way(wecom, made["slug"]))["user"] == [b.wecom_userid]
        assert await replan_at(MON_2359, since=MON_2358) == []  # nothing changes before midnight

        assert await replan_at(TUE_0001, since=MON_2359) == [way.id]
        await queue.drain()
        # Back in, and first: a was left out of the last list (least recently applied), both have 0 adds.
        assert (await sandbox_way(wecom, made["slug"]))["user"] == [a.wecom_userid, b.wecom_userid]
        assert (await ContactWay.get(id=way.id)).applied_userids == [a.wecom_userid, b.wecom_userid]

    async def test_adds_are_counted_per_shanghai_day_and_member(self, client, wecom, queue):
        store = await make_store()
        a = await make_staff(store=store)
        made = await make_wecom_code(client, kind="store", store_id=store.id)
        way = await ContactWay.get(code_id=made["id"])
        await count_adds(way, (a, MON_2358), (a, MON_2359), (a, TUE_0001))
        rows = await ContactAddCount.filter(contact_way_id=way.id).order_by("day").values_list("day", "adds")
        assert [(d.isoformat(), n) for d, n in rows] == [("2031-03-03", 2), ("2031-03-04", 1)]


class TestDutyHoursAndBackups:
    async def test_duty_boundaries_change_the_list_and_off_hours_fall_to_the_backup(self, client, wecom, queue):
        store = await make_store()
        morning, afternoon = await make_staff(store=store), await make_staff(store=store)
        manager = await make_staff(store=store, role=StaffRole.MANAGER)
        made = await make_wecom_code(client, kind="store", store_id=store.id)
        await put_settings(client, made["id"], members=[
            {"staff_id": morning.id, "duty_hours": {"1": [["09:00", "12:00"]]}},
            {"staff_id": afternoon.id, "duty_hours": {"1": [["12:00", "18:00"]]}},
            {"staff_id": manager.id, "backup": True},
        ])
        await queue.drain()
        way = await ContactWay.get(code_id=made["id"])

        async def replan_and_look(now, since):
            synced = await replan_at(now, since)
            await queue.drain()
            return synced, (await sandbox_way(wecom, made["slug"]))["user"]

        # Without a window every way is planned (what WeCom got from the settings depended on the real clock).
        assert (await replan_and_look(monday(11, 0), None))[1] == [morning.wecom_userid]
        assert await replan_and_look(monday(11, 30), monday(11, 0)) == ([], [morning.wecom_userid])
        assert await replan_and_look(monday(12, 1), monday(11, 59)) == ([way.id], [afternoon.wecom_userid])
        assert await replan_and_look(monday(18, 1), monday(17, 59)) == ([way.id], [manager.wecom_userid])

    async def test_backups_under_the_cap_first_then_every_backup_regardless(self, client, wecom, queue):
        store = await make_store()
        clerk = await make_staff(store=store)
        m1 = await make_staff(store=store, role=StaffRole.MANAGER)
        m2 = await make_staff(store=store, role=StaffRole.MANAGER_ON_DUTY)
        made = await make_wecom_code(client, kind="store", store_id=store.id)
        await put_settings(client, made["id"], daily_cap=1)
        await queue.drain()
        way = await ContactWay.get(code_id=made["id"])

        async def users_after_add(staff):
            await count_adds(way, (staff, MON_2358))
            await queue.drain()
            return sorted((await sandbox_way(wecom, made["slug"]))["user"])

        assert await users_after_add(clerk) == sorted([m1.wecom_userid, m2.wecom_userid])
        assert await users_after_add(m1) == [m2.wecom_userid]
        # Everyone is capped: WeCom needs a user, so every backup takes customers (never the capped clerk).
        assert await users_after_add(m2) == sorted([m1.wecom_userid, m2.wecom_userid])


class TestDisable:
    async def test_disabling_deletes_the_contact_way_and_enabling_makes_a_new_one(self, client, wecom, queue):
        member = await make_staff()
        made = await make_wecom_code(client, kind="staff", staff_id=member.id)
        await queue.drain()
        first = await sandbox_way(wecom, made["slug"], "staff")
        ops = await make_key()
        assert (await client.post(f"{URL}/{made['id']}/disable", headers=ops)).status_code == 200
        await queue.drain()
        assert await sandbox_way(wecom, made["slug"], "staff") is None
        code = await Code.get(id=made["id"])
        assert (code.wecom_config_id, code.wecom_qr_code) == (None, None)
        assert (await ContactWay.get(code_id=code.id)).status == ContactWayStatus.DELETED
        response = await client.put(f"{URL}/{made['id']}/wecom", headers=ops, json={})
        assert response.status_code == 409

        assert (await client.patch(f"{URL}/{made['id']}", headers=ops, json={"active": True})).status_code == 200
        await queue.drain()
        second = await sandbox_way(wecom, made["slug"], "staff")
        assert second["config_id"] != first["config_id"] and second["user"] == [member.wecom_userid]
        assert (await Code.get(id=code.id)).target_url == second["qr_code"]

    async def test_disabling_through_patch_deletes_it_too(self, client, wecom, queue):
        made = await make_wecom_code(client, kind="staff", staff_id=(await make_staff()).id)
        await queue.drain()
        response = await client.patch(f"{URL}/{made['id']}", headers=await make_key(), json={"active": False})
        assert response.status_code == 200
        await queue.drain()
        assert await wecom.contact_ways() == []


class TestWecomFailures:
    async def test_frequency_limit_is_retried_until_the_contact_way_is_made(self, client, wecom, queue):
        # The client itself retries 45009 three times; the fourth refusal fails the delivery, the outbox retries.
        await wecom.fault("externalcontact/add_contact_way", 45009, times=4)
        made = await make_wecom_code(client, kind="staff", staff_id=(await make_staff()).id)
        await queue.drain()
        assert await calls(wecom, "add_contact_way") == 5
        assert len(await wecom.contact_ways()) == 1
        row = await ContactWay.get(code_id=made["id"])
        assert (row.status, row.last_error) == (ContactWayStatus.SYNCED, "")
        message = await OutboxMessage.get(topic="wecom.contact_way.sync")
        assert (message.status, message.attempts) == (OutboxStatus.DELIVERED, 2)

    async def test_an_error_that_persists_leaves_the_way_failed_with_the_error_shown(self, client, wecom, queue):
        await wecom.fault("externalcontact/add_contact_way", 60111, times=50)
        made = await make_wecom_code(client, kind="staff", staff_id=(await make_staff()).id)
        await queue.drain()
        row = await ContactWay.get(code_id=made["id"])
        assert row.status == ContactWayStatus.FAILED and "60111" in row.last_error
        body = (await client.get(f"{URL}/{made['id']}/wecom", headers=await make_key())).json()
        assert (body["status"], body["last_error"], body["config_id"]) == ("failed", row.last_error, None)
        assert (await Code.get(id=made["id"])).target_url.startswith("http://hub.test/s/")  # the link still works
        message = await OutboxMessage.get(topic="wecom.contact_way.sync")
        assert (message.status, message.attempts) == (OutboxStatus.DEAD, message.max_attempts)

    async def test_a_failed_delete_is_retried(self, client, wecom, queue):
        made = await make_wecom_code(client, kind="staff", staff_id=(await make_staff()).id)
        await queue.drain()
        await wecom.fault("externalcontact/del_contact_way", 60011, times=1)
        await client.post(f"{URL}/{made['id']}/disable", headers=await make_key())
        await queue.drain()
        assert await wecom.contact_ways() == []
        assert await calls(wecom, "del_contact_way") == 2


class TestRacingSyncs:
    async def test_syncs_racing_to_make_the_contact_way_leave_exactly_one(self, client, wecom, queue):
        made = await make_wecom_code(client, kind="staff", staff_id=(await make_staff()).id)
        way = await ContactWay.get(code_id=made["id"])
        now = datetime.now(UTC)
        # With the creation's own message, three syncs race; each loser deletes the contact way it made.
        outcomes = await asyncio.gather(*(sync(contact_way_id=way.id, now=now) for _ in range(2)))
        await queue.drain()
        assert set(outcomes) <= {"added", "updated", "unchanged"}
        [left] = await wecom.contact_ways()
        assert (await Code.get(id=made["id"])).wecom_config_id == left["config_id"]
        assert await calls(wecom, "del_contact_way") == await calls(wecom, "add_contact_way") - 1
