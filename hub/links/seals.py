"""Sealed tokens: a small JSON array signed for one purpose, with its issue and expiry times.

A seal reads ``base64url(JSON payload) "." base64url(tag)``, no padding. The payload is a JSON array ending
in issued-at and expiry (Unix seconds); the tag is HMAC-SHA256 over the payload bytes, keyed with a key
derived from HUB_SECRET_KEY for that purpose alone (``hub.links.tokens.derive_key``), so a token made for
one purpose (a staff session, a sign-in state, a coupon claim link) never passes for another. Anything
malformed, tampered with or expired opens to None. The hot attribution token (``hub.links.tokens``) keeps
its own hand-tuned format.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from hub import clock
from hub.links.tokens import derive_key
from hub.settings import get_settings

MAX_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class Sealed:
    """What a seal holds, its times, and a digest naming the signed payload (however its base64 was spelled)."""

    data: list
    issued_at: int
    expires_at: int
    digest: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Strict base64url: a character outside the alphabet is an error, not skipped."""
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _tag(purpose: str, payload: bytes) -> bytes:
    return hmac.new(derive_key(get_settings().secret, purpose), payload, hashlib.sha256).digest()


def seal(purpose: str, data: list, *, lifetime: int, now: float | None = None) -> str:
    """``data`` plus issued-at and expiry, signed for ``purpose``."""
    issued = int(clock.unix() if now is None else now)
    payload = json.dumps([*data, issued, issued + lifetime], separators=(",", ":"), ensure_ascii=False).encode()
    return f"{_b64(payload)}.{_b64(_tag(purpose, payload))}"


def open_seal(purpose: str, token: str | None) -> Sealed | None:
    """The seal's contents when its tag is ours for ``purpose``, expired or not; None when malformed or
    tampered with. Callers that must tell "expired" from "forged" use this; others use ``unseal``."""
    if not isinstance(token, str) or not token or len(token) > MAX_LENGTH or token.count(".") != 1:
        return None
    body, _, tag = token.partition(".")
    try:
        payload, given = _unb64(body), _unb64(tag)
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(_tag(purpose, payload), given):
        return None
    data = json.loads(payload)  # we wrote it: a valid tag means valid JSON
    if not isinstance(data, list) or len(data) < 2:
        return None
    *content, issued, expires = data
    return Sealed(data=content, issued_at=issued, expires_at=expires, digest=hashlib.sha256(payload).hexdigest()[:32])


def unseal(purpose: str, token: str | None, *, now: float | None = None) -> list | None:
    """The data sealed for ``purpose`` (without the times), or None when malformed, tampered with or expired."""
    sealed = open_seal(purpose, token)
    if sealed is None or sealed.expires_at <= (clock.unix() if now is None else now):
        return None
    return sealed.data
