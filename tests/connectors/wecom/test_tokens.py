"""Access tokens: fetched once per secret and shared through the store, refreshed when WeCom refuses them."""

from __future__ import annotations

import asyncio
import hashlib
import time

import pytest

from connectors.wecom.errors import WecomError, WecomTokenInvalid
from connectors.wecom.models import WecomAccessToken
from connectors.wecom.tokens import DatabaseTokenStore, MemoryTokenStore, RedisTokenStore, token_cache_key

API = "externalcontact/get_follow_user_list"


@pytest.fixture(params=["memory", "database", "redis"])
def store_kind(request) -> tuple[str, str | None]:
    """Which store, and the Redis URL for the Redis one (skipped locally without HUB_TEST_REDIS_URL)."""
    return request.param, request.getfixturevalue("redis_url") if request.param == "redis" else None


@pytest.fixture
async def make_store(store_kind):
    """A factory of stores as separate processes would hold them (one shared instance for memory)."""
    kind, redis_url = store_kind
    if kind == "memory":
        shared = MemoryTokenStore()
        yield lambda: shared
        return
    made = []

    def make():
        made.append(RedisTokenStore(redis_url) if redis_url else DatabaseTokenStore())
        return made[-1]

    yield make
    for store in made:
        await store.aclose()


class TestSharing:
    async def test_two_clients_sharing_a_store_fetch_the_token_once(self, wecom_sandbox, make_store):
        async with wecom_sandbox.client(token_store=make_store()) as a, \
                wecom_sandbox.client(token_store=make_store()) as b:
            await asyncio.gather(*(c.get_follow_user_list() for c in (a, b, a, b, a, b)))
            assert await a.access_token() == await b.access_token()
        stats = await wecom_sandbox.stats()
        assert stats["gettoken"] == 1
        assert stats["calls"][API] == 6

    async def test_a_token_is_used_until_a_margin_before_its_expiry(self, wecom_sandbox):
        store = MemoryTokenStore()
        async with wecom_sandbox.client(token_store=store) as client:
            token = await client.access_token()
        stored = await store.get(token_cache_key(wecom_sandbox.config.corp_id, wecom_sandbox.config.secret))
        assert stored is not None and stored[0] == token
        assert stored[1] == pytest.approx(time.time() + 7200 - 300, abs=5)

    async def test_a_token_past_its_use_time_is_fetched_again(self, wecom_sandbox_factory):
        sandbox = wecom_sandbox_factory(token_ttl_seconds=1)  # used for 0.75 s
        async with sandbox.client() as client:
            first = await client.access_token()
            await asyncio.sleep(0.8)
            await client.get_follow_user_list()
            assert await client.access_token() != first
        assert (await sandbox.stats())["gettoken"] == 2

    async def test_each_corp_secret_has_its_own_token(self, wecom_sandbox_factory):
        first, second = wecom_sandbox_factory(), wecom_sandbox_factory()
        store = MemoryTokenStore()
        async with first.client(token_store=store) as a, second.client(token_store=store) as b:
            await a.get_follow_user_list()
            await b.get_follow_user_list()  # another corp: the first one's token would be refused (40014)
        assert first.url != second.url
        assert [(await s.stats())["gettoken"] for s in (first, second)] == [1, 1]

    async def test_the_database_keeps_a_hash_of_corp_and_secret_never_the_secret(self, wecom_sandbox):
        async with wecom_sandbox.client(token_store=DatabaseTokenStore()) as client:
            token = await client.access_token()
        row = await WecomAccessToken.get()
        config = wecom_sandbox.config
        assert row.cache_key == hashlib.sha256(f"{config.corp_id}\x00{config.secret}".encode()).hexdigest()
        assert config.secret not in row.cache_key and row.token == token


class TestInvalidate:
    async def test_only_the_same_token_is_dropped(self, make_store):
        store = make_store()
        await store.put("k", "new-token", time.time() + 600)
        await store.invalidate("k", "old-token")  # a stale holder must not drop the fresh token
        assert (await store.get("k"))[0] == "new-token"
        await store.invalidate("k", "new-token")
        assert await store.get("k") is None


class TestRefresh:
    async def test_an_expired_token_42001_is_refreshed_and_the_call_retried(self, wecom_sandbox):
        async with wecom_sandbox.client() as client:
            first = await client.access_token()
            await wecom_sandbox.expire_tokens()
            assert isinstance(await client.get_follow_user_list(), list)
            assert await client.access_token() != first
        stats = await wecom_sandbox.stats()
        assert stats["gettoken"] == 2 and stats["calls"][API] == 2

    async def test_an_invalid_token_40014_is_refreshed_and_the_call_retried(self, wecom_sandbox):
        async with wecom_sandbox.client() as client:
            await client.access_token()
            await wecom_sandbox.fault(API, 40014)
            await client.get_follow_user_list()
        stats = await wecom_sandbox.stats()
        assert stats["gettoken"] == 2 and stats["calls"][API] == 2

    async def test_a_token_refused_again_after_the_refresh_is_an_error(self, wecom_sandbox):
        await wecom_sandbox.fault(API, 40014, times=2)
        async with wecom_sandbox.client() as client:
            with pytest.raises(WecomTokenInvalid) as caught:
                await client.get_follow_user_list()
        assert (caught.value.errcode, caught.value.api) == (40014, API)
        assert (await wecom_sandbox.stats())["gettoken"] == 2

    async def test_a_wrong_secret_or_corp_id_fails_at_gettoken(self, wecom_sandbox):
        async with wecom_sandbox.client(secret="wrong") as client:
            with pytest.raises(WecomTokenInvalid) as caught:
                await client.get_follow_user_list()
        assert (caught.value.errcode, caught.value.api) == (40001, "gettoken")
        async with wecom_sandbox.client(corp_id="wwnotours") as client:
            with pytest.raises(WecomError) as caught:
                await client.get_follow_user_list()
        assert caught.value.errcode == 40013 and "invalid corpid" in caught.value.errmsg
        assert (await wecom_sandbox.stats())["gettoken"] == 0


class TestRedisFetchLock:
    async def test_a_held_fetch_lock_is_renewed_past_its_lease_and_freed_after(self, redis_url):
        """The lock is a short lease (a dead fetcher blocks the others seconds, not a minute), renewed while
        a live fetch holds it; test_worker_crash shows the other side: a killed worker's lock lapses."""
        from redis.asyncio import Redis

        from tests.processes import wait_until

        store, raw = RedisTokenStore(redis_url, lock_seconds=1), Redis.from_url(redis_url)
        name = "hub:wecom:token-lock:k"
        try:
            async with store.lock("k"):
                held_since = time.monotonic()

                async def two_leases_passed() -> bool:
                    return time.monotonic() - held_since > 2

                await wait_until(two_leases_passed, within=10, what="two lease lengths pass")
                assert await raw.exists(name) and 0 < await raw.pttl(name) <= 1000
                assert not await raw.set(name, "another process", nx=True, px=1000)  # still ours
            assert not await raw.exists(name)
        finally:
            await store.aclose()
            await raw.aclose()
