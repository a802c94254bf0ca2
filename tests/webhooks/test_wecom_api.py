"""``/webhooks/wecom`` over HTTP: URL verification, receipts per event, deduplication, refusals."""

from __future__ import annotations

import asyncio
import importlib
import itertools
import logging
import socket
import time
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import pytest
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import connections

from hub.settings import get_settings
from tests.envs import settings_env
from tests.webhooks.wecom_cipher import WecomCipher, event_xml
from webhooks.models import ReceiptStatus, WebhookReceipt

URL = "/webhooks/wecom"
CIPHER = WecomCipher()
ENV = {"HUB_WECOM_TOKEN": CIPHER.token, "HUB_WECOM_AES_KEY": CIPHER.aes_key, "HUB_WECOM_CORP_ID": CIPHER.corp_id}


@pytest.fixture(autouse=True)
def configured():
    with settings_env(ENV):
        yield


def contact_event(change: str = "add_external_contact", *, created: int | None = None, **extra: str) -> str:
    fields = {"ToUserName": CIPHER.corp_id, "FromUserName": "sys", "CreateTime": created or int(time.time()),
              "MsgType": "event", "Event": "change_external_contact", "ChangeType": change}
    return event_xml(**fields, **extra)


async def post(client, message: str, *, nonce: str = "1372623149", **knobs):
    params, body = CIPHER.event(message, nonce=nonce, **knobs)
    return await client.post(URL, params=params, content=body)


class TestUrlVerification:
    async def test_echo_is_answered_as_bare_plaintext(self, client):
        response = await client.get(URL, params=CIPHER.echo("4867289036718190263"))
        assert response.status_code == 200
        assert response.content == b"4867289036718190263"
        assert response.headers["content-type"].startswith("text/plain")

    async def test_echo_with_a_bad_signature_is_refused(self, client):
        params = CIPHER.echo("4867289036718190263")
        response = await client.get(URL, params={**params, "msg_signature": "f" * 40})
        assert response.status_code == 403
        problem = response.json()
        assert problem["type"] == "/problems/wecom-callback/bad_signature"
        assert problem["errors"][0]["field"] == "msg_signature"

    async def test_missing_echostr_names_the_parameter(self, client):
        params = CIPHER.echo("1")
        del params["echostr"]
        response = await client.get(URL, params=params)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["query.echostr"]

    async def test_unconfigured_hub_answers_503(self, client):
        with settings_env({"HUB_WECOM_TOKEN": None}):
            response = await client.get(URL, params=CIPHER.echo("1"))
        assert response.status_code == 503
        assert response.json()["type"] == "/problems/wecom-callbacks-not-configured"


NOW = int(time.time())
EVENTS = [
    (contact_event("add_external_contact", created=NOW, UserID="zhangsan", ExternalUserID="wmAAA", State="c_8Hk2",
                   WelcomeCode="WELCOME"),
     "change_external_contact/add_external_contact", "UserID=zhangsan|ExternalUserID=wmAAA"),
    (contact_event("edit_external_contact", created=NOW, UserID="zhangsan", ExternalUserID="wmAAA"),
     "change_external_contact/edit_external_contact", "UserID=zhangsan|ExternalUserID=wmAAA"),
    (contact_event("add_half_external_contact", created=NOW, UserID="lisi", ExternalUserID="wmBBB",
                   WelcomeCode="W2"),
     "change_external_contact/add_half_external_contact", "UserID=lisi|ExternalUserID=wmBBB"),
    (contact_event("del_external_contact", created=NOW, UserID="lisi", ExternalUserID="wmBBB",
                   Source="DELETE_BY_TRANSFER"),
     "change_external_contact/del_external_contact", "UserID=lisi|ExternalUserID=wmBBB"),
    (contact_event("del_follow_user", created=NOW, UserID="lisi", ExternalUserID="wmBBB"),
     "change_external_contact/del_follow_user", "UserID=lisi|ExternalUserID=wmBBB"),
    (contact_event("transfer_fail", created=NOW, UserID="wangwu", ExternalUserID="wmCCC",
                   FailReason="customer_refused"),
     "change_external_contact/transfer_fail", "UserID=wangwu|ExternalUserID=wmCCC"),
    (event_xml(ToUserName=CIPHER.corp_id, FromUserName="sys", CreateTime=NOW, MsgType="event",
               Event="change_external_chat", ChatId="wrChat1", ChangeType="update", UpdateDetail="add_member",
               JoinScene=1, MemChangeCnt=1),
     "change_external_chat/update", "ChatId=wrChat1|UpdateDetail=add_member"),
    (event_xml(ToUserName=CIPHER.corp_id, FromUserName="sys", CreateTime=NOW, MsgType="event",
               Event="change_external_tag", Id="etTag1", TagType="tag", ChangeType="create"),
     "change_external_tag/create", "TagType=tag|Id=etTag1"),
]


