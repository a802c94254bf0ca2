"""Expiry reminders: N days before a held coupon lapses, its holder is told once, on the one customer
channel the hub can reach today (WeCom, through the staff member who holds the customer as a contact).

Why it is built this way:
- Once per coupon, whatever runs twice: ``reminded_at`` is taken by a conditional UPDATE (only where still
  NULL) in the same transaction as the coupon's ``CouponReminder`` row and the outbox message, so two
  workers never both route a coupon, and a rolled-back chunk routes nothing.
- WeCom is never called inside the transaction: the chunk publishes ``coupons.expiry_reminder`` messages,
  and the handler below makes the call once the chunk is committed. The handler lives here, not in
  ``hub.wecom``'s job modules, because what comes back (the task's msgid, WeCom's fail_list, a refusal) must
  land on the coupons' reminder rows, and hub must not import coupons.
- One WeCom customer message task per (staff member, batch, last day of use) within a chunk: a task only
  reaches customers once the staff member confirms it in WeCom, so fewer, larger tasks are less work for
  them. The text is shared by every customer of the task, so it names the batch and the day, no link.
- Routing follows the rules offer routing will apply: the carrier's global do-not-disturb first, then
  the customer's WeCom row (do-not-disturb or a refused consent), then a reachable contact. A contact with
  no WeCom row is reached: adding the staff member on WeCom was the customer's own act. Every coupon
  taken gets its row, suppressed ones included, so ops can count what happened.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from tortoise.functions import Count

from connectors.wecom.errors import WecomBusy, WecomError, WecomRateLimited, WecomTokenInvalid, WecomUnavailable
from coupons.models import Coupon, CouponBatch, CouponState
from coupons.reminders.models import CouponReminder, ReminderOutcome
from hub.customers.models import Channel, ChannelConsent, Customer
from hub.database import transaction
from hub.errors import present
from hub.outbox.models import OutboxMessage
from hub.outbox.service import handler, publish
from hub.schemas import shanghai_day
from hub.wecom.connection import WecomNotConfigured, wecom_client
from hub.wecom.models import ContactStatus, StaffContact

log = logging.getLogger("coupons.reminders")

TOPIC = "coupons.expiry_reminder"
HELD = (CouponState.CLAIMED, CouponState.ISSUED)
TASK_CUSTOMERS_MAX = 10_000  # external_userids WeCom takes in one add_msg_template
WECOM = Channel.WECOM.value
# Errors worth another try (WeCom unreachable, busy, rate-limited, a token or the settings being fixed);
# any other errcode (unknown sender, a request WeCom refuses) will not get better by repeating it.
TRANSIENT = (WecomUnavailable, WecomBusy, WecomRateLimited, WecomTokenInvalid, WecomNotConfigured)

# Reasons, as stored and counted.
DO_NOT_DISTURB = "do not disturb"
NO_WECOM_CONSENT = "no consent on wecom"
WECOM_DO_NOT_DISTURB = "do not disturb on wecom"
NO_CHANNEL = "no reachable channel"
NO_HOLDER = "no holder"
NOT_A_CONTACT = "not a contact of the sender in WeCom"


async def due(*, now: datetime, limit: int = 500) -> list[Coupon]:
    """Up to ``limit`` held coupons inside their batch's reminder window and not yet reminded, soonest
    expiry first.

    The window is ``valid_until - N days <= now < valid_until``, N the batch's ``remind_days_before``. Each
    (state, N) pair is one range walk over the partial index ``coupon_unreminded_by_expiry`` (held coupons
    never reminded, by valid_until; migration 0008), bounded to ``(now, now + N days]``, joined to the batch
    for its N: the walk reads only coupons still to remind, never the table, and stops at ``limit``. There
    are two held states and a handful of distinct N, so a handful of queries.
    """
    horizons = cast(list[int], await CouponBatch.filter(remind_days_before__gte=1).distinct().values_list(
        "remind_days_before", flat=True))
    found: list[Coupon] = []
    for days in sorted(set(horizons)):
        for state in HELD:
            found += await Coupon.filter(
                state=state, valid_until__gt=now, valid_until__lte=now + timedelta(days=days),
                reminded_at__isnull=True, batch__remind_days_before=days,
            ).order_by("valid_until", "id").limit(limit)
    found.sort(key=lambda c: (c.valid_until, c.id))
    return found[:limit]


@dataclass
class _Route:
    outcome: ReminderOutcome
    reason: str = ""
    channel: str = ""
    contact: StaffContact | None = None


async def remind_due(*, now: datetime, limit: int = 500) -> int:
    """Route up to ``limit`` due coupons in the caller's transaction; returns how many this call took.

    A coupon another worker took first is skipped. WeCom is reached through the outbox after the commit.
    """
    taken: list[Coupon] = []
    for coupon in await due(now=now, limit=limit):
        if await Coupon.filter(id=coupon.id, reminded_at__isnull=True).update(reminded_at=now, updated_at=now):
            taken.append(coupon)
    if not taken:
        return 0
    routes = await _routes(taken)
    reminders = []
    for c in taken:
        route = routes[c.id]
        staff_id = route.contact.staff_id if route.contact else None
        reminders.append(CouponReminder(coupon_id=c.id, channel=route.channel, outcome=route.outcome,
                                        reason=route.reason, staff_id=staff_id))
    await CouponReminder.bulk_create(reminders)
    await _publish_tasks(taken, routes)
    return len(taken)


async def _routes(coupons: list[Coupon]) -> dict[int, _Route]:
    """How each coupon's holder can be reached, read in bulk for the chunk."""
    owner_ids = {c.owner_id for c in coupons if c.owner_id is not None}
    owners = {c.id: c for c in await Customer.filter(id__in=owner_ids)}
    live_of = {cid: (c.merged_into_id or cid) for cid, c in owners.items()}  # merge chains are one step long
    lives = {c.id: c for c in await Customer.filter(id__in=set(live_of.values()))}
    # A person's WeCom contacts may still point at customers merged into them: gather the whole family.
    person_of = dict(live_of) | {live_id: live_id for live_id in lives}
    for merged_id, live_id in await Customer.filter(merged_into_id__in=set(lives)).values_list("id", "merged_into_id"):
        person_of[merged_id] = live_id
    wecom_rows = {row.customer_id: row for row in await ChannelConsent.filter(customer_id__in=set(lives),
                                                                              channel=Channel.WECOM)}
    contacts: dict[int, StaffContact] = {}
    for contact in await StaffContact.filter(
        customer_id__in=set(person_of), status=ContactStatus.ACTIVE, staff__active=True,
        staff__wecom_userid__isnull=False,
    ).select_related("staff").order_by("-added_at", "-id"):
        contacts.setdefault(person_of[contact.customer_id], contact)  # the most recently added wins

    routes: dict[int, _Route] = {}
    for coupon in coupons:
        live_id = live_of.get(coupon.owner_id) if coupon.owner_id is not None else None
        if live_id is None:
            routes[coupon.id] = _route(None, None, None)
        else:
            routes[coupon.id] = _route(lives.get(live_id), wecom_rows.get(live_id), contacts.get(live_id))
    return routes


