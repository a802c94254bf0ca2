"""Staff web sign-in in the sandbox: the authorize page, single-use codes and ``auth/getuserinfo``.

The real page (open.weixin.qq.com/connect/oauth2/authorize) signs in whoever opened it inside WeCom; here a
page lists the directory and the tester picks who they are. Codes are single use and expire after
``oauth_code_seconds`` (5 minutes), as on the platform (path/91023, 91335).
"""

from __future__ import annotations

import html
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from connectors.wecom.sandbox.state import ApiError, Directory, new_id

SCOPES = {"snsapi_base", "snsapi_privateinfo"}


class OAuthCodes:
    def __init__(self, *, directory: Directory, code_seconds: float) -> None:
        self.directory = directory
        self.code_seconds = code_seconds
        self.codes: dict[str, dict[str, Any]] = {}

    def issue(self, *, userid: str | None = None, openid: str | None = None) -> str:
        """A code for a member (``userid``) or for a WeChat user outside the corp (``openid``)."""
        if userid is not None:
            self.directory.require(userid)
        who = {"userid": userid} if userid is not None else {"openid": openid or new_id("o", 27)}
        code = new_id("", 32)
        self.codes[code] = {"who": who, "issued_at": time.time()}
        return code

    def redeem(self, code: str | None) -> dict[str, Any]:
        entry = self.codes.pop(code or "", None)
        if entry is None or time.time() - entry["issued_at"] > self.code_seconds:
            raise ApiError(40029, "invalid code")
        return dict(entry["who"])


router = APIRouter()


@router.get("/connect/oauth2/authorize", response_class=HTMLResponse)
async def authorize_page(request: Request) -> Response:
    """The "sign in as …" page, in Chinese as WeCom's own is; each choice posts back and is redirected with a
    fresh code. (The refusals name the parameter in WeCom's terms, as its error pages do.)"""
    sandbox = request.app.state.sandbox
    params = request.query_params
    problem = _check_authorize(params, sandbox.config.corp_id)
    if problem:
        return HTMLResponse(_page("无法登录", f"<p>{html.escape(problem)}</p>"), status_code=400)
    hidden = "".join(f'<input type="hidden" name="{name}" value="{html.escape(params.get(name, ""))}">'
                     for name in ("redirect_uri", "state"))
    choices = [(u["userid"], f'{u["name"]} ({u["userid"]})') for u in (sandbox.directory.users or {}).values()]
    buttons = "".join(
        f'<form method="post" action="/connect/oauth2/authorize/choose">{hidden}'
        f'<input type="hidden" name="userid" value="{html.escape(userid)}">'
        f'<button type="submit">以 {html.escape(label)} 身份登录</button></form>'
        for userid, label in choices
    )
    outsider = (f'<form method="post" action="/connect/oauth2/authorize/choose">{hidden}'
                f'<button type="submit">以企业外的微信用户身份登录</button></form>')
    empty = "" if choices else "<p>沙箱里还没有员工：先 PUT /sandbox/users（`hub demo-wecom` 会做）。</p>"
    return HTMLResponse(_page("企业微信登录（沙箱）", empty + buttons + outsider))


@router.post("/connect/oauth2/authorize/choose")
async def choose(request: Request) -> Response:
    form = await request.form()
    redirect_uri, state, userid = (str(form.get(k, "")) for k in ("redirect_uri", "state", "userid"))
    if not _is_http_url(redirect_uri):
        return HTMLResponse(_page("无法登录", "<p>redirect_uri 不是 http(s) 地址</p>"), status_code=400)
    codes: OAuthCodes = request.app.state.sandbox.oauth
    try:
        code = codes.issue(userid=userid) if userid else codes.issue()
    except ApiError as exc:
        return HTMLResponse(_page("无法登录", f"<p>{html.escape(exc.errmsg)}</p>"), status_code=400)
    return RedirectResponse(_with_query(redirect_uri, code=code, state=state), status_code=302)


def _check_authorize(params: Any, corp_id: str) -> str | None:
    if params.get("appid") != corp_id:
        return "appid is not this corp's id"
    if params.get("response_type") != "code":
        return "response_type must be code"
    if params.get("scope") not in SCOPES:
        return f"scope must be one of {', '.join(sorted(SCOPES))}"
    if not _is_http_url(params.get("redirect_uri", "")):
        return "redirect_uri is not an http(s) URL"
    return None


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _with_query(url: str, **extra: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in extra]
    return urlunsplit(parts._replace(query=urlencode(query + list(extra.items()))))


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width"></head>'
            f'<body><h1>{html.escape(title)}</h1>{body}</body></html>')
