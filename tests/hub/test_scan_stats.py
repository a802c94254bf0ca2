import logging
import re
from datetime import date, datetime, timedelta

import pytest

from hub.auth.models import Role
from hub.codes.models import CodeKind
from hub.events.models import Event, EventType, ScanDaily, Visitor
from hub.events.stats import shanghai_today
from hub.schemas import SHANGHAI
from hub.stores.models import Store
from tests.factories import make_code, make_key, make_product, make_staff, make_store
from tests.hub.test_stores import hub_cli

D = date(2025, 3, 1)
RANGE = "from=2025-03-01&to=2025-03-31"
NAMES = ("scans", "unique_scanners", "qr_scans", "link_scans", "wechat", "wecom", "other_app", "browser", "bots")
ZERO = dict.fromkeys(NAMES, 0)


def figures(scans=0, unique=0, qr=0, link=0, wechat=0, wecom=0, other_app=0, browser=0, bots=0) -> dict:
    return dict(zip(NAMES, (scans, unique, qr, link, wechat, wecom, other_app, browser, bots), strict=True))


def plus(*sets: dict) -> dict:
    return {name: sum(s[name] for s in sets) for name in NAMES}


async def rollup(code, day: date, figs: dict) -> dict:
    """One ScanDaily row as the scan writer keeps it: attribution copied from the code."""
    await ScanDaily.create(code_id=code.id, day=day, store_id=code.store_id, staff_id=code.staff_id,
                           product_id=code.product_id, campaign_id=code.campaign_id, **figs)
    return figs


