"""The staff pages: ``GET /staff/`` (home), WeCom web sign-in and ``POST /staff/signout``.

Sign-in: ``/staff/`` without a session → ``/staff/signin?next=…`` → WeCom's authorize page → back to
``/staff/auth/callback?code&state`` → the session cookie → ``next``. These are pages for people in WeCom's
browser, not API: every outcome is a small Chinese page, never problem JSON, and they stay out of OpenAPI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader

from connectors.wecom.errors import WecomError
from hub.codes.models import CodeKind
from hub.edge import APIRouter
from hub.schemas import SHANGHAI
from hub.settings import SettingsError, get_settings
from hub.staff.models import Staff, StaffRole
from hub.staffweb import service
from hub.staffweb.session import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    SIGNIN_COOKIE,
    SIGNIN_COOKIE_PATH,
    SIGNIN_SECONDS,
    clear_cookie,
    finish_signin,
    issue_session,
    principal_from_session,
    safe_next,
    set_cookie,
    start_signin,
)
from hub.wecom.connection import WecomNotConfigured, wecom_client
from hub.wecom.models import ContactStatus, ContactWayStatus

router = APIRouter(prefix="/staff", include_in_schema=False)

CALLBACK_PATH = "/staff/auth/callback"
INVALID_CODE = 40029  # WeCom: the sign-in code is unknown, expired (5 minutes) or already used
CODE_MAX = 512  # WeCom's sign-in codes are at most 512 bytes (path/96714)
# Pages with someone's codes and customers: never cached, never framed, nothing loaded from elsewhere.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
# Pages that end the sign-in: (status, title, message, offer to sign in again).
MESSAGES = {
    "bad_state": (400, "登录已失效", "登录链接已过期或已使用，请重新登录。", True),
    "bad_code": (400, "登录失败", "企业微信登录码无效或已使用，请重新登录。", True),
    "not_member": (403, "无法登录", "请用本企业的企业微信成员账号打开此页面。", False),
    "unknown_staff": (403, "无法登录", "您的企业微信账号没有对应的在岗店员，请联系店长或运营开通。", False),
    "wecom_down": (502, "企业微信暂时无法访问", "请稍后重试。", True),
    "not_configured": (503, "暂未开通", "企业微信登录尚未配置，请联系运营。", False),
    "signed_out": (200, "已退出登录", "", True),
}
WEEKDAYS = "一二三四五六日"
LABELS = {
    "kinds": {CodeKind.STORE: "门店码", CodeKind.PRODUCT: "商品码", CodeKind.STAFF: "一人一码",
              CodeKind.LIVESTREAM: "直播码", CodeKind.CAMPAIGN: "活动码"},
    "roles": {StaffRole.CLERK: "店员", StaffRole.MANAGER: "店长", StaffRole.MANAGER_ON_DUTY: "值班长"},
    "way_states": {ContactWayStatus.PENDING: "同步中", ContactWayStatus.SYNCED: "已生效",
                   ContactWayStatus.FAILED: "同步失败", ContactWayStatus.DELETED: "已停用"},
    "contact_states": {ContactStatus.ACTIVE: "好友", ContactStatus.HALF: "待通过",
                       ContactStatus.REMOVED_BY_CUSTOMER: "客户已删除", ContactStatus.LOST: "已删除客户",
                       ContactStatus.TRANSFERRED: "已转接"},
}


def _day(value: datetime) -> str:
    local = value.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日 周{WEEKDAYS[local.weekday()]}"


def _when(value: datetime) -> str:
    return f"{_day(value)} {value.astimezone(SHANGHAI):%H:%M}"


_env = Environment(loader=PackageLoader("hub.staffweb", "templates"), autoescape=True)
_env.filters.update(day=_day, when=_when)


def _page(template: str, *, status: int = 200, **context) -> HTMLResponse:
    html = _env.get_template(template).render(**LABELS, **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _message(reason: str) -> HTMLResponse:
    status, title, message, retry = MESSAGES[reason]
    return _page("message.html", status=status, title=title, message=message, retry=retry)


@router.get("/")
async def home(request: Request) -> Response:
    principal = await principal_from_session(request.cookies.get(SESSION_COOKIE))
    if principal is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/staff/signin?{urlencode({'next': here})}", status_code=303)
    view = await service.home(principal=principal)
    return _page("home.html", title=f"{view.name} · 我的二维码与客户", home=view)


@router.get("/signin")
async def signin(next_path: Annotated[str | None, Query(alias="next")] = None) -> Response:
    state, cookie = start_signin(safe_next(next_path))
    callback = get_settings().public_base_url.rstrip("/") + CALLBACK_PATH
    try:
        authorize = wecom_client().oauth_url(redirect_uri=callback, state=state)
    except (WecomNotConfigured, SettingsError):  # no corp id and secret, or no agent id
        return _message("not_configured")
    response = RedirectResponse(authorize, status_code=303)
    set_cookie(response, SIGNIN_COOKIE, cookie, max_age=SIGNIN_SECONDS, path=SIGNIN_COOKIE_PATH)
    return response


async def _staff_for(code: str | None) -> Staff | str:
    """The active staff member WeCom signed in with ``code``, or the reason for the page refusing it."""
    if not code or len(code) > CODE_MAX:
        return "bad_code"
    try:
        info = await wecom_client().get_user_info(code)
    except WecomNotConfigured:
        return "not_configured"
    except WecomError as exc:
        return "bad_code" if exc.errcode == INVALID_CODE else "wecom_down"
    userid = info.get("userid")
    if not userid:  # an outsider (openid only) or a member of another corp
        return "not_member"
    staff = await Staff.get_or_none(wecom_userid=userid, active=True)
    return staff if staff is not None else "unknown_staff"


@router.get("/auth/callback")
async def callback(request: Request, code: str | None = None, state: str | None = None) -> Response:
    next_path = finish_signin(state, request.cookies.get(SIGNIN_COOKIE))
    if next_path is None:
        response: Response = _message("bad_state")
    elif isinstance(staff := await _staff_for(code), str):
        response = _message(staff)
    else:
        response = RedirectResponse(next_path, status_code=303)
        token = issue_session(staff_id=staff.id, staff_role=staff.role, store_id=staff.store_id)
        set_cookie(response, SESSION_COOKIE, token, max_age=SESSION_SECONDS)
    clear_cookie(response, SIGNIN_COOKIE, path=SIGNIN_COOKIE_PATH)  # one sign-in per state
    return response


@router.post("/signout")
async def signout() -> Response:
    # No CSRF token: the most another site could do with this form is sign someone out.
    response = _message("signed_out")
    clear_cookie(response, SESSION_COOKIE)
    return response
