"""Expiry reminders: which coupons are due, how each holder is routed (WeCom through their staff contact, or
suppressed with the reason), one WeCom customer message task per staff member, batch and day, failures
retried then recorded, and what ops read back. WeCom is the sandbox over real HTTP; the outbox delivers
through the in-process queue, drained before the sandbox is read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coupons.models import Coupon
from coupons.redemptions import service as redemptions
from coupons.reminders import service as reminders
from coupons.reminders.jobs import coupons_remind_expiring
from coupons.reminders.models import CouponReminder, ReminderOutcome
from hub.auth.models import Role
from hub.customers.models import Channel, ChannelConsent, Customer
from hub.database import transaction
from hub.jobs.registry import PERIODIC, load_job_modules
from hub.outbox.models import OutboxMessage, OutboxStatus
from hub.wecom.models import ContactStatus, StaffContact
from tests.coupons.helpers import DAY, NOW, OPS, claim, issue, make_batch, make_customer, request_id
from tests.envs import settings_env
from tests.factories import make_key, make_staff, make_store

# 2026-07-13 00:00 in Shanghai: the last day of use is the 12th.
UNTIL = datetime(2026, 7, 12, 16, 0, tzinfo=UTC)
TEXT = "您的优惠券「券」将于2026年7月12日到期，请尽快使用。"
TEMPLATE_API = "externalcontact/add_msg_template"


async def _batch(*, remind: int | None = 3, until: datetime = UNTIL, **fields):
    return await make_batch(valid_days=None, valid_from=until - 30 * DAY, valid_until=until,
                            remind_days_before=remind, per_customer_limit=5, **fields)


async def _holder(wecom, staff, *, consent: bool | None = True, wecom_dnd: bool = False,
                  dnd: bool = False, added_at: datetime = NOW - 20 * DAY) -> tuple[Customer, str]:
    """A customer who added ``staff`` on WeCom (in the sandbox and in the hub), with their WeCom row."""
    customer = await Customer.create(do_not_disturb=dnd)
    external = (await wecom.simulate("add", staff=staff.wecom_userid, deliver=False))["external_userid"]
    await StaffContact.create(staff=staff, customer=customer, external_userid=external, added_at=added_at)
    if consent is not None:
        await ChannelConsent.create(customer=customer, channel=Channel.WECOM, consent=consent,
                                    do_not_disturb=wecom_dnd, source="wecom")
    return customer, external


async def _staff(wecom, *staff_members):
    staff_members = staff_members or (await make_staff(),)
    await wecom.load_users([{"userid": s.wecom_userid, "name": s.name} for s in staff_members])
    return staff_members[0]


async def _remind(now: datetime = NOW, limit: int = 500) -> int:
    async with transaction():
        return await reminders.remind_due(now=now, limit=limit)


async def _template_calls(wecom) -> int:
    return (await wecom.stats())["calls"].get(TEMPLATE_API, 0)


class TestRoutedThroughWecom:
    async def test_a_due_coupon_is_reminded_once_from_its_staff_contact(self, wecom, queue):
        staff = await _staff(wecom)
        customer, external = await _holder(wecom, staff)
        coupon = (await claim(await _batch(), customer, now=NOW - 5 * DAY)).coupon

        assert await _remind() == 1
        await queue.drain()

        [task] = await wecom.sent("msg_template")
        assert (task["sender"], task["external_userid"], task["text"]) == (staff.wecom_userid, [external],
                                                                            {"content": TEXT})
        reminder = await CouponReminder.get(coupon_id=coupon.id)
        assert (reminder.outcome, reminder.channel, reminder.reason, reminder.staff_id, reminder.provider_ref) == (
            ReminderOutcome.SENT, "wecom", "", staff.id, task["msgid"])
        assert (await Coupon.get(id=coupon.id)).reminded_at == NOW
        assert (await OutboxMessage.get(topic=reminders.TOPIC)).status == OutboxStatus.DELIVERED

        assert await _remind(NOW + timedelta(hours=1)) == 0
        await queue.drain()
        assert len(await wecom.sent("msg_template")) == 1
        assert await CouponReminder.all().count() == 1

    async def test_an_issued_coupon_is_reminded_too(self, wecom, queue):
        staff = await _staff(wecom)
        customer, external = await _holder(wecom, staff)
        coupon = (await issue(await _batch(), customer, now=NOW - 5 * DAY)).coupon
        assert await _remind() == 1
        await queue.drain()
        [task] = await wecom.sent("msg_template")
        assert task["external_userid"] == [external]
        assert (await CouponReminder.get(coupon_id=coupon.id)).provider_ref == task["msgid"]

    async def test_customers_of_one_staff_member_and_batch_share_one_task(self, wecom, queue):
        first, second = await make_staff(), await make_staff()
        await _staff(wecom, first, second)
        batch, other_batch = await _batch(), await _batch()
        (a, a_ext), (b, b_ext), (c, c_ext) = [await _holder(wecom, s) for s in (first, first, second)]
        for customer in (a, b, c):
            await claim(batch, customer, now=NOW - 5 * DAY)
        await claim(batch, a, now=NOW - 4 * DAY)  # a second coupon of the batch: still one message to a
        await claim(other_batch, a, now=NOW - 5 * DAY)

        assert await _remind() == 5
        await queue.drain()

        tasks = {(t["sender"], tuple(sorted(t["external_userid"]))) for t in await wecom.sent("msg_template")}
        assert tasks == {(first.wecom_userid, tuple(sorted([a_ext, b_ext]))), (second.wecom_userid, (c_ext,)),
                         (first.wecom_userid, (a_ext,))}
        assert await CouponReminder.filter(outcome=ReminderOutcome.SENT, provider_ref="").count() == 0
        assert await CouponReminder.filter(staff_id=first.id).count() == 4

    async def test_a_task_holds_at_most_the_customers_wecom_takes(self, wecom, queue, monkeypatch):
        monkeypatch.setattr(reminders, "TASK_CUSTOMERS_MAX", 2)
        staff = await _staff(wecom)
        batch = await _batch()
        (a, a_ext), (b, b_ext), (c, c_ext) = [await _holder(wecom, staff) for _ in range(3)]
        for customer in (a, a, b, c):
            await claim(batch, customer, now=NOW - 5 * DAY)
        assert await _remind() == 4
        await queue.drain()
        tasks = sorted(t["external_userid"] for t in await wecom.sent("msg_template"))
        assert tasks == sorted([[a_ext, b_ext], [c_ext]])
        assert await OutboxMessage.filter(topic=reminders.TOPIC).count() == 2

    async def test_coupons_expiring_on_different_days_get_a_task_each_naming_its_day(self, wecom, queue):
        staff = await _staff(wecom)
        customer, _ = await _holder(wecom, staff)
        batch = await make_batch(valid_days=3, remind_days_before=3, per_customer_limit=5)
        await claim(batch, customer, now=NOW - DAY)  # lasts until the 12th, 12:00 in Shanghai
        await claim(batch, customer, now=NOW - 2 * DAY)  # until the 11th
        assert await _remind() == 2
        await queue.drain()
        texts = sorted(t["text"]["content"] for t in await wecom.sent("msg_template"))
        assert texts == ["您的优惠券「券」将于2026年7月11日到期，请尽快使用。",
                         "您的优惠券「券」将于2026年7月12日到期，请尽快使用。"]

    async def test_the_most_recently_added_active_contact_sends_it(self, wecom, queue):
        old, recent, gone = await make_staff(), await make_staff(), await make_staff()
        await _staff(wecom, old, recent, gone)
        customer, _ = await _holder(wecom, old, added_at=NOW - 30 * DAY)
        newer = (await wecom.simulate("add", staff=recent.wecom_userid, deliver=False))["external_userid"]
        await StaffContact.create(staff=recent, customer=customer, external_userid=newer, added_at=NOW - 10 * DAY)
        await StaffContact.create(staff=gone, customer=customer, external_userid="wm_gone", added_at=NOW - DAY,
                                  status=ContactStatus.LOST)
        await claim(await _batch(), customer, now=NOW - 5 * DAY)
        assert await _remind() == 1
        await queue.drain()
        [task] = await wecom.sent("msg_template")
        assert (task["sender"], task["external_userid"]) == (recent.wecom_userid, [newer])

    async def test_a_coupon_of_a_merged_customer_reaches_the_customer_it_was_merged_into(self, wecom, queue):
        staff = await _staff(wecom)
        survivor, external = await _holder(wecom, staff)
        absorbed = await Customer.create(merged_into=survivor)
        coupon = (await claim(await _batch(), survivor, now=NOW - 5 * DAY)).coupon
        await Coupon.filter(id=coupon.id).update(owner_id=absorbed.id)  # claimed before the merge
        assert await _remind() == 1
        await queue.drain()
        [task] = await wecom.sent("msg_template")
        assert task["external_userid"] == [external]


class TestSuppressed:
    @pytest.mark.parametrize(("holder", "reason"), [
        ({"dnd": True}, "do not disturb"),
        ({"wecom_dnd": True}, "do not disturb on wecom"),
        ({"consent": False}, "no consent on wecom"),
    ])
    async def test_do_not_disturb_or_no_consent_is_suppressed_without_a_wecom_call(self, wecom, queue, holder,
                                                                                 reason):
        staff = await _staff(wecom)
        customer, _ = await _holder(wecom, staff, **holder)
        coupon = (await claim(await _batch(), customer, now=NOW - 5 * DAY)).coupon
        assert await _remind() == 1
        await queue.drain()
        reminder = await CouponReminder.get(coupon_id=coupon.id)
        assert (reminder.outcome, reminder.reason, reminder.staff_id) == (ReminderOutcome.SUPPRESSED, reason, None)
        assert (await Coupon.get(id=coupon.id)).reminded_at == NOW
        assert await _template_calls(wecom) == 0 and await OutboxMessage.all().count() == 0

    async def test_do_not_disturb_on_the_customer_merged_into_holds_for_the_old_owner(self, wecom, queue):
        staff = await _staff(wecom)
        survivor, _ = await _holder(wecom, staff, dnd=True)
        absorbed = await Customer.create(merged_into=survivor)
        coupon = (await claim(await _batch(), absorbed.id, now=NOW - 5 * DAY)).coupon
        await Coupon.filter(id=coupon.id).update(owner_id=absorbed.id)
        assert await _remind() == 1
        assert (await CouponReminder.get(coupon_id=coupon.id)).reason == "do not disturb"

    async def test_a_contact_with_no_recorded_wecom_choice_is_reached(self, wecom, queue):
        staff = await _staff(wecom)
        customer, external = await _holder(wecom, staff, consent=None)
        coupon = (await claim(await _batch(), customer, now=NOW - 5 * DAY)).coupon
        assert await _remind() == 1
        await queue.drain()
        assert (await CouponReminder.get(coupon_id=coupon.id)).outcome == ReminderOutcome.SENT
        [task] = await wecom.sent("msg_template")
        assert task["external_userid"] == [external]

    async def test_no_wecom_contact_is_suppressed_as_unreachable(self, wecom, queue):
        await _staff(wecom)
        customer = await make_customer()
        await ChannelConsent.create(customer=customer, channel=Channel.WECOM, consent=True, source="wecom")
        coupon = (await claim(await _batch(), customer, now=NOW - 5 * DAY)).coupon
        assert await _remind() == 1
        await queue.drain()
        reminder = await CouponReminder.get(coupon_id=coupon.id)
        assert (reminder.outcome, reminder.channel, reminder.reason) == (
            ReminderOutcome.SUPPRESSED, "", "no reachable channel")
        assert await _template_calls(wecom) == 0


class TestUntouched:
    async def test_coupons_not_due_expired_redeemed_or_without_reminders_are_left_alone(self, wecom, queue):
        staff = await _staff(wecom)
        customer, _ = await _holder(wecom, staff)
        not_yet = (await claim(await _batch(until=NOW + 3 * DAY + timedelta(seconds=1)), customer,
                               now=NOW - 5 * DAY)).coupon
        lapsed = (await claim(await _batch(until=NOW), customer, now=NOW - 5 * DAY)).coupon
        never = (await claim(await _batch(remind=None), customer, now=NOW - 5 * DAY)).coupon
        redeemed = (await claim(await _batch(), customer, now=NOW - 5 * DAY)).coupon
        async with transaction():
            await redemptions.redeem(code=redeemed.code, store_id=(await make_store()).id, channel="store",
                                     spend_fen=1000, request_id=request_id(), actor=OPS, now=NOW - DAY)

        assert await _remind() == 0
        await queue.drain()
        for coupon in (not_yet, lapsed, never, redeemed):
            assert (await Coupon.get(id=coupon.id)).reminded_at is None
        assert await CouponReminder.all().count() == 0
        assert await _template_calls(wecom) == 0

    async def test_the_window_opens_exactly_n_days_before_expiry(self, wecom, queue):
        customer = await make_customer()
        coupon = (await claim(await _batch(until=NOW + 3 * DAY), customer, now=NOW - 5 * DAY)).coupon
        assert await _remind(NOW - timedelta(seconds=1)) == 0
        assert await _remind(NOW) == 1
        assert (await Coupon.get(id=coupon.id)).reminded_at == NOW


class TestWecomFailures:
    async def test_a_transient_failure_is_retried_and_then_sent(self, wecom, queue):
        staff = await _staff(wecom)
        customer, external = await _holder(wecom, staff)
        coupon = (await claim(await _batch(), customer, now=NOW - 5 * DAY)).coupon
        await wecom.fault(TEMPLATE_API, -1, times=4)  # the client's own three retries run out once
        assert await _remind() == 1
        await queue.drain()
        [task] = await wecom.sent("msg_template")
        assert task["external_userid"] == [external]
        message = await OutboxMessage.get(topic=reminders.TOPIC)
        assert (message.status, message.attempts) == (OutboxStatus.DELIVERED, 2)
        reminder = await CouponReminder.get(coupon_id=coupon.id)
        assert (reminder.outcome, reminder.provider_ref) == (ReminderOutcome.SENT, task["msgid"])

    async def test_a_failure_that_lasts_through_every_attempt_is_recorded(self, wecom, queue):
        staff = await _staff(wecom)
        customer, _ = await _holder(wecom, staff)
        coupon = (await claim(await _batch(), customer, now=NOW - 5 * DAY)).coupon
        await wecom.fault(TEMPLATE_API, -1, times=8)
        with settings_env({"HUB_OUTBOX_MAX_ATTEMPTS": "2"}):
            assert await _remind() == 1
        await queue.drain()
        assert await wecom.sent("msg_template") == []
        assert await _template_calls(wecom) == 8
        message = await OutboxMessage.get(topic=reminders.TOPIC)
        assert (message.status, message.attempts) == (OutboxStatus.DELIVERED, 2)
        reminder = await CouponReminder.get(coupon_id=coupon.id)
        assert (reminder.outcome, reminder.provider_ref) == (ReminderOutcome.FAILED, "")
        assert reminder.reason.startswith("WeCom errcode -1")

    async def test_a_permanent_error_is_recorded_at_once(self, wecom, queue):
        staff = await _staff(wecom)
        customer, _ = await _holder(wecom, staff)
        await wecom.load_users([{"userid": "someone_else", "name": "别人"}])  # the sender left the corp
        coupon = (await claim(await _batch(), customer, now=NOW - 5 * DAY)).coupon
        assert await _remind() == 1
        await queue.drain()
        assert (await OutboxMessage.get(topic=reminders.TOPIC)).attempts == 1
        reminder = await CouponReminder.get(coupon_id=coupon.id)
        assert reminder.outcome == ReminderOutcome.FAILED
        assert reminder.reason.startswith(f"WeCom errcode 60111: userid not found: {staff.wecom_userid}")

    async def test_a_customer_wecom_refuses_is_failed_and_the_rest_sent(self, wecom, queue):
        staff = await _staff(wecom)
        kept, kept_ext = await _holder(wecom, staff)
        left, left_ext = await _holder(wecom, staff)
        await wecom.simulate("del_follow_user", staff=staff.wecom_userid, external_userid=left_ext, deliver=False)
        batch = await _batch()
        kept_coupon = (await claim(batch, kept, now=NOW - 5 * DAY)).coupon
        left_coupon = (await claim(batch, left, now=NOW - 5 * DAY)).coupon
        assert await _remind() == 2
        await queue.drain()
        [task] = await wecom.sent("msg_template")
        assert task["fail_list"] == [left_ext]
        sent, failed = [await CouponReminder.get(coupon_id=c.id) for c in (kept_coupon, left_coupon)]
        assert (sent.outcome, sent.provider_ref) == (ReminderOutcome.SENT, task["msgid"])
        assert (failed.outcome, failed.reason, failed.provider_ref) == (
            ReminderOutcome.FAILED, "not a contact of the sender in WeCom", task["msgid"])


class TestJob:
    async def test_the_periodic_job_reminds_in_chunks_of_one_transaction_each(self, wecom, queue, monkeypatch):
        load_job_modules()
        assert PERIODIC["coupons_remind_expiring"].every_seconds == 900
        monkeypatch.setattr("hub.jobs.chunks.CHUNK", 2)
        staff = await _staff(wecom)
        now = datetime.now(UTC)
        batch = await _batch(until=now + DAY)
        externals = set()
        for _ in range(5):
            customer, external = await _holder(wecom, staff)
            externals.add(external)
            await claim(batch, customer, now=now - DAY)
        assert await coupons_remind_expiring({}) == 5
        await queue.drain()
        tasks = await wecom.sent("msg_template")
        assert len(tasks) == 3  # one task per chunk of two coupons
        assert {e for t in tasks for e in t["external_userid"]} == externals
        assert await coupons_remind_expiring({}) == 0


class TestApi:
    async def test_ops_read_the_counts_by_outcome_and_reason(self, client, wecom, queue):
        staff = await _staff(wecom)
        batch = await _batch()
        for holder in ({}, {}, {"dnd": True}, {"consent": False}):
            customer, _ = await _holder(wecom, staff, **holder)
            await claim(batch, customer, now=NOW - 5 * DAY)
        await claim(batch, await make_customer(), now=NOW - 5 * DAY)
        await _remind()
        await queue.drain()

        response = await client.get(f"/api/v1/coupons/batches/{batch.id}/reminders", headers=await make_key())
        assert response.status_code == 200, response.text
        assert response.json() == {
            "batch_id": batch.id, "remind_days_before": 3, "total": 5,
            "outcomes": {"sent": 2, "suppressed": 3, "failed": 0}, "awaiting_wecom": 0,
            "reasons": [
                {"outcome": "sent", "channel": "wecom", "reason": "", "count": 2},
                {"outcome": "suppressed", "channel": "", "reason": "do not disturb", "count": 1},
                {"outcome": "suppressed", "channel": "", "reason": "no reachable channel", "count": 1},
                {"outcome": "suppressed", "channel": "wecom", "reason": "no consent on wecom", "count": 1},
            ],
        }

    async def test_a_batch_never_reminded_counts_zero(self, client):
        batch = await _batch(remind=None)
        response = await client.get(f"/api/v1/coupons/batches/{batch.id}/reminders", headers=await make_key())
        assert response.json()["total"] == 0 and response.json()["reasons"] == []

    async def test_unknown_batch_bad_id_and_store_keys_are_problems(self, client):
        ops = await make_key()
        missing = await client.get("/api/v1/coupons/batches/999/reminders", headers=ops)
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        bad = await client.get("/api/v1/coupons/batches/0/reminders", headers=ops)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "path.batch_id"
        staff = await make_staff()
        forbidden = await client.get(f"/api/v1/coupons/batches/{(await _batch()).id}/reminders",
                                     headers=await make_key(role=Role.STAFF, staff=staff))
        assert forbidden.status_code == 403
