"""Callbacks the sandbox sends: ``change_external_contact`` events, encrypted and signed like WeCom's.

Encryption and signature come from wechatpy's reference implementation (``WeChatCrypto.encrypt_message``),
never from the hub's own crypto, so the hub's webhook is tested against an independent implementation.
Delivery follows WECOM.md: POST ``callback_url?msg_signature&timestamp&nonce`` with the XML envelope, a
5-second timeout, and 3 retries of the same request when the answer is not HTTP 200.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any
from xml.etree import ElementTree

import httpx
from wechatpy.enterprise.crypto import WeChatCrypto

from connectors.wecom.sandbox.state import SandboxConfig

CHANGE_TYPES = ("add_external_contact", "edit_external_contact", "add_half_external_contact",
                "del_external_contact", "del_follow_user", "transfer_fail")


def _cdata(value: str) -> str:
    # "]]>" cannot appear inside CDATA: close the section before ">" and open another.
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def event_xml(config: SandboxConfig, *, change_type: str, staff: str, external_userid: str,
              create_time: int, extra: dict[str, str]) -> str:
    """The plaintext event; ``extra`` holds State, WelcomeCode, Source or FailReason when they apply."""
    fields: dict[str, str | int] = {
        "ToUserName": config.corp_id, "FromUserName": "sys", "CreateTime": create_time, "MsgType": "event",
        "Event": "change_external_contact", "ChangeType": change_type, "UserID": staff,
        "ExternalUserID": external_userid, **extra}
    inner = "".join(f"<{name}>{value}</{name}>" if isinstance(value, int) else f"<{name}>{_cdata(value)}</{name}>"
                    for name, value in fields.items())
    return f"<xml>{inner}</xml>"


def envelope(config: SandboxConfig, plaintext: str) -> tuple[dict[str, str], str]:
    """(query parameters, body) of the POST that carries ``plaintext``, encrypted for ``config``."""
    nonce, timestamp = secrets.token_hex(8), str(int(time.time()))
    crypto = WeChatCrypto(config.token, config.aes_key, config.corp_id)
    # encrypt_message renders a passive-reply envelope (wechatpy's own XML); take Encrypt and MsgSignature.
    reply = ElementTree.fromstring(crypto.encrypt_message(plaintext, nonce, timestamp))  # noqa: S314  wechatpy's own envelope
    encrypt, signature = reply.findtext("Encrypt", ""), reply.findtext("MsgSignature", "")
    body = (f"<xml><ToUserName>{_cdata(config.corp_id)}</ToUserName><Encrypt>{_cdata(encrypt)}</Encrypt>"
            f"<AgentID>{_cdata(str(config.agent_id))}</AgentID></xml>")
    return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}, body


async def deliver(config: SandboxConfig, params: dict[str, str], body: str) -> list[dict[str, Any]]:
    """POST until an HTTP 200 or the retries are spent; one entry per attempt (status, body or error)."""
    attempts: list[dict[str, Any]] = []
    async with httpx.AsyncClient(timeout=config.callback_timeout_seconds) as http:
        for attempt in range(config.callback_retries + 1):
            if attempt:
                await asyncio.sleep(config.callback_retry_seconds)
            try:
                response = await http.post(config.callback_url, params=params, content=body.encode(),
                                            headers={"Content-Type": "text/xml"})
            except httpx.TransportError as exc:
                attempts.append({"status": None, "error": f"{type(exc).__name__}: {exc}"})
                continue
            attempts.append({"status": response.status_code, "body": response.text[:2000]})
            if response.status_code == 200:
                break
    return attempts
