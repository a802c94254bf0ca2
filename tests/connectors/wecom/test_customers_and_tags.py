"""Customers (external contacts) and corp tags through the client, with the platform's answer shapes."""

from __future__ import annotations

import pytest

from connectors.wecom.errors import WecomError, WecomNotFound


async def _add(sandbox, staff: str, state: str = "s1", **body) -> str:
    return (await sandbox.simulate("add", staff=staff, state=state, deliver=False, **body))["external_userid"]


async def test_a_customer_shows_the_contact_and_each_staff_member_holding_it(wecom_sandbox):
    customer = await _add(wecom_sandbox, "zhangsan", state="store-7", name="王五")
    await _add(wecom_sandbox, "lisi", state="store-8", external_userid=customer)
    async with wecom_sandbox.client() as client:
        answer = await client.get_external_contact(customer)
    assert set(answer) == {"external_contact", "follow_user"}
    contact = answer["external_contact"]
    assert (contact["external_userid"], contact["name"], contact["type"]) == (customer, "王五", 1)
    assert contact["unionid"].startswith("o")  # the sandbox corp has a WeChat developer ID bound
    follows = {f["userid"]: f for f in answer["follow_user"]}
    assert set(follows) == {"zhangsan", "lisi"}
    assert (follows["zhangsan"]["state"], follows["zhangsan"]["add_way"], follows["zhangsan"]["tags"]) \
        == ("store-7", 1, [])
    assert isinstance(follows["lisi"]["createtime"], int)


async def test_a_unionid_comes_only_from_a_bound_corp_or_as_simulated(wecom_sandbox_factory):
    sandbox = wecom_sandbox_factory(unionid_bound=False)
    anonymous = await _add(sandbox, "zhangsan")
    known = await _add(sandbox, "zhangsan", unionid="oKnownFromTheStorefront")
    async with sandbox.client() as client:
        assert "unionid" not in (await client.get_external_contact(anonymous))["external_contact"]
        assert (await client.get_external_contact(known))["external_contact"]["unionid"] == "oKnownFromTheStorefront"


async def test_batch_get_by_user_pages_with_a_cursor(wecom_sandbox):
    added = {await _add(wecom_sandbox, "zhangsan", state=f"s{n}") for n in range(3)}
    await _add(wecom_sandbox, "lisi")
    async with wecom_sandbox.client() as client:
        first, cursor = await client.batch_get_by_user(["zhangsan"], limit=2)
        second, end = await client.batch_get_by_user(["zhangsan"], cursor=cursor, limit=2)
        every = [entry async for entry in client.iter_contacts_by_user(["zhangsan"], limit=2)]
    assert (len(first), len(second), end) == (2, 1, "") and cursor
    assert {e["external_contact"]["external_userid"] for e in first + second} == added
    assert every == first + second
    info = first[0]["follow_info"]
    assert info["userid"] == "zhangsan" and info["state"].startswith("s") and info["tag_id"] == []


async def test_the_iterator_asks_for_at_most_100_staff_members_at_a_time(wecom_sandbox):
    staff = [f"staff{n:03d}" for n in range(150)]
    customer = await _add(wecom_sandbox, "staff120")
    async with wecom_sandbox.client() as client:
        entries = [entry async for entry in client.iter_contacts_by_user(staff)]
    assert [e["external_contact"]["external_userid"] for e in entries] == [customer]
    assert (await wecom_sandbox.stats())["calls"]["externalcontact/batch/get_by_user"] == 2


async def test_follow_users_are_the_directory(wecom_sandbox):
    await wecom_sandbox.load_users([{"userid": "zhangsan", "name": "张三"}, {"userid": "lisi", "name": "李四"}])
    async with wecom_sandbox.client() as client:
        assert await client.get_follow_user_list() == ["zhangsan", "lisi"]


async def test_a_customer_who_left_every_staff_member_is_not_a_contact(wecom_sandbox):
    customer = await _add(wecom_sandbox, "zhangsan")
    await wecom_sandbox.simulate("del_follow_user", staff="zhangsan", external_userid=customer, deliver=False)
    async with wecom_sandbox.client() as client:
        with pytest.raises(WecomNotFound) as caught:
            await client.get_external_contact(customer)
    assert caught.value.errcode == 84061


class TestTags:
    async def test_tags_are_added_to_a_group_and_listed(self, wecom_sandbox):
        async with wecom_sandbox.client() as client:
            group = await client.add_corp_tag(group_name="客户等级", tags=["高", "中"])
            again = await client.add_corp_tag(group_name="客户等级", tags=["中", "低"])
            everything = await client.get_corp_tag_list()
            only_high = await client.get_corp_tag_list(tag_ids=[group["tag"][0]["id"]])
            by_group = await client.get_corp_tag_list(group_ids=[group["group_id"]])
        assert group["group_name"] == "客户等级" and [t["name"] for t in group["tag"]] == ["高", "中"]
        assert again["group_id"] == group["group_id"] and again["tag"][0]["id"] == group["tag"][1]["id"]
        assert [t["name"] for g in everything for t in g["tag"]] == ["高", "中", "低"]
        assert [t["name"] for g in only_high for t in g["tag"]] == ["高"]
        assert by_group == everything

    async def test_marking_tags_shows_on_the_customer_and_is_recorded(self, wecom_sandbox):
        customer = await _add(wecom_sandbox, "zhangsan")
        async with wecom_sandbox.client() as client:
            group = await client.add_corp_tag(group_name="意向", tags=["5G", "宽带"])
            tags = {t["name"]: t["id"] for t in group["tag"]}
            await client.mark_tag(userid="zhangsan", external_userid=customer, add_tag=[tags["5G"], tags["宽带"]])
            await client.mark_tag(userid="zhangsan", external_userid=customer, remove_tag=[tags["宽带"]])
            follow = (await client.get_external_contact(customer))["follow_user"][0]
        assert follow["tags"] == [{"group_name": "意向", "tag_name": "5G", "tag_id": tags["5G"], "type": 1}]
        marks = await wecom_sandbox.sent("mark_tag")
        assert [(m["add_tag"], m["remove_tag"]) for m in marks] == [([tags["5G"], tags["宽带"]], []),
                                                                    ([], [tags["宽带"]])]

    async def test_an_unknown_tag_or_a_stranger_is_refused(self, wecom_sandbox):
        customer = await _add(wecom_sandbox, "zhangsan")
        async with wecom_sandbox.client() as client:
            with pytest.raises(WecomError) as unknown_tag:
                await client.mark_tag(userid="zhangsan", external_userid=customer, add_tag=["etNOPE"])
            with pytest.raises(WecomNotFound) as stranger:
                await client.mark_tag(userid="lisi", external_userid=customer, add_tag=["etNOPE"])
        assert (unknown_tag.value.errcode, stranger.value.errcode) == (40068, 84061)
        assert await wecom_sandbox.sent("mark_tag") == []