class TestEvents:
    @pytest.mark.parametrize(("message", "kind", "key_tail"), EVENTS, ids=[kind for _, kind, _ in EVENTS])
    async def test_each_event_kind_is_stored_answered_and_processed(self, client, queue, message, kind, key_tail):
        response = await post(client, message)
        assert response.status_code == 200
        assert response.content == b"success" and response.headers["content-type"].startswith("text/plain")

        receipt = await WebhookReceipt.get(source="wecom")
        event, change = kind.split("/")
        assert receipt.kind == kind
        assert receipt.dedup_key == f"FromUserName=sys|CreateTime={NOW}|Event={event}|ChangeType={change}|{key_tail}"
        assert receipt.payload["Event"] == event and receipt.deliveries == 1
        await queue.drain()
        await receipt.refresh_from_db()
        assert receipt.status == ReceiptStatus.DONE and receipt.attempts == 1 and receipt.processed_at is not None

    async def test_four_deliveries_in_a_row_make_one_receipt_processed_once(self, client, queue):
        message = contact_event(UserID="zhangsan", ExternalUserID="wmAAA", WelcomeCode="W")
        for retry in range(4):  # WeCom signs each retry afresh
            assert (await post(client, message, nonce=f"nonce{retry}")).content == b"success"
        await queue.drain()
        receipt = await WebhookReceipt.get()
        assert receipt.deliveries == 4
        assert receipt.status == ReceiptStatus.DONE and receipt.attempts == 1 and receipt.processed_at is not None
        assert not receipt.outcome.startswith("error")

    async def test_four_concurrent_deliveries_make_one_receipt_processed_once(self, client, queue):
        message = contact_event(UserID="zhangsan", ExternalUserID="wmAAA", WelcomeCode="W")
        responses = await asyncio.gather(*(post(client, message, nonce=f"n{i}") for i in range(4)))
        assert [r.status_code for r in responses] == [200] * 4
        await queue.drain()
        receipt = await WebhookReceipt.get()
        assert receipt.deliveries == 4
        assert receipt.status == ReceiptStatus.DONE and receipt.attempts == 1

    async def test_two_customers_added_in_the_same_second_are_two_receipts(self, client):
        for customer in ("wmAAA", "wmBBB"):
            await post(client, contact_event(created=NOW, UserID="zhangsan", ExternalUserID=customer))
        receipts = await WebhookReceipt.all().order_by("id")
        assert [r.payload["ExternalUserID"] for r in receipts] == ["wmAAA", "wmBBB"]
        assert [r.deliveries for r in receipts] == [1, 1]

    async def test_a_long_key_is_hashed_to_fit(self, client):
        await post(client, contact_event(UserID="u" * 64, ExternalUserID="wm" + "x" * 250))
        receipt = await WebhookReceipt.get()
        assert receipt.dedup_key.startswith("sha256:") and len(receipt.dedup_key) == 71


XXE = '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
LAUGHS = '<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
) + "]>"


def refused_request(case: str) -> tuple[dict[str, str], bytes]:
    message = contact_event(UserID="zhangsan", ExternalUserID="wmAAA")
    if case == "bad_signature":
        params, body = CIPHER.event(message)
        return {**params, "msg_signature": "0" * 40}, body
    if case in ("stale", "future"):
        return CIPHER.event(message, timestamp=int(time.time()) + (-301 if case == "stale" else 301))
    if case == "bad_base64":
        return CIPHER.params("QUJDRA", timestamp=None, nonce="1"), b"<xml><Encrypt>QUJDRA</Encrypt></xml>"
    if case == "bad_ciphertext":
        garbage = "A" * 64
        return CIPHER.params(garbage, timestamp=None, nonce="1"), f"<xml><Encrypt>{garbage}</Encrypt></xml>".encode()
    if case == "bad_padding":
        return CIPHER.event(message, padding=lambda n: bytes(n))
    if case == "bad_receive_id":
        return CIPHER.event(message, receive_id="ww_not_our_corp")
    if case == "bad_length":
        return CIPHER.event(message, length=10_000)
    if case in ("outer_xxe", "outer_laughs"):
        params, body = CIPHER.event(message)
        return params, (XXE if case == "outer_xxe" else LAUGHS).encode() + body
    if case == "inner_xxe":
        return CIPHER.event(XXE + "<xml><UserID>&xxe;</UserID></xml>")
    if case == "inner_laughs":
        return CIPHER.event(LAUGHS + "<xml><UserID>&lol9;</UserID></xml>")
    if case == "too_large":
        params, body = CIPHER.event(message)
        return params, body.replace(b"</xml>", b" " * 256 * 1024 + b"</xml>")
    raise AssertionError(case)


