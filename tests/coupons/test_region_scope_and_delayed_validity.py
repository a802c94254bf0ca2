"""A batch scoped to regions covers every store beneath them; a validity of N days may start M days after
the claim."""

import pytest

from coupons.models import CouponState
from coupons.redemptions import service as redemptions
from coupons.redemptions.service import CouponNotRedeemable
from coupons.rules import CouponNotYetValid, OutOfScope
from hub.database import transaction
from hub.products.models import Product, ProductCategory
from hub.regions.models import RegionLevel
from tests.coupons.helpers import DAY, NOW, OPS, claim, make_batch, make_customer, request_id
from tests.factories import make_key, make_region, make_store


async def _redeem(code, store, *, now=NOW):
    async with transaction():
        return await redemptions.redeem(code=code, store_id=store.id, channel="store", spend_fen=10_000,
                                        request_id=request_id(), actor=OPS, now=now)


async def _claimed(**batch_fields):
    return (await claim(await make_batch(**batch_fields), await make_customer())).coupon


class TestRegionScope:
    async def test_a_city_scope_covers_the_stores_in_its_grids_and_no_other(self):
        city = await make_region(level=RegionLevel.CITY)
        county = await make_region(level=RegionLevel.COUNTY, parent=city)
        grid = await make_region(level=RegionLevel.GRID, parent=county)
        inside, outside = await make_store(region=grid), await make_store()
        refused = await _claimed(region_ids=[city.id])
        with pytest.raises(OutOfScope) as error:
            await _redeem(refused.code, outside)
        assert error.value.errors[0].field == "store_id"
        assert (await _redeem(refused.code, inside)).coupon.state == CouponState.REDEEMED

    async def test_stores_and_regions_add_up(self):
        grid = await make_region()
        named, in_grid, neither = await make_store(), await make_store(region=grid), await make_store()
        for store in (named, in_grid):
            coupon = await _claimed(store_ids=[named.id], region_ids=[grid.id])
            assert (await _redeem(coupon.code, store)).coupon.redeemed_store_id == store.id
        with pytest.raises(OutOfScope):
            await _redeem((await _claimed(store_ids=[named.id], region_ids=[grid.id])).code, neither)

    async def test_the_api_refuses_a_scope_naming_a_region_or_store_that_does_not_exist(self, client):
        ops_key = await make_key()
        grid = await make_region()
        body = {"name": "全市券", "kind": "cash", "face_value_fen": 500, "total_quantity": 10, "valid_days": 7}
        for field, ids in [("region_ids", [grid.id, 999_999]), ("store_ids", [999_998])]:
            answer = await client.post("/api/v1/coupons/batches", json={**body, field: ids}, headers=ops_key)
            assert answer.status_code == 422, answer.text
            problem = answer.json()
            assert problem["errors"][0]["field"] == field and "999" in problem["errors"][0]["message"]
        made = await client.post("/api/v1/coupons/batches", json={**body, "region_ids": [grid.id]}, headers=ops_key)
        assert made.status_code == 201 and made.json()["region_ids"] == [grid.id]


class TestDelayedValidity:
    async def test_n_days_starting_m_days_after_the_claim(self):
        coupon = await _claimed(valid_days=7, valid_start_days=3)
        assert coupon.valid_from == NOW + 3 * DAY and coupon.valid_until == NOW + 10 * DAY
        store = await make_store()
        with pytest.raises(CouponNotYetValid):
            await _redeem(coupon.code, store, now=NOW + 2 * DAY)
        with pytest.raises(CouponNotRedeemable, match="expired"):
            await _redeem(coupon.code, store, now=NOW + 10 * DAY)
        assert (await _redeem(coupon.code, store, now=NOW + 3 * DAY)).coupon.state == CouponState.REDEEMED

    async def test_a_delayed_start_needs_valid_days(self, client):
        ops_key = await make_key()
        body = {"name": "下周券", "kind": "cash", "face_value_fen": 500, "total_quantity": 10,
                "valid_from": "2026-12-01T00:00:00", "valid_until": "2026-12-31T00:00:00", "valid_start_days": 2}
        answer = await client.post("/api/v1/coupons/batches", json=body, headers=ops_key)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "valid_start_days"
        del body["valid_from"], body["valid_until"]
        made = await client.post("/api/v1/coupons/batches", json={**body, "valid_days": 5}, headers=ops_key)
        assert made.status_code == 201 and made.json()["valid_start_days"] == 2


class TestProductScope:
    async def test_products_and_categories_add_up_and_a_product_names_its_category(self):
        router = await Product.create(sku="R-1", name="千兆路由器", category=ProductCategory.TERMINAL, price_fen=29900)
        pack = await Product.create(sku="D-1", name="10GB流量包", category=ProductCategory.LIGHT, price_fen=3000)
        home = await Product.create(sku="B-1", name="宽带续费", category=ProductCategory.HOME, price_fen=12000)
        store = await make_store()

        async def redeem(coupon, **goods):
            async with transaction():
                return await redemptions.redeem(code=coupon.code, store_id=store.id, channel="store",
                                                spend_fen=10_000, request_id=request_id(), actor=OPS, now=NOW, **goods)

        for goods, allowed in [({"product_id": router.id}, True), ({"product_id": home.id}, True),
                               ({"category": "home"}, True), ({"product_id": pack.id}, False), ({}, False)]:
            coupon = await _claimed(product_ids=[router.id], categories=["home"])
            if allowed:
                assert (await redeem(coupon, **goods)).coupon.state == CouponState.REDEEMED
            else:
                with pytest.raises(OutOfScope) as refused:
                    await redeem(coupon, **goods)
                assert refused.value.errors[0].field == "category"
        only_products = await _claimed(product_ids=[router.id])
        with pytest.raises(OutOfScope) as refused:
            await redeem(only_products, product_id=pack.id)
        assert refused.value.errors[0].field == "product_id"

    async def test_the_api_refuses_a_product_that_does_not_exist(self, client):
        body = {"name": "路由器券", "kind": "cash", "face_value_fen": 500, "total_quantity": 10, "valid_days": 7,
                "product_ids": [424242]}
        answer = await client.post("/api/v1/coupons/batches", json=body, headers=await make_key())
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "product_ids"
