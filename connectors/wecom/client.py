"""Async client for the WeCom server API: one shared access token, retries, timeouts, our own rate limit.

Every call carries ``access_token`` as a query parameter. The token is fetched once per secret and shared
through a ``TokenStore``; an invalid (40014, 40001) or expired (42001) token is dropped, fetched again and
the call retried once. Busy (-1) and frequency limits (45009, 45033) are retried with a short jittered
backoff; so are network errors, but a write that may have reached WeCom (read timeout, 5xx) is retried only
when repeating it is harmless (``idempotent``), because WeCom would run it twice. Any other errcode raises
the typed error from ``connectors.wecom.errors``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from connectors.wecom.errors import BUSY, UNAVAILABLE, WecomTokenInvalid, WecomUnavailable, error_for
from connectors.wecom.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from connectors.wecom.tokens import TokenStore, token_cache_key, token_store_for
from hub.settings import Settings, SettingsError

DEFAULT_OAUTH_URL: str = Settings.model_fields["wecom_oauth_url"].default
RETRY_ERRCODES = frozenset({BUSY, 45009, 45033})
# A token is used until this long before its expiry (or a quarter of its lifetime), then fetched again.
REFRESH_MARGIN_SECONDS = 300.0
BACKOFF_BASE_SECONDS = 0.2
BACKOFF_CAP_SECONDS = 2.0
# Failures where the request never reached WeCom: retrying them cannot run anything twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
BATCH_USERIDS_MAX = 100  # batch/get_by_user takes at most this many staff userids per call


class _Unsent(WecomUnavailable):
    """WeCom was not reached at all (the connection failed): always safe to retry."""


class WecomClient:
    """One corp secret's API client; share one instance per process (it keeps an HTTP connection pool)."""

    def __init__(self, *, corp_id: str, secret: str, api_base: str, token_store: TokenStore,
                 agent_id: int | None = None, timeout: float = 5.0, calls_per_minute: int = 6000,
                 max_retries: int = 3, http: httpx.AsyncClient | None = None,
                 oauth_url: str = DEFAULT_OAUTH_URL, rate_limiter: RateLimiter | None = None) -> None:
        self.corp_id = corp_id
        self.agent_id = agent_id
        self._secret = secret
        self._api_base = api_base if api_base.endswith("/") else api_base + "/"
        self._store = token_store
        self._key = token_cache_key(corp_id, secret)
        self._timeout = timeout
        self._max_retries = max_retries
        self._http = http or httpx.AsyncClient()
        self._owns_http = http is None
        self._limiter = rate_limiter or MemoryRateLimiter(calls_per_minute)
        self._oauth_url = oauth_url
        self._owned: list[Any] = []  # stores and limiters built by from_settings, closed by aclose

    @classmethod
    def from_settings(cls, settings: Settings, *, token_store: TokenStore | None = None) -> WecomClient:
        """The client for ``HUB_WECOM_*``: tokens and rate counts in Redis when configured, else DB/process."""
        if not settings.wecom_corp_id or settings.wecom_secret is None:
            raise SettingsError("bad setting HUB_WECOM_CORP_ID/HUB_WECOM_SECRET: both must be set to call WeCom")
        secret = settings.wecom_secret.get_secret_value()
        store = token_store or token_store_for(settings)
        limit = settings.wecom_calls_per_minute
        # The platform counts calls per corp and API, whichever secret makes them.
        limiter = (RedisRateLimiter(settings.redis_url, limit, scope=settings.wecom_corp_id)
                   if settings.redis_url else MemoryRateLimiter(limit))
        client = cls(corp_id=settings.wecom_corp_id, secret=secret, api_base=settings.wecom_api_base,
                     token_store=store, agent_id=settings.wecom_agent_id, timeout=settings.wecom_timeout_seconds,
                     oauth_url=settings.wecom_oauth_url, rate_limiter=limiter)
        client._owned = [limiter] if token_store is not None else [limiter, store]
        return client

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()
        for resource in self._owned:
            await resource.aclose()

    async def __aenter__(self) -> WecomClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ---- the plumbing -------------------------------------------------------------------------------

    async def access_token(self) -> str:
        """The shared token; fetched by one process at a time when missing or near its expiry."""
        cached = await self._store.get(self._key)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        async with self._store.lock(self._key):
            cached = await self._store.get(self._key)  # another process may have fetched it while we waited
            if cached is not None and cached[1] > time.time():
                return cached[0]
            answer = await self._call("GET", "gettoken", params={"corpid": self.corp_id, "corpsecret": self._secret},
                                      json=None, idempotent=True, authorized=False)
            expires_in = float(answer["expires_in"])
            # Stored as the time we stop using it: a margin before the platform's expiry.
            use_until = time.time() + expires_in - min(REFRESH_MARGIN_SECONDS, expires_in / 4)
            await self._store.put(self._key, answer["access_token"], use_until)
            return answer["access_token"]

    async def call(self, method: str, api: str, *, params: dict[str, Any] | None = None,
                   json: dict[str, Any] | None = None, idempotent: bool | None = None) -> dict:
        """Call ``api`` (e.g. "externalcontact/add_contact_way") and return the whole answer (errcode 0).

        ``idempotent`` (default: true for GET) allows retrying after WeCom may already have acted.
        """
        return await self._call(method, api, params=params, json=json,
                                idempotent=method.upper() == "GET" if idempotent is None else idempotent,
                                authorized=True)

    async def _call(self, method: str, api: str, *, params: dict[str, Any] | None, json: dict[str, Any] | None,
                    idempotent: bool, authorized: bool) -> dict:
        retries = 0
        refreshed = False
        while True:
            token = await self.access_token() if authorized else None
            try:
                answer = await self._send(method, api, params=params, json=json, token=token)
            except WecomUnavailable as exc:
                if retries >= self._max_retries or not (idempotent or isinstance(exc, _Unsent)):
                    raise WecomUnavailable(exc.errcode, exc.errmsg, api) from exc
                retries += 1
                await _backoff(retries)
                continue
            errcode = answer.get("errcode", 0)
            if errcode == 0:
                return answer
            if token is not None and errcode in WecomTokenInvalid.errcodes and not refreshed:
                refreshed = True
                await self._store.invalidate(self._key, token)
                continue
            if errcode in RETRY_ERRCODES and retries < self._max_retries:
                retries += 1
                await _backoff(retries)
                continue
            raise error_for(errcode, str(answer.get("errmsg", "")), api)

    async def _send(self, method: str, api: str, *, params: dict[str, Any] | None, json: dict[str, Any] | None,
                    token: str | None) -> dict:
        """One HTTP exchange under our rate limit; anything but a JSON object becomes WecomUnavailable."""
        await self._limiter.acquire(api)
        query = {**(params or {}), **({"access_token": token} if token is not None else {})}
        try:
            response = await self._http.request(method, self._api_base + api, params=query, json=json,
                                                timeout=self._timeout)
        except _NOT_SENT as exc:
            raise _Unsent(UNAVAILABLE, f"{type(exc).__name__}: {exc}", api) from exc
        except httpx.TransportError as exc:
            raise WecomUnavailable(UNAVAILABLE, f"{type(exc).__name__}: {exc}", api) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 500 or not isinstance(answer, dict):
            raise WecomUnavailable(UNAVAILABLE, f"HTTP {response.status_code} without a JSON answer", api)
        return answer

    # ---- customer contact: contact ways ("contact me" QR codes) ---------------------------------------

    async def add_contact_way(self, *, type: int, scene: int, state: str, user: Sequence[str] | None = None,
                              skip_verify: bool = True, remark: str = "") -> dict:
        """Create a contact way; ``{"config_id", "qr_code"}`` (no qr_code for scene 1, mini-program)."""
        body: dict[str, Any] = {"type": type, "scene": scene, "state": state, "skip_verify": skip_verify,
                                "remark": remark}
        if user is not None:
            body["user"] = list(user)
        answer = await self.call("POST", "externalcontact/add_contact_way", json=body)
        return {"config_id": answer["config_id"], "qr_code": answer.get("qr_code")}

    async def update_contact_way(self, *, config_id: str, state: str | None = None,
                                 user: Sequence[str] | None = None, skip_verify: bool | None = None,
                                 remark: str | None = None) -> None:
        """Change the given fields only; ``user`` replaces the whole list."""
        body: dict[str, Any] = {"config_id": config_id}
        for name, value in (("state", state), ("skip_verify", skip_verify), ("remark", remark)):
            if value is not None:
                body[name] = value
        if user is not None:
            body["user"] = list(user)
        await self.call("POST", "externalcontact/update_contact_way", json=body, idempotent=True)

    async def get_contact_way(self, config_id: str) -> dict:
        answer = await self.call("POST", "externalcontact/get_contact_way", json={"config_id": config_id},
                                 idempotent=True)
        return answer["contact_way"]

    async def del_contact_way(self, config_id: str) -> None:
        await self.call("POST", "externalcontact/del_contact_way", json={"config_id": config_id}, idempotent=True)

    # ---- customer contact: customers and tags -------------------------------------------------------------

    async def get_external_contact(self, external_userid: str) -> dict:
        """``{"external_contact": {...}, "follow_user": [...]}`` for one customer."""
        answer = await self.call("GET", "externalcontact/get", params={"external_userid": external_userid})
        return _payload(answer)

    async def batch_get_by_user(self, userids: Sequence[str], *, cursor: str = "",
                                limit: int = 100) -> tuple[list[dict], str]:
        """One page of the staff members' customers: (external_contact_list, next_cursor; "" at the end)."""
        answer = await self.call("POST", "externalcontact/batch/get_by_user",
                                 json={"userid_list": list(userids), "cursor": cursor, "limit": limit},
                                 idempotent=True)
        return answer.get("external_contact_list", []), answer.get("next_cursor", "")

    async def iter_contacts_by_user(self, userids: Sequence[str], *, limit: int = 100) -> AsyncIterator[dict]:
        """Every customer entry of these staff members, page after page (100 userids per request)."""
        for start in range(0, len(userids), BATCH_USERIDS_MAX):
            chunk, cursor = userids[start:start + BATCH_USERIDS_MAX], ""
            while True:
                items, cursor = await self.batch_get_by_user(chunk, cursor=cursor, limit=limit)
                for item in items:
                    yield item
                if not cursor:
                    break

    async def get_follow_user_list(self) -> list[str]:
        """Userids of the staff members allowed to use customer contact."""
        answer = await self.call("GET", "externalcontact/get_follow_user_list")
        return answer.get("follow_user", [])

    async def get_corp_tag_list(self, *, tag_ids: Sequence[str] | None = None,
                                group_ids: Sequence[str] | None = None) -> list[dict]:
        """Tag groups with their tags; all of them unless filtered by tag or group ids."""
        body: dict[str, Any] = {}
        if tag_ids:
            body["tag_id"] = list(tag_ids)
        if group_ids:
            body["group_id"] = list(group_ids)
        answer = await self.call("POST", "externalcontact/get_corp_tag_list", json=body, idempotent=True)
        return answer.get("tag_group", [])

    async def add_corp_tag(self, *, group_name: str, tags: Sequence[str]) -> dict:
        """Add tags to the group of that name (created when missing); the tag_group with the tags' ids."""
        answer = await self.call("POST", "externalcontact/add_corp_tag",
                                 json={"group_name": group_name, "tag": [{"name": name} for name in tags]})
        return answer["tag_group"]

    async def mark_tag(self, *, userid: str, external_userid: str, add_tag: Sequence[str] = (),
                       remove_tag: Sequence[str] = ()) -> None:
        await self.call("POST", "externalcontact/mark_tag", idempotent=True,
                        json={"userid": userid, "external_userid": external_userid,
                              "add_tag": list(add_tag), "remove_tag": list(remove_tag)})

    # ---- messages ---------------------------------------------------------------------------------

    async def send_welcome_msg(self, *, welcome_code: str, text: str | None = None,
                               attachments: Sequence[dict] | None = None) -> None:
        """Greet a new customer; allowed once, within 20 s of the add event (else WelcomeCodeUsed)."""
        await self.call("POST", "externalcontact/send_welcome_msg", json=_message({"welcome_code": welcome_code},
                                                                                 text, attachments))

    async def add_msg_template(self, *, external_userids: Sequence[str], sender: str | None = None,
                               text: str | None = None, attachments: Sequence[dict] | None = None,
                               chat_type: str = "single") -> dict:
        """Create a group-send task (staff confirm it in WeCom); ``{"msgid", "fail_list"}``."""
        body: dict[str, Any] = {"chat_type": chat_type, "external_userid": list(external_userids)}
        if sender is not None:
            body["sender"] = sender
        answer = await self.call("POST", "externalcontact/add_msg_template", json=_message(body, text, attachments))
        return {"msgid": answer["msgid"], "fail_list": answer.get("fail_list", [])}

    async def get_groupmsg_task(self, *, msgid: str, limit: int = 1000, cursor: str = "") -> tuple[list[dict], str]:
        """Per staff member: has the task been sent (status 0/1)? (task_list, next_cursor)."""
        answer = await self.call("POST", "externalcontact/get_groupmsg_task", idempotent=True,
                                 json={"msgid": msgid, "limit": limit, "cursor": cursor})
        return answer.get("task_list", []), answer.get("next_cursor", "")

    async def get_groupmsg_send_result(self, *, msgid: str, userid: str, limit: int = 1000,
                                       cursor: str = "") -> tuple[list[dict], str]:
        """Per customer of one sender: status 0 unsent, 1 sent, 2 not a contact, 3 quota reached."""
        answer = await self.call("POST", "externalcontact/get_groupmsg_send_result", idempotent=True,
                                 json={"msgid": msgid, "userid": userid, "limit": limit, "cursor": cursor})
        return answer.get("send_list", []), answer.get("next_cursor", "")

    async def send_app_message(self, *, touser: Sequence[str], content: str) -> dict:
        """A text message from our app to staff; the answer lists invalid users (``invaliduser``) and msgid."""
        answer = await self.call("POST", "message/send", json={
            "touser": "|".join(touser), "msgtype": "text", "agentid": self._require_agent_id(),
            "text": {"content": content},
        })
        return _payload(answer)

    # ---- staff web sign-in (OAuth2) ------------------------------------------------------------------

    def oauth_url(self, *, redirect_uri: str, state: str) -> str:
        """The authorize URL that sends a staff member back to ``redirect_uri?code=…&state=…``."""
        query = urlencode({"appid": self.corp_id, "redirect_uri": redirect_uri, "response_type": "code",
                           "scope": "snsapi_base", "state": state, "agentid": self._require_agent_id()},
                          quote_via=quote, safe="")
        return f"{self._oauth_url}?{query}#wechat_redirect"

    async def get_user_info(self, code: str) -> dict:
        """Who signed in: ``{"userid": …}`` for a member, ``{"openid": …}`` otherwise; 40029 for a bad code."""
        return _payload(await self.call("GET", "auth/getuserinfo", params={"code": code}))

    def _require_agent_id(self) -> int:
        if self.agent_id is None:
            raise SettingsError("bad setting HUB_WECOM_AGENT_ID: app messages and sign-in need the app's agent id")
        return self.agent_id


def _payload(answer: dict) -> dict:
    return {key: value for key, value in answer.items() if key not in ("errcode", "errmsg")}


def _message(body: dict[str, Any], text: str | None, attachments: Sequence[dict] | None) -> dict[str, Any]:
    if text is not None:
        body["text"] = {"content": text}
    if attachments:
        body["attachments"] = list(attachments)
    return body


async def _backoff(retry: int) -> None:
    """Sleep between half and all of base·2^(retry-1), capped: short enough for a request, jittered."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (retry - 1))
    await asyncio.sleep(ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311  retry jitter, not a secret
