"""Attribution after the scan: first and last touch per visitor, merged into the customer; what a later
event carries; events recorded with their attribution columns."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from hub.customers.models import Customer
from hub.database import transaction
from hub.events.attribution import Attribution
from hub.events.models import Event, EventType, Visitor
from hub.events.service import attribution_for, identify_visitor, record_event
from hub.links import lifecycle
from hub.links.buffer import BUFFER
from hub.links.tokens import signer
from tests.factories import make_code, make_staff

WECHAT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Mobile/15E148 MicroMessenger/8.0.49(0x18003127) NetType/WIFI Language/zh_CN")
PHONE_A, PHONE_B = "vPhoneA0000000000000a", "vPhoneB0000000000000b"


class Clock:
    """Today at a chosen hour (tokens are checked against the real time, so the day must be today)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def at(self, hour: int, minute: int = 0) -> None:
        self.now = datetime.now(UTC).replace(hour=hour, minute=minute, second=0).timestamp()


@pytest.fixture
async def clock(settings):
    clock = Clock()
    await lifecycle.start(settings, clock=clock)
    yield clock
    await lifecycle.stop()


async def _scan(client, code, visitor: str) -> str:
    """One scan by a phone whose cookie holds ``visitor``; returns the token the redirect appended."""
    client.cookies.clear()
    response = await client.get(f"/c/{code.slug}", headers={"User-Agent": WECHAT, "Cookie": f"hub_vid={visitor}"})
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["location"]).query)["hub_attr"][0]


class TestTouches:
    async def test_identify_merges_the_earliest_first_and_latest_last_touch(self, client, clock):
        poster, moments, live = await make_code(channel="poster"), await make_code(channel="moments"), \
            await make_code(channel="live")
        clock.at(9)
        await _scan(client, moments, PHONE_B)  # phone B is the customer's earliest touch
        clock.at(10)
        await _scan(client, poster, PHONE_A)
        clock.at(12)
        await _scan(client, live, PHONE_B)  # and the latest
        await BUFFER.flush()
        customer = await Customer.create(display_name="张三")
        async with transaction():
            await identify_visitor(visitor_id=PHONE_A, customer_id=customer.id)
            merged = await identify_visitor(visitor_id=PHONE_B, customer_id=customer.id)
        assert merged.customer_id == customer.id
        for visitor in await Visitor.filter(customer_id=customer.id):
            assert (visitor.first_code_id, visitor.last_code_id) == (moments.id, live.id)
            assert visitor.first_at.hour == 9 and visitor.last_at.hour == 12
        assert (await attribution_for(visitor_id=PHONE_A)).code_id == live.id

    async def test_a_scan_after_identification_is_the_customers_last_touch(self, client, clock):
        first, later = await make_code(), await make_code(channel="moments")
        clock.at(8)
        await _scan(client, first, PHONE_A)
        await BUFFER.flush()
        customer = await Customer.create()
        async with transaction():
            await identify_visitor(visitor_id=PHONE_A, customer_id=customer.id)
            await identify_visitor(visitor_id=PHONE_B, customer_id=customer.id)  # never scanned yet
        clock.at(11)
        await _scan(client, later, PHONE_B)
        await BUFFER.flush()
        phone_b = await Visitor.get(visitor_id=PHONE_B)
        # B took the customer's first touch when identified; its own scan is the last touch
        assert (phone_b.customer_id, phone_b.first_code_id, phone_b.last_code_id) == (customer.id, first.id, later.id)
        found = await attribution_for(visitor_id=PHONE_A)  # the other phone of the same customer
        assert (found.code_id, found.channel) == (later.id, "moments")

    async def test_an_unknown_visitor_has_no_attribution(self):
        assert await attribution_for(visitor_id="vNeverSeen0000000000") is None
        assert await attribution_for() is None


class TestLaterEvents:
    async def test_a_valid_token_comes_first_then_the_visitor_s_last_touch(self, client, clock):
        staff = await make_staff()
        shared, earlier = await make_code(staff=staff, channel="wecom"), await make_code()
        clock.at(10)
        await _scan(client, earlier, PHONE_A)
        clock.at(11)
        token = await _scan(client, shared, PHONE_B)
        await BUFFER.flush()
        from_token = await attribution_for(visitor_id=PHONE_A, token=token)
        assert (from_token.code_id, from_token.staff_id, from_token.visitor_id) == (shared.id, staff.id, PHONE_B)
        fallback = await attribution_for(visitor_id=PHONE_A, token=token[:-3] + "xyz")
        assert fallback.code_id == earlier.id

    async def test_record_event_fills_the_attribution_columns(self):
        staff = await make_staff()
        code = await make_code(staff=staff, channel="poster")
        attribution = signer().verify(signer().sign_attribution(Attribution(
            code_id=code.id, slug=code.slug, store_id=staff.store_id, staff_id=staff.id, channel="poster",
            visitor_id=PHONE_A)))
        async with transaction():
            event = await record_event(type=EventType.CLAIM, customer_id=42, attribution=attribution,
                                       props={"coupon": "C1"})
        stored = await Event.get(id=event.id)
        assert (stored.type, stored.customer_id, stored.visitor_id) == (EventType.CLAIM, 42, PHONE_A)
        assert (stored.code_id, stored.store_id, stored.staff_id, stored.channel) == (
            code.id, staff.store_id, staff.id, "poster")
        assert stored.product_id is None and stored.counted and stored.props == {"coupon": "C1"}

    async def test_record_event_without_attribution_leaves_the_columns_empty(self):
        when = datetime(2026, 6, 1, 3, tzinfo=UTC)
        async with transaction():
            event = await record_event(type="visit", visitor_id=PHONE_A, occurred_at=when)
        stored = await Event.get(id=event.id)
        assert (stored.code_id, stored.store_id, stored.channel, stored.occurred_at) == (None, None, "", when)
