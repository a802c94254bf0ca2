"""Coupon codes: 15 random symbols (75 bits, so guessing one is hopeless) and a Luhn mod 32 check symbol.

The alphabet is Crockford's base 32 (no I, L, O, U), so a code read aloud or typed from a receipt is
unambiguous; the check symbol catches every single-symbol typo and every swap of neighbours before the
database is asked.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY_LENGTH = 15
CODE_LENGTH = BODY_LENGTH + 1
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_N = len(ALPHABET)


def check_symbol(body: str) -> str:
    """The Luhn mod N symbol that makes ``body + symbol`` valid."""
    total = 0
    factor = 2
    for char in reversed(body):
        addend = factor * _VALUE[char]
        total += addend // _N + addend % _N
        factor = 1 if factor == 2 else 2
    return ALPHABET[(_N - total % _N) % _N]


def new_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + check_symbol(body)


def normalise(code: str) -> str | None:
    """The stored form of a typed or scanned code (case, spaces and dashes ignored), or None when the code
    cannot be one of ours."""
    cleaned = code.strip().upper().replace("-", "").replace(" ", "")
    if len(cleaned) != CODE_LENGTH or any(c not in _VALUE for c in cleaned):
        return None
    return cleaned if check_symbol(cleaned[:-1]) == cleaned[-1] else None
