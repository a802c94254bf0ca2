"""Scan recording: who is counted, unique scanners per hour, Shanghai days, anonymised addresses, and the
writer: nothing lost under load on a graceful stop, failed batches retried, spilled and replayed."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from tortoise import Tortoise

from hub.app import create_app
from hub.codes.models import Code
from hub.events.models import Event, ScanDaily, ScanVisitorHour, Visitor
from hub.links import lifecycle
from hub.links.buffer import BUFFER
from hub.links.visitors import anonymise_ip
from tests.factories import make_code, make_store

IPHONE_WECHAT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Mobile/15E148 MicroMessenger/8.0.49(0x18003127) NetType/WIFI Language/zh_CN")
ANDROID_WECOM = ("Mozilla/5.0 (Linux; Android 13; V2145A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 wxwork/4.1.16 MicroMessenger/7.0.1 "
                 "NetType/WIFI Language/zh ColorScheme/Light")
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")
ALIPAY = ("Mozilla/5.0 (Linux; Android 12; M2012K11AC) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
          "Chrome/101.0.4951.61 Mobile Safari/537.36 AlipayClient/10.5.36.8100 Language/zh-Hans")
BOTS = {
    "crawler:googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "preview:facebookexternalhit": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "preview:wechat_card": "Mozilla/5.0 MicroMessenger/8.0.49",
    "tool:curl/": "curl/8.5.0",
}


@pytest.fixture
async def links(settings):
    await lifecycle.start(settings)
    yield
    await lifecycle.stop()


class Clock:
    """A clock the scan writer and tokens read (Unix seconds), moved by the test."""

    def __init__(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.timestamp()


async def _client(*, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    app = create_app(manage_resources=False)
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://hub.test")


async def _daily(code) -> ScanDaily:
    await BUFFER.flush()
    return await ScanDaily.get(code_id=code.id)


class TestWhoIsCounted:
    async def test_bots_and_previews_are_redirected_stored_flagged_and_never_counted(self, client, links):
        code = await make_code()
        for ua in BOTS.values():
            response = await client.get(f"/c/{code.slug}", headers={"User-Agent": ua})
            assert response.status_code == 302 and "set-cookie" not in response.headers
        daily = await _daily(code)
        assert (daily.bots, daily.scans, daily.unique_scanners, daily.wechat, daily.browser) == (4, 0, 0, 0, 0)
        events = await Event.filter(code_id=code.id).order_by("id")
        assert [e.props["bot"] for e in events] == list(BOTS)
        assert not any(e.counted for e in events)
        assert events[2].props["ua_class"] == "preview" and events[0].props["ua_class"] == "bot"
        assert (await Code.get(id=code.id)).scans_counted == 0
        assert await Visitor.all().count() == 0

    async def test_in_app_browsers_are_people_counted_by_app(self, client, links):
        code = await make_code()
        for ua in (IPHONE_WECHAT, ANDROID_WECOM, SAFARI, ALIPAY):
            client.cookies.clear()
            assert (await client.get(f"/c/{code.slug}", headers={"User-Agent": ua})).status_code == 302
        daily = await _daily(code)
        assert (daily.scans, daily.wechat, daily.wecom, daily.browser, daily.other_app, daily.bots) == (
            4, 1, 1, 1, 1, 0)
        events = await Event.filter(code_id=code.id).order_by("id")
        assert [e.props["in_app"] for e in events] == ["wechat", "wecom", "none", "other_app"]
        assert all(e.counted and "bot" not in e.props for e in events)
        assert (await Code.get(id=code.id)).scans_counted == 4


class TestUniqueScanners:
    async def test_the_same_visitor_twice_in_an_hour_is_one_unique_scanner(self, client, links):
        code = await make_code()
        for _ in range(2):
            await client.get(f"/c/{code.slug}", headers={"User-Agent": IPHONE_WECHAT})
        other = await _client()
        async with other:
            await other.get(f"/c/{code.slug}", headers={"User-Agent": IPHONE_WECHAT})
        daily = await _daily(code)
        assert (daily.scans, daily.unique_scanners) == (3, 2)
        assert await ScanVisitorHour.filter(code_id=code.id).count() == 2

    async def test_the_same_visitor_in_the_next_hour_counts_again(self, client, settings):
        clock = Clock(datetime(2026, 5, 4, 10, 59, 30, tzinfo=UTC))
        await lifecycle.start(settings, clock=clock)
        try:
            code = await make_code()
            await client.get(f"/c/{code.slug}", headers={"User-Agent": IPHONE_WECHAT})
            await client.get(f"/c/{code.slug}", headers={"User-Agent": IPHONE_WECHAT})
            await BUFFER.flush()
            clock.set(datetime(2026, 5, 4, 11, 0, 30, tzinfo=UTC))
            await client.get(f"/c/{code.slug}", headers={"User-Agent": IPHONE_WECHAT})
            daily = await _daily(code)
        finally:
            await lifecycle.stop()
        assert (daily.day, daily.scans, daily.unique_scanners) == (date(2026, 5, 4), 3, 2)
        hours = sorted(row.hour for row in await ScanVisitorHour.filter(code_id=code.id))
        assert [h.hour for h in hours] == [10, 11]

    async def test_days_are_shanghai_days(self, client, settings):
        clock = Clock(datetime(2026, 5, 4, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai
        await lifecycle.start(settings, clock=clock)
        try:
            code = await make_code()
            await client.get(f"/c/{code.slug}", headers={"User-Agent": IPHONE_WECHAT})
            clock.set(datetime(2026, 5, 4, 16, 1, tzinfo=UTC))  # 00:01 on the 5th in Shanghai
            await client.get(f"/c/{code.slug}", headers={"User-Agent": IPHONE_WECHAT})
            await BUFFER.flush()
        finally:
            await lifecycle.stop()
        days = {d.day: (d.scans, d.unique_scanners) for d in await ScanDaily.filter(code_id=code.id)}
        assert days == {date(2026, 5, 4): (1, 1), date(2026, 5, 5): (1, 1)}


class TestWhatIsKept:
    def test_ip_addresses_are_anonymised(self):
        assert anonymise_ip("203.0.113.77") == "203.0.113.0"
        assert anonymise_ip("::ffff:203.0.113.77") == "203.0.113.0"
        assert anonymise_ip("2001:db8:85a3:8d3:1319:8a2e:370:7348") == "2001:db8:85a3::"
        assert anonymise_ip("not an address") == ""

    async def test_scan_props_keep_an_anonymised_address_and_the_referrer_host_and_path(self, links):
        code = await make_code()
        async with await _client(ip="2001:db8:85a3:8d3:1319:8a2e:370:7348") as client:
            await client.get(f"/c/{code.slug}", headers={
                "User-Agent": IPHONE_WECHAT, "Referer": "https://mp.weixin.qq.com/s/abc?token=secret#x"})
        await BUFFER.flush()
        event = await Event.get(code_id=code.id)
        assert event.props["ip_anon"] == "2001:db8:85a3::"
        assert event.props["referrer"] == "mp.weixin.qq.com/s/abc"
        assert "2001:db8:85a3:8d3" not in str(event.props) and "secret" not in str(event.props)

    async def test_visitor_keeps_first_and_last_touch(self, client, links):
        first, last = await make_code(channel="poster"), await make_code(channel="moments")
        await client.get(f"/c/{first.slug}", headers={"User-Agent": IPHONE_WECHAT})
        await client.get(f"/c/{last.slug}", headers={"User-Agent": IPHONE_WECHAT})
        await BUFFER.flush()
        visitor = await Visitor.get(visitor_id=client.cookies["hub_vid"])
        assert (visitor.first_code_id, visitor.last_code_id) == (first.id, last.id)
        assert visitor.first_attribution["channel"] == "poster" and visitor.last_attribution["channel"] == "moments"
        assert visitor.first_at <= visitor.last_at


class TestWriter:
    async def test_nothing_is_lost_under_load_on_a_graceful_stop(self, settings):
        await lifecycle.start(settings.model_copy(update={"scan_buffer_max": 250, "scan_flush_seconds": 0.05}))
        stores = [await make_store() for _ in range(3)]
        codes = [await make_code(store=stores[n % 3]) for n in range(20)]
        limits = httpx.Limits(max_connections=2000)
        app = create_app(manage_resources=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test",
                                     limits=limits) as client:
            answers = await asyncio.gather(*(
                client.get(f"/c/{codes[n % 20].slug}" + ("?src=qr" if n % 3 else ""),
                           headers={"User-Agent": IPHONE_WECHAT if n % 10 else BOTS["crawler:googlebot"]})
                for n in range(2000)))
        await lifecycle.stop()
        assert {a.status_code for a in answers} == {302}
        assert await Event.all().count() == 2000
        daily = await ScanDaily.all()
        assert sum(d.scans for d in daily) == 1800 and sum(d.bots for d in daily) == 200
        assert sum(d.qr_scans for d in daily) == sum(1 for n in range(2000) if n % 3 and n % 10)
        assert sum(d.unique_scanners for d in daily) == 1800  # no cookies kept: each request a new visitor
        assert sum(c.scans_counted for c in await Code.all()) == 1800
        assert await Visitor.all().count() == 1800

    async def test_a_failed_batch_is_kept_spilled_past_the_cap_and_written_later(self, client, settings):
        await lifecycle.start(settings.model_copy(update={"scan_buffer_max": 5, "scan_flush_seconds": 60}))
        code = await make_code()
        conn = Tortoise.get_connection("default")
        await conn.execute_script("ALTER TABLE event RENAME TO event_away")
        try:
            for _ in range(60):
                assert (await client.get(f"/c/{code.slug}", headers={"User-Agent": IPHONE_WECHAT})).status_code == 302
            assert not await BUFFER.flush()  # the table is gone: the batch stays
            spilled = list((settings.var_dir / "scan-spill").glob("scans-*.jsonl"))
            assert spilled and BUFFER.waiting() <= BUFFER.hard_cap
        finally:
            await conn.execute_script("ALTER TABLE event_away RENAME TO event")
        await lifecycle.stop()
        assert await Event.filter(code_id=code.id).count() == 60
        assert (await ScanDaily.get(code_id=code.id)).scans == 60
        assert list((settings.var_dir / "scan-spill").glob("scans-*")) == []

    async def test_scans_a_stop_cannot_write_are_spilled_and_written_on_the_next_start(self, client, settings):
        await lifecycle.start(settings.model_copy(update={"scan_flush_seconds": 60}))
        code = await make_code()
        for _ in range(3):
            await client.get(f"/c/{code.slug}", headers={"User-Agent": IPHONE_WECHAT})
        conn = Tortoise.get_connection("default")
        await conn.execute_script("ALTER TABLE event RENAME TO event_away")
        try:
            await lifecycle.stop()
            assert len(list((settings.var_dir / "scan-spill").glob("scans-*.jsonl"))) == 1
        finally:
            await conn.execute_script("ALTER TABLE event_away RENAME TO event")
        await lifecycle.start(settings)  # the writer replays what was spilled
        for _ in range(100):
            if await Event.filter(code_id=code.id).count() == 3:
                break
            await asyncio.sleep(0.05)
        await lifecycle.stop()
        assert await Event.filter(code_id=code.id).count() == 3
        assert (await ScanDaily.get(code_id=code.id)).scans == 3


class TestUpkeep:
    async def test_unique_scanner_rows_older_than_two_hours_are_pruned(self):
        from hub.links.jobs import prune_scan_visitor_hours

        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        for age in (0, 1, 2, 3, 30):
            await ScanVisitorHour.create(code_id=1, visitor_id=f"vAge{age:02d}0000000000000",
                                         hour=hour - timedelta(hours=age))
        assert await prune_scan_visitor_hours({}) == 2
        assert sorted(v.visitor_id[4:6] for v in await ScanVisitorHour.all()) == ["00", "01", "02"]
