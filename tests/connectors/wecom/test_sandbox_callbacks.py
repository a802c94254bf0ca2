"""Customer simulation: the sandbox changes its world and POSTs the event as WeCom would, encrypted and
signed so that wechatpy, and a decryption written from WECOM.md, both read it."""

from __future__ import annotations

import base64
import hashlib
import struct
import xml.etree.ElementTree as ET

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.enterprise.crypto import WeChatCrypto

from connectors.wecom.errors import WecomNotFound


@pytest.fixture
def sandbox(wecom_sandbox_factory, callback_receiver):
    return wecom_sandbox_factory(callback_url=callback_receiver.url)


def _fields(xml: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(xml)}


def _decrypt_by_the_book(config, encrypt: str) -> str:
    """WECOM.md: AES-256-CBC, key = b64(EncodingAESKey + "="), IV = key[:16]; 16 random bytes, 4-byte length,
    message, corp id, PKCS#7 to 32 bytes."""
    key = base64.b64decode(config.aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize()
    pad = padded[-1]
    assert 1 <= pad <= 32 and padded[-pad:] == bytes([pad]) * pad
    content = padded[16:-pad]
    (length,) = struct.unpack(">I", content[:4])
    assert content[4 + length:].decode() == config.corp_id
    return content[4:4 + length].decode()


async def test_an_added_customer_is_posted_as_an_encrypted_signed_event(sandbox, callback_receiver):
    result = await sandbox.simulate("add", staff="zhangsan", state="store-42", name="王五")
    assert (result["status"], result["body"], len(result["attempts"])) == (200, "", 1)
    [request] = callback_receiver.requests
    params, config = request["params"], sandbox.config
    assert set(params) == {"msg_signature", "timestamp", "nonce"} and request["content_type"] == "text/xml"
    envelope = _fields(request["body"])
    assert (envelope["ToUserName"], envelope["AgentID"]) == (config.corp_id, str(config.agent_id))
    signed = "".join(sorted([config.token, params["timestamp"], params["nonce"], envelope["Encrypt"]]))
    assert hashlib.sha1(signed.encode()).hexdigest() == params["msg_signature"]

    by_wechatpy = WeChatCrypto(config.token, config.aes_key, config.corp_id).decrypt_message(
        request["body"], params["msg_signature"], params["timestamp"], params["nonce"])
    assert by_wechatpy == _decrypt_by_the_book(config, envelope["Encrypt"]) == result["callback"]["plaintext"]
    event = _fields(by_wechatpy)
    assert {k: event[k] for k in ("ToUserName", "FromUserName", "MsgType", "Event", "ChangeType", "UserID",
                                  "ExternalUserID", "State", "WelcomeCode")} == {
        "ToUserName": config.corp_id, "FromUserName": "sys", "MsgType": "event", "Event": "change_external_contact",
        "ChangeType": "add_external_contact", "UserID": "zhangsan", "ExternalUserID": result["external_userid"],
        "State": "store-42", "WelcomeCode": result["welcome_code"]}
    assert result["external_userid"].startswith("wm") and int(event["CreateTime"]) > 1_700_000_000


async def test_a_failed_delivery_is_retried_three_times_with_the_same_request(sandbox, callback_receiver):
    callback_receiver.status = 503
    result = await sandbox.simulate("add", staff="zhangsan", state="s")
    assert [a["status"] for a in result["attempts"]] == [503] * 4 and result["status"] == 503
    assert len(callback_receiver.requests) == 4
    assert all(r == callback_receiver.requests[0] for r in callback_receiver.requests)


async def test_an_unreachable_hub_is_reported_not_raised(wecom_sandbox):
    result = await wecom_sandbox.simulate("add", staff="zhangsan", state="s")
    assert result["status"] is None and "ConnectError" in result["body"] and len(result["attempts"]) == 4


async def test_without_delivery_the_signed_request_is_returned_for_the_caller_to_post(sandbox, callback_receiver):
    result = await sandbox.simulate("add", staff="zhangsan", state="s", deliver=False)
    assert result["attempts"] == [] and result["status"] is None and callback_receiver.requests == []
    config, callback = sandbox.config, result["callback"]
    decrypted = WeChatCrypto(config.token, config.aes_key, config.corp_id).decrypt_message(
        callback["xml"], callback["params"]["msg_signature"], callback["params"]["timestamp"],
        callback["params"]["nonce"])
    assert _fields(decrypted)["ExternalUserID"] == result["external_userid"]


class TestOtherChanges:
    async def _event(self, sandbox, receiver, change_type: str, **body) -> dict[str, str]:
        result = await sandbox.simulate(change_type, **body)
        assert result["status"] == 200
        config, request = sandbox.config, receiver.requests[-1]
        return _fields(WeChatCrypto(config.token, config.aes_key, config.corp_id).decrypt_message(
            request["body"], request["params"]["msg_signature"], request["params"]["timestamp"],
            request["params"]["nonce"]))

    async def test_deletions_end_the_relation_and_carry_their_fields(self, sandbox, callback_receiver):
        customer = (await sandbox.simulate("add", staff="zhangsan", state="s"))["external_userid"]
        await sandbox.simulate("add", staff="lisi", state="s", external_userid=customer)
        removed = await self._event(sandbox, callback_receiver, "del_external_contact", staff="zhangsan",
                                    external_userid=customer, source="DELETE_BY_TRANSFER")
        lost = await self._event(sandbox, callback_receiver, "del_follow_user", staff="lisi",
                                 external_userid=customer)
        assert (removed["ChangeType"], removed["Source"], removed["UserID"]) == (
            "del_external_contact", "DELETE_BY_TRANSFER", "zhangsan")
        assert (lost["ChangeType"], lost["UserID"], "Source" in lost) == ("del_follow_user", "lisi", False)
        async with sandbox.client() as client:
            with pytest.raises(WecomNotFound):
                await client.get_external_contact(customer)

    async def test_edit_half_add_and_transfer_failure(self, sandbox, callback_receiver):
        half = await self._event(sandbox, callback_receiver, "add_half_external_contact", staff="zhangsan",
                                 state="mini")
        customer = half["ExternalUserID"]
        edited = await self._event(sandbox, callback_receiver, "edit_external_contact", staff="zhangsan",
                                   external_userid=customer, remark="老客户")
        failed = await self._event(sandbox, callback_receiver, "transfer_fail", staff="lisi",
                                   external_userid=customer, fail_reason="customer_limit_exceed")
        assert (half["State"], bool(half["WelcomeCode"])) == ("mini", True)
        assert (edited["ChangeType"], "WelcomeCode" in edited) == ("edit_external_contact", False)
        assert (failed["FailReason"], failed["UserID"]) == ("customer_limit_exceed", "lisi")
        async with sandbox.client() as client:
            assert (await client.get_external_contact(customer))["follow_user"][0]["remark"] == "老客户"


async def test_simulating_for_unknown_staff_or_change_is_refused(wecom_sandbox):
    await wecom_sandbox.load_users([{"userid": "zhangsan", "name": "张三"}])
    for change_type, body, errcode in (("add", {"staff": "ghost"}, 60111), ("nonsense", {"staff": "zhangsan"}, 40058),
                                       ("del_follow_user", {"staff": "zhangsan"}, 40058)):
        with pytest.raises(httpx.HTTPStatusError) as caught:
            await wecom_sandbox.simulate(change_type, **body)
        assert (caught.value.response.status_code, caught.value.response.json()["errcode"]) == (400, errcode)
    assert await wecom_sandbox.customers() == []
