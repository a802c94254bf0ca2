"""``/sandbox/…``: what tests and the demo use to set the sandbox up, look inside, and play the customer."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field, model_validator

from connectors.wecom.sandbox.callbacks import CHANGE_TYPES, deliver, envelope, event_xml
from connectors.wecom.sandbox.state import Fault, invalid

if TYPE_CHECKING:
    from connectors.wecom.sandbox.app import Sandbox

router = APIRouter(prefix="/sandbox", tags=["sandbox"])
SentKind = Literal["welcome", "app_message", "mark_tag", "msg_template"]
Id = Annotated[str, Field(min_length=1, max_length=64)]


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


class StaffUser(BaseModel):
    userid: Id
    name: Annotated[str, Field(min_length=1, max_length=64)]


class FaultIn(BaseModel):
    api: Annotated[str, Field(min_length=1, max_length=100, examples=["externalcontact/get", "gettoken"])]
    errcode: int | None = None
    times: Annotated[int, Field(ge=1, le=1000)] = 1
    delay_seconds: Annotated[float, Field(ge=0, le=30)] = 0.0  # answer late, to test client timeouts

    @model_validator(mode="after")
    def _something(self) -> FaultIn:
        if self.errcode is None and not self.delay_seconds:
            raise ValueError("give an errcode, a delay_seconds, or both")
        return self


class CodeIn(BaseModel):
    userid: Id | None = None  # a staff member; without it, a WeChat user outside the corp (openid)


class SimulateIn(BaseModel):
    staff: Id
    external_userid: Id | None = None  # required except for add events (a new customer by default)
    state: Annotated[str, Field(max_length=30)] = ""
    name: Annotated[str | None, Field(max_length=64)] = None
    unionid: Id | None = None  # add events: the WeChat person's unionid (default: a new one, if bound)
    welcome: bool = True  # issue a WelcomeCode (false: an admin set a welcome message in the console)
    source: Literal["DELETE_BY_TRANSFER"] | None = None  # del_external_contact
    fail_reason: Literal["customer_refused", "customer_limit_exceed"] = "customer_refused"  # transfer_fail
    remark: Annotated[str | None, Field(max_length=64)] = None  # edit_external_contact: the staff's new remark
    deliver: bool = True  # false: only build the request and return it (to post it through an ASGI client)


class ConfirmIn(BaseModel):
    msgid: Id
    userid: Id


@router.put("/users")
async def put_users(request: Request, users: list[StaffUser]) -> dict[str, int]:
    """Load the staff directory (replaces it); from now on unknown userids answer 60111."""
    _sandbox(request).directory.load([u.model_dump() for u in users])
    return {"users": len(users)}


@router.get("/sent")
async def sent(request: Request, kind: SentKind) -> list[dict[str, Any]]:
    """What the sandbox was asked to send, oldest first, with the time (epoch seconds) it was asked."""
    return _sandbox(request).sent.items[kind]


@router.get("/contact-ways")
async def contact_ways(request: Request) -> list[dict[str, Any]]:
    return list(_sandbox(request).contacts.ways.values())


@router.get("/customers")
async def customers(request: Request) -> list[dict[str, Any]]:
    contacts = _sandbox(request).contacts
    return [{"external_contact": c, "follow_user": list(contacts.follows.get(e, {}).values())}
            for e, c in contacts.customers.items()]


@router.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    """``gettoken``: tokens issued; ``calls``: requests per API, refused ones included."""
    gate = _sandbox(request).gate
    return {"gettoken": gate.tokens_issued, "calls": dict(gate.calls)}


@router.post("/faults")
async def add_fault(request: Request, fault: FaultIn) -> dict[str, Any]:
    """Answer ``errcode`` (after ``delay_seconds``) to the next ``times`` calls of ``api``."""
    _sandbox(request).gate.add_fault(fault.api, Fault(fault.errcode, fault.times, fault.delay_seconds))
    return fault.model_dump()


@router.post("/expire-tokens")
async def expire_tokens(request: Request) -> dict[str, int]:
    return {"expired": _sandbox(request).gate.expire_tokens()}


@router.post("/oauth/code")
async def oauth_code(request: Request, body: CodeIn) -> dict[str, str]:
    """A sign-in code as the authorize page would hand out, without scraping it."""
    return {"code": _sandbox(request).oauth.issue(userid=body.userid)}


@router.post("/groupmsg/confirm")
async def confirm_group_message(request: Request, body: ConfirmIn) -> dict[str, Any]:
    """The staff member confirms a group-send task in the WeCom client; customers get it (or not)."""
    return _sandbox(request).messaging.confirm(msgid=body.msgid, userid=body.userid)


@router.post("/simulate/{change_type}")
async def simulate(request: Request, change_type: Annotated[str, Path(max_length=40)],
                   body: SimulateIn) -> dict[str, Any]:
    """A customer event: change the world, then POST the encrypted callback and report the hub's answer.

    ``change_type`` is one of the ``ChangeType`` values, or ``add`` for ``add_external_contact``.
    """
    sandbox = _sandbox(request)
    change_type = "add_external_contact" if change_type == "add" else change_type
    if change_type not in CHANGE_TYPES:
        raise invalid(f"change_type must be add or one of {', '.join(CHANGE_TYPES)}")
    external_userid, extra = _apply(sandbox, change_type, body)
    plaintext = event_xml(sandbox.config, change_type=change_type, staff=body.staff,
                          external_userid=external_userid, create_time=int(time.time()), extra=extra)
    params, envelope_xml = envelope(sandbox.config, plaintext)
    attempts = await deliver(sandbox.config, params, envelope_xml) if body.deliver else []
    last = attempts[-1] if attempts else {}
    return {"change_type": change_type, "external_userid": external_userid,
            "welcome_code": extra.get("WelcomeCode"), "status": last.get("status"),
            "body": last.get("body", last.get("error")), "attempts": attempts,
            "callback": {"url": sandbox.config.callback_url, "params": params, "xml": envelope_xml,
                         "plaintext": plaintext}}


def _apply(sandbox: Sandbox, change_type: str, body: SimulateIn) -> tuple[str, dict[str, str]]:
    """Change the sandbox's world for the event; (external_userid, the event's extra fields)."""
    contacts = sandbox.contacts
    if change_type in ("add_external_contact", "add_half_external_contact"):
        external_userid, welcome_code = contacts.customer_adds(
            staff=body.staff, state=body.state, name=body.name, external_userid=body.external_userid,
            unionid=body.unionid, welcome=body.welcome)
        extra = {"State": body.state} if body.state else {}
        return external_userid, extra | ({"WelcomeCode": welcome_code} if welcome_code else {})
    if body.external_userid is None:
        raise invalid(f"{change_type} needs external_userid")
    external_userid = body.external_userid
    if change_type == "edit_external_contact":
        follow = contacts.relation(staff=body.staff, external_userid=external_userid)
        if body.remark is not None:
            follow["remark"] = body.remark
        return external_userid, {}
    if change_type == "del_external_contact":
        contacts.end_relation(staff=body.staff, external_userid=external_userid)
        return external_userid, {"Source": body.source} if body.source else {}
    if change_type == "del_follow_user":
        contacts.end_relation(staff=body.staff, external_userid=external_userid)
        return external_userid, {}
    # transfer_fail: the customer stays with the previous staff member; UserID is the one who did not get it.
    contacts.customer(external_userid)
    sandbox.directory.require(body.staff)
    return external_userid, {"FailReason": body.fail_reason}
