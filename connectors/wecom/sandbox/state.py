"""The sandbox's configuration, its in-memory world, and the gate every API call passes.

The gate does what the platform does before any API logic (WECOM.md, "Calling the API"): count the call,
apply the per-API frequency limit (45009), check the access token (41001 missing, 40014 unknown, 42001
expired). Tests can make it answer any errcode for the next calls of an API (faults) and expire tokens.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SandboxConfig:
    corp_id: str
    secret: str
    token: str  # callback Token (signature)
    aes_key: str  # callback EncodingAESKey, 43 characters
    agent_id: int
    callback_url: str  # where change_external_contact events are POSTed
    token_ttl_seconds: int = 7200
    calls_per_minute: int = 10_000  # the platform's per-API limit
    welcome_window_seconds: float = 20.0
    rate_window_seconds: float = 60.0  # the platform counts per minute; shorter only to test limits quickly
    oauth_code_seconds: float = 300.0
    app_messages_per_member_minute: int = 30
    app_messages_per_member_hour: int = 1000
    group_msg_monthly_quota: int | None = None  # per customer; None = as many as the month has days
    unionid_bound: bool = True  # a WeChat developer ID is bound: WeChat customers come with a unionid
    callback_retries: int = 3  # WeCom retries a failed delivery 3 times (path/90930)
    callback_retry_seconds: float = 1.0  # no source gives WeCom's interval
    callback_timeout_seconds: float = 5.0


class ApiError(Exception):
    """An errcode answer; the router renders it like the platform (HTTP 200, errcode and errmsg)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg

    def answer(self, client_ip: str) -> dict[str, Any]:
        hint = f"{int(time.time())}_{secrets.token_hex(6)}"
        return {"errcode": self.errcode, "errmsg": f"{self.errmsg}, hint: [{hint}], from ip: {client_ip}, "
                f"more info at https://open.work.weixin.qq.com/devtool/query?e={self.errcode}"}


def invalid(message: str) -> ApiError:
    """The platform's generic "invalid parameter" answer."""
    return ApiError(40058, f"invalid parameter: {message}")


def new_id(prefix: str, length: int = 30) -> str:
    return prefix + secrets.token_hex(length)[:length]


@dataclass
class Fault:
    errcode: int | None
    times: int
    delay_seconds: float = 0.0


@dataclass
class Gate:
    """Tokens, counts, limits and injected faults."""

    config: SandboxConfig
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expires_at; old ones stay valid
    tokens_issued: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    faults: dict[str, list[Fault]] = field(default_factory=lambda: defaultdict(list))
    _windows: dict[str, tuple[int, int]] = field(default_factory=dict)

    async def admit(self, api: str, access_token: str | None, *, authorized: bool = True) -> None:
        """Everything the platform checks before the API itself; raises ApiError to refuse."""
        self.calls[api] += 1
        fault = self._next_fault(api)
        if fault is not None:
            await asyncio.sleep(fault.delay_seconds)
            if fault.errcode is not None:
                raise ApiError(fault.errcode, f"injected fault {fault.errcode}")
        self._count_in_window(api)
        if authorized:
            self.check_token(access_token)

    def issue_token(self, corpid: str | None, corpsecret: str | None) -> dict[str, Any]:
        if not corpid:
            raise ApiError(41002, "corpid missing")
        if not corpsecret:
            raise ApiError(41004, "corpsecret missing")
        if corpid != self.config.corp_id:
            raise ApiError(40013, "invalid corpid")
        if corpsecret != self.config.secret:
            raise ApiError(40001, "invalid credential")
        token = secrets.token_urlsafe(96)
        self.tokens[token] = time.time() + self.config.token_ttl_seconds
        self.tokens_issued += 1
        return {"access_token": token, "expires_in": self.config.token_ttl_seconds}

    def check_token(self, access_token: str | None) -> None:
        if not access_token:
            raise ApiError(41001, "access_token missing")
        expires_at = self.tokens.get(access_token)
        if expires_at is None:
            raise ApiError(40014, "invalid access_token")
        if expires_at <= time.time():
            raise ApiError(42001, "access_token expired")

    def expire_tokens(self) -> int:
        """Expire every token now, as the platform may do early "for operational needs" (path/91039)."""
        now = time.time()
        for token in self.tokens:
            self.tokens[token] = min(self.tokens[token], now - 1)
        return len(self.tokens)

    def add_fault(self, api: str, fault: Fault) -> None:
        self.faults[api].append(fault)

    def _next_fault(self, api: str) -> Fault | None:
        queue = self.faults.get(api)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    def _count_in_window(self, api: str) -> None:
        window = int(time.time() // self.config.rate_window_seconds)
        current, count = self._windows.get(api, (window, 0))
        count = count + 1 if current == window else 1
        self._windows[api] = (window, count)
        if count > self.config.calls_per_minute:
            raise ApiError(45009, "api freq out of limit")


def paginate(items: list[Any], cursor: Any, limit: Any, max_limit: int) -> tuple[list[Any], str]:
    """A page and the cursor of the next ("" at the end); the cursor is opaque to callers."""
    try:
        start, limit = int(cursor) if cursor else 0, int(limit)
    except (TypeError, ValueError):
        raise invalid("cursor and limit") from None
    if not 1 <= limit <= max_limit or start < 0:
        raise invalid(f"limit must be 1 to {max_limit}")
    page = items[start:start + limit]
    return page, str(start + limit) if start + limit < len(items) else ""


class Directory:
    """Staff members; before any are loaded every userid is accepted (60111 only once a directory exists)."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, str]] | None = None

    def load(self, users: list[dict[str, str]]) -> None:
        self.users = {u["userid"]: {"userid": u["userid"], "name": u.get("name", u["userid"])} for u in users}

    def require(self, userid: str) -> None:
        if not self.knows(userid):
            raise ApiError(60111, f"userid not found: {userid}")

    def knows(self, userid: str) -> bool:
        return self.users is None or userid in self.users


@dataclass
class SentLog:
    """What the sandbox was asked to deliver, by kind, with the time it was asked."""

    items: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def record(self, kind: str, **fields: Any) -> None:
        self.items[kind].append({"at": time.time(), **fields})
