"""Outside systems for tests, served on loopback over real HTTP: the WeCom sandbox and a callback receiver.

Import the fixtures you use into the test module or a conftest (``from tests.sandboxes import wecom_sandbox``):

    async def test_x(wecom_sandbox):
        await wecom_sandbox.load_users([{"userid": "zhangsan", "name": "张三"}])
        async with wecom_sandbox.client() as client:           # a WecomClient pointed at the sandbox
            way = await client.add_contact_way(type=1, scene=2, state="s1", user=["zhangsan"])
        assert (await wecom_sandbox.stats())["gettoken"] == 1

``wecom_sandbox_factory(callback_url=..., welcome_window_seconds=0.5, ...)`` starts one with other
settings; ``wecom_sandbox.env()`` gives the ``HUB_WECOM_*`` variables that point the hub at it.
Everything is inspected over HTTP (``/sandbox/…``); ``.sandbox`` is the live state, for reading only.
"""

from __future__ import annotations

import atexit
import secrets
import string
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request, Response

from connectors.wecom.client import WecomClient
from connectors.wecom.sandbox import SandboxConfig, SandboxServer, ServedApp
from connectors.wecom.tokens import MemoryTokenStore, TokenStore


def random_config(**overrides: Any) -> SandboxConfig:
    """A sandbox corp with fresh credentials; fast callback retries, since tests wait for them."""
    alphanumeric = string.ascii_letters + string.digits
    config = SandboxConfig(
        corp_id="ww" + secrets.token_hex(8), secret=secrets.token_urlsafe(32),
        token="".join(secrets.choice(alphanumeric) for _ in range(32)),
        aes_key="".join(secrets.choice(alphanumeric) for _ in range(43)),
        agent_id=1000002, callback_url="http://127.0.0.1:9/webhooks/wecom",  # port 9 (discard) refuses
        callback_retry_seconds=0.05, callback_timeout_seconds=2.0,
    )
    return replace(config, **overrides)


class WecomSandbox:
    """A running sandbox: its URLs and config, a client factory, and the ``/sandbox/…`` controls."""

    def __init__(self, server: SandboxServer) -> None:
        self.config = server.config
        self.sandbox = server.sandbox
        self.url = server.url
        self.api_base = server.api_base
        self.oauth_url = server.oauth_url
        self._http: httpx.AsyncClient | None = None

    def client(self, *, token_store: TokenStore | None = None, **overrides: Any) -> WecomClient:
        """A WecomClient for this corp (its own in-memory token store unless one is given)."""
        options: dict[str, Any] = {"corp_id": self.config.corp_id, "secret": self.config.secret,
                                   "api_base": self.api_base, "agent_id": self.config.agent_id,
                                   "oauth_url": self.oauth_url, "token_store": token_store or MemoryTokenStore()}
        return WecomClient(**(options | overrides))

    def env(self) -> dict[str, str]:
        """``HUB_WECOM_*`` variables that point the hub's settings at this sandbox."""
        return {"HUB_WECOM_CORP_ID": self.config.corp_id, "HUB_WECOM_SECRET": self.config.secret,
                "HUB_WECOM_AGENT_ID": str(self.config.agent_id), "HUB_WECOM_TOKEN": self.config.token,
                "HUB_WECOM_AES_KEY": self.config.aes_key, "HUB_WECOM_API_BASE": self.api_base,
                "HUB_WECOM_OAUTH_URL": self.oauth_url}

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._http is None:  # one client per sandbox: building one costs tens of milliseconds
            self._http = httpx.AsyncClient(base_url=self.url, timeout=30, trust_env=False)
        response = await self._http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def load_users(self, users: list[dict[str, str]]) -> None:
        await self.request("PUT", "/sandbox/users", json=users)

    async def stats(self) -> dict[str, Any]:
        return await self.request("GET", "/sandbox/stats")

    async def sent(self, kind: str) -> list[dict[str, Any]]:
        return await self.request("GET", "/sandbox/sent", params={"kind": kind})

    async def contact_ways(self) -> list[dict[str, Any]]:
        return await self.request("GET", "/sandbox/contact-ways")

    async def customers(self) -> list[dict[str, Any]]:
        return await self.request("GET", "/sandbox/customers")

    async def fault(self, api: str, errcode: int | None = None, *, times: int = 1, delay_seconds: float = 0) -> None:
        await self.request("POST", "/sandbox/faults",
                           json={"api": api, "errcode": errcode, "times": times, "delay_seconds": delay_seconds})

    async def expire_tokens(self) -> None:
        await self.request("POST", "/sandbox/expire-tokens")

    async def oauth_code(self, userid: str | None = None) -> str:
        return (await self.request("POST", "/sandbox/oauth/code", json={"userid": userid}))["code"]

    async def simulate(self, change_type: str, **body: Any) -> dict[str, Any]:
        """``simulate("add", staff="zhangsan", state="s1")``: the event, posted; the hub's answer included."""
        return await self.request("POST", f"/sandbox/simulate/{change_type}", json=body)

    async def confirm_group_message(self, *, msgid: str, userid: str) -> dict[str, Any]:
        return await self.request("POST", "/sandbox/groupmsg/confirm", json={"msgid": msgid, "userid": userid})


