"""Creating codes over the API: slugs and links, each kind's attribution, targets, idempotency, lists."""

import re
from datetime import UTC, datetime

import pytest

from hub.auth.models import Role
from hub.campaigns.models import Campaign, CampaignStatus
from hub.codes.models import Code
from tests import factories
from tests.factories import make_code, make_key, make_product, make_staff, make_store

URL = "/api/v1/codes"
CONTACT_ME = "https://work.weixin.qq.com/ca/cawcde1234567890"
LIVE_ROOM = "https://channels.weixin.qq.com/live/9001"
LIVE_WINDOW = {"live_starts_at": "2026-12-01T20:00:00", "live_ends_at": "2026-12-01T22:00:00"}


async def make_campaign(*, status: CampaignStatus = CampaignStatus.RUNNING) -> Campaign:
    return await factories.make_campaign(status=status, name="双十二", channels=["wecom"])


async def create(client, headers, **body):
    return await client.post(URL, headers=headers, json=body)


def fields_of(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


class TestSlugsAndLinks:
    async def test_slugs_are_ten_base62_characters_and_unique_over_many_codes(self, client):
        store = await make_store()
        ops = await make_key()
        slugs = []
        for _ in range(60):
            response = await create(client, ops, kind="store", store_id=store.id)
            assert response.status_code == 201, response.text
            slugs.append(response.json()["slug"])
        assert all(re.fullmatch(r"[A-Za-z0-9]{10}", s) for s in slugs)
        assert len(set(slugs)) == 60
        assert sorted(c.slug for c in await Code.all()) == sorted(slugs)

    async def test_output_carries_the_public_and_qr_links(self, client):
        store = await make_store(code="SZ-001")
        body = (await create(client, await make_key(), kind="store", store_id=store.id, name="门店海报")).json()
        assert body["public_url"] == f"http://hub.test/c/{body['slug']}"
        assert body["qr_url"] == f"http://hub.test/c/{body['slug']}?src=qr"
        assert (body["store_id"], body["store_code"], body["name"], body["version"]) == (
            store.id, "SZ-001", "门店海报", 1)
        assert body["created_at"].endswith("+08:00")


class TestEachKindNeedsItsAttribution:
    @pytest.mark.parametrize(("kind", "field"), [
        ("store", "store_id"), ("product", "product_id"), ("staff", "staff_id"), ("campaign", "campaign_id"),
        ("livestream", "staff_id"),
    ])
    async def test_missing_required_id_is_422_naming_it_and_writes_nothing(self, client, kind, field):
        response = await create(client, await make_key(), kind=kind, **LIVE_WINDOW)
        assert response.status_code == 422, response.text
        assert fields_of(response) == [field]
        assert await Code.all().count() == 0

    async def test_ids_a_kind_does_not_carry_or_that_do_not_exist_are_422(self, client):
        store, product = await make_store(), await make_product()
        ops = await make_key()
        carried = await create(client, ops, kind="store", store_id=store.id, product_id=product.id)
        assert carried.status_code == 422 and fields_of(carried) == ["product_id"]
        missing = await create(client, ops, kind="staff", staff_id=999999)
        assert missing.status_code == 422 and fields_of(missing) == ["staff_id"]
        assert await Code.all().count() == 0

    async def test_staff_code_takes_the_staff_members_store_and_refuses_another(self, client):
        home, other = await make_store(), await make_store()
        member = await make_staff(store=home)
        ops = await make_key()
        made = await create(client, ops, kind="staff", staff_id=member.id, channel="wecom_moments")
        assert made.status_code == 201, made.text
        row = await Code.get(id=made.json()["id"])
        assert (row.staff_id, row.store_id, row.channel) == (member.id, home.id, "wecom_moments")
        assert made.json()["staff_no"] == member.staff_no
        wrong = await create(client, ops, kind="staff", staff_id=member.id, store_id=other.id)
        assert wrong.status_code == 422 and fields_of(wrong) == ["store_id"]

    async def test_livestream_needs_an_ordered_live_window(self, client):
        member = await make_staff()
        ops = await make_key()
        no_window = await create(client, ops, kind="livestream", staff_id=member.id)
        assert no_window.status_code == 422 and fields_of(no_window) == ["live_starts_at"]
        backwards = await create(client, ops, kind="livestream", staff_id=member.id,
                                 live_starts_at="2026-12-01T22:00:00", live_ends_at="2026-12-01T20:00:00")
        assert backwards.status_code == 422 and fields_of(backwards) == ["live_ends_at"]
        assert await Code.all().count() == 0

    async def test_livestream_with_products_and_an_allowed_live_room(self, client):
        member = await make_staff()
        products = [await make_product(), await make_product()]
        response = await create(client, await make_key(), kind="livestream", staff_id=member.id,
                                target_kind="livestream", target_url=LIVE_ROOM, channel="livestream",
                                product_ids=[p.id for p in products], **LIVE_WINDOW)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["target_kind"], body["target_url"]) == ("livestream", LIVE_ROOM)
        assert body["product_ids"] == sorted(p.id for p in products)
        assert body["live_starts_at"] == "2026-12-01T20:00:00+08:00"
        row = await Code.get(id=body["id"])
        assert row.live_starts_at == datetime(2026, 12, 1, 12, tzinfo=UTC)
        assert sorted(p.id for p in await row.products) == sorted(p.id for p in products)

    async def test_windows_limits_tags_and_channels_are_checked(self, client):
        store = await make_store()
        ops = await make_key()
        cases = [
            ({"valid_from": "2026-12-02T00:00:00", "valid_until": "2026-12-01T00:00:00"}, "valid_until"),
            ({"scan_limit": 0}, "scan_limit"),
            ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
            ({"tags": ["ok", "has space"]}, "tags[1]"),
            ({"tags": ["a", "a"]}, "tags"),
            ({"channel": "Poster!"}, "channel"),
            ({"product_ids": [1]}, "product_ids"),
            ({"live_starts_at": "2026-12-01T20:00:00"}, "live_starts_at"),
            ({"store_code": store.code}, "store_code"),
        ]
        for extra, field in cases:
            response = await create(client, ops, kind="store", store_id=store.id, **extra)
            assert response.status_code == 422, (extra, response.text)
            assert fields_of(response) == [field], extra
        assert await Code.all().count() == 0

    async def test_inactive_staff_and_ended_campaigns_are_refused(self, client):
        member = await make_staff()
        member.active = False
        await member.save()
        ops = await make_key()
        assert fields_of(await create(client, ops, kind="staff", staff_id=member.id)) == ["staff_id"]
        ended = await make_campaign(status=CampaignStatus.ENDED)
        assert fields_of(await create(client, ops, kind="campaign", campaign_id=ended.id)) == ["campaign_id"]


