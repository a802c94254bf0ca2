"""The links a customer opens to see or claim a coupon, built wherever a message or offer is composed.

Hub-level on purpose: WeCom welcome messages (``hub.wecom``) and offers build these links, and the hub
never imports ``coupons`` or ``storefront``. Two kinds:

- the coupon page, ``/s/coupons/{code}``: the code itself is the bearer secret (75 random bits);
- the claim link, ``/s/coupons/claim/{token}``: a signed invitation for one customer to claim one coupon
  of one batch, a seal (``hub.links.seals``) of ``[1, batch_id, customer_id, channel, code_id]`` for the
  purpose ``coupon-claim-link``. About 120 characters. Anything malformed, tampered with or expired verifies
  to None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub import clock
from hub.errors import InvalidInput
from hub.links.seals import Sealed, open_seal, seal
from hub.settings import get_settings

VERSION = 1
LIFETIME_SECONDS = 14 * 86400
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
    return seal(PURPOSE, [VERSION, batch_id, customer_id, channel, code_id], lifetime=lifetime, now=now)


def claim_link_url(*, batch_id: int, customer_id: int, channel: str, code_id: int | None = None,
                   now: int | None = None) -> str:
    """The link that lets ``customer_id`` claim a coupon of ``batch_id`` for the next 14 days."""
    token = sign_claim_token(batch_id=batch_id, customer_id=customer_id, channel=channel, code_id=code_id, now=now)
    return f"{_base()}/s/coupons/claim/{token}"


def verify_claim_token(token: str | None, now: float | None = None) -> ClaimLink | None:
    """The claim link a token carries, or None when it cannot be trusted (malformed, tampered, expired)."""
    link = _parse(open_seal(PURPOSE, token))
    if link is None or link.expires_at <= (clock.unix() if now is None else now):
        return None
    return link


def coupon_page_url(code: str) -> str:
    """The customer's page of one coupon; whoever holds the link holds the coupon, so send it to the owner only."""
    return f"{_base()}/s/coupons/{code}"


def _base() -> str:
    return get_settings().public_base_url.rstrip("/")


def _parse(sealed: Sealed | None) -> ClaimLink | None:
    if sealed is None or len(sealed.data) != 5 or sealed.data[0] != VERSION:
        return None
    _, batch_id, customer_id, channel, code_id = sealed.data
    if not (_is_id(batch_id) and _is_id(customer_id) and (code_id is None or _is_id(code_id))):
        return None
    if not isinstance(channel, str) or not _CHANNEL.fullmatch(channel):
        return None
    return ClaimLink(batch_id=batch_id, customer_id=customer_id, channel=channel, code_id=code_id,
                     issued_at=sealed.issued_at, expires_at=sealed.expires_at, digest=sealed.digest)
