"""Builds WeCom callbacks the way the platform does, written from WECOM.md and independent of the hub.

Tests send what this makes through the real endpoint; sharing no code with ``connectors.wecom.crypto``
(nor wechatpy) means a mistake in one is not mirrored in the other. The knobs break one thing at a time
in a message that is otherwise correctly encrypted and signed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TOKEN = "hubCallbackToken42"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeCom issues them
CORP_ID = "ww0123456789abcdef"


def event_xml(**fields: str | int) -> str:
    """The inner XML WeCom encrypts: one element per field, text in CDATA as the platform writes it."""
    inner = "".join(
        f"<{name}>{value}</{name}>" if isinstance(value, int) else f"<{name}><![CDATA[{value}]]></{name}>"
        for name, value in fields.items()
    )
    return f"<xml>{inner}</xml>"


@dataclass
class WecomCipher:
    token: str = TOKEN
    aes_key: str = AES_KEY
    corp_id: str = CORP_ID

    @property
    def key(self) -> bytes:
        return base64.b64decode(self.aes_key + "=")

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return hashlib.sha1("".join(sorted([self.token, timestamp, nonce, encrypted])).encode()).hexdigest()

    def encrypt(
        self,
        message: str,
        *,
        prefix: bytes | None = None,
        receive_id: str | None = None,
        length: int | None = None,
        padding: Callable[[int], bytes] | None = None,
    ) -> str:
        """Base64 ciphertext; ``receive_id`` and ``length`` override the correct values, ``padding`` makes
        the padding from the correct pad length (it must keep the text a whole number of AES blocks)."""
        body = message.encode()
        plain = (
            (prefix if prefix is not None else os.urandom(16))
            + struct.pack(">I", len(body) if length is None else length)
            + body
            + (self.corp_id if receive_id is None else receive_id).encode()
        )
        pad = 32 - len(plain) % 32
        plain += bytes([pad]) * pad if padding is None else padding(pad)
        assert len(plain) % 16 == 0, "a broken padding must still fill whole AES blocks"
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def event(
        self, message: str, *, timestamp: int | None = None, nonce: str = "1372623149", **knobs
    ) -> tuple[dict[str, str], bytes]:
        """Query parameters and body of a POST callback carrying ``message``."""
        encrypted = self.encrypt(message, **knobs)
        params = self.params(encrypted, timestamp=timestamp, nonce=nonce)
        body = f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>" \
               f"<AgentID><![CDATA[1000002]]></AgentID></xml>"
        return params, body.encode()

    def echo(self, plaintext: str, *, timestamp: int | None = None, nonce: str = "1597212914") -> dict[str, str]:
        """Query parameters of the GET that verifies the callback URL."""
        echostr = self.encrypt(plaintext)
        return {**self.params(echostr, timestamp=timestamp, nonce=nonce), "echostr": echostr}

    def params(self, encrypted: str, *, timestamp: int | None, nonce: str) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return {"msg_signature": self.sign(ts, nonce, encrypted), "timestamp": ts, "nonce": nonce}
