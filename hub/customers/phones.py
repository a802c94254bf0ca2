"""Phone numbers: normalised, then kept only as a keyed hash (for look-ups) and a masked copy (for display)."""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache

from hub.settings import get_settings

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


class InvalidPhone(ValueError):
    pass


def normalise_phone(raw: str) -> str:
    """A mainland mobile number as 11 digits; '+86 138-0013-8000' → '13800138000'."""
    digits = re.sub(r"[\s()-]", "", raw)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix) :]
    if not _MOBILE.match(digits):
        raise InvalidPhone("must be a mainland mobile number (11 digits starting with 1)")
    return digits


@lru_cache(maxsize=4)
def _phone_key(secret: bytes) -> bytes:
    # A key of its own, derived from the secret, so a hash never doubles as a signature elsewhere.
    return hmac.new(secret, b"hub:phone-hash:v1", hashlib.sha256).digest()


def phone_hash(raw: str) -> str:
    """The keyed hash stored as the customer's ``phone_hash`` identity."""
    number = normalise_phone(raw)
    return hmac.new(_phone_key(get_settings().secret), number.encode(), hashlib.sha256).hexdigest()


def mask_phone(raw: str) -> str:
    number = normalise_phone(raw)
    return f"{number[:3]}****{number[-4:]}"
