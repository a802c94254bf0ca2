"""Applying WeCom contact events: customers, relationships, funnel events, welcome messages, tags and
notices, with the sandbox playing WeCom over real HTTP. Events come from the sandbox's own simulation
(its plaintext XML), parsed as the webhook parses them, and are handed to ``handle`` as the receipt job does.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.wecom.crypto import parse_fields
from hub.auth.models import Role
from hub.codes.models import CodeKind, TargetKind
from hub.customers.models import Customer, Identity, IdentityKind
from hub.events.models import Event, EventType
from hub.outbox.models import OutboxMessage
from hub.staff.models import StaffRole
from hub.wecom.callbacks import service as callbacks
from hub.wecom.contact_ways.models import ContactAddCount
from hub.wecom.models import ContactStatus, ContactWay, StaffContact
from hub.wecom.tags.models import WecomTag
from tests.factories import make_campaign, make_code, make_key, make_staff, make_store


async def _staff_code(*, staff, welcome_text: str = "", tag_names: list[str] | None = None, campaign=None):
    code = await make_code(kind=CodeKind.STAFF, staff=staff, store=staff.store, target_kind=TargetKind.WECOM_CONTACT,
                           target_url="https://wework.qpic.cn/wwpic/qr.png", campaign=campaign, channel="wecom")
    way = await ContactWay.create(code=code, way_type=1, state=f"s{code.slug}", welcome_text=welcome_text,
                                  tag_names=tag_names or [])
    return code, way


async def _event(sandbox, change: str, **body) -> tuple[dict[str, str], dict]:
    """Have the sandbox play the customer (without posting); the fields the webhook would store."""
    answer = await sandbox.simulate(change, deliver=False, **body)
    return parse_fields(answer["callback"]["plaintext"]), answer


async def _directory(sandbox, *staff) -> None:
    await sandbox.load_users([{"userid": s.wecom_userid, "name": s.name} for s in staff])


async def test_an_add_through_a_staff_code_is_attributed_greeted_counted_and_tagged(wecom):
    store = await make_store(name="城东营业厅")
    staff = await make_staff(store=store, name="王芳")
    campaign = await make_campaign(status="running")
    code, way = await _staff_code(staff=staff, welcome_text="{name}您好，我是{store}的{staff}。",
                                  tag_names=["城东", "新客"], campaign=campaign)
    await _directory(wecom, staff)
    fields, answer = await _event(wecom, "add", staff=staff.wecom_userid, state=way.state, name="李雷")

    outcome = await callbacks.handle(fields, receipt_id=1)

    external = answer["external_userid"]
    assert outcome.startswith("add: customer ") and f"via code {code.slug}" in outcome and "welcome sent" in outcome
    identity = await Identity.get(kind=IdentityKind.WECOM_EXTERNAL, value=external)
    assert identity.verified
    customer = await Customer.get(id=identity.customer_id)
    assert customer.display_name == "李雷"
    contact = await StaffContact.get(staff_id=staff.id, external_userid=external)
    assert (contact.status, contact.code_id, contact.store_id, contact.campaign_id, contact.welcome) == (
        ContactStatus.ACTIVE, code.id, store.id, campaign.id, "sent")
    assert contact.added_at == datetime.fromtimestamp(int(fields["CreateTime"]), UTC)
    event = await Event.get(type=EventType.WECOM_ADD)
    assert (event.customer_id, event.code_id, event.staff_id, event.store_id, event.campaign_id, event.channel) == (
        customer.id, code.id, staff.id, store.id, campaign.id, "wecom")
    assert (await ContactAddCount.get(contact_way_id=way.id, staff_id=staff.id)).adds == 1

    [welcome] = await wecom.sent("welcome")
    assert welcome["welcome_code"] == fields["WelcomeCode"]
    assert welcome["text"]["content"] == "李雷您好，我是城东营业厅的王芳。"
    [link] = welcome["attachments"]
    assert link["link"]["url"].endswith(f"/s/{store.code}?campaign={campaign.id}")

    tag_message = await OutboxMessage.get(topic="wecom.mark_tag")
    assert tag_message.payload == {"userid": staff.wecom_userid, "external_userid": external,
                                   "tag_names": ["城东", "新客"]}


async def test_processing_the_same_add_again_changes_nothing_twice(wecom):
    staff = await make_staff()
    _, way = await _staff_code(staff=staff, tag_names=["新客"])
    await _directory(wecom, staff)
    fields, _ = await _event(wecom, "add", staff=staff.wecom_userid, state=way.state, name="韩梅梅")

    first = await callbacks.handle(fields, receipt_id=7)
    again = await callbacks.handle(fields, receipt_id=7)

    assert first.startswith("add:") and again.startswith("already applied")
    assert await StaffContact.all().count() == 1
    assert await Customer.all().count() == 1
    assert await Event.filter(type=EventType.WECOM_ADD).count() == 1
    assert (await ContactAddCount.get(contact_way_id=way.id)).adds == 1
    assert await OutboxMessage.filter(topic="wecom.mark_tag").count() == 1
    assert len(await wecom.sent("welcome")) == 1  # the welcome code is not spent twice


async def test_an_add_matching_no_code_is_attributed_to_the_staff_member_with_the_default_welcome(wecom):
    store = await make_store(name="西城营业厅")
    staff = await make_staff(store=store, name="赵磊")
    await _directory(wecom, staff)
    fields, _ = await _event(wecom, "add", staff=staff.wecom_userid, state="unknown-state", name="张三")

    outcome = await callbacks.handle(fields, receipt_id=2)

    assert "via no code" in outcome
    contact = await StaffContact.get(staff_id=staff.id)
    assert (contact.code_id, contact.store_id, contact.wecom_state) == (None, store.id, "unknown-state")
    event = await Event.get(type=EventType.WECOM_ADD)
    assert (event.code_id, event.staff_id, event.store_id) == (None, staff.id, store.id)
    [welcome] = await wecom.sent("welcome")
    assert welcome["text"]["content"].startswith("张三您好，我是西城营业厅的赵磊")
    assert await OutboxMessage.filter(topic="wecom.mark_tag").count() == 0


async def test_a_welcome_code_past_its_window_is_not_sent_but_the_add_is_kept(wecom):
    staff = await make_staff()
    _, way = await _staff_code(staff=staff)
    await _directory(wecom, staff)
    fields, _ = await _event(wecom, "add", staff=staff.wecom_userid, state=way.state)
    fields["CreateTime"] = str(int(fields["CreateTime"]) - 25)  # processed 25 s after the add

    outcome = await callbacks.handle(fields, receipt_id=3)

    assert "welcome expired" in outcome
    assert (await StaffContact.get(staff_id=staff.id)).welcome == "expired"
    assert await wecom.sent("welcome") == []


async def test_no_welcome_code_means_no_welcome(wecom):
    staff = await make_staff()
    await _directory(wecom, staff)
    fields, _ = await _event(wecom, "add", staff=staff.wecom_userid, welcome=False)
    assert "WelcomeCode" not in fields
    assert "welcome none" in await callbacks.handle(fields, receipt_id=4)
    assert await wecom.sent("welcome") == []


async def test_half_add_then_full_add_counts_once(wecom):
    staff = await make_staff()
    _, way = await _staff_code(staff=staff, tag_names=["新客"])
    await _directory(wecom, staff)
    half, answer = await _event(wecom, "add_half_external_contact", staff=staff.wecom_userid, state=way.state,
                                welcome=False)
    assert (await callbacks.handle(half, receipt_id=5)).startswith("half add:")
    assert (await StaffContact.get(staff_id=staff.id)).status == ContactStatus.HALF
    assert await Event.filter(type=EventType.WECOM_ADD).count() == 0
    assert await OutboxMessage.filter(topic="wecom.mark_tag").count() == 0  # not a contact yet

    full = dict(half, ChangeType="add_external_contact", CreateTime=str(int(half["CreateTime"]) + 30))
    assert (await callbacks.handle(full, receipt_id=6)).startswith("add:")
    contact = await StaffContact.get(staff_id=staff.id)
    assert contact.status == ContactStatus.ACTIVE
    assert await Event.filter(type=EventType.WECOM_ADD).count() == 1
    assert (await ContactAddCount.get(contact_way_id=way.id)).adds == 1
    assert await OutboxMessage.filter(topic="wecom.mark_tag").count() == 1


async def test_a_customer_known_by_unionid_gets_the_external_userid(wecom):
    staff = await make_staff()
    await _directory(wecom, staff)
    fields, answer = await _event(wecom, "add", staff=staff.wecom_userid, name="老客户")
    unionid = next(c["external_contact"].get("unionid") for c in await wecom.customers()
                   if c["external_contact"]["external_userid"] == answer["external_userid"])
    if not unionid:
        pytest.fail("the sandbox gives WeChat customers a unionid, as WeCom does for a bound corp")
    known = await Customer.create(display_name="门店老客户")
    await Identity.create(customer=known, kind=IdentityKind.UNIONID, value=unionid, verified=True)

    await callbacks.handle(fields, receipt_id=8)

    identity = await Identity.get(kind=IdentityKind.WECOM_EXTERNAL, value=answer["external_userid"])
    assert identity.customer_id == known.id
    assert (await StaffContact.get(staff_id=staff.id)).customer_id == known.id
    assert (await Customer.get(id=known.id)).display_name == "门店老客户"  # the known name is kept


async def test_customer_removing_staff_ends_the_relationship_once(wecom):
    staff = await make_staff()
    await _directory(wecom, staff)
    added, answer = await _event(wecom, "add", staff=staff.wecom_userid, welcome=False)
    await callbacks.handle(added, receipt_id=9)
    removed, _ = await _event(wecom, "del_follow_user", staff=staff.wecom_userid,
                              external_userid=answer["external_userid"])

    assert (await callbacks.handle(removed, receipt_id=10)).startswith("removed_by_customer:")
    assert (await callbacks.handle(removed, receipt_id=10)).startswith("already applied")

    contact = await StaffContact.get(staff_id=staff.id)
    assert contact.status == ContactStatus.REMOVED_BY_CUSTOMER and contact.removed_at is not None
    [event] = await Event.filter(type=EventType.WECOM_REMOVE)
    assert (event.staff_id, event.props["by"]) == (staff.id, "removed_by_customer")
    assert await OutboxMessage.filter(topic="wecom.app_message").count() == 0


async def test_a_transfer_marks_the_relationship_transferred(wecom):
    staff = await make_staff()
    await _directory(wecom, staff)
    added, answer = await _event(wecom, "add", staff=staff.wecom_userid, welcome=False)
    await callbacks.handle(added, receipt_id=11)
    moved, _ = await _event(wecom, "del_external_contact", staff=staff.wecom_userid,
                            external_userid=answer["external_userid"], source="DELETE_BY_TRANSFER")
    await callbacks.handle(moved, receipt_id=12)
    assert (await StaffContact.get(staff_id=staff.id)).status == ContactStatus.TRANSFERRED


async def test_staff_removing_a_customer_is_lost_and_the_store_manager_is_told(wecom):
    store = await make_store(name="南站营业厅")
    staff = await make_staff(store=store, name="钱进")
    manager = await make_staff(store=store, role=StaffRole.MANAGER)
    other_store_manager = await make_staff(role=StaffRole.MANAGER)
    await _directory(wecom, staff, manager, other_store_manager)
    added, answer = await _event(wecom, "add", staff=staff.wecom_userid, welcome=False)
    await callbacks.handle(added, receipt_id=13)
    lost, _ = await _event(wecom, "del_external_contact", staff=staff.wecom_userid,
                           external_userid=answer["external_userid"])

    outcome = await callbacks.handle(lost, receipt_id=14)

    assert outcome.startswith("lost:") and "told 1 manager" in outcome
    assert (await StaffContact.get(staff_id=staff.id)).status == ContactStatus.LOST
    notice = await OutboxMessage.get(topic="wecom.app_message")
    assert notice.payload["touser"] == [manager.wecom_userid]
    assert "南站营业厅的钱进" in notice.payload["content"]
    await callbacks.handle(lost, receipt_id=14)  # again: no second notice
    assert await OutboxMessage.filter(topic="wecom.app_message").count() == 1


async def test_notices_and_tags_are_delivered_to_wecom(wecom, queue):
    """The outbox carries the tag marking and the manager's app message out to the sandbox."""
    store = await make_store()
    staff = await make_staff(store=store)
    manager = await make_staff(store=store, role=StaffRole.MANAGER)
    _, way = await _staff_code(staff=staff, tag_names=["活动客户"])
    await _directory(wecom, staff, manager)
    added, answer = await _event(wecom, "add", staff=staff.wecom_userid, state=way.state, welcome=False)
    await callbacks.handle(added, receipt_id=15)
    await queue.drain()
    lost, _ = await _event(wecom, "del_external_contact", staff=staff.wecom_userid,
                           external_userid=answer["external_userid"])
    await callbacks.handle(lost, receipt_id=16)
    await queue.drain()

    [marked] = await wecom.sent("mark_tag")
    assert marked["userid"] == staff.wecom_userid and marked["external_userid"] == answer["external_userid"]
    assert len(marked["add_tag"]) == 1
    [message] = await wecom.sent("app_message")
    assert message["touser"] == [manager.wecom_userid]
    assert (await OutboxMessage.get(topic="wecom.app_message")).status == "delivered"