class TestStorefrontTargetsAreBuiltByTheHub:
    async def test_each_kind_points_at_its_storefront_page(self, client):
        store = await make_store(code="HZ-01")
        member = await make_staff(store=store)
        product = await make_product(sku="SKU-5G")
        campaign = await make_campaign()
        ops = await make_key()
        expected = [
            ({"kind": "store", "store_id": store.id}, "http://hub.test/s/HZ-01"),
            ({"kind": "staff", "staff_id": member.id}, "http://hub.test/s/HZ-01"),
            ({"kind": "product", "product_id": product.id, "store_id": store.id}, "http://hub.test/s/HZ-01/p/SKU-5G"),
            ({"kind": "product", "product_id": product.id}, "http://hub.test/p/SKU-5G"),
            ({"kind": "campaign", "campaign_id": campaign.id, "store_id": store.id},
             f"http://hub.test/s/HZ-01?campaign={campaign.id}"),
            ({"kind": "livestream", "store_id": store.id, **LIVE_WINDOW}, "http://hub.test/s/HZ-01"),
        ]
        for body, url in expected:
            response = await create(client, ops, **body)
            assert response.status_code == 201, response.text
            assert (response.json()["target_kind"], response.json()["target_url"]) == ("storefront", url)
            assert (await Code.get(id=response.json()["id"])).target_url == url

    async def test_a_caller_cannot_choose_a_storefront_url(self, client):
        store = await make_store()
        response = await create(client, await make_key(), kind="store", store_id=store.id,
                                target_url="http://hub.test/s/elsewhere")
        assert response.status_code == 422 and fields_of(response) == ["target_url"]


BAD_TARGETS = [
    "//evil.example/x", "https://trusted@evil.example", "https://work.weixin.qq.com@evil.example",
    "https://work.weixin.qq.com%2F@evil.example", "https://work%2eweixin.qq.com/ca/x",
    "https://work.weixin.qq.com\\@evil.example", "https://work.weixin.qq.com/ca/\u0000x",
    " https://work.weixin.qq.com/ca/x", "https://xn--wrk-jxb.weixin.qq.com/ca/x",
    "https://work.weixin.qq.com:8443/ca/x", "http://hub.test/c/Abc123XYZ0", "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "https://work.weixin.qq.com/ca/" + "a" * 1000, "https://evil.example/",
]


