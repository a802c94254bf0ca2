"""Where access tokens live between calls, so every process shares one token per secret.

WeCom limits ``gettoken`` calls and a fresh token does not invalidate the old one (WECOM.md), so a token
is fetched by one process at a time under ``lock(key)`` and read by all. Three stores:
``MemoryTokenStore`` (one process, tests), ``RedisTokenStore`` (when ``HUB_REDIS_URL`` is set) and
``DatabaseTokenStore`` (the ``wecom_access_token`` table otherwise).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Protocol

from connectors.wecom.models import WecomAccessToken
from hub.database import dialect, transaction
from hub.jobs.lease import renewed
from hub.settings import Settings


def token_cache_key(corp_id: str, secret: str) -> str:
    """The store key for one corp secret: a hash, so the secret itself is never stored or logged."""
    return hashlib.sha256(f"{corp_id}\x00{secret}".encode()).hexdigest()


class TokenStore(Protocol):
    async def get(self, key: str) -> tuple[str, float] | None:
        """The stored (token, expires_at): epoch seconds after which callers fetch a new one; or None."""

    async def put(self, key: str, token: str, expires_at: float) -> None: ...

    async def invalidate(self, key: str, token: str) -> None:
        """Drop the token only if it is still this one (another process may have refreshed it already)."""

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Held while fetching a fresh token, so that only one process fetches."""


class MemoryTokenStore:
    """Tokens in this process only: for tests and single-process tools."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str) -> tuple[str, float] | None:
        return self._tokens.get(key)

    async def put(self, key: str, token: str, expires_at: float) -> None:
        self._tokens[key] = (token, expires_at)

    async def invalidate(self, key: str, token: str) -> None:
        stored = self._tokens.get(key)
        if stored is not None and stored[0] == token:
            del self._tokens[key]

    def lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def aclose(self) -> None:
        return None


# Compare-and-delete in one step: a value is removed only while it is still the caller's.
_DELETE_TOKEN_IF = """
local v = redis.call('get', KEYS[1])
if v and cjson.decode(v)['token'] == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""  # noqa: S105  a Lua script, not a password
_RENEW_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisTokenStore:
    """Tokens in Redis, expiring with the token; the fetch lock is ``SET NX PX`` with an owner value.

    The lock is a short lease, renewed while the fetch runs (``hub.jobs.lease``): a process that dies while
    fetching blocks the others for at most ``lock_seconds``, well inside a welcome code's 20 s.
    """

    def __init__(self, redis_url: str, *, lock_seconds: float = 6.0, poll_seconds: float = 0.05) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(redis_url, decode_responses=True)
        self._lock_ms = int(lock_seconds * 1000)
        self._poll = poll_seconds

    async def get(self, key: str) -> tuple[str, float] | None:
        raw = await self._redis.get(f"hub:wecom:token:{key}")
        if raw is None:
            return None
        value = json.loads(raw)
        return value["token"], float(value["expires_at"])

    async def put(self, key: str, token: str, expires_at: float) -> None:
        ttl_ms = int((expires_at - datetime.now(UTC).timestamp()) * 1000)
        if ttl_ms > 0:
            await self._redis.set(
                f"hub:wecom:token:{key}", json.dumps({"token": token, "expires_at": expires_at}), px=ttl_ms
            )

    async def invalidate(self, key: str, token: str) -> None:
        await self._redis.eval(_DELETE_TOKEN_IF, 1, f"hub:wecom:token:{key}", token)

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        name, owner = f"hub:wecom:token-lock:{key}", secrets.token_hex(16)
        while not await self._redis.set(name, owner, nx=True, px=self._lock_ms):  # noqa: ASYNC110  the lock is in Redis, shared across processes
            await asyncio.sleep(self._poll)
        try:
            async with renewed(lambda: self._redis.eval(_RENEW_LOCK, 1, name, owner, self._lock_ms),
                               what=f"WeCom token lock {key}", lease_seconds=self._lock_ms / 1000):
                yield
        finally:
            await self._redis.eval(_RELEASE_LOCK, 1, name, owner)

    async def aclose(self) -> None:
        await self._redis.aclose()


class DatabaseTokenStore:
    """Tokens in the ``wecom_access_token`` table, for deployments without Redis.

    The fetch lock is a transaction (``hub.database.transaction()``) that holds the token's row: a
    ``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the row insert that opens it takes the database's
    single write lock, which serializes fetchers across processes (others wait up to the busy timeout).
    Inside an already open unit of work the lock joins it and lasts until that commits.
    """

    async def get(self, key: str) -> tuple[str, float] | None:
        row = await WecomAccessToken.get_or_none(cache_key=key)
        if row is None or not row.token:
            return None
        return row.token, row.expires_at.timestamp()

    async def put(self, key: str, token: str, expires_at: float) -> None:
        await self._ensure_row(key)
        await WecomAccessToken.filter(cache_key=key).update(
            token=token, expires_at=datetime.fromtimestamp(expires_at, UTC), fetched_at=datetime.now(UTC)
        )

    async def invalidate(self, key: str, token: str) -> None:
        async with transaction():  # a job or request calls WeCom outside any transaction (CONTRIBUTING.md)
            await WecomAccessToken.filter(cache_key=key, token=token).update(token="")

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        async with transaction():
            await self._ensure_row(key)
            if dialect() == "postgres":
                await WecomAccessToken.select_for_update().get(cache_key=key)
            yield

    @staticmethod
    async def _ensure_row(key: str) -> None:
        """Insert the key's row unless it exists (``ON CONFLICT DO NOTHING``: safe against a racing insert)."""
        epoch = datetime.fromtimestamp(0, UTC)
        await WecomAccessToken.bulk_create(
            [WecomAccessToken(cache_key=key, token="", expires_at=epoch, fetched_at=epoch)], ignore_conflicts=True
        )

    async def aclose(self) -> None:
        return None


def token_store_for(settings: Settings) -> RedisTokenStore | DatabaseTokenStore:
    """Redis when ``HUB_REDIS_URL`` is set (shared by every process), else the database."""
    if settings.redis_url:
        return RedisTokenStore(settings.redis_url)
    return DatabaseTokenStore()