def _route(customer: Customer | None, wecom: ChannelConsent | None, contact: StaffContact | None) -> _Route:
    """The rules offer routing will share: explicit refusals (global, then WeCom) first, then reachability."""
    suppressed = ReminderOutcome.SUPPRESSED
    if customer is None:
        return _Route(suppressed, NO_HOLDER)
    if customer.do_not_disturb:
        return _Route(suppressed, DO_NOT_DISTURB)
    if wecom is not None and wecom.do_not_disturb:
        return _Route(suppressed, WECOM_DO_NOT_DISTURB, WECOM)
    if wecom is not None and not wecom.consent:
        return _Route(suppressed, NO_WECOM_CONSENT, WECOM)
    if contact is None:
        return _Route(suppressed, NO_CHANNEL)
    # A contact with no recorded WeCom choice is reached: adding the staff member was the customer's own act.
    return _Route(ReminderOutcome.SENT, channel=WECOM, contact=contact)


def last_day(coupon: Coupon) -> date:
    """The last Shanghai day the coupon can be used (valid_until itself is the first instant it cannot)."""
    return shanghai_day(coupon.valid_until - timedelta(microseconds=1))


def reminder_text(batch_name: str, day: date) -> str:
    return f"您的优惠券「{batch_name}」将于{day.year}年{day.month}月{day.day}日到期，请尽快使用。"


