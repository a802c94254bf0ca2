"""``WecomClient.from_settings``: the hub's ``HUB_WECOM_*`` settings, tokens shared through Redis or the database."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from connectors.wecom.client import WecomClient
from connectors.wecom.models import WecomAccessToken
from hub.settings import Settings, SettingsError


def _settings(sandbox, **overrides) -> Settings:
    return Settings(**{name.removeprefix("HUB_").lower(): value for name, value in sandbox.env().items()}, **overrides)


async def test_without_redis_processes_share_the_token_through_the_database(wecom_sandbox):
    settings = _settings(wecom_sandbox)
    async with WecomClient.from_settings(settings) as a, WecomClient.from_settings(settings) as b:
        await a.get_follow_user_list()
        await b.get_follow_user_list()
        assert a.oauth_url(redirect_uri="http://hub.test/x", state="s").startswith(wecom_sandbox.oauth_url + "?")
    assert (await wecom_sandbox.stats())["gettoken"] == 1
    assert await WecomAccessToken.all().count() == 1


async def test_with_redis_tokens_and_call_counts_live_in_redis(wecom_sandbox, redis_url):
    settings = _settings(wecom_sandbox, redis_url=redis_url)
    async with WecomClient.from_settings(settings) as a, WecomClient.from_settings(settings) as b:
        await a.get_follow_user_list()
        await b.get_follow_user_list()
    assert (await wecom_sandbox.stats())["gettoken"] == 1
    assert await WecomAccessToken.all().count() == 0
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        assert len(await redis.keys("hub:wecom:token:*")) == 1
        counters = await redis.keys(f"hub:wecom:rate:{wecom_sandbox.config.corp_id}:externalcontact/*")
        assert sum([int(await redis.get(key)) for key in counters]) == 2  # one key per minute
    finally:
        await redis.aclose()


def test_without_corp_id_and_secret_there_is_no_client():
    with pytest.raises(SettingsError) as caught:
        WecomClient.from_settings(Settings(wecom_corp_id=None, wecom_secret=None))
    assert "HUB_WECOM_CORP_ID" in str(caught.value)
