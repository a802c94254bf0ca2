"""Retries and errors: busy and frequency answers are retried, network failures end in WecomUnavailable,
writes that may have reached WeCom are not repeated, every other errcode is a typed error."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from connectors.wecom.client import WecomClient
from connectors.wecom.errors import (
    WecomBusy,
    WecomError,
    WecomNotFound,
    WecomRateLimited,
    WecomTokenInvalid,
    WecomUnavailable,
    WelcomeCodeUsed,
    error_for,
)
from connectors.wecom.sandbox import ServedApp
from connectors.wecom.tokens import MemoryTokenStore, token_cache_key

API = "externalcontact/get_follow_user_list"


class CountingTransport(httpx.AsyncBaseTransport):
    """The real HTTP transport, counting the requests it was asked to send."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def refused_url() -> str:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/cgi-bin/"


class TestRetriedAnswers:
    async def test_busy_and_frequency_answers_are_retried_until_it_works(self, wecom_sandbox):
        for errcode in (-1, 45009, 45033):
            await wecom_sandbox.fault(API, errcode)
        async with wecom_sandbox.client() as client:
            assert await client.get_follow_user_list() == []
        assert (await wecom_sandbox.stats())["calls"][API] == 4

    async def test_retries_are_bounded_then_the_typed_error_is_raised(self, wecom_sandbox):
        await wecom_sandbox.fault(API, 45009, times=5)
        async with wecom_sandbox.client(max_retries=2) as client:
            with pytest.raises(WecomRateLimited) as caught:
                await client.get_follow_user_list()
        assert (caught.value.errcode, caught.value.api) == (45009, API)
        assert (await wecom_sandbox.stats())["calls"][API] == 3

    async def test_busy_at_gettoken_is_retried_too(self, wecom_sandbox):
        await wecom_sandbox.fault("gettoken", -1, times=2)
        async with wecom_sandbox.client() as client:
            await client.get_follow_user_list()
        stats = await wecom_sandbox.stats()
        assert stats["calls"]["gettoken"] == 3 and stats["gettoken"] == 1


class TestTypedErrors:
    async def test_another_errcode_is_raised_at_once_with_errcode_and_errmsg(self, wecom_sandbox):
        await wecom_sandbox.fault(API, 48002)  # "api forbidden": no retry can fix it
        async with wecom_sandbox.client() as client:
            with pytest.raises(WecomError) as caught:
                await client.get_follow_user_list()
        assert type(caught.value) is WecomError
        assert (caught.value.errcode, caught.value.api) == (48002, API)
        assert caught.value.errmsg.startswith("injected fault 48002, hint: [")
        assert (await wecom_sandbox.stats())["calls"][API] == 1

    async def test_the_sandbox_rules_come_back_as_their_classes(self, wecom_sandbox):
        async with wecom_sandbox.client() as client:
            with pytest.raises(WecomNotFound) as not_contact:
                await client.get_external_contact("wm" + "0" * 30)
            with pytest.raises(WecomNotFound) as not_external:
                await client.get_external_contact("zhangsan")
            with pytest.raises(WelcomeCodeUsed):
                await client.send_welcome_msg(welcome_code="never-issued", text="hi")
        assert (not_contact.value.errcode, not_external.value.errcode) == (84061, 40096)

    def test_error_for_picks_the_class_of_each_errcode(self):
        classes = {-1: WecomBusy, 40001: WecomTokenInvalid, 40014: WecomTokenInvalid, 42001: WecomTokenInvalid,
                   45009: WecomRateLimited, 45033: WecomRateLimited, 41051: WelcomeCodeUsed, 60111: WecomNotFound,
                   84061: WecomNotFound, 40096: WecomNotFound, -2: WecomUnavailable, 40058: WecomError}
        for errcode, cls in classes.items():
            error = error_for(errcode, "msg", "some/api")
            assert type(error) is cls and (error.errcode, error.errmsg, error.api) == (errcode, "msg", "some/api")


class TestNetworkFailures:
    async def test_a_refused_connection_is_retried_then_unavailable(self, wecom_sandbox):
        transport = CountingTransport()
        async with httpx.AsyncClient(transport=transport) as http, \
                wecom_sandbox.client(api_base=refused_url(), http=http, max_retries=2) as client:
            with pytest.raises(WecomUnavailable) as caught:
                await client.get_follow_user_list()
        assert (caught.value.errcode, caught.value.api) == (-2, "gettoken")
        assert "ConnectError" in caught.value.errmsg
        assert transport.paths == ["/cgi-bin/gettoken"] * 3

    async def test_a_write_that_never_left_is_retried(self, wecom_sandbox):
        # A refused connection cannot have reached WeCom, so even a non-idempotent write is tried again.
        store = MemoryTokenStore()
        key = token_cache_key(wecom_sandbox.config.corp_id, wecom_sandbox.config.secret)
        await store.put(key, "a-token", time.time() + 600)
        transport = CountingTransport()
        async with httpx.AsyncClient(transport=transport) as http, \
                wecom_sandbox.client(api_base=refused_url(), http=http, token_store=store, max_retries=1) as client:
            with pytest.raises(WecomUnavailable) as caught:
                await client.add_contact_way(type=1, scene=2, state="s", user=["zhangsan"])
        assert caught.value.api == "externalcontact/add_contact_way"
        assert transport.paths == ["/cgi-bin/externalcontact/add_contact_way"] * 2

    async def test_a_read_that_timed_out_is_retried(self, wecom_sandbox):
        await wecom_sandbox.fault(API, delay_seconds=0.6, times=2)
        async with wecom_sandbox.client(timeout=0.2) as client:
            await client.access_token()
            assert await client.get_follow_user_list() == []
        assert (await wecom_sandbox.stats())["calls"][API] == 3

    async def test_a_write_that_timed_out_is_not_repeated(self, wecom_sandbox):
        # WeCom may have created the contact way already: a retry would create a second one.
        api = "externalcontact/add_contact_way"
        await wecom_sandbox.fault(api, delay_seconds=0.6)
        async with wecom_sandbox.client(timeout=0.2) as client:
            await client.access_token()
            with pytest.raises(WecomUnavailable) as caught:
                await client.add_contact_way(type=1, scene=2, state="s", user=["zhangsan"])
        assert "Timeout" in caught.value.errmsg
        assert (await wecom_sandbox.stats())["calls"][api] == 1

    async def test_a_gateway_error_page_is_unavailable_after_the_retries(self):
        gateway = FastAPI()
        gateway.add_api_route("/cgi-bin/gettoken", lambda: HTMLResponse("<h1>502 Bad Gateway</h1>", 502))
        transport = CountingTransport()
        with ServedApp(gateway) as served:
            async with httpx.AsyncClient(transport=transport) as http, \
                    _client(f"{served.url}/cgi-bin/", http) as client:
                with pytest.raises(WecomUnavailable) as caught:
                    await client.access_token()
        assert caught.value.errmsg == "HTTP 502 without a JSON answer"
        assert len(transport.paths) == 2


def _client(api_base: str, http: httpx.AsyncClient) -> WecomClient:
    return WecomClient(corp_id="ww1", secret="s", api_base=api_base, token_store=MemoryTokenStore(), http=http,
                       max_retries=1)
