"""Messages: welcome messages (once, within the window), group-send tasks and their results, app messages."""

from __future__ import annotations

import asyncio
import time

import pytest

from connectors.wecom.errors import WecomError, WecomNotFound, WelcomeCodeUsed

IMAGE = {"msgtype": "image", "image": {"media_id": "MEDIA_ID"}}


async def _add(sandbox, staff: str = "zhangsan", **body) -> dict:
    return await sandbox.simulate("add", staff=staff, state="s1", deliver=False, **body)


class TestWelcome:
    async def test_a_welcome_code_works_once(self, wecom_sandbox):
        added = await _add(wecom_sandbox)
        async with wecom_sandbox.client() as client:
            await client.send_welcome_msg(welcome_code=added["welcome_code"], text="欢迎", attachments=[IMAGE])
            with pytest.raises(WelcomeCodeUsed) as caught:
                await client.send_welcome_msg(welcome_code=added["welcome_code"], text="again")
        assert caught.value.errcode == 41051 and "already used" in caught.value.errmsg
        [sent] = await wecom_sandbox.sent("welcome")
        assert (sent["external_userid"], sent["userid"], sent["text"], sent["attachments"]) \
            == (added["external_userid"], "zhangsan", {"content": "欢迎"}, [IMAGE])

    async def test_a_welcome_code_expires_after_the_window(self, wecom_sandbox_factory):
        sandbox = wecom_sandbox_factory(welcome_window_seconds=0.3)
        added = await _add(sandbox)
        await asyncio.sleep(0.4)
        async with sandbox.client() as client:
            with pytest.raises(WelcomeCodeUsed) as caught:
                await client.send_welcome_msg(welcome_code=added["welcome_code"], text="too late")
        assert "expired" in caught.value.errmsg and await sandbox.sent("welcome") == []

    async def test_no_welcome_code_when_the_console_has_a_welcome_message(self, wecom_sandbox):
        added = await _add(wecom_sandbox, welcome=False)
        assert added["welcome_code"] is None and "WelcomeCode" not in added["callback"]["plaintext"]


class TestGroupSend:
    async def test_a_task_waits_for_the_staff_member_then_reports_each_customer(self, wecom_sandbox):
        kept, gone = (await _add(wecom_sandbox))["external_userid"], (await _add(wecom_sandbox))["external_userid"]
        stranger = "wm" + "9" * 30
        async with wecom_sandbox.client() as client:
            created = await client.add_msg_template(external_userids=[kept, gone, stranger], sender="zhangsan",
                                                    text="五月流量包", attachments=[IMAGE])
            assert created["fail_list"] == [stranger]
            tasks, cursor = await client.get_groupmsg_task(msgid=created["msgid"])
            assert (tasks, cursor) == ([{"userid": "zhangsan", "status": 0}], "")
            await wecom_sandbox.simulate("del_external_contact", staff="zhangsan", external_userid=gone,
                                         deliver=False)
            await wecom_sandbox.confirm_group_message(msgid=created["msgid"], userid="zhangsan")
            [task], _ = await client.get_groupmsg_task(msgid=created["msgid"])
            results, _ = await client.get_groupmsg_send_result(msgid=created["msgid"], userid="zhangsan")
        assert task["status"] == 1 and task["send_time"] == pytest.approx(time.time(), abs=5)
        assert {r["external_userid"]: r["status"] for r in results} == {kept: 1, gone: 2}
        assert "send_time" in next(r for r in results if r["external_userid"] == kept)
        [sent] = await wecom_sandbox.sent("msg_template")
        assert sent["text"] == {"content": "五月流量包"} and sent["attachments"] == [IMAGE]

    async def test_a_customer_over_the_monthly_quota_gets_status_3(self, wecom_sandbox_factory):
        sandbox = wecom_sandbox_factory(group_msg_monthly_quota=1)
        customer = (await _add(sandbox))["external_userid"]
        async with sandbox.client() as client:
            for _ in range(2):
                msgid = (await client.add_msg_template(external_userids=[customer], text="hi"))["msgid"]
                await sandbox.confirm_group_message(msgid=msgid, userid="zhangsan")
            results, _ = await client.get_groupmsg_send_result(msgid=msgid, userid="zhangsan")
        assert [r["status"] for r in results] == [3]

    async def test_results_page_with_a_cursor(self, wecom_sandbox):
        customers = [(await _add(wecom_sandbox))["external_userid"] for _ in range(3)]
        async with wecom_sandbox.client() as client:
            msgid = (await client.add_msg_template(external_userids=customers, text="hi"))["msgid"]
            first, cursor = await client.get_groupmsg_send_result(msgid=msgid, userid="zhangsan", limit=2)
            rest, end = await client.get_groupmsg_send_result(msgid=msgid, userid="zhangsan", limit=2, cursor=cursor)
        assert [r["external_userid"] for r in first + rest] == customers and end == ""

    async def test_the_platform_limits_are_enforced(self, wecom_sandbox):
        async with wecom_sandbox.client() as client:
            with pytest.raises(WecomError) as too_many:
                await client.add_msg_template(external_userids=[f"wm{n:030d}" for n in range(10_001)], text="x")
            with pytest.raises(WecomError) as attachments:
                await client.add_msg_template(external_userids=["wm1"], attachments=[IMAGE] * 10)
            with pytest.raises(WecomError) as empty:
                await client.add_msg_template(external_userids=["wm1"])
        assert [e.value.errcode for e in (too_many, attachments, empty)] == [40058] * 3
        assert await wecom_sandbox.sent("msg_template") == []


