import re
from datetime import timedelta

import pytest

from coupons.models import CouponState
from coupons.redemptions import service as redemptions
from coupons.redemptions.service import NotStackable
from coupons.rules import NotUsableNow
from hub.database import transaction
from tests.coupons.helpers import DAY, NOW, OPS, claim, make_batch, make_customer, request_id
from tests.factories import make_key, make_store

HOUR = timedelta(hours=1)  # NOW is Friday (ISO 5), 12:00 in Shanghai


async def _redeem(coupon, store, *, now=NOW, order_ref=None):
    async with transaction():
        return await redemptions.redeem(code=coupon.code, store_id=store.id, channel="store", spend_fen=10_000,
                                        order_ref=order_ref, request_id=request_id(), actor=OPS, now=now)


async def _claimed(**batch_fields):
    return (await claim(await make_batch(**batch_fields), await make_customer(), now=NOW - DAY)).coupon


class TestUsableTimes:
    async def test_a_weekday_outside_the_batchs_days_is_refused_naming_the_rule(self):
        coupon, store = await _claimed(usable_weekdays=[6, 7]), await make_store()
        with pytest.raises(NotUsableNow) as refused:
            await _redeem(coupon, store)
        assert refused.value.errors[0].field == "usable_weekdays"
        assert (await _redeem(coupon, store, now=NOW + DAY)).coupon.state == CouponState.REDEEMED  # Saturday

    async def test_hours_are_read_on_the_shanghai_clock_and_a_window_excludes_its_end(self):
        coupon, store = await _claimed(usable_hours=[["09:00", "11:00"], ["13:00", "21:00"]]), await make_store()
        for at in (NOW, NOW - HOUR, NOW + 9 * HOUR):  # 12:00, 11:00 (the end of a window), 21:00
            with pytest.raises(NotUsableNow) as refused:
                await _redeem(coupon, store, now=at)
            assert refused.value.errors[0].field == "usable_hours"
        assert (await _redeem(coupon, store, now=NOW + HOUR)).coupon.state == CouponState.REDEEMED  # 13:00

    async def test_weekdays_and_hours_both_given_must_both_hold(self):
        coupon, store = await _claimed(usable_weekdays=[5], usable_hours=[["12:00", "12:30"]]), await make_store()
        with pytest.raises(NotUsableNow):
            await _redeem(coupon, store, now=NOW + 7 * DAY - 12 * HOUR)  # a Friday, but 00:00
        assert (await _redeem(coupon, store, now=NOW + 7 * DAY)).coupon.state == CouponState.REDEEMED


class TestStacking:
    async def test_a_non_stackable_coupon_is_refused_on_an_order_that_already_has_one(self):
        store = await make_store()
        first, second = await _claimed(), await _claimed()
        await _redeem(first, store, order_ref="O-1")
        with pytest.raises(NotStackable):
            await _redeem(second, store, order_ref="O-1")
        assert (await _redeem(second, store, order_ref="O-2")).coupon.state == CouponState.REDEEMED

    async def test_stackable_coupons_share_an_order_but_not_with_a_non_stackable_one(self):
        store = await make_store()
        lone, stacks, stacks_too = await _claimed(), await _claimed(stackable=True), await _claimed(stackable=True)
        await _redeem(stacks, store, order_ref="O-1")
        assert (await _redeem(stacks_too, store, order_ref="O-1")).coupon.state == CouponState.REDEEMED
        await _redeem(lone, store, order_ref="O-2")
        with pytest.raises(NotStackable):
            await _redeem(await _claimed(stackable=True), store, order_ref="O-2")


class TestBatchValidation:
    @pytest.mark.parametrize(("fields", "field"), [
        ({"usable_weekdays": [0]}, "usable_weekdays"),
        ({"usable_weekdays": [1, 1]}, "usable_weekdays"),
        ({"usable_hours": [["21:00", "09:00"]]}, "usable_hours"),
        ({"usable_hours": [["9:00", "21:00"]]}, "usable_hours"),
        ({"usable_hours": [["09:00"]]}, "usable_hours"),
    ])
    async def test_bad_times_are_a_422_naming_the_field(self, client, fields, field):
        body = {"name": "券", "kind": "cash", "face_value_fen": 500, "total_quantity": 10, "valid_days": 7, **fields}
        response = await client.post("/api/v1/coupons/batches", headers=await make_key(), json=body)
        assert response.status_code == 422, response.text
        assert re.split(r"[.[]", response.json()["errors"][0]["field"])[0] == field

    async def test_the_rules_are_stored_and_shown(self, client):
        body = {"name": "券", "kind": "cash", "face_value_fen": 500, "total_quantity": 10, "valid_days": 7,
                "usable_weekdays": [6, 7], "usable_hours": [["09:00", "24:00"]], "stackable": True,
                "transferable": False}
        created = await client.post("/api/v1/coupons/batches", headers=await make_key(), json=body)
        assert created.status_code == 201, created.text
        shown = {k: created.json()[k] for k in ("usable_weekdays", "usable_hours", "stackable", "transferable")}
        assert shown == {"usable_weekdays": [6, 7], "usable_hours": [["09:00", "24:00"]], "stackable": True,
                         "transferable": False}