async def test_a_tag_for_a_customer_already_gone_is_dropped_not_retried(wecom, queue):
    staff = await make_staff()
    _, way = await _staff_code(staff=staff, tag_names=["活动客户"])
    await _directory(wecom, staff)
    added, answer = await _event(wecom, "add", staff=staff.wecom_userid, state=way.state, welcome=False)
    await _event(wecom, "del_follow_user", staff=staff.wecom_userid, external_userid=answer["external_userid"])
    await callbacks.handle(added, receipt_id=23)  # the add processed after the customer already left
    await queue.drain()

    assert await wecom.sent("mark_tag") == []
    message = await OutboxMessage.get(topic="wecom.mark_tag")
    assert (message.status, message.attempts) == ("delivered", 1)


async def test_edit_updates_the_remark_and_unknown_staff_are_skipped(wecom):
    staff = await make_staff()
    await _directory(wecom, staff)
    added, answer = await _event(wecom, "add", staff=staff.wecom_userid, welcome=False)
    await callbacks.handle(added, receipt_id=17)
    edited, _ = await _event(wecom, "edit_external_contact", staff=staff.wecom_userid,
                             external_userid=answer["external_userid"], remark="VIP 宽带客户")
    assert (await callbacks.handle(edited, receipt_id=18)).startswith("edited:")
    assert (await StaffContact.get(staff_id=staff.id)).remark == "VIP 宽带客户"

    stranger = dict(added, UserID="not-our-staff")
    assert (await callbacks.handle(stranger, receipt_id=19)).startswith("skipped:")
    assert await StaffContact.all().count() == 1


