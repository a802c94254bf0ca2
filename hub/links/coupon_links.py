"""The links a customer opens to see or claim a coupon, built wherever a message or offer is composed.

Hub-level on purpose: WeCom welcome messages (``hub.wecom``) and offers build these links, and the hub
never imports ``coupons`` or ``storefront``. Two kinds:

- the coupon page, ``/s/coupons/{code}``: the code itself is the bearer secret (75 random bits);
- the claim link, ``/s/coupons/claim/{token}``: a signed invitation for one customer to claim one coupon
  of one batch. Format: ``base64url(payload) "." base64url(tag)``, no padding; the payload is the compact
  JSON array ``[1, batch_id, customer_id, channel, code_id, issued_at, expires_at]`` and the tag is
  HMAC-SHA256 over it with a key derived for this purpose only, truncated to 128 bits (as in
  ``hub.links.tokens``). About 100 characters. Anything malformed, tampered with or expired verifies to None.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass

from hub.errors import InvalidInput
from hub.links.tokens import TAG_BYTES, derive_key
from hub.settings import get_settings

VERSION = 1
LIFETIME_SECONDS = 14 * 86400
TOKEN_MAX = 512  # a real token is ~100 characters; anything longer is not worth decoding
PURPOSE = "coupon-claim-link"
_CHANNEL = re.compile(r"[a-z][a-z0-9_]{0,15}")  # the ledger's channel column holds 16 characters


@dataclass(frozen=True, slots=True)
class ClaimLink:
    """What a verified claim link says: this customer may claim one coupon of this batch."""

    batch_id: int
    customer_id: int
    channel: str
    code_id: int | None  # the QR code or link that brought the customer, for attribution
    issued_at: int  # Unix seconds
    expires_at: int
    digest: str = ""  # names the signed payload, however its base64 was spelled: a request id for the claim


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(text: str) -> bytes:
    """Strict base64url: a character outside the alphabet is an error, not skipped."""
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _tag(payload: bytes) -> bytes:
    key = derive_key(get_settings().secret, PURPOSE)
    return hmac.new(key, payload, hashlib.sha256).digest()[:TAG_BYTES]


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def sign_claim_token(*, batch_id: int, customer_id: int, channel: str, code_id: int | None = None,
                     now: int | None = None, lifetime: int = LIFETIME_SECONDS) -> str:
    if not _is_id(batch_id):
        raise InvalidInput.field("batch_id", "must be a positive id")
    if not _is_id(customer_id):
        raise InvalidInput.field("customer_id", "must be a positive id")
    if code_id is not None and not _is_id(code_id):
        raise InvalidInput.field("code_id", "must be a positive id or null")
    if not isinstance(channel, str) or not _CHANNEL.fullmatch(channel):
        raise InvalidInput.field("channel", "must be 1 to 16 lower-case letters, digits or _")
    issued = int(time.time()) if now is None else int(now)
    payload = json.dumps([VERSION, batch_id, customer_id, channel, code_id, issued, issued + lifetime],
                         separators=(",", ":")).encode()
    return (_b64(payload) + b"." + _b64(_tag(payload))).decode()


def claim_link_url(*, batch_id: int, customer_id: int, channel: str, code_id: int | None = None,
                   now: int | None = None) -> str:
    """The link that lets ``customer_id`` claim a coupon of ``batch_id`` for the next 14 days."""
    token = sign_claim_token(batch_id=batch_id, customer_id=customer_id, channel=channel, code_id=code_id, now=now)
    return f"{_base()}/s/coupons/claim/{token}"


def verify_claim_token(token: str | None, now: float | None = None) -> ClaimLink | None:
    """The claim link a token carries, or None when it cannot be trusted (malformed, tampered, expired)."""
    if not isinstance(token, str) or len(token) > TOKEN_MAX or token.count(".") != 1:
        return None
    body, _, tag = token.partition(".")
    try:
        payload, given = _unb64(body), _unb64(tag)
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(_tag(payload), given):
        return None
    link = _parse(payload)
    if link is None or link.expires_at <= (time.time() if now is None else now):
        return None
    return link


def coupon_page_url(code: str) -> str:
    """The customer's page of one coupon; whoever holds the link holds the coupon, so send it to the owner only."""
    return f"{_base()}/s/coupons/{code}"


def _base() -> str:
    return get_settings().public_base_url.rstrip("/")


def _parse(payload: bytes) -> ClaimLink | None:
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, list) or len(data) != 7 or data[0] != VERSION:
        return None
    _, batch_id, customer_id, channel, code_id, issued, expires = data
    if not (_is_id(batch_id) and _is_id(customer_id) and (code_id is None or _is_id(code_id))):
        return None
    if not isinstance(channel, str) or not _CHANNEL.fullmatch(channel):
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (issued, expires)):
        return None
    return ClaimLink(batch_id=batch_id, customer_id=customer_id, channel=channel, code_id=code_id,
                     issued_at=issued, expires_at=expires, digest=hashlib.sha256(payload).hexdigest()[:32])
