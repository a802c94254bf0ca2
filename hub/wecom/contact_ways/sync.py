"""Making WeCom's contact ways match the hub's: the work behind the outbox's sync and delete messages.

No transaction is held across a WeCom call (on SQLite a transaction locks the process's only
connection). Instead every result is stored with a conditional update on the way as the sync read it:
its ``version`` (settings and life: made, disabled, enabled) and its ``synced_at`` (another sync's
result). A sync that finds either changed has lost a race, so it undoes what it made (a second contact
way) or marks the way pending (WeCom may now hold its stale list), and goes round again with fresh data.
Whoever stores last therefore also called WeCom last. A sync never bumps ``version``, so an editor's
PUT right after a sync is no conflict.

Failures are recorded on the way (``last_error``; ``failed`` after the message's last try) and raised,
so the outbox retries them with backoff.
"""

from __future__ import annotations

import logging
from datetime import datetime

from tortoise.expressions import F

from connectors.wecom.errors import WecomError
from hub import clock
from hub.codes.models import Code, TargetKind
from hub.codes.targets import check_target_url
from hub.database import current_unit_of_work, transaction
from hub.errors import InvalidInput
from hub.links.cache import invalidate
from hub.wecom.connection import wecom_client
from hub.wecom.contact_ways.plan import Plan
from hub.wecom.contact_ways.service import pending_target, plan_now, publish_sync
from hub.wecom.models import ContactWay, ContactWayStatus
from hub.wecom.tags.service import tag_ids_for

log = logging.getLogger("hub.wecom.contactways")

S = ContactWayStatus
ROUNDS = 3  # races lost in a row before the message is retried later
SCENE_QR = 2
REMARK_MAX = 30  # characters WeCom keeps as a contact way's remark
INVALID_PARAMETER = 40058  # the answer for a config_id WeCom does not have (any more)


class NobodyToApply(RuntimeError):
    """No member of the way can take customers (none is active with a WeCom account)."""


class SyncContended(RuntimeError):
    """Other writers kept changing the way while this sync ran; the outbox retries it later."""


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:255]


async def sync(*, contact_way_id: int, now: datetime, last_try: bool = False) -> str:
    """Give WeCom the way's settings and the user list planned for ``now``; returns what happened."""
    for _ in range(ROUNDS):
        way = await ContactWay.get_or_none(id=contact_way_id)
        if way is None:
            return "missing"
        if way.status == S.DELETED:
            return "deleted"
        code = await Code.get(id=way.code_id).select_related("staff", "store")
        try:
            plan = await plan_now(way=way, code=code, now=now)
            if code.wecom_config_id and way.status == S.SYNCED and set(plan.userids) == set(way.applied_userids):
                return "unchanged"
            made = await _apply(way, code, plan)
        except Exception as exc:
            await _record_error(way, exc, final=last_try)
            raise
        async with transaction():
            stored = await _store(way, code, plan, made)
        if stored:
            return "added" if made else "updated"
        if made:  # the other writer may have made one too: keep only the contact way that was stored
            await wecom_client().del_contact_way(made["config_id"])
        async with transaction():
            await ContactWay.filter(id=way.id).exclude(status=S.DELETED).update(status=S.PENDING)
    raise SyncContended(f"contact way {contact_way_id} kept changing during {ROUNDS} syncs")


