"""Slugs: the unguessable part of ``/c/{slug}``, and the public links built from it.

Ten base62 characters from ``secrets`` (62^10 ≈ 8·10^17): nobody walks the code space to find other
stores' codes, and a collision is rare enough that one retry against the unique index settles it.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hub.codes.models import Code
from hub.errors import Conflict
from hub.settings import get_settings

ALPHABET = string.ascii_letters + string.digits
SLUG_LENGTH = 10
# What a slug may look like when it arrives from outside (older or hand-made slugs may be 8 to 16).
SLUG_PATTERN = r"^[A-Za-z0-9]{8,16}$"
_SLUG_RE = re.compile(SLUG_PATTERN)
_ATTEMPTS = 5


class NoFreeSlug(Conflict):
    title = "No free slug was found"


def new_slug() -> str:
    """A fresh random slug; uniqueness is settled by the database, not here."""
    return "".join(secrets.choice(ALPHABET) for _ in range(SLUG_LENGTH))


def is_slug(value: str) -> bool:
    return bool(_SLUG_RE.fullmatch(value))


def public_url(slug: str) -> str:
    """The link people share; the hub redirects it to the code's target and records the scan."""
    return f"{get_settings().public_base_url.rstrip('/')}/c/{slug}"


def qr_url(slug: str) -> str:
    """The link printed in QR codes: the marker tells the redirect the scan came from a QR code."""
    return f"{public_url(slug)}?src=qr"


async def insert_code(*, make_slug: Callable[[], str] = new_slug, **fields: Any) -> Code:
    """Insert a code under a fresh slug, retrying when the unique index reports a taken one.

    Each attempt runs in a savepoint (a nested transaction): on PostgreSQL a failed INSERT would
    otherwise abort the whole unit of work the caller opened.
    """
    for _ in range(_ATTEMPTS):
        slug = make_slug()
        try:
            async with in_transaction("default"):
                return await Code.create(slug=slug, **fields)
        except IntegrityError:
            if not await Code.exists(slug=slug):
                raise  # another unique rule (e.g. batch_key) failed: not ours to retry
    raise NoFreeSlug(f"No free slug after {_ATTEMPTS} attempts")
