"""WeCom callback verification and decryption, in the order that keeps untrusted bytes away from parsers.

The published algorithm (WECOM.md, "Callbacks"): ``msg_signature`` is the hex SHA-1 of the sorted
concatenation of token, timestamp, nonce and the encrypted text; the encrypted text is AES-256-CBC under
``key = b64decode(EncodingAESKey + "=")`` with ``IV = key[:16]`` over 16 random bytes, a 4-byte big-endian
length, the message and the receive id (the corp id), PKCS#7-padded to 32-byte blocks.

The reference implementations parse the outer XML before checking the signature, compare with ``==``,
never look at the timestamp and trust the padding. Here every step only runs once the previous one
passed: size cap, markup declarations refused, ``Encrypt`` cut out without an XML parser, signature
(constant time), timestamp age, strict base64, decryption, padding, length, receive id (constant time).
Only then is the inner XML parsed, again with declarations refused, so no entity is ever expanded.

No domain imports: the hub's webhook endpoint (webhooks/wecom) builds one of these from its settings.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# Legitimate callbacks are under 8 KiB; anything this large is refused before it is looked at.
MAX_BODY_BYTES = 256 * 1024
PAD_BLOCK = 32  # WeCom pads to 32-byte blocks, not AES's 16
_RANDOM_PREFIX = 16
_LENGTH = struct.Struct(">I")
# The one element taken from the outer XML, with or without CDATA; the base64 alphabet only, so nothing
# in it can be markup. Extracted by pattern: no XML parser sees the body before the signature matched.
_ENCRYPT = re.compile(rb"<Encrypt>(?:<!\[CDATA\[([A-Za-z0-9+/=]*)\]\]>|([A-Za-z0-9+/=]*))</Encrypt>")
_CDATA_OPEN = "<![CDATA["


class CallbackRejected(Exception):
    """A callback that failed a check; ``reason`` is a short slug, ``field`` the part that failed."""

    def __init__(self, reason: str, message: str, *, field: str = "body") -> None:
        super().__init__(message)
        self.reason = reason
        self.field = field


def refuse_declarations(xml: str, *, field: str = "body") -> None:
    """Refuse any ``<!`` outside CDATA sections (DOCTYPE, ENTITY, comments): entities need a DOCTYPE."""
    pos = 0
    while (pos := xml.find("<!", pos)) != -1:
        if not xml.startswith(_CDATA_OPEN, pos):
            raise CallbackRejected("doctype", "markup declarations (DOCTYPE, ENTITY) are not accepted", field=field)
        end = xml.find("]]>", pos + len(_CDATA_OPEN))
        if end == -1:
            raise CallbackRejected("not_xml", "an unterminated CDATA section", field=field)
        pos = end + 3  # "<!" inside a CDATA section is text, not markup


def parse_fields(xml: str) -> dict[str, str]:
    """The decrypted message's child elements as ``{tag: text}`` (the first of a repeated tag wins)."""
    refuse_declarations(xml, field="message")
    try:
        root = ET.fromstring(xml)  # noqa: S314  refuse_declarations above: no DOCTYPE, so no entity attacks
    except ET.ParseError as exc:
        raise CallbackRejected("not_xml", f"the decrypted message is not XML: {exc}", field="message") from None
    fields: dict[str, str] = {}
    for child in root:
        fields.setdefault(child.tag, child.text or "")
    return fields


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """WeCom's msg_signature over one encrypted text."""
    joined = "".join(sorted([token, timestamp, nonce, encrypted])).encode()
    return hashlib.sha1(joined).hexdigest()  # noqa: S324  WeCom's protocol defines the signature as SHA-1


class CallbackCrypto:
    """Checks and opens the callbacks of one WeCom app (token, EncodingAESKey, corp id)."""

    def __init__(
        self,
        token: str,
        aes_key: str,
        receive_id: str,
        *,
        max_age_seconds: float = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        key = base64.b64decode(aes_key + "=", validate=True)
        if len(key) != 32:
            raise ValueError("the EncodingAESKey must be 43 base64 characters (32 bytes)")
        self._token = token
        self._key = key
        self._receive_id = receive_id.encode()
        self._max_age = max_age_seconds
        self._clock = clock

    def verify_url(self, *, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The plaintext of ``echostr`` for WeCom's URL verification (GET)."""
        self._check(msg_signature, timestamp, nonce, echostr)
        return self._decrypt(echostr, field="echostr")

    def open_event(self, *, msg_signature: str, timestamp: str, nonce: str, body: bytes) -> str:
        """The decrypted inner XML of an event (POST) body; parse it with ``parse_fields``."""
        if len(body) > MAX_BODY_BYTES:
            raise CallbackRejected("too_large", f"the body is over {MAX_BODY_BYTES} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise CallbackRejected("not_xml", "the body is not UTF-8 text") from None
        refuse_declarations(text)
        encrypted = self._extract_encrypt(body)
        self._check(msg_signature, timestamp, nonce, encrypted)
        return self._decrypt(encrypted, field="Encrypt")

    @staticmethod
    def _extract_encrypt(body: bytes) -> str:
        found = _ENCRYPT.findall(body)
        if not found:
            raise CallbackRejected("missing_field", "no Encrypt element", field="Encrypt")
        if len(found) > 1:
            raise CallbackRejected("not_xml", "more than one Encrypt element", field="Encrypt")
        cdata, plain = found[0]
        return (cdata or plain).decode("ascii")

    def _check(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        """Signature first (nothing else is trusted before it), then the timestamp's age."""
        expected = signature(self._token, timestamp, nonce, encrypted).encode()
        if not hmac.compare_digest(expected, msg_signature.lower().encode()):
            raise CallbackRejected("bad_signature", "the signature does not match", field="msg_signature")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise CallbackRejected("bad_timestamp", "the timestamp is not a number of seconds", field="timestamp")
        if abs(self._clock() - int(timestamp)) > self._max_age:
            raise CallbackRejected(
                "stale_timestamp", f"the timestamp is more than {self._max_age:g} seconds off", field="timestamp"
            )

    def _decrypt(self, encrypted: str, *, field: str) -> str:
        try:
            ciphertext = base64.b64decode(encrypted, validate=True)
        except binascii.Error:
            raise CallbackRejected("bad_base64", "not strict base64", field=field) from None
        if not ciphertext or len(ciphertext) % 16:
            raise CallbackRejected("bad_ciphertext", "not a whole number of AES blocks", field=field)
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        pad = padded[-1]
        if not 1 <= pad <= PAD_BLOCK or padded[-pad:] != bytes([pad]) * pad:
            raise CallbackRejected("bad_padding", "the PKCS#7 padding is invalid", field=field)
        content = padded[_RANDOM_PREFIX:-pad]
        if len(content) < _LENGTH.size:
            raise CallbackRejected("bad_length", "too short to hold a message length", field=field)
        (length,) = _LENGTH.unpack_from(content)
        message_end = _LENGTH.size + length
        if message_end > len(content):
            raise CallbackRejected("bad_length", "the message length exceeds the decrypted text", field=field)
        if not hmac.compare_digest(content[message_end:], self._receive_id):
            raise CallbackRejected("bad_receive_id", "encrypted for another corp or app", field=field)
        try:
            return content[_LENGTH.size : message_end].decode("utf-8")
        except UnicodeDecodeError:
            raise CallbackRejected("not_utf8", "the decrypted message is not UTF-8", field=field) from None
