"""The one clock: real time by default, a fixed time inside ``frozen`` for whatever runs there."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from hub import clock
from hub.auth.models import ApiKey, Role
from hub.auth.service import create_key, revoke_key
from hub.database import transaction

NOON_SHANGHAI = datetime(2026, 7, 10, 4, 0, tzinfo=UTC)


def test_now_is_aware_utc_and_current():
    before = datetime.now(UTC)
    assert before - timedelta(seconds=1) <= clock.now() <= datetime.now(UTC)
    assert clock.now().tzinfo is not None


async def test_frozen_holds_for_tasks_started_inside_and_ends_with_the_block():
    with clock.frozen(NOON_SHANGHAI):
        assert clock.now() == NOON_SHANGHAI
        seen = await asyncio.create_task(_read_clock())
        assert seen == NOON_SHANGHAI
    assert clock.now() != NOON_SHANGHAI


async def _read_clock() -> datetime:
    return clock.now()


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError), clock.frozen(datetime(2026, 7, 10, 12, 0)):
        pass


async def test_a_revoked_key_is_stamped_with_the_frozen_time():
    key, _clear = await create_key(role=Role.OPS, name="clock")
    with clock.frozen(NOON_SHANGHAI):
        async with transaction():
            revoked = await revoke_key(prefix=key.prefix)
    assert revoked.revoked_at == NOON_SHANGHAI
    assert (await ApiKey.get(id=key.id)).revoked_at == NOON_SHANGHAI
