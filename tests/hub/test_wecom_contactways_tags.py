"""Corp tags by name (``tag_ids_for``) against the WeCom sandbox: found, created in the hub's group, cached."""

from __future__ import annotations

from hub.wecom.tags.models import WecomTag
from hub.wecom.tags.service import GROUP_NAME, tag_ids_for
from tests.factories import make_key, make_staff


async def tag_calls(wecom) -> tuple[int, int]:
    counted = (await wecom.stats())["calls"]
    return counted.get("externalcontact/get_corp_tag_list", 0), counted.get("externalcontact/add_corp_tag", 0)


async def groups(wecom) -> dict[str, dict[str, str]]:
    """group name -> tag name -> tag id, as the sandbox holds them."""
    async with wecom.client() as client:
        return {g["group_name"]: {t["name"]: t["id"] for t in g["tag"]} for g in await client.get_corp_tag_list()}


async def test_missing_tags_are_made_in_the_hubs_group_and_cached(wecom):
    ids = await tag_ids_for(["春节活动", "门店引流"])
    assert await tag_calls(wecom) == (1, 1)
    assert await tag_ids_for(["门店引流", "春节活动"]) == [ids[1], ids[0]]
    assert await tag_calls(wecom) == (1, 1)  # answered from the cache
    made = (await groups(wecom))[GROUP_NAME]
    assert ids == [made["春节活动"], made["门店引流"]]
    assert {(t.name, t.tag_id, t.group_name) for t in await WecomTag.all()} == {
        ("春节活动", ids[0], GROUP_NAME), ("门店引流", ids[1], GROUP_NAME)}


async def test_a_tag_wecom_has_in_another_group_is_used_not_made_again(wecom):
    async with wecom.client() as client:
        gold = (await client.add_corp_tag(group_name="会员等级", tags=["金卡"]))["tag"][0]["id"]
    ids = await tag_ids_for(["金卡", "新客", "金卡"])
    found = await groups(wecom)
    assert ids == [gold, found[GROUP_NAME]["新客"]]
    assert "金卡" not in found[GROUP_NAME]


async def test_no_names_need_no_call(wecom):
    assert await tag_ids_for([]) == []
    assert await tag_calls(wecom) == (0, 0)


async def test_a_codes_tags_exist_in_wecom_once_its_contact_way_is_synced(client, wecom, queue):
    ops = await make_key()
    made = await client.post("/api/v1/codes", headers=ops, json={
        "kind": "staff", "staff_id": (await make_staff()).id, "target_kind": "wecom_contact"})
    response = await client.put(f"/api/v1/codes/{made.json()['id']}/wecom", headers=ops,
                                json={"tag_names": ["一人一码", "到店客户"]})
    assert response.status_code == 200, response.text
    await queue.drain()
    assert set((await groups(wecom))[GROUP_NAME]) == {"一人一码", "到店客户"}
    assert response.json()["tag_names"] == ["一人一码", "到店客户"]
