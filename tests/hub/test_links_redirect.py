"""GET /c/{slug}: the 302 and its token, what the query string may not do, the refusal pages, the cache."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from prometheus_client import REGISTRY
from tortoise.expressions import F

from hub.codes.models import Code, CodeKind
from hub.events.models import Event, ScanDaily
from hub.links import cache, lifecycle
from hub.links.buffer import BUFFER
from hub.links.throttle import THROTTLE
from hub.links.tokens import verify
from hub.staff.models import Staff
from hub.stores.models import Store
from tests.factories import make_code, make_staff, make_store

WECHAT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Mobile/15E148 MicroMessenger/8.0.49(0x18003127) NetType/WIFI Language/zh_CN")
PERSON = {"User-Agent": WECHAT}


@pytest.fixture
async def links(settings):
    await lifecycle.start(settings)
    yield
    await lifecycle.stop()


def _token(response) -> str:
    return parse_qs(urlsplit(response.headers["location"]).query)["hub_attr"][0]


async def _scans() -> list[Event]:
    await BUFFER.flush()
    return await Event.all().order_by("id")


class TestRedirect:
    async def test_answers_302_with_a_signed_attribution_token(self, client, links):
        staff = await make_staff()
        code = await make_code(staff=staff, channel="poster", target_url="https://shop.example/p?x=1#top")
        response = await client.get(f"/c/{code.slug}", headers=PERSON)
        assert response.status_code == 302
        location = response.headers["location"]
        assert location.startswith("https://shop.example/p?x=1&hub_attr=") and location.endswith("#top")
        visitor = response.cookies["hub_vid"]
        attribution = verify(_token(response))
        assert attribution is not None
        assert (attribution.code_id, attribution.slug, attribution.store_id, attribution.staff_id) == (
            code.id, code.slug, staff.store_id, staff.id)
        assert (attribution.channel, attribution.visitor_id) == ("poster", visitor)
        assert attribution.expires_at - attribution.at == 30 * 86400
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
        cookie = response.headers["set-cookie"]
        for part in ("HttpOnly", "SameSite=Lax", "Max-Age=31536000", "Path=/"):
            assert part in cookie
        assert len(response.content) < 400 and b"hub_attr=" in response.content

    async def test_query_string_cannot_change_the_destination(self, client, links):
        code = await make_code(target_url="https://shop.example/landing")
        response = await client.get(f"/c/{code.slug}", headers=PERSON, params={
            "url": "https://evil.example", "target": "https://evil.example", "next": "https://evil.example",
            "redirect": "//evil.example", "hub_attr": "forged.token"})
        location = response.headers["location"]
        assert response.status_code == 302
        assert location.startswith("https://shop.example/landing?hub_attr=") and "evil" not in location
        assert location.count("hub_attr=") == 1 and _token(response) != "forged.token"
        assert verify(_token(response)).code_id == code.id

    async def test_qr_marker_counts_as_qr_and_is_not_passed_on(self, client, links):
        code = await make_code(target_url="https://shop.example/p")
        qr = await client.get(f"/c/{code.slug}?src=qr", headers=PERSON)
        link = await client.get(f"/c/{code.slug}", headers=PERSON)
        assert "src" not in qr.headers["location"] and qr.status_code == link.status_code == 302
        assert [e.props["source"] for e in await _scans()] == ["qr", "link"]
        daily = await ScanDaily.get(code_id=code.id)
        assert (daily.scans, daily.qr_scans, daily.link_scans) == (2, 1, 1)

    async def test_a_person_keeps_the_visitor_cookie(self, client, links):
        code = await make_code()
        first = await client.get(f"/c/{code.slug}", headers=PERSON)
        second = await client.get(f"/c/{code.slug}", headers=PERSON)  # the client sends the cookie back
        assert "set-cookie" not in second.headers
        assert verify(_token(second)).visitor_id == first.cookies["hub_vid"]
        assert {e.visitor_id for e in await _scans()} == {first.cookies["hub_vid"]}

    async def test_head_is_redirected_but_never_counted(self, client, links):
        code = await make_code()
        response = await client.head(f"/c/{code.slug}", headers=PERSON)
        assert response.status_code == 302 and response.content == b""
        [event] = await _scans()
        assert not event.counted and event.props["bot"] == "bot:head_request"


class TestRefusals:
    async def test_unknown_slug_is_a_chinese_404_page_and_an_orphan_scan(self, client, links):
        response = await client.get("/c/NoSuchCode1?src=qr", headers=PERSON)
        assert response.status_code == 404
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert "链接不存在" in response.text and 'name="viewport"' in response.text
        [event] = await _scans()
        assert (event.type, event.code_id, event.counted) == ("scan", None, False)
        assert event.props["slug"] == "NoSuchCode1" and event.props["source"] == "qr"
        assert await ScanDaily.all().count() == 0

    async def test_a_slug_that_is_not_a_slug_is_a_404_without_a_lookup(self, client, links):
        response = await client.get("/c/%00%3Cscript%3E", headers=PERSON)
        assert response.status_code == 404
        [event] = await _scans()
        assert event.props["slug"] == "<script>"

    async def test_expired_code_is_a_410_page_pointing_to_the_store(self, client, links):
        store = await make_store(name="南山营业厅")
        await Store.filter(id=store.id).update(address="深圳市南山区科技园1号", phone="0755-12345678")
        code = await make_code(kind=CodeKind.STORE, store=store,
                               valid_until=datetime.now(UTC) - timedelta(minutes=1))
        response = await client.get(f"/c/{code.slug}", headers=PERSON)
        assert response.status_code == 410 and "活动已结束" in response.text
        for text in ("南山营业厅", "深圳市南山区科技园1号", "0755-12345678"):
            assert text in response.text
        [event] = await _scans()
        assert not event.counted and event.props["refused"] == "expired" and event.code_id == code.id
        assert await ScanDaily.all().count() == 0
        assert (await Code.get(id=code.id)).scans_counted == 0

    async def test_disabled_code_is_a_410_page_naming_the_staff_member(self, client, links):
        staff = await make_staff(name="王小明")
        code = await make_code(staff=staff, active=False)
        response = await client.get(f"/c/{code.slug}", headers=PERSON)
        assert response.status_code == 410 and "二维码已停用" in response.text
        assert "王小明" in response.text and (await staff.store).name in response.text

    async def test_exhausted_code_is_a_410_once_the_limit_is_reached(self, client, links):
        code = await make_code(scan_limit=3, scans_counted=1)
        answers = [(await client.get(f"/c/{code.slug}", headers=PERSON)).status_code for _ in range(3)]
        assert answers == [302, 302, 410]
        page = await client.get(f"/c/{code.slug}", headers=PERSON)
        assert page.status_code == 410 and "扫码次数已达上限" in page.text
        staff = await Staff.get(id=code.staff_id)
        assert staff.name in page.text and (await staff.store).name in page.text
        await BUFFER.flush()
        assert (await Code.get(id=code.id)).scans_counted == 3

    async def test_livestream_link_redirects_before_the_show_and_is_over_after_it(self, client, links):
        now = datetime.now(UTC)
        before = await make_code(kind=CodeKind.LIVESTREAM, store=await make_store(),
                                 live_starts_at=now + timedelta(hours=1),
                                 live_ends_at=now + timedelta(hours=2))
        after = await make_code(kind=CodeKind.LIVESTREAM, store=await make_store(name="直播门店"),
                                live_starts_at=now - timedelta(hours=2), live_ends_at=now - timedelta(hours=1))
        assert (await client.get(f"/c/{before.slug}", headers=PERSON)).status_code == 302
        ended = await client.get(f"/c/{after.slug}", headers=PERSON)
        assert ended.status_code == 410 and "直播已结束" in ended.text and "直播门店" in ended.text

    async def test_code_before_its_valid_window_is_a_403_page(self, client, links):
        code = await make_code(valid_from=datetime.now(UTC) + timedelta(days=1))
        response = await client.get(f"/c/{code.slug}", headers=PERSON)
        assert response.status_code == 403 and "活动尚未开始" in response.text

    async def test_many_misses_from_one_address_are_slowed_down(self, client, links):
        code = await make_code()
        statuses = [(await client.get(f"/c/Guess{n:05d}", headers=PERSON)).status_code for n in range(30)]
        assert set(statuses) == {404}
        blocked = await client.get("/c/Guess99999", headers=PERSON)
        assert blocked.status_code == 429 and 1 <= int(blocked.headers["retry-after"]) <= 60
        assert "访问过于频繁" in blocked.text
        # A real code does not answer either while the address is blocked: guessing cannot confirm a hit.
        assert (await client.get(f"/c/{code.slug}", headers=PERSON)).status_code == 429
        assert len(await _scans()) == 30  # the misses are orphan scans; blocked requests are not recorded


class TestCache:
    async def test_a_changed_target_is_used_by_the_next_redirect(self, client, links):
        code = await make_code(target_url="https://shop.example/old")
        assert (await client.get(f"/c/{code.slug}", headers=PERSON)).headers["location"].startswith(
            "https://shop.example/old?")
        await Code.filter(id=code.id).update(target_url="https://shop.example/new", version=F("version") + 1)
        stale = await client.get(f"/c/{code.slug}", headers=PERSON)
        assert stale.headers["location"].startswith("https://shop.example/old?")  # cached, as designed
        await cache.invalidate(code.id)
        fresh = await client.get(f"/c/{code.slug}", headers=PERSON)
        assert fresh.headers["location"].startswith("https://shop.example/new?")

    async def test_a_new_code_answers_at_once_after_an_unknown_slug_was_remembered(self, client, links):
        assert (await client.get("/c/SoonMade01", headers=PERSON)).status_code == 404
        code = await make_code(slug="SoonMade01")
        await cache.invalidate(code.id)
        assert (await client.get("/c/SoonMade01", headers=PERSON)).status_code == 302

    async def test_a_cache_hit_never_touches_the_database(self, client, settings):
        # No writer task here (lifecycle not started): every query seen comes from the redirect itself.
        code = await make_code()
        queries = _QueryLog()
        with queries:
            assert (await client.get(f"/c/{code.slug}", headers=PERSON)).status_code == 302
        assert queries.count >= 1  # the miss read the code: the log does see the redirect's queries
        queries.count = 0
        with queries:
            for _ in range(5):
                assert (await client.get(f"/c/{code.slug}", headers=PERSON)).status_code == 302
        assert queries.count == 0
        await BUFFER.flush()
        assert await Event.filter(code_id=code.id).count() == 6
        cache.CACHE.clear()

    async def test_metrics_name_the_route_template(self, client, links):
        code = await make_code()
        await client.get(f"/c/{code.slug}", headers=PERSON)
        assert REGISTRY.get_sample_value(
            "hub_http_requests_total", {"method": "GET", "route": "/c/{slug}", "status": "302"}) >= 1


class _QueryLog(logging.Handler):
    """Counts the statements Tortoise sends (its db_client logger logs each one at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0
        self._logger = logging.getLogger("tortoise.db_client")

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1

    def __enter__(self):
        self._level = self._logger.level
        self._logger.setLevel(logging.DEBUG)
        self._logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)