async def get(client, path: str, headers: dict):
    response = await client.get("/api/v1" + path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def world():
    """Two stores: A with staff a1 and a2 and a store code, B with staff b1."""
    store_a, store_b = await make_store(code="SA", name="天河营业厅"), await make_store(code="SB", name="越秀营业厅")
    a1 = await make_staff(store=store_a, staff_no="E000001", name="张三")
    a2 = await make_staff(store=store_a, staff_no="E000002", name="李四")
    b1 = await make_staff(store=store_b, staff_no="E000003", name="王五")
    codes = {
        "a1": await make_code(staff=a1, slug="CodeA1", name="张三的码"),
        "a2": await make_code(staff=a2, slug="CodeA2"),
        "b1": await make_code(staff=b1, slug="CodeB1"),
        "shop": await make_code(kind=CodeKind.STORE, store=store_a, slug="CodeShop"),
    }
    figs = {
        "a1": [await rollup(codes["a1"], D, figures(10, 8, 6, 4, 5, 2, 1, 2, 3)),
               await rollup(codes["a1"], D + timedelta(days=2), figures(5, 5, 5, 0, 5, 0, 0, 0, 1))],
        "a2": [await rollup(codes["a2"], D + timedelta(days=1), figures(7, 6, 2, 5, 0, 7, 0, 0, 0))],
        "b1": [await rollup(codes["b1"], D, figures(20, 11, 20, 0, 10, 0, 4, 6, 9))],
        "shop": [await rollup(codes["shop"], D + timedelta(days=30), figures(1, 1, 0, 1, 0, 0, 0, 1, 0))],
    }
    return {"stores": (store_a, store_b), "staff": (a1, a2, b1), "codes": codes, "figs": figs}


class TestCodeStats:
    async def test_totals_days_and_browsers_come_from_the_daily_rows(self, client, world):
        code = world["codes"]["a1"]
        body = await get(client, f"/codes/{code.id}/stats?from=2025-03-01&to=2025-03-03", await make_key())
        first, third = world["figs"]["a1"]
        assert body["code"] == {"id": code.id, "slug": "CodeA1", "name": "张三的码", "kind": "staff",
                                "store_id": world["stores"][0].id, "staff_id": world["staff"][0].id}
        assert (body["from"], body["to"]) == ("2025-03-01", "2025-03-03")
        assert body["totals"] == figures(15, 13, 11, 4, 10, 2, 1, 2, 4)
        assert body["days"] == [{"day": "2025-03-01", **first}, {"day": "2025-03-02", **ZERO},
                                {"day": "2025-03-03", **third}]
        assert body["channels"] == [{"channel": "wechat", "scans": 10}, {"channel": "wecom", "scans": 2},
                                    {"channel": "other_app", "scans": 1}, {"channel": "browser", "scans": 2}]

    async def test_unknown_code_is_404_for_ops(self, client):
        response = await client.get("/api/v1/codes/999999/stats", headers=await make_key())
        assert response.status_code == 404 and response.json()["title"] == "Code not found"

    async def test_bots_are_reported_apart_and_never_counted_as_scans(self, client):
        code = await make_code()
        await rollup(code, D, figures(bots=40))
        await rollup(code, D + timedelta(days=1), figures(2, 2, 2, 0, 0, 0, 0, 2, 5))
        body = await get(client, f"/codes/{code.id}/stats?from=2025-03-01&to=2025-03-02", await make_key())
        assert body["totals"] == figures(2, 2, 2, 0, 0, 0, 0, 2, 45)
        assert body["days"][0] == {"day": "2025-03-01", **figures(bots=40)}
        funnel = await get(client, f"/stats/funnel?{RANGE}", await make_key())
        assert funnel == {"from": "2025-03-01", "to": "2025-03-31", "scans": 2, "unique_scanners": 2,
                          "visitors": 0, "bots": 45}


class TestDateRange:
    async def test_from_and_to_are_inclusive_shanghai_days(self, client):
        code = await make_code()
        for day, scans in ((date(2025, 2, 28), 1), (date(2025, 3, 1), 10), (date(2025, 3, 31), 100),
                           (date(2025, 4, 1), 1000)):
            await rollup(code, day, figures(scans, scans, scans, 0, scans))
        body = await get(client, f"/stats/scans?{RANGE}&group_by=day", await make_key())
        assert body["totals"] == figures(110, 110, 110, 0, 110)
        assert [body["rows"][0]["day"], body["rows"][-1]["day"], len(body["rows"])] == ["2025-03-01", "2025-03-31", 31]
        assert [r["scans"] for r in body["rows"] if r["scans"]] == [10, 100]

    async def test_default_range_is_the_last_30_shanghai_days(self, client):
        code = await make_code()
        today = shanghai_today()
        for back, scans in ((0, 1), (29, 10), (30, 100)):
            await rollup(code, today - timedelta(days=back), figures(scans))
        body = await get(client, "/stats/scans", await make_key())
        assert (body["from"], body["to"]) == (str(today - timedelta(days=29)), str(today))
        assert body["group_by"] == "day" and len(body["rows"]) == 30
        assert body["totals"]["scans"] == 11
        assert (await get(client, f"/codes/{code.id}/stats", await make_key()))["totals"]["scans"] == 11

    async def test_more_than_366_days_is_422_naming_from(self, client):
        code = await make_code()
        ops = await make_key()
        for path in ("/stats/scans", "/stats/funnel", f"/codes/{code.id}/stats"):
            too_long = await client.get(f"/api/v1{path}?from=2024-01-01&to=2025-01-01", headers=ops)  # 367 days
            assert too_long.status_code == 422, path
            assert [e["field"] for e in too_long.json()["errors"]] == ["query.from"]
            leap_year = await client.get(f"/api/v1{path}?from=2024-01-01&to=2024-12-31", headers=ops)
            assert leap_year.status_code == 200, path
            backwards = await client.get(f"/api/v1{path}?from=2025-03-02&to=2025-03-01", headers=ops)
            assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "query.to"
            ancient = await client.get(f"/api/v1{path}?to=0001-01-05", headers=ops)
            assert ancient.status_code == 422 and ancient.json()["errors"][0]["field"] == "query.to"
            malformed = await client.get(f"/api/v1{path}?from=2025-02-30", headers=ops)
            assert malformed.status_code == 422 and malformed.json()["errors"][0]["field"] == "query.from"


class TestGrouping:
    async def test_by_store_with_codes_and_names_most_scans_first(self, client, world):
        a, b = world["stores"]
        body = await get(client, f"/stats/scans?{RANGE}&group_by=store", await make_key())
        f = world["figs"]
        assert body["rows"] == [
            {"store_id": a.id, "store_code": "SA", "store_name": "天河营业厅", **plus(*f["a1"], *f["a2"], *f["shop"])},
            {"store_id": b.id, "store_code": "SB", "store_name": "越秀营业厅", **f["b1"][0]},
        ]
        assert body["totals"] == plus(*f["a1"], *f["a2"], *f["b1"], *f["shop"]) and body["truncated"] is False

    async def test_by_staff_carries_staff_number_name_and_store(self, client, world):
        a1, a2, b1 = world["staff"]
        store_a = world["stores"][0]
        body = await get(client, f"/stats/scans?{RANGE}&group_by=staff&store_id={store_a.id}", await make_key())
        f = world["figs"]
        assert body["rows"] == [
            {"staff_id": a1.id, "staff_no": "E000001", "staff_name": "张三", "store_code": "SA",
             "store_name": "天河营业厅", **plus(*f["a1"])},
            {"staff_id": a2.id, "staff_no": "E000002", "staff_name": "李四", "store_code": "SA",
             "store_name": "天河营业厅", **plus(*f["a2"])},
            {"staff_id": None, "staff_no": None, "staff_name": None, "store_code": None, "store_name": None,
             **plus(*f["shop"])},  # the store's own code belongs to no staff member
        ]

    async def test_by_code_by_channel_and_the_row_limit(self, client, world):
        ops, codes, f = await make_key(), world["codes"], world["figs"]
        body = await get(client, f"/stats/scans?{RANGE}&group_by=code&limit=2", ops)
        assert [(r["code_id"], r["code_slug"], r["staff_no"], r["scans"]) for r in body["rows"]] == [
            (codes["b1"].id, "CodeB1", "E000003", 20), (codes["a1"].id, "CodeA1", "E000001", 15)]
        assert body["rows"][1] == {"code_id": codes["a1"].id, "code_slug": "CodeA1", "code_name": "张三的码",
                                   "store_code": "SA", "staff_no": "E000001", **plus(*f["a1"])}
        assert body["truncated"] is True
        channels = await get(client, f"/stats/scans?{RANGE}&group_by=channel", ops)
        assert channels["rows"] == [{"channel": "wechat", "scans": 20}, {"channel": "wecom", "scans": 9},
                                    {"channel": "other_app", "scans": 5}, {"channel": "browser", "scans": 9}]

    async def test_campaign_and_product_filters(self, client):
        from tests.factories import make_campaign

        product, campaign = await make_product(), await make_campaign(name="双十一")
        with_both = await make_code(product=product, campaign=campaign)
        await rollup(with_both, D, figures(3))
        await rollup(await make_code(product=product), D, figures(5))
        await rollup(await make_code(), D, figures(7))
        ops = await make_key()
        by_campaign = await get(client, f"/stats/scans?{RANGE}&campaign_id={campaign.id}", ops)
        by_product = await get(client, f"/stats/scans?{RANGE}&product_id={product.id}", ops)
        assert (by_campaign["totals"]["scans"], by_product["totals"]["scans"]) == (3, 8)


class TestCsv:
    async def test_csv_has_a_bom_chinese_headers_and_the_rows(self, client, world):
        a, b = world["stores"]
        await Store.filter(id=b.id).update(name="=HYPERLINK(1)")
        response = await client.get(f"/api/v1/stats/scans?{RANGE}&group_by=store&format=csv", headers=await make_key())
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        disposition = 'attachment; filename="scans-by-store-2025-03-01-2025-03-31.csv"'
        assert response.headers["content-disposition"] == disposition
        assert response.content.startswith(b"\xef\xbb\xbf")
        assert response.content.decode("utf-8-sig").split("\r\n") == [
            "门店ID store_id,门店编码 store_code,门店名称 store_name,扫码次数 scans,扫码人数 unique_scanners,"
            "二维码扫码 qr_scans,链接点击 link_scans,微信内 wechat,企业微信内 wecom,其他App内 other_app,"
            "浏览器 browser,机器人及预览 bots",
            f"{a.id},SA,天河营业厅,23,20,13,10,10,9,1,3,4",
            f"{b.id},SB,'=HYPERLINK(1),20,11,20,0,10,0,4,6,9",
            "",
        ]

    async def test_csv_by_day_and_by_channel(self, client, world):
        ops = await make_key()
        by_day = await client.get("/api/v1/stats/scans?from=2025-03-01&to=2025-03-02&format=csv", headers=ops)
        assert by_day.content.decode("utf-8-sig").split("\r\n")[1:] == [
            "2025-03-01,30,19,26,4,15,2,5,8,12", "2025-03-02,7,6,2,5,0,7,0,0,0", ""]
        channel = await client.get(f"/api/v1/stats/scans?{RANGE}&group_by=channel&format=csv", headers=ops)
        assert channel.content.decode("utf-8-sig").split("\r\n") == [
            "打开环境 channel,扫码次数 scans", "wechat,20", "wecom,9", "other_app,5", "browser,9", ""]


class TestScope:
    async def test_staff_key_sees_only_its_own_codes(self, client, world):
        a1, a2, _ = world["staff"]
        codes, store_a, store_b = world["codes"], *world["stores"]
        key = await make_key(role=Role.STAFF, staff=a1)
        assert (await get(client, f"/codes/{codes['a1'].id}/stats?{RANGE}", key))["totals"]["scans"] == 15
        for path in (f"/codes/{codes['a2'].id}/stats", f"/codes/{codes['shop'].id}/stats", "/codes/999999/stats",
                     f"/stats/scans?staff_id={a2.id}", f"/stats/scans?store_id={store_b.id}",
                     f"/stats/funnel?staff_id={a2.id}"):
            response = await client.get("/api/v1" + path, headers=key)
            assert response.status_code == 403 and response.json()["type"] == "/problems/forbidden", path
        own = await get(client, f"/stats/scans?{RANGE}&group_by=code&store_id={store_a.id}", key)
        assert [r["code_slug"] for r in own["rows"]] == ["CodeA1"] and own["totals"] == plus(*world["figs"]["a1"])

    async def test_staff_key_without_a_staff_member_is_refused(self, client, world):
        key = await make_key(role=Role.STAFF, store=world["stores"][0])
        assert (await client.get(f"/api/v1/stats/scans?{RANGE}", headers=key)).status_code == 403

    async def test_store_manager_sees_its_store_only(self, client, world):
        (a1, _, b1), codes, f = world["staff"], world["codes"], world["figs"]
        store_a, store_b = world["stores"]
        key = await make_key(role=Role.STORE_MANAGER, store=store_a)
        mine = await get(client, f"/stats/scans?{RANGE}&group_by=store", key)
        assert [r["store_code"] for r in mine["rows"]] == ["SA"]
        assert mine["totals"] == plus(*f["a1"], *f["a2"], *f["shop"])
        one = await get(client, f"/stats/scans?{RANGE}&staff_id={a1.id}", key)
        assert one["totals"] == plus(*f["a1"])
        assert (await get(client, f"/codes/{codes['shop'].id}/stats?{RANGE}", key))["totals"]["scans"] == 1
        for path in (f"/stats/scans?store_id={store_b.id}", f"/stats/scans?staff_id={b1.id}",
                     "/stats/scans?staff_id=999999", f"/codes/{codes['b1'].id}/stats",
                     f"/stats/funnel?store_id={store_b.id}"):
            assert (await client.get("/api/v1" + path, headers=key)).status_code == 403, path

    async def test_ops_and_admin_see_all_and_machine_keys_none(self, client, world):
        total = plus(*[s for figs in world["figs"].values() for s in figs])
        for role in (Role.OPS, Role.ADMIN):
            assert (await get(client, f"/stats/scans?{RANGE}", await make_key(role=role)))["totals"] == total
        for role in (Role.CARRIER_APP, Role.POS, Role.STRATEGY_ENGINE):
            key = await make_key(role=role)
            for path in (f"/stats/scans?{RANGE}", "/stats/funnel", f"/codes/{world['codes']['a1'].id}/stats"):
                assert (await client.get("/api/v1" + path, headers=key)).status_code == 403


class TestFunnel:
    async def test_visitors_count_first_or_last_touch_in_range_in_shanghai_time(self, client, world):
        a1_code, b1_code = world["codes"]["a1"], world["codes"]["b1"]

        async def visitor(name, first_code, first_at, last_code=None, last_at=None):
            await Visitor.create(visitor_id=name, first_code_id=first_code.id, first_at=first_at,
                                 last_code_id=(last_code or first_code).id, last_at=last_at or first_at)

        sh = lambda *args: datetime(*args, tzinfo=SHANGHAI)  # noqa: E731
        await visitor("just-in", a1_code, sh(2025, 3, 1, 0, 30))  # 2025-02-28 16:30 UTC
        await visitor("just-out", a1_code, sh(2025, 2, 28, 23, 30))
        await visitor("back-later", a1_code, sh(2025, 1, 5), a1_code, sh(2025, 3, 31, 23, 59))
        await visitor("after", a1_code, sh(2025, 4, 1, 0, 0))
        await visitor("other-store", b1_code, sh(2025, 3, 5))
        f = world["figs"]
        store_a = world["stores"][0].id
        body = await get(client, f"/stats/funnel?{RANGE}&store_id={store_a}", await make_key())
        a_totals = plus(*f["a1"], *f["a2"], *f["shop"])
        assert body == {"from": "2025-03-01", "to": "2025-03-31", "scans": a_totals["scans"],
                        "unique_scanners": a_totals["unique_scanners"], "visitors": 2, "bots": a_totals["bots"]}
        everyone = await get(client, f"/stats/funnel?{RANGE}", await make_key())
        assert everyone["visitors"] == 3
        staff_key = await make_key(role=Role.STAFF, staff=world["staff"][2])
        assert (await get(client, f"/stats/funnel?{RANGE}", staff_key))["visitors"] == 1


class TestNeverReadsEvents:
    async def test_no_statistics_route_reads_the_event_table(self, client, world, caplog):
        # Scans that reached the event table but not the rollup must not show: figures come from ScanDaily.
        code = world["codes"]["a1"]
        await Event.bulk_create([Event(type=EventType.SCAN, occurred_at=datetime(2025, 3, 2, 12, tzinfo=SHANGHAI),
                                       code_id=code.id, store_id=code.store_id, staff_id=code.staff_id,
                                       props={"source": "qr", "in_app": "wechat"}) for _ in range(5)])
        ops = await make_key()
        paths = [f"/stats/scans?{RANGE}&group_by={g}" for g in ("store", "staff", "code", "day", "channel")]
        paths += [f"/stats/scans?{RANGE}&group_by=staff&format=csv", f"/stats/funnel?{RANGE}",
                  f"/codes/{code.id}/stats?{RANGE}"]
        with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
            for path in paths:
                assert (await client.get("/api/v1" + path, headers=ops)).status_code == 200, path
        statements = [r.getMessage() for r in caplog.records if r.name == "tortoise.db_client"]
        assert any('"scan_daily"' in s for s in statements)
        assert [s for s in statements if re.search(r'\b(FROM|JOIN)\s+"?event"?(\s|$|;)', s, re.I)] == []
        assert (await get(client, f"/codes/{code.id}/stats?{RANGE}", ops))["totals"]["scans"] == 15


class TestCli:
    async def test_stats_prints_a_table_and_writes_csv(self, world, tmp_path):
        result = hub_cli("codes", "stats", "--store", "SA", "--from", "2025-03-01", "--to", "2025-03-31",
                         "--group-by", "staff")
        assert result.returncode == 0, result.stderr
        assert "E000001" in result.stdout and "张三" in result.stdout and "E000003" not in result.stdout
        assert "Total 2025-03-01 to 2025-03-31: 23 scans, 20 unique scanners" in result.stdout
        out = tmp_path / "scans.csv"
        done = hub_cli("codes", "stats", "--staff", "E000003", "--from", "2025-03-01", "--to", "2025-03-31",
                       "--group-by", "code", "--csv", str(out))
        assert done.returncode == 0, done.stderr
        assert out.read_bytes().decode("utf-8-sig").split("\r\n")[1:] == [
            f"{world['codes']['b1'].id},CodeB1,,SB,E000003,20,11,20,0,10,0,4,6,9", ""]

    async def test_unknown_store_and_long_range_fail_with_one_line(self, world):
        unknown = hub_cli("codes", "stats", "--store", "NOPE")
        assert unknown.returncode == 2 and "no store NOPE" in unknown.stderr
        too_long = hub_cli("codes", "stats", "--from", "2024-01-01", "--to", "2025-01-01")
        assert too_long.returncode == 2 and "--from" in too_long.stderr and "366" in too_long.stderr