async def _publish_tasks(coupons: list[Coupon], routes: dict[int, _Route]) -> None:
    """One outbox message per (staff member, batch, last day) of the chunk, at most 10,000 customers each."""
    groups: dict[tuple[int, int, date], list[Coupon]] = defaultdict(list)
    for coupon in coupons:
        contact = routes[coupon.id].contact
        if contact is not None:
            groups[(contact.staff_id, coupon.batch_id, last_day(coupon))].append(coupon)
    names = dict(await CouponBatch.filter(id__in={key[1] for key in groups}).values_list("id", "name"))
    for (_, batch_id, day), members in groups.items():
        task: dict[int, StaffContact] = {}
        for coupon in members:
            contact = present(routes[coupon.id].contact, "only coupons with a contact were grouped above")
            customers = {c.external_userid for c in task.values()}
            if contact.external_userid not in customers and len(customers) == TASK_CUSTOMERS_MAX:
                await _publish_task(task, batch_id=batch_id, day=day, batch_name=names[batch_id])
                task = {}
            task[coupon.id] = contact
        await _publish_task(task, batch_id=batch_id, day=day, batch_name=names[batch_id])


async def _publish_task(task: dict[int, StaffContact], *, batch_id: int, day: date, batch_name: str) -> None:
    """``task`` maps each coupon to the contact it reaches; all of them contacts of one staff member."""
    staff = next(iter(task.values())).staff
    # One customer holding two coupons of the batch gets one message: the list is an ordered set.
    external_userids = list(dict.fromkeys(c.external_userid for c in task.values()))
    # The task's first coupon makes the key its own (each coupon is taken once), so publishing the same
    # task again finds the message already written instead of sending twice.
    dedup_key = f"{TOPIC}:{staff.id}:{batch_id}:{day.isoformat()}:{min(task)}"
    await publish(TOPIC, {
        "staff_id": staff.id, "sender": staff.wecom_userid, "batch_id": batch_id, "day": day.isoformat(),
        "text": reminder_text(batch_name, day), "external_userids": external_userids,
        "coupons": {str(coupon_id): c.external_userid for coupon_id, c in task.items()},
    }, dedup_key=dedup_key)


@handler(TOPIC)
async def deliver_task(message: OutboxMessage) -> None:
    """Create the WeCom customer message task and note its msgid (or why it failed) on the reminders.

    A transient failure raises, so the outbox tries again; on the last attempt, or for an error that will
    not go away, the reminders are recorded ``failed`` with WeCom's error instead.
    """
    payload = message.payload
    coupon_ids = [int(cid) for cid in payload["coupons"]]
    pending = CouponReminder.filter(coupon_id__in=coupon_ids, outcome=ReminderOutcome.SENT, provider_ref="")
    if not await pending.exists():  # an earlier try got through and was recorded
        return
    try:
        answer = await wecom_client().add_msg_template(external_userids=payload["external_userids"],
                                                       sender=payload["sender"], text=payload["text"])
    except (WecomError, WecomNotConfigured) as exc:
        if isinstance(exc, TRANSIENT) and message.attempts < message.max_attempts:
            raise  # the outbox tries again later
        log.warning("expiry reminder task %s failed for good: %s", message.id, exc)
        async with transaction():
            await pending.update(outcome=ReminderOutcome.FAILED, reason=_failure(exc))
        return
    refused = set(answer["fail_list"])
    failed_ids = [int(cid) for cid, external in payload["coupons"].items() if external in refused]
    async with transaction():
        if failed_ids:
            await CouponReminder.filter(coupon_id__in=failed_ids, provider_ref="").update(
                outcome=ReminderOutcome.FAILED, reason=NOT_A_CONTACT, provider_ref=answer["msgid"])
        await pending.update(provider_ref=answer["msgid"])


def _failure(exc: Exception) -> str:
    if isinstance(exc, WecomError):
        return f"WeCom errcode {exc.errcode}: {exc.errmsg}"[:255]
    return f"{type(exc).__name__}: {exc}"[:255]


@dataclass
class ReminderCount:
    outcome: ReminderOutcome
    channel: str
    reason: str
    count: int


async def counts(*, batch_id: int) -> tuple[list[ReminderCount], int]:
    """The batch's reminders by (outcome, channel, reason), and how many sent ones still wait for WeCom."""
    rows = await CouponReminder.filter(coupon__batch_id=batch_id).group_by("outcome", "channel", "reason").annotate(
        n=Count("id")).order_by("outcome", "channel", "reason").values("outcome", "channel", "reason", "n")
    waiting = await CouponReminder.filter(coupon__batch_id=batch_id, outcome=ReminderOutcome.SENT,
                                          provider_ref="").count()
    return [ReminderCount(ReminderOutcome(r["outcome"]), r["channel"], r["reason"], r["n"]) for r in rows], waiting