class TestOpenRedirectsAreRefusedAtCreation:
    @pytest.mark.parametrize("url", BAD_TARGETS)
    async def test_contact_target_is_422_on_target_url_and_nothing_is_written(self, client, url):
        member = await make_staff()
        response = await create(client, await make_key(), kind="staff", staff_id=member.id,
                                target_kind="wecom_contact", target_url=url)
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["target_url"]
        assert await Code.all().count() == 0

    async def test_livestream_target_must_be_on_the_livestream_list(self, client):
        member = await make_staff()
        response = await create(client, await make_key(), kind="livestream", staff_id=member.id,
                                target_kind="livestream", target_url=CONTACT_ME, **LIVE_WINDOW)
        assert response.status_code == 422 and fields_of(response) == ["target_url"]

    async def test_contact_me_url_is_kept_and_no_wecom_config_is_made(self, client):
        member = await make_staff()
        response = await create(client, await make_key(), kind="staff", staff_id=member.id,
                                target_kind="wecom_contact", target_url=CONTACT_ME)
        assert response.status_code == 201, response.text
        row = await Code.get(id=response.json()["id"])
        assert (row.target_kind, row.target_url, row.wecom_config_id) == ("wecom_contact", CONTACT_ME, None)

    async def test_target_kinds_a_code_kind_cannot_use_are_422(self, client):
        product = await make_product()
        ops = await make_key()
        wecom = await create(client, ops, kind="product", product_id=product.id, target_kind="wecom_contact",
                             target_url=CONTACT_ME)
        assert wecom.status_code == 422 and fields_of(wecom) == ["target_kind"]
        no_url = await create(client, ops, kind="livestream", staff_id=(await make_staff()).id,
                              target_kind="livestream", **LIVE_WINDOW)
        assert no_url.status_code == 422 and fields_of(no_url) == ["target_url"]


class TestCreateIsIdempotent:
    async def test_same_key_returns_the_first_code(self, client):
        member = await make_staff()
        headers = {**await make_key(role=Role.STAFF, staff=member), "Idempotency-Key": "poster-2026-12"}
        first = await create(client, headers, kind="staff", channel="poster")
        second = await create(client, headers, kind="staff", channel="poster")
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert await Code.all().count() == 1
        other = await create(client, headers, kind="staff", channel="wecom_moments")
        assert other.status_code == 422 and fields_of(other) == ["Idempotency-Key"]


class TestListFilters:
    async def test_filters_and_pages(self, client):
        store = await make_store()
        product = await make_product()
        poster = await make_code(kind="store", store=store, name="门店海报", tags=["双十二", "poster"])
        item = await make_code(kind="product", store=store, product=product, name="5G套餐", tags=["poster"])
        off = await make_code(kind="store", store=store, name="旧海报", active=False)
        ops = await make_key()

        async def ids(query):
            response = await client.get(f"{URL}?{query}", headers=ops)
            assert response.status_code == 200, response.text
            return [c["id"] for c in response.json()["items"]]

        assert await ids("kind=product") == [item.id]
        assert await ids(f"product_id={product.id}") == [item.id]
        assert await ids("tag=poster") == [poster.id, item.id]
        assert await ids("tag=双十二") == [poster.id]
        assert await ids("q=海报") == [poster.id, off.id]
        assert await ids("active=false") == [off.id]
        first = (await client.get(f"{URL}?limit=2", headers=ops)).json()
        assert [c["id"] for c in first["items"]] == [poster.id, item.id] and first["next_after"] == item.id
        assert await ids(f"limit=2&after={first['next_after']}") == [off.id]

    async def test_bad_ids_and_filters_are_422_never_500(self, client):
        ops = await make_key()
        for path in ("/99999999999999", "/abc", "/0", "?store_id=99999999999", "?staff_id=-1", "?kind=poster",
                     "?tag=a%27b", "?active=maybe", "?after=x", "?q=" + "x" * 100):
            assert (await client.get(URL + path, headers=ops)).status_code == 422, path
        assert (await client.patch(f"{URL}/99999999999", headers=ops, json={})).status_code == 422
        assert (await client.post(f"{URL}/0/disable", headers=ops)).status_code == 422
        assert (await client.get(f"{URL}/12345", headers=ops)).status_code == 404
        assert (await create(client, ops, kind="store", store_id=2**40)).status_code == 422
