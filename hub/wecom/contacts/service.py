"""Staff ↔ customer relationships from WeCom: who added whom, through which code, and when it ended.

Every function here runs inside the caller's transaction. Each change is applied only when the
relationship is not already in the state the event describes as of the event's time, so a callback
processed twice (a job retried after a crash) changes no row, event or counter twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q

from hub.codes.models import Code
from hub.customers.merge import link_identity
from hub.customers.models import Customer, IdentityKind
from hub.customers.service import get_or_create_by_identity, identity_key, owner_of
from hub.events.attribution import Attribution
from hub.events.models import EventType
from hub.events.service import record_event
from hub.outbox.service import publish
from hub.staff.models import Staff, StaffRole
from hub.wecom.contact_ways.replanning import record_add
from hub.wecom.models import ContactStatus, ContactWay, StaffContact

log = logging.getLogger("hub.wecom.contacts")

CHANNEL = "wecom"
ENDED = (ContactStatus.REMOVED_BY_CUSTOMER, ContactStatus.LOST, ContactStatus.TRANSFERRED)


@dataclass(frozen=True)
class AddResult:
    contact: StaffContact
    applied: bool  # False when this add was already applied (a replay)


async def customer_for(*, external_userid: str, unionid: str = "", name: str = "") -> Customer:
    """The customer behind a WeCom external contact, made if new.

    WeCom vouches for both its external userid and the unionid it reports with it, so both identities
    are verified: a customer already known by the unionid (e.g. from the storefront's WeChat sign-in)
    gets the external userid, and two customers holding one each are merged.
    """
    customer = await get_or_create_by_identity(
        kind=IdentityKind.WECOM_EXTERNAL, value=external_userid, verified=True)
    if unionid:
        holder = await owner_of(identity_key(IdentityKind.UNIONID, unionid))
        if holder is not None and holder != customer.id:
            # The unionid's customer has history (orders, coupons): it survives, the new one merges in.
            customer = await link_identity(customer_id=holder, kind=IdentityKind.WECOM_EXTERNAL,
                                           value=external_userid, verified=True)
        elif holder is None:
            customer = await link_identity(customer_id=customer.id, kind=IdentityKind.UNIONID,
                                           value=unionid, verified=True)
    if name:
        await Customer.filter(id=customer.id, display_name="").update(display_name=name[:64])
    return customer


def attribution_of(code: Code | None, staff: Staff) -> Attribution:
    """The code's attribution, or, when the add matched no code, the staff member and their store."""
    if code is None:
        return Attribution(staff_id=staff.id, store_id=staff.store_id, channel=CHANNEL)
    return Attribution(
        code_id=code.id, slug=code.slug, store_id=code.store_id or staff.store_id, staff_id=staff.id,
        product_id=code.product_id, campaign_id=code.campaign_id, channel=code.channel or CHANNEL,
    )


async def apply_add(
    *, staff: Staff, customer: Customer, external_userid: str, at: datetime, code: Code | None,
    way: ContactWay | None, wecom_state: str, half: bool, welcome: str, receipt_id: int,
) -> AddResult:
    """Record that ``customer`` added ``staff`` at ``at`` (a half add: not yet accepted by the staff member).

    The relationship row is locked, and the add applies only when it is newer than what the row holds
    or completes a half add; then the funnel event is written and the code's daily add counted.
    """
    status = ContactStatus.HALF if half else ContactStatus.ACTIVE
    attribution = attribution_of(code, staff)
    contact, created = await StaffContact.get_or_create(
        staff_id=staff.id, external_userid=external_userid,
        defaults=dict(customer_id=customer.id, status=status, added_at=at, code_id=code.id if code else None,
                      store_id=attribution.store_id, campaign_id=attribution.campaign_id,
                      wecom_state=wecom_state, welcome=welcome),
    )
    if not created:
        contact = await StaffContact.filter(id=contact.id).select_for_update().get()
        newer = contact.added_at < at  # a replay carries the same time; an older event arrived late
        completes_half = contact.status == ContactStatus.HALF and not half
        if not (newer or completes_half):
            return AddResult(contact, applied=False)
        changes = dict(status=status, added_at=at, removed_at=None, customer_id=customer.id)
        if newer:  # a new add brings its own code; completing a half add keeps the one it came with
            changes.update(code_id=code.id if code else None, store_id=attribution.store_id,
                           campaign_id=attribution.campaign_id, wecom_state=wecom_state)
        if welcome != "none":
            changes["welcome"] = welcome
        await StaffContact.filter(id=contact.id).update(**changes)
        await contact.refresh_from_db()
    if contact.status == ContactStatus.ACTIVE:
        await record_event(
            type=EventType.WECOM_ADD, customer_id=customer.id, attribution=attribution, occurred_at=at,
            props={"external_userid": external_userid, "state": wecom_state, "welcome": contact.welcome,
                   "receipt_id": receipt_id},
        )
        if way is not None:
            await record_add(contact_way_id=way.id, staff_id=staff.id, at=at)
        if way is not None and way.tag_names:  # a half add is no contact yet: WeCom would refuse the tags
            await publish("wecom.mark_tag", {
                "userid": staff.wecom_userid, "external_userid": external_userid, "tag_names": list(way.tag_names),
            }, dedup_key=f"wecom.mark_tag:{staff.id}:{external_userid}:{int(at.timestamp())}")
    return AddResult(contact, applied=True)


async def apply_removal(
    *, staff: Staff, external_userid: str, at: datetime, status: ContactStatus, receipt_id: int,
    props: dict | None = None,
) -> StaffContact | None:
    """End the relationship (the customer removed the staff member, or the other way round).

    Applies only to a relationship still open and added before ``at``; returns it when it changed.
    """
    contact = await StaffContact.filter(staff_id=staff.id, external_userid=external_userid).select_for_update().first()
    if contact is None or contact.status in ENDED or contact.added_at > at:
        return None
    await StaffContact.filter(id=contact.id).update(status=status, removed_at=at)
    await contact.refresh_from_db()
    await record_event(
        type=EventType.WECOM_REMOVE, customer_id=contact.customer_id, occurred_at=at,
        attribution=Attribution(code_id=contact.code_id, store_id=contact.store_id, staff_id=staff.id,
                                campaign_id=contact.campaign_id, channel=CHANNEL),
        props={"external_userid": external_userid, "by": status.value, "receipt_id": receipt_id, **(props or {})},
    )
    return contact


async def tell_store_manager(*, staff: Staff, text: str, dedup_key: str) -> int:
    """Queue an app message to the store's managers (not the staff member themself); returns how many."""
    managers = await Staff.filter(
        Q(role=StaffRole.MANAGER) | Q(role=StaffRole.MANAGER_ON_DUTY),
        store_id=staff.store_id, active=True, wecom_userid__not_isnull=True,
    ).exclude(id=staff.id).order_by("role", "id").values_list("wecom_userid", flat=True)
    if not managers:
        log.warning("store %s has no manager on WeCom to tell: %s", staff.store_id, text)
        return 0
    await publish("wecom.app_message", {"touser": list(managers), "content": text}, dedup_key=dedup_key)
    return len(managers)
