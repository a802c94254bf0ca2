"""Creating, checking and revoking API keys.

A key reads ``hub_<prefix>_<secret>``. Only SHA-256 of the whole key is stored: keys are long random
strings, so a slow password hash would buy nothing and cost every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from dataclasses import dataclass
from datetime import timedelta

from hub import clock
from hub.auth.models import STORE_SCOPED_ROLES, ApiKey, Role
from hub.database import transaction
from hub.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from hub.settings import get_settings
from hub.staff.models import Staff
from hub.stores.models import Store

_ALPHABET = string.ascii_letters + string.digits
_LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's role and, for store roles, the store it is limited to."""

    key_id: int
    prefix: str
    role: Role
    store_id: int | None
    staff_id: int | None

    def sees_store(self, store_id: int | None) -> bool:
        return self.role not in STORE_SCOPED_ROLES or (store_id is not None and store_id == self.store_id)

    def require_store(self, store_id: int | None) -> None:
        if not self.sees_store(store_id):
            raise Forbidden("This key is limited to another store")


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(
    *, role: Role, name: str = "", store_code: str | None = None, staff_no: str | None = None
) -> tuple[ApiKey, str]:
    """Create a key; the clear key is returned once and never stored."""
    store = staff = None
    if staff_no is not None:
        staff = await Staff.get_or_none(staff_no=staff_no).select_related("store")
        if staff is None:
            raise NotFound(f"No staff member {staff_no}")
        store = staff.store
    if store_code is not None:
        store = await Store.get_or_none(code=store_code)
        if store is None:
            raise NotFound(f"No store {store_code}")
        if staff is not None and staff.store_id != store.id:
            raise InvalidInput.field("store", f"staff {staff_no} works at another store")
    if role in STORE_SCOPED_ROLES and store is None:
        raise InvalidInput.field("store", f"a {role.value} key needs --store or --staff")
    prefix = _random(8)
    clear = f"hub_{prefix}_{_random(32)}"
    key = await ApiKey.create(
        prefix=prefix, secret_hash=hash_key(clear), role=role, name=name, store=store, staff=staff
    )
    return key, clear


async def revoke_key(*, prefix: str) -> ApiKey:
    key = await ApiKey.get_or_none(prefix=prefix.removeprefix("hub_").split("_")[0])
    if key is None:
        raise NotFound(f"No key with prefix {prefix}")
    principal_cache.forget(key.prefix)
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        await ApiKey.filter(id=key.id, revoked_at__isnull=True).update(revoked_at=key.revoked_at)
    return key


class _PrincipalCache:
    """Recently checked keys, so a busy client does not cost a key lookup per request.

    Entries live ``ttl`` seconds: a key revoked on another process stops working within that time;
    on the process that revoked it, at once. Keyed by the key's hash, never by the key itself.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._max_entries = max_entries

    def get(self, digest: str) -> Principal | None:
        entry = self._entries.get(digest)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, digest: str, principal: Principal, ttl: float) -> None:
        if ttl <= 0:
            return
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[digest] = (principal, time.monotonic() + ttl)

    def forget(self, prefix: str) -> None:
        for digest, (principal, _) in list(self._entries.items()):
            if principal.prefix == prefix:
                del self._entries[digest]


principal_cache = _PrincipalCache()


async def authenticate(token: str | None) -> Principal:
    """The principal for a bearer token, or Unauthenticated; the comparison is constant-time."""
    if not token or not token.startswith("hub_") or len(token) > 100:
        raise Unauthenticated("Send Authorization: Bearer <key>")
    parts = token.split("_")
    if len(parts) != 3:
        raise Unauthenticated("Malformed API key")
    digest = hash_key(token)
    cached = principal_cache.get(digest)
    if cached is not None:
        return cached
    key = await ApiKey.get_or_none(prefix=parts[1])
    if key is None or not hmac.compare_digest(key.secret_hash, digest):
        raise Unauthenticated("Unknown API key")
    if key.revoked_at is not None:
        raise Unauthenticated("This API key was revoked")
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_GRANULARITY:
        async with transaction():  # a write on a read request: its own small unit of work
            await ApiKey.filter(id=key.id).update(last_used_at=now)
    principal = Principal(key.id, key.prefix, Role(key.role), await _store_of(key), key.staff_id)
    principal_cache.put(digest, principal, get_settings().auth_cache_seconds)
    return principal


async def _store_of(key: ApiKey) -> int | None:
    """The store a key acts for. A staff member's key follows their record, as their staff-web session
    does: it stops when they leave and moves with them to another store (within the cache window)."""
    if key.staff_id is None:
        return key.store_id
    staff = await Staff.filter(id=key.staff_id).first().values("active", "store_id")
    if staff is None or not staff["active"]:
        raise Unauthenticated("The staff member this key belongs to is no longer active")
    return int(staff["store_id"])