REFUSALS = [
    ("bad_signature", 403, "bad_signature", "msg_signature"),
    ("stale", 400, "stale_timestamp", "timestamp"),
    ("future", 400, "stale_timestamp", "timestamp"),
    ("bad_base64", 400, "bad_base64", "Encrypt"),
    ("bad_ciphertext", 400, "bad_padding", "Encrypt"),
    ("bad_padding", 400, "bad_padding", "Encrypt"),
    ("bad_receive_id", 400, "bad_receive_id", "Encrypt"),
    ("bad_length", 400, "bad_length", "Encrypt"),
    ("outer_xxe", 400, "doctype", "body"),
    ("outer_laughs", 400, "doctype", "body"),
    ("inner_xxe", 400, "doctype", "message"),
    ("inner_laughs", 400, "doctype", "message"),
    ("too_large", 413, "too_large", "body"),
]


class TestRefusals:
    @pytest.mark.parametrize(("case", "status", "reason", "field"), REFUSALS, ids=[r[0] for r in REFUSALS])
    async def test_refused_callback_leaves_nothing_behind(self, client, queue, caplog, case, status, reason, field):
        params, body = refused_request(case)
        with caplog.at_level(logging.WARNING, logger="webhooks.wecom"):
            response = await client.post(URL, params=params, content=body)
        assert response.status_code == status
        problem = response.json()
        assert problem["type"] == f"/problems/wecom-callback/{reason}"
        assert problem["errors"][0]["field"] == field and problem["detail"].startswith(reason)
        await queue.drain()
        assert await WebhookReceipt.all().count() == 0
        logged = [r.getMessage() for r in caplog.records if r.name == "webhooks.wecom"]
        assert any(reason in line for line in logged)
        assert not any(body[:200].decode(errors="replace") in line or "<Encrypt>" in line for line in logged)

    async def test_streamed_body_over_the_cap_is_refused_without_a_length(self, client):
        params, body = CIPHER.event(contact_event())

        async def chunks():
            yield body
            for _ in range(5):
                yield b" " * 64 * 1024

        response = await client.post(URL, params=params, content=chunks())
        assert response.status_code == 413
        assert await WebhookReceipt.all().count() == 0

    async def test_unconfigured_hub_answers_503_and_stores_nothing(self, client):
        params, body = CIPHER.event(contact_event())
        with settings_env({"HUB_WECOM_AES_KEY": None, "HUB_WECOM_CORP_ID": None}):
            response = await client.post(URL, params=params, content=body)
        assert response.status_code == 503
        assert await WebhookReceipt.all().count() == 0

    async def test_junk_parameters_and_bodies_never_get_a_500(self, client):
        params, body = CIPHER.event(contact_event())
        junk_values = ["", "\x00", "x" * 5000, "‮evil", "-1", "1e308", "%", "' OR 1=1 --", "99999999999999999999"]
        failures = []
        for method, content, names in (("GET", None, ("msg_signature", "timestamp", "nonce", "echostr")),
                                       ("POST", body, ("msg_signature", "timestamp", "nonce"))):
            for name, value in itertools.product(names, junk_values):
                junked = {**params, "echostr": "QUJD", name: value}
                response = await client.request(method, URL, params=junked, content=content)
                if response.status_code >= 500:
                    failures.append(f"{method} {name}={value[:20]!r} -> {response.status_code}")
        for junk_body in (b"", b"\x00\xff", b"<xml>", b"{}", "<xml><Encrypt>中文</Encrypt></xml>".encode(),
                          b"<" * 5000):
            response = await client.post(URL, params=params, content=junk_body)
            if response.status_code >= 500:
                failures.append(f"body {junk_body[:20]!r} -> {response.status_code}")
        response = await client.post(URL, content=body)
        if response.status_code != 422:
            failures.append(f"no parameters -> {response.status_code}")
        assert failures == []
        assert await WebhookReceipt.all().count() == 0


@asynccontextmanager
async def database_unreachable():
    """Point this task's "default" connection at a database that cannot be reached: SQLite in a directory
    that does not exist, PostgreSQL on a port nothing listens on. The app's own code runs unchanged."""
    url = get_settings().database_url
    if url.startswith("sqlite"):
        url = "sqlite:///nonexistent-hub-dir/hub.db"
    else:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        parts = urlsplit(url)
        url = parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}").geturl()
    info = expand_db_url(url)
    client = importlib.import_module(info["engine"]).client_class(connection_name="default", **info["credentials"])
    token = connections.set("default", client)
    try:
        yield
    finally:
        connections.reset(token)
        await client.close()


class TestDatabaseOutage:
    async def test_callback_that_cannot_be_stored_gets_a_5xx_and_is_not_processed(self, client, queue):
        params, body = CIPHER.event(contact_event(UserID="zhangsan", ExternalUserID="wmAAA"))
        async with database_unreachable():
            response = await client.post(URL, params=params, content=body)
        assert response.status_code == 503
        assert response.json()["type"] == "/problems/receipt-not-stored"
        await queue.drain()
        assert await WebhookReceipt.all().count() == 0

        retried = await client.post(URL, params=params, content=body)  # WeCom's retry, database back
        assert retried.status_code == 200
        assert (await WebhookReceipt.get()).deliveries == 1
