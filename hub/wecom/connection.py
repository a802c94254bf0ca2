"""The process's one WeCom client, built from the settings on first use and closed at shutdown.

Every caller in the hub (jobs, callbacks, sign-in) goes through ``wecom_client()`` so one token store,
one rate limiter and one connection pool serve the whole process. Tests and the demo point it at the
sandbox with ``use_wecom_client``.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from hub.errors import HubError
from hub.settings import get_settings

if TYPE_CHECKING:
    from connectors.wecom.client import WecomClient

_client: WecomClient | None = None


class WecomNotConfigured(HubError):
    status = 503
    slug = "wecom-not-configured"
    title = "WeCom is not configured"


def wecom_configured() -> bool:
    settings = get_settings()
    return bool(settings.wecom_corp_id and settings.wecom_secret)


def wecom_client() -> WecomClient:
    """The shared client; raises WecomNotConfigured when HUB_WECOM_CORP_ID / HUB_WECOM_SECRET are unset."""
    global _client
    if _client is None:
        if not wecom_configured():
            raise WecomNotConfigured("Set HUB_WECOM_CORP_ID and HUB_WECOM_SECRET (or run the sandbox)")
        from connectors.wecom.client import WecomClient

        _client = WecomClient.from_settings(get_settings())
    return _client


def set_wecom_client(client: WecomClient | None) -> None:
    global _client
    _client = client


@asynccontextmanager
async def use_wecom_client(client: WecomClient):
    """Make ``client`` the process's client for the duration (tests, the demo)."""
    previous = _client
    set_wecom_client(client)
    try:
        yield client
    finally:
        set_wecom_client(previous)


async def close_wecom_client() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
    _client = None
