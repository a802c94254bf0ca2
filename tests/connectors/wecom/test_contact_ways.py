"""Contact ways ("contact me" QR codes) through the client, as the sandbox stores and answers them."""

from __future__ import annotations

import pytest

from connectors.wecom.errors import WecomError, WecomNotFound

STAFF = [{"userid": "zhangsan", "name": "张三"}, {"userid": "lisi", "name": "李四"}]


@pytest.fixture
async def client(wecom_sandbox):
    await wecom_sandbox.load_users(STAFF)
    async with wecom_sandbox.client() as client:
        yield client


async def test_a_qr_contact_way_is_created_with_its_state_and_staff(client, wecom_sandbox):
    created = await client.add_contact_way(type=1, scene=2, state="store-42", user=["zhangsan"], remark="门店42")
    assert set(created) == {"config_id", "qr_code"}
    assert created["qr_code"].startswith("https://wework.qpic.cn/")
    way = await client.get_contact_way(created["config_id"])
    assert {k: way[k] for k in ("config_id", "type", "scene", "state", "user", "skip_verify", "remark", "qr_code")} \
        == {**created, "type": 1, "scene": 2, "state": "store-42", "user": ["zhangsan"], "skip_verify": True,
            "remark": "门店42"}
    assert [w["config_id"] for w in await wecom_sandbox.contact_ways()] == [created["config_id"]]


async def test_an_update_changes_only_the_fields_given(client):
    created = await client.add_contact_way(type=2, scene=2, state="a", user=["zhangsan"], remark="keep")
    await client.update_contact_way(config_id=created["config_id"], state="b", user=["zhangsan", "lisi"],
                                    skip_verify=False)
    way = await client.get_contact_way(created["config_id"])
    assert (way["state"], way["user"], way["skip_verify"], way["remark"]) == ("b", ["zhangsan", "lisi"], False, "keep")


async def test_a_deleted_contact_way_is_gone(client, wecom_sandbox):
    created = await client.add_contact_way(type=1, scene=2, state="s", user=["lisi"])
    await client.del_contact_way(created["config_id"])
    with pytest.raises(WecomError) as caught:
        await client.get_contact_way(created["config_id"])
    assert caught.value.errcode == 40058 and await wecom_sandbox.contact_ways() == []


async def test_a_mini_program_contact_way_has_no_qr_code(client):
    assert (await client.add_contact_way(type=1, scene=1, state="mp", user=["lisi"]))["qr_code"] is None


async def test_a_state_over_30_characters_is_refused(client, wecom_sandbox):
    await client.add_contact_way(type=1, scene=2, state="s" * 30, user=["zhangsan"])
    with pytest.raises(WecomError) as caught:
        await client.add_contact_way(type=1, scene=2, state="s" * 31, user=["zhangsan"])
    assert caught.value.errcode == 40058 and "state" in caught.value.errmsg
    assert len(await wecom_sandbox.contact_ways()) == 1


async def test_an_unknown_staff_member_is_not_found(client):
    with pytest.raises(WecomNotFound) as caught:
        await client.add_contact_way(type=1, scene=2, state="s", user=["ghost"])
    assert caught.value.errcode == 60111


async def test_a_single_person_way_takes_exactly_one_user(client):
    with pytest.raises(WecomError) as caught:
        await client.add_contact_way(type=1, scene=2, state="s", user=["zhangsan", "lisi"])
    assert caught.value.errcode == 40058
