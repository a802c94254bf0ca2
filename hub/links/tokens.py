"""The signed attribution token the redirect appends to the target as ``hub_attr``.

Format: ``base64url(payload) "." base64url(tag)``, no padding. The payload is a compact JSON array
``[1, code_id, slug, store_id, staff_id, product_id, campaign_id, channel, visitor_id, issued_at,
expires_at]``; the tag is HMAC-SHA256 over the payload bytes with a key derived from HUB_SECRET_KEY for
this purpose only, truncated to 128 bits (RFC 2104 allows truncation to half the hash length). A token
is about 150 characters. ``verify`` never trusts a token it cannot check: anything malformed, tampered
with or expired is None, and counted by reason in ``hub_attribution_token_rejected_total``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

from prometheus_client import Counter

from hub import clock
from hub.events.attribution import Attribution
from hub.settings import get_settings

VERSION = 1
TAG_BYTES = 16
REJECTED = Counter("hub_attribution_token_rejected_total", "Attribution tokens refused, by reason", ["reason"])
for _reason in ("malformed", "tampered", "expired"):
    REJECTED.labels(_reason)  # so the series exist (at 0) before the first reject


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose, so a leak or misuse of one never reaches the others."""
    return hmac.new(secret, f"hub:{purpose}".encode(), hashlib.sha256).digest()


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> bytes:
    """base64url without padding (binascii directly: this runs twice per redirect)."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


def _unb64(text: str) -> bytes:
    """Strict base64url: a character outside the alphabet is an error, not skipped."""
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def payload_prefix(*, code_id: int, slug: str, store_id: int | None, staff_id: int | None,
                   product_id: int | None, campaign_id: int | None, channel: str) -> str:
    """The per-code start of the payload; the redirect appends visitor and times (see ``Signer.sign``)."""
    return json.dumps([VERSION, code_id, slug, store_id, staff_id, product_id, campaign_id, channel],
                      separators=(",", ":"), ensure_ascii=False)[:-1]


class Signer:
    """Signs and verifies tokens with one derived key; built once per process (the redirect is hot)."""

    def __init__(self, secret: bytes, *, days: int) -> None:
        # Keyed once; each token copies it (cheaper than hmac.digest, which sets the key up every time).
        self._mac = hmac.new(derive_key(secret, "attribution-token"), digestmod=hashlib.sha256)
        self.lifetime = days * 86400

    def _tag(self, payload: bytes) -> bytes:
        mac = self._mac.copy()
        mac.update(payload)
        return mac.digest()[:TAG_BYTES]

    def sign(self, prefix: str, visitor_id: str, now: int) -> bytes:
        """``prefix`` from ``payload_prefix``; ``visitor_id`` is ours (URL-safe characters, no quoting)."""
        payload = f'{prefix},"{visitor_id}",{now},{now + self.lifetime}]'.encode()
        return _b64(payload) + b"." + _b64(self._tag(payload))

    def sign_attribution(self, attribution: Attribution, *, now: int | None = None) -> str:
        """A token for ``attribution``, which must name its code: ``verify`` refuses a token without one."""
        if attribution.code_id is None:
            raise ValueError("an attribution token names the code scanned; this attribution has none")
        now = int(clock.unix()) if now is None else now
        prefix = payload_prefix(code_id=attribution.code_id, slug=attribution.slug,
                                store_id=attribution.store_id, staff_id=attribution.staff_id,
                                product_id=attribution.product_id, campaign_id=attribution.campaign_id,
                                channel=attribution.channel)
        return self.sign(prefix, attribution.visitor_id or "", now).decode()

    def verify(self, token: str | None, *, now: float | None = None) -> Attribution | None:
        """The attribution a token carries, or None (counted by reason) when it cannot be trusted."""
        if not isinstance(token, str) or len(token) > 1024 or token.count(".") != 1:
            return _reject("malformed")
        body, _, tag = token.partition(".")
        try:
            payload, given = _unb64(body), _unb64(tag)
        except (binascii.Error, ValueError):
            return _reject("malformed")
        if not hmac.compare_digest(self._tag(payload), given):
            return _reject("tampered")
        attribution = _parse(payload)
        if attribution is None:
            return _reject("malformed")
        if attribution.expires_at is None or attribution.expires_at <= (clock.unix() if now is None else now):
            return _reject("expired")
        return attribution


def _parse(payload: bytes) -> Attribution | None:
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, list) or len(data) != 11 or data[0] != VERSION:
        return None
    _, code_id, slug, store, staff, product, campaign, channel, visitor, issued, expires = data
    ids = (code_id, store, staff, product, campaign)
    if not all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in ids) or code_id is None:
        return None
    if not all(isinstance(v, str) for v in (slug, channel, visitor)) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in (issued, expires)
    ):
        return None
    return Attribution(code_id=code_id, slug=slug, store_id=store, staff_id=staff, product_id=product,
                       campaign_id=campaign, channel=channel, visitor_id=visitor or None, at=issued,
                       expires_at=expires)


def _reject(reason: str) -> Attribution | None:  # always None: verify returns it
    REJECTED.labels(reason).inc()
    return None


_signers: dict[tuple[bytes, int], Signer] = {}


def signer() -> Signer:
    """The signer for the current settings (cached; tests and the CLI may change settings)."""
    settings = get_settings()
    key = (settings.secret, settings.attribution_token_days)
    found = _signers.get(key)
    if found is None:
        found = _signers[key] = Signer(settings.secret, days=settings.attribution_token_days)
    return found


def verify(token: str | None, *, now: float | None = None) -> Attribution | None:
    """Verify with the configured key: the attribution, or None for a token not to be trusted."""
    return signer().verify(token, now=now)