async def _apply(way: ContactWay, code: Code, plan: Plan) -> dict | None:
    """The WeCom calls; returns the new contact way when one was made (first sync), else None."""
    if not plan.userids:
        raise NobodyToApply(f"no member of contact way {way.id} is active with a WeCom account")
    if plan.tier.fallback:
        log.warning("contact way %s: nobody is eligible, so WeCom gets the %s tier", way.id, plan.tier)
    if way.tag_names:
        await tag_ids_for(list(way.tag_names))  # the tags exist in WeCom before the first customer arrives
    client = wecom_client()
    if code.wecom_config_id:
        try:
            await client.update_contact_way(config_id=code.wecom_config_id, user=plan.userids,
                                            skip_verify=way.skip_verify)
            return None
        except WecomError as exc:
            if exc.errcode != INVALID_PARAMETER:
                raise
            # Deleted in the admin console (or a sandbox restarted): the code gets a new contact way.
            log.warning("WeCom no longer has contact way %s of code %s; making a new one", code.wecom_config_id,
                        code.id)
    made = await client.add_contact_way(type=way.way_type, scene=SCENE_QR, state=way.state, user=plan.userids,
                                        skip_verify=way.skip_verify, remark=code.name[:REMARK_MAX])
    try:
        check_target_url(made.get("qr_code") or "", target_kind=TargetKind.WECOM_CONTACT)
    except InvalidInput:
        await client.del_contact_way(made["config_id"])  # never redirect to a host ops did not allow
        raise
    return made


def _as_read(way: ContactWay):
    """The way, only while nobody has written it since ``way`` was read (see the module docstring)."""
    return ContactWay.filter(id=way.id, version=way.version, synced_at=way.synced_at)


async def _store(way: ContactWay, code: Code, plan: Plan, made: dict | None) -> bool:
    """Record what WeCom now has, unless the way changed since it was read; True when stored."""
    now = clock.now()
    if not await _as_read(way).update(
        status=S.SYNCED, applied_userids=plan.userids, last_error="", synced_at=now, updated_at=now,
    ):
        return False
    if made:
        await Code.filter(id=code.id).update(
            wecom_config_id=made["config_id"], wecom_qr_code=made["qr_code"], target_url=made["qr_code"],
            version=F("version") + 1, updated_at=now,
        )
        _invalidate_after_commit(code.id)
    return True


async def _record_error(way: ContactWay, exc: BaseException, *, final: bool) -> None:
    """Show the failure on the way, unless a newer write made it obsolete; ``failed`` after the last try."""
    status = way.status if way.status == S.DELETED else (S.FAILED if final else S.PENDING)
    async with transaction():  # its own: the failed WeCom call was made outside any transaction
        await _as_read(way).update(status=status, last_error=_describe(exc), updated_at=clock.now())


async def delete(*, contact_way_id: int, last_try: bool = False) -> str:
    """Delete a disabled code's contact way in WeCom; the code's target goes back to the storefront."""
    way = await ContactWay.get_or_none(id=contact_way_id)
    if way is None:
        return "missing"
    if way.status != S.DELETED:
        return "enabled again"
    code = await Code.get(id=way.code_id).select_related("store")
    config_id = code.wecom_config_id
    if config_id:
        try:
            await wecom_client().del_contact_way(config_id)
        except WecomError as exc:
            if exc.errcode != INVALID_PARAMETER:  # anything else: WeCom may still have it
                await _record_error(way, exc, final=last_try)
                raise
    async with transaction():
        now = clock.now()
        if config_id and await Code.filter(id=code.id, wecom_config_id=config_id).update(
            wecom_config_id=None, wecom_qr_code=None, target_url=pending_target(store=code.store),
            version=F("version") + 1, updated_at=now,
        ):
            _invalidate_after_commit(code.id)
        await ContactWay.filter(id=way.id, status=S.DELETED).update(applied_userids=[], last_error="", updated_at=now)
        # Enabled again while we deleted: that sync may have updated the contact way just deleted.
        if await ContactWay.filter(id=way.id).exclude(status=S.DELETED).update(
            status=S.PENDING, version=F("version") + 1, updated_at=now
        ):
            await publish_sync(way.id, reason=f"v{(await ContactWay.get(id=way.id)).version}", at=now)
    return "deleted"


def _invalidate_after_commit(code_id: int) -> None:
    # The public link's cache also compares Code.version, so a lost invalidation only delays the change.
    current_unit_of_work().after_commit(lambda: invalidate(code_id))