_shared: SandboxServer | None = None
_shared_busy = False


@contextmanager
def serving_sandbox(config: SandboxConfig) -> Iterator[SandboxServer]:
    """A server playing ``config``: the run's shared one when free (stopping a server costs ~0.2 s, a reset
    nothing), else one of its own for as long as the block lasts."""
    global _shared, _shared_busy
    if _shared is None:
        _shared = SandboxServer(config).__enter__()
        atexit.register(_shared.__exit__, None, None, None)
    if _shared_busy:
        with SandboxServer(config) as server:
            yield server
        return
    _shared_busy = True
    _shared.reset(config)
    try:
        yield _shared
    finally:
        _shared_busy = False


@pytest_asyncio.fixture
async def wecom_sandbox() -> AsyncIterator[WecomSandbox]:
    """A fresh sandbox (new corp, empty state) for this test."""
    with serving_sandbox(random_config()) as server:
        sandbox = WecomSandbox(server)
        yield sandbox
        await sandbox.aclose()


@pytest_asyncio.fixture
async def wecom(wecom_sandbox, queue) -> AsyncIterator[WecomSandbox]:
    """A fresh sandbox with the hub's WeCom client pointed at it; queued jobs finish before it closes."""
    from hub.wecom.connection import use_wecom_client

    async with wecom_sandbox.client() as client, use_wecom_client(client):
        yield wecom_sandbox
        await queue.drain()


@pytest_asyncio.fixture
async def wecom_sandbox_factory() -> AsyncIterator[Callable[..., WecomSandbox]]:
    """``factory(welcome_window_seconds=0.5)``: fresh sandboxes with other settings, until the test ends."""
    started: list[WecomSandbox] = []
    with ExitStack() as stack:
        def start(**overrides: Any) -> WecomSandbox:
            started.append(WecomSandbox(stack.enter_context(serving_sandbox(random_config(**overrides)))))
            return started[-1]

        yield start
        for sandbox in started:
            await sandbox.aclose()


class CallbackReceiver:
    """A stand-in for the hub's webhook: records every request and answers a set status (200 by default)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.app = FastAPI()
        self.app.add_api_route("/webhooks/wecom", self._receive, methods=["POST"])
        self.url = ""

    async def _receive(self, request: Request) -> Response:
        self.requests.append({"params": dict(request.query_params), "body": (await request.body()).decode(),
                              "content_type": request.headers.get("content-type")})
        return Response("" if self.status == 200 else "try again", status_code=self.status)


@pytest.fixture
def callback_receiver() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    with ServedApp(receiver.app) as served:
        receiver.url = f"{served.url}/webhooks/wecom"
        yield receiver
