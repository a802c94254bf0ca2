"""Applying WeCom callbacks that were verified, decrypted, deduplicated and stored as receipts.

``handle`` is called by the receipt job (webhooks/wecom/jobs.py, urgent lane) outside any transaction;
it opens its own and is idempotent: a receipt processed again (a retry after a crash) changes nothing
twice (see hub/wecom/contacts/service.py), and a welcome code already used is not used again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from connectors.wecom.errors import WecomError
from hub import clock
from hub.codes.models import Code
from hub.database import transaction
from hub.errors import HubError
from hub.links.coupon_links import claim_link_url
from hub.staff.models import Staff
from hub.wecom.callbacks import welcome as welcomes
from hub.wecom.contacts.service import apply_add, apply_removal, customer_for, tell_store_manager
from hub.wecom.models import ContactStatus, ContactWay, StaffContact

log = logging.getLogger("hub.wecom.callbacks")


async def handle(fields: dict[str, str], *, receipt_id: int) -> str:
    """Apply one callback's fields (the decrypted XML's elements); return a short outcome for the receipt."""
    event = fields.get("Event", "")
    change = fields.get("ChangeType", "")
    if event == "change_external_contact":
        handler = _CONTACT_CHANGES.get(change)
        if handler is None:
            return f"ignored: unknown change {change or '(none)'}"
        return await handler(fields, receipt_id)
    if event == "change_external_chat":
        return f"recorded: chat {fields.get('ChatId', '')} {change} {fields.get('UpdateDetail', '')}".rstrip()
    if event == "change_external_tag":
        return f"recorded: tag {fields.get('TagType', '')} {fields.get('Id', '')} {change}"
    return f"ignored: {event or fields.get('MsgType', '(no event)')}/{change}"


def _event_time(fields: dict[str, str]) -> datetime:
    try:
        return datetime.fromtimestamp(int(fields.get("CreateTime", "")), UTC)
    except (ValueError, OverflowError, OSError):
        return clock.now()  # the receipt's signature was fresh, so "now" is close


async def _staff(fields: dict[str, str]) -> Staff | None:
    userid = fields.get("UserID", "")
    return await Staff.get_or_none(wecom_userid=userid).select_related("store") if userid else None


async def _code_for(state: str) -> tuple[ContactWay | None, Code | None]:
    """The contact-me code whose ``state`` came back; (None, None) for an add that matched no code."""
    if not state:
        return None, None
    way = await ContactWay.get_or_none(state=state)
    if way is None:
        return None, None
    return way, await Code.get(id=way.code_id).select_related("store")


async def _details(external_userid: str, staff: Staff) -> tuple[str, str, str]:
    """The customer's name, unionid and the staff member's remark, as far as WeCom tells us; blanks when
    it cannot (the add is recorded anyway)."""
    from hub.wecom.connection import wecom_client

    try:
        answer = await wecom_client().get_external_contact(external_userid)
    except (WecomError, HubError) as exc:
        log.warning("no details for external contact: %s", exc)
        return "", "", ""
    contact = answer.get("external_contact") or {}
    remark = next((f.get("remark", "") for f in answer.get("follow_user") or []
                   if f.get("userid") == staff.wecom_userid), "")
    return str(contact.get("name", ""))[:64], str(contact.get("unionid", "")), str(remark)[:64]


async def _add(fields: dict[str, str], receipt_id: int, *, half: bool = False) -> str:
    staff = await _staff(fields)
    if staff is None:
        return f"skipped: staff member {fields.get('UserID', '')!r} is not known to the hub"
    external_userid = fields.get("ExternalUserID", "")
    if not external_userid:
        return "skipped: no ExternalUserID"
    at = _event_time(fields)
    state = fields.get("State", "")
    way, code = await _code_for(state)
    name, unionid, remark = await _details(external_userid, staff)

    welcome = "none"
    welcome_code = fields.get("WelcomeCode", "")
    if welcome_code and not await _welcome_already_sent(staff, external_userid, at):
        claim_url = await _claim_url(way, code, external_userid=external_userid, unionid=unionid, name=name)
        message = welcomes.compose(way=way, code=code, staff=staff, store_name=staff.store.name, customer_name=name,
                                   claim_url=claim_url)
        welcome = await welcomes.send(welcome_code=welcome_code, created_at=int(at.timestamp()), welcome=message)

    async with transaction():
        customer = await customer_for(external_userid=external_userid, unionid=unionid, name=name)
        result = await apply_add(
            staff=staff, customer=customer, external_userid=external_userid, at=at, code=code, way=way,
            wecom_state=state, half=half, welcome=welcome, receipt_id=receipt_id,
        )
        if remark:
            await StaffContact.filter(id=result.contact.id).update(remark=remark)
    what = "half add" if half else "add"
    if not result.applied:
        return f"already applied: {what} of customer {customer.id}"
    via = f"code {code.slug}" if code else "no code"
    return f"{what}: customer {customer.id} by staff {staff.staff_no} via {via}; welcome {welcome}"


async def _claim_url(way: ContactWay | None, code: Code | None, *, external_userid: str, unionid: str,
                     name: str) -> str | None:
    """The new customer's own claim link when the code's welcome offers a coupon. The customer is recorded
    first (one short transaction; the add's own transaction finds them again), because the link names them."""
    if way is None or way.welcome_coupon_batch_id is None:
        return None
    async with transaction():
        customer = await customer_for(external_userid=external_userid, unionid=unionid, name=name)
    return claim_link_url(batch_id=way.welcome_coupon_batch_id, customer_id=customer.id, channel="wecom",
                          code_id=code.id if code is not None else None)


async def _welcome_already_sent(staff: Staff, external_userid: str, at: datetime) -> bool:
    return await StaffContact.filter(staff_id=staff.id, external_userid=external_userid, added_at__gte=at,
                                     welcome__in=("sent", "used")).exists()


async def _edit(fields: dict[str, str], receipt_id: int) -> str:
    staff = await _staff(fields)
    external_userid = fields.get("ExternalUserID", "")
    if staff is None or not external_userid:
        return "skipped: unknown staff member or contact"
    name, unionid, remark = await _details(external_userid, staff)
    async with transaction():
        customer = await customer_for(external_userid=external_userid, unionid=unionid, name=name)
        await StaffContact.filter(staff_id=staff.id, external_userid=external_userid).update(remark=remark)
    return f"edited: customer {customer.id}"


async def _staff_removed(fields: dict[str, str], receipt_id: int) -> str:
    """del_external_contact: the staff member deleted the customer (or a transfer moved the customer on)."""
    if fields.get("Source", "") == "DELETE_BY_TRANSFER":
        return await _end(fields, receipt_id, ContactStatus.TRANSFERRED, props={"source": "DELETE_BY_TRANSFER"})
    return await _end(fields, receipt_id, ContactStatus.LOST)


async def _customer_removed(fields: dict[str, str], receipt_id: int) -> str:
    """del_follow_user: the customer deleted the staff member."""
    return await _end(fields, receipt_id, ContactStatus.REMOVED_BY_CUSTOMER)


async def _end(fields: dict[str, str], receipt_id: int, status: ContactStatus, props: dict | None = None) -> str:
    staff = await _staff(fields)
    if staff is None:
        return f"skipped: staff member {fields.get('UserID', '')!r} is not known to the hub"
    external_userid = fields.get("ExternalUserID", "")
    at = _event_time(fields)
    async with transaction():
        contact = await apply_removal(staff=staff, external_userid=external_userid, at=at, status=status,
                                      receipt_id=receipt_id, props=props)
        if contact is None:
            return f"already applied or unknown: {status.value}"
        told = 0
        if status == ContactStatus.LOST:
            told = await tell_store_manager(
                staff=staff, dedup_key=f"wecom.lost:{receipt_id}",
                text=f"【客户流失提醒】{staff.store.name}的{staff.name}（工号{staff.staff_no}）删除了客户"
                     f"（客户编号{contact.customer_id}），请关注。",
            )
    suffix = f"; told {told} manager(s)" if status == ContactStatus.LOST else ""
    return f"{status.value}: customer {contact.customer_id} and staff {staff.staff_no}{suffix}"


async def _transfer_failed(fields: dict[str, str], receipt_id: int) -> str:
    reason = fields.get("FailReason", "")
    log.warning("transfer of an external contact to %s failed: %s", fields.get("UserID", ""), reason)
    return f"transfer failed: {reason or 'no reason given'}"


async def _half_add(fields: dict[str, str], receipt_id: int) -> str:
    return await _add(fields, receipt_id, half=True)


_CONTACT_CHANGES = {
    "add_external_contact": _add,
    "add_half_external_contact": _half_add,
    "edit_external_contact": _edit,
    "del_external_contact": _staff_removed,
    "del_follow_user": _customer_removed,
    "transfer_fail": _transfer_failed,
}
