"""``/cgi-bin/…``: the platform API as the hub calls it, always HTTP 200 with ``errcode`` and ``errmsg``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from connectors.wecom.sandbox.state import ApiError

if TYPE_CHECKING:
    from connectors.wecom.sandbox.app import Sandbox

Handler = Callable[["Sandbox", Any, dict[str, Any]], dict[str, Any]]

# (method, api) -> handler(sandbox, query parameters, JSON body)
HANDLERS: dict[tuple[str, str], Handler] = {
    ("POST", "externalcontact/add_contact_way"): lambda s, q, b: s.contacts.add_way(b),
    ("POST", "externalcontact/update_contact_way"): lambda s, q, b: s.contacts.update_way(b),
    ("POST", "externalcontact/get_contact_way"): lambda s, q, b: s.contacts.get_way(b),
    ("POST", "externalcontact/del_contact_way"): lambda s, q, b: s.contacts.del_way(b),
    ("GET", "externalcontact/get"): lambda s, q, b: s.contacts.get(q.get("external_userid")),
    ("POST", "externalcontact/batch/get_by_user"): lambda s, q, b: s.contacts.batch_get_by_user(b),
    ("GET", "externalcontact/get_follow_user_list"): lambda s, q, b: s.contacts.follow_user_list(),
    ("POST", "externalcontact/get_corp_tag_list"): lambda s, q, b: s.contacts.tag_list(b),
    ("POST", "externalcontact/add_corp_tag"): lambda s, q, b: s.contacts.add_tag(b),
    ("POST", "externalcontact/mark_tag"): lambda s, q, b: s.contacts.mark_tag(b),
    ("POST", "externalcontact/send_welcome_msg"): lambda s, q, b: s.contacts.send_welcome(b),
    ("POST", "externalcontact/add_msg_template"): lambda s, q, b: s.messaging.add_msg_template(b),
    ("POST", "externalcontact/get_groupmsg_task"): lambda s, q, b: s.messaging.task_list(b),
    ("POST", "externalcontact/get_groupmsg_send_result"): lambda s, q, b: s.messaging.send_result(b),
    ("POST", "message/send"): lambda s, q, b: s.messaging.send_app_message(b),
    ("GET", "auth/getuserinfo"): lambda s, q, b: s.oauth.redeem(q.get("code")),
}


def add_api_routes(app: FastAPI) -> None:
    router = APIRouter(prefix="/cgi-bin")
    router.add_api_route("/gettoken", _gettoken, methods=["GET"], include_in_schema=False)
    for (method, api), handler in HANDLERS.items():
        router.add_api_route(f"/{api}", _endpoint(api, handler), methods=[method], name=api,
                             include_in_schema=False)
    app.include_router(router)


async def _gettoken(request: Request) -> JSONResponse:
    sandbox: Sandbox = request.app.state.sandbox
    query = request.query_params
    try:
        await sandbox.gate.admit("gettoken", None, authorized=False)
        answer = sandbox.gate.issue_token(query.get("corpid"), query.get("corpsecret"))
    except ApiError as exc:
        return JSONResponse(exc.answer(_client_ip(request)))
    return JSONResponse({"errcode": 0, "errmsg": "ok", **answer})


def _endpoint(api: str, handler: Handler) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> JSONResponse:
        sandbox: Sandbox = request.app.state.sandbox
        try:
            await sandbox.gate.admit(api, request.query_params.get("access_token"))
            body = await _json_body(request) if request.method == "POST" else {}
            try:
                answer = handler(sandbox, request.query_params, body)
            except (TypeError, ValueError, AttributeError, KeyError) as exc:
                # Fields of the wrong type: the platform answers "data format error", never a 500.
                raise ApiError(47001, f"data format error: {type(exc).__name__}") from exc
        except ApiError as exc:
            return JSONResponse(exc.answer(_client_ip(request)))
        return JSONResponse({"errcode": 0, "errmsg": "ok", **answer})

    endpoint.__name__ = api.replace("/", "_")
    return endpoint


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise ApiError(47001, "data format error") from None
    if not isinstance(body, dict):
        raise ApiError(47001, "data format error")
    return body


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