async def test_chat_tag_and_unknown_events_are_recorded_as_outcomes():
    assert (await callbacks.handle({"Event": "change_external_chat", "ChatId": "wr1", "ChangeType": "update",
                                    "UpdateDetail": "add_member"}, receipt_id=20)) == \
        "recorded: chat wr1 update add_member"
    assert (await callbacks.handle({"Event": "change_external_tag", "TagType": "tag", "Id": "et1",
                                    "ChangeType": "create"}, receipt_id=21)) == "recorded: tag tag et1 create"
    assert (await callbacks.handle({"Event": "change_external_contact", "ChangeType": "weird"}, receipt_id=22)
            ).startswith("ignored")


async def test_contacts_are_listed_by_store_scope(client, wecom):
    store = await make_store()
    staff = await make_staff(store=store)
    colleague = await make_staff(store=store)
    elsewhere = await make_staff()
    await _directory(wecom, staff, colleague, elsewhere)
    for n, member in enumerate((staff, colleague, elsewhere)):
        fields, _ = await _event(wecom, "add", staff=member.wecom_userid, welcome=False)
        await callbacks.handle(fields, receipt_id=100 + n)

    ops = (await client.get("/api/v1/wecom/contacts", headers=await make_key())).json()
    assert len(ops["items"]) == 3
    manager = await make_key(role=Role.STORE_MANAGER, store=store)
    mine = (await client.get("/api/v1/wecom/contacts", headers=manager)).json()["items"]
    assert {c["staff_id"] for c in mine} == {staff.id, colleague.id}
    assert mine[0]["added_at"].endswith("+08:00") and mine[0]["status"] == "active"
    clerk = await make_key(role=Role.STAFF, store=store, staff=staff)
    own = (await client.get("/api/v1/wecom/contacts", headers=clerk)).json()["items"]
    assert [c["staff_id"] for c in own] == [staff.id]
    assert (await client.get(f"/api/v1/wecom/contacts?staff_id={colleague.id}", headers=clerk)).status_code == 403
    assert (await client.get(f"/api/v1/wecom/contacts?store_id={elsewhere.store_id}",
                             headers=manager)).status_code == 403
    bad = await client.get("/api/v1/wecom/contacts?status=gone", headers=manager)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.status"


async def test_a_cached_tag_deleted_in_wecom_is_looked_up_again(wecom, queue):
    staff = await make_staff()
    _, way = await _staff_code(staff=staff, tag_names=["老标签"])
    await _directory(wecom, staff)
    await WecomTag.create(name="老标签", tag_id="et-deleted-in-console", synced_at=datetime.now(UTC))
    added, answer = await _event(wecom, "add", staff=staff.wecom_userid, state=way.state, welcome=False)
    await callbacks.handle(added, receipt_id=30)
    await queue.drain()

    [marked] = await wecom.sent("mark_tag")  # the first try failed on 40068, the retry found the tag anew
    tag = await WecomTag.get(name="老标签")
    assert tag.tag_id != "et-deleted-in-console" and marked["add_tag"] == [tag.tag_id]
    message = await OutboxMessage.get(topic="wecom.mark_tag")
    assert (message.status, message.attempts) == ("delivered", 2)