class TestAppMessages:
    async def test_an_app_message_reaches_known_staff_and_names_the_unknown(self, wecom_sandbox):
        await wecom_sandbox.load_users([{"userid": "zhangsan", "name": "张三"}])
        async with wecom_sandbox.client() as client:
            answer = await client.send_app_message(touser=["zhangsan", "ghost"], content="新客户待跟进")
            with pytest.raises(WecomError) as nobody:
                await client.send_app_message(touser=["ghost"], content="x")
        assert answer["invaliduser"] == "ghost" and answer["msgid"]
        [sent] = await wecom_sandbox.sent("app_message")
        assert (sent["content"], sent["delivered"], sent["dropped"]) == ("新客户待跟进", ["zhangsan"], [])
        assert nobody.value.errcode == 81013

    async def test_messages_over_the_per_member_cap_are_silently_dropped(self, wecom_sandbox_factory):
        sandbox = wecom_sandbox_factory(app_messages_per_member_minute=2)
        if time.time() % 60 > 58:  # the cap counts per clock minute: do not straddle two
            await asyncio.sleep(60 - time.time() % 60)
        async with sandbox.client() as client:
            answers = [await client.send_app_message(touser=["zhangsan"], content=f"#{n}") for n in range(3)]
        assert [a["invaliduser"] for a in answers] == ["", "", ""]
        assert [s["dropped"] for s in await sandbox.sent("app_message")] == [[], [], ["zhangsan"]]

    async def test_the_agent_id_must_be_ours(self, wecom_sandbox):
        async with wecom_sandbox.client(agent_id=42) as client:
            with pytest.raises(WecomError) as caught:
                await client.send_app_message(touser=["zhangsan"], content="x")
        assert caught.value.errcode == 40056


async def test_an_unknown_sender_is_not_found_once_a_directory_is_loaded(wecom_sandbox):
    await wecom_sandbox.load_users([{"userid": "zhangsan", "name": "张三"}])
    async with wecom_sandbox.client() as client:
        with pytest.raises(WecomNotFound) as caught:
            await client.add_msg_template(external_userids=["wm1"], sender="ghost", text="x")
    assert caught.value.errcode == 60111