class TestWithRedis:
    """Several API processes share Redis: the code cache's second level, invalidations, the miss counter."""

    @pytest.fixture
    async def redis_links(self, settings, redis_url):
        from redis.asyncio import Redis

        await lifecycle.start(settings.model_copy(update={"redis_url": redis_url}))
        other = Redis.from_url(redis_url)  # what another API process would do, on its own connection
        yield other
        await other.aclose()
        await lifecycle.stop()

    async def test_another_process_invalidation_reaches_this_one(self, client, redis_links):
        code = await make_code(target_url="https://shop.example/old")
        await client.get(f"/c/{code.slug}", headers=PERSON)
        assert code.slug in cache.CACHE.entries
        await Code.filter(id=code.id).update(target_url="https://shop.example/new", version=F("version") + 1)
        # Another process's cache.invalidate(): floor raised, Redis entry dropped, id published.
        keys = [cache.FLOOR_KEY + str(code.id), cache.ENTRY_KEY + code.slug]
        await redis_links.eval(cache._INVALIDATE, 2, *keys, 2, cache.FLOOR_TTL, cache.CHANNEL, str(code.id))
        for _ in range(100):
            if code.slug not in cache.CACHE.entries:
                break
            await asyncio.sleep(0.02)
        response = await client.get(f"/c/{code.slug}", headers=PERSON)
        assert response.headers["location"].startswith("https://shop.example/new?")

    async def test_a_fresh_process_is_served_from_redis_and_never_from_a_stale_entry(self, client, redis_links):
        code = await make_code(target_url="https://shop.example/v1")
        await client.get(f"/c/{code.slug}", headers=PERSON)  # loads the database row into Redis
        stale = await redis_links.get(cache.ENTRY_KEY + code.slug)
        assert stale.startswith(f"{code.id}|1|".encode())
        cache.CACHE.clear()  # as a process that never saw this code
        with _QueryLog() as queries:
            response = await client.get(f"/c/{code.slug}", headers=PERSON)
        assert response.headers["location"].startswith("https://shop.example/v1?") and queries.count == 0

        await Code.filter(id=code.id).update(target_url="https://shop.example/v2", version=F("version") + 1)
        await cache.invalidate(code.id)
        # A loader that read version 1 just before the change writes it back late: it must never be served.
        await redis_links.set(cache.ENTRY_KEY + code.slug, stale)
        cache.CACHE.clear()
        response = await client.get(f"/c/{code.slug}", headers=PERSON)
        assert response.headers["location"].startswith("https://shop.example/v2?")

    async def test_misses_are_counted_across_processes(self, client, redis_links):
        # 20 misses seen by another process in this minute, then 11 here: the limit (30) holds across both.
        for _ in range(2):  # if the minute turns mid-test the count starts afresh: run it again in the new one
            THROTTLE.clear()
            window = int(BUFFER.clock() // 60)
            await redis_links.set(f"hub:link:miss:127.0.0.1:{window}", 20, ex=120)
            statuses = [(await client.get(f"/c/Guess{n:05d}", headers=PERSON)).status_code for n in range(11)]
            if int(BUFFER.clock() // 60) == window:
                break
        assert statuses == [404] * 10 + [429]
