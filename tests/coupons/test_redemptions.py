import asyncio
from datetime import timedelta

import pytest

from coupons.models import BatchKind, Coupon, CouponBatch, CouponLedger, CouponState
from coupons.redemptions import service as redemptions
from coupons.redemptions.service import (
    CancelWindowPassed,
    CouponNotRedeemable,
    CouponNotRedeemed,
    RedeemedElsewhere,
    ReturnWindowPassed,
)
from coupons.rules import CouponNotYetValid, MinimumSpendNotMet, OutOfScope
from coupons.wallet import service as wallet
from coupons.wallet.service import CouponNotVoidable
from hub.database import transaction
from hub.errors import HubError, InvalidInput
from hub.products.models import ProductCategory
from tests.coupons.helpers import DAY, NOW, OPS, claim, ledger_states, make_batch, make_customer, request_id
from tests.factories import make_store

HOUR = timedelta(hours=1)


async def _redeem(code, store, *, spend_fen=10_000, now=NOW, request=None, **details):
    async with transaction():
        return await redemptions.redeem(code=code, store_id=store.id, channel=details.pop("channel", "store"),
                                        spend_fen=spend_fen, request_id=request or request_id(), actor=OPS, now=now,
                                        **details)


async def _cancel(code, store, *, now=NOW, request=None, **details):
    async with transaction():
        return await redemptions.cancel_redemption(code=code, store_id=store.id, request_id=request or request_id(),
                                                   actor=OPS, now=now, **details)


async def _claimed(**batch_fields) -> Coupon:
    return (await claim(await make_batch(**batch_fields), await make_customer())).coupon


class TestRedeem:
    async def test_200_concurrent_redemptions_of_one_code_succeed_exactly_once(self):
        coupon, store = await _claimed(), await make_store()
        results = await asyncio.gather(*(_redeem(coupon.code, store) for _ in range(200)), return_exceptions=True)
        won = [r for r in results if not isinstance(r, Exception)]
        assert len(won) == 1
        assert {type(r) for r in results if isinstance(r, Exception)} == {CouponNotRedeemable}
        assert await CouponLedger.filter(coupon_id=coupon.id, operation="redeem").count() == 1
        assert (await Coupon.get(id=coupon.id)).state == CouponState.REDEEMED

    @pytest.mark.parametrize(("batch_fields", "spend", "discount"), [
        ({"kind": BatchKind.CASH, "face_value_fen": 500}, 10_000, 500),
        ({"kind": BatchKind.CASH, "face_value_fen": 500}, 300, 300),
        ({"kind": BatchKind.THRESHOLD, "face_value_fen": 1000, "min_spend_fen": 5000}, 5000, 1000),
        ({"kind": BatchKind.DISCOUNT, "face_value_fen": 0, "discount_percent": 15}, 10_000, 1500),
        ({"kind": BatchKind.DISCOUNT, "face_value_fen": 0, "discount_percent": 15, "discount_cap_fen": 800},
         10_000, 800),
        ({"kind": BatchKind.GIFT, "face_value_fen": 3000}, 0, 3000),
    ])
    async def test_the_discount_is_computed_and_returned(self, batch_fields, spend, discount):
        coupon = await _claimed(**batch_fields)
        redeemed = await _redeem(coupon.code, await make_store(), spend_fen=spend)
        assert redeemed.entry.amount_fen == discount
        assert (redeemed.coupon.state, redeemed.coupon.redeemed_discount_fen) == (CouponState.REDEEMED, discount)

    async def test_a_typed_code_in_lower_case_with_dashes_is_found(self):
        coupon = await _claimed()
        typed = "-".join(coupon.code[i:i + 4] for i in range(0, 16, 4)).lower()
        assert (await _redeem(typed, await make_store())).coupon.id == coupon.id

    async def test_a_mistyped_code_fails_its_check_symbol_before_any_lookup(self):
        coupon = await _claimed()
        wrong = ("1" if coupon.code[0] != "1" else "2") + coupon.code[1:]
        with pytest.raises(InvalidInput) as refused:
            await _redeem(wrong, await make_store())
        assert refused.value.errors[0].field == "code"

    async def test_below_the_minimum_spend_is_refused_naming_the_field(self):
        coupon = await _claimed(kind=BatchKind.THRESHOLD, face_value_fen=1000, min_spend_fen=5000)
        with pytest.raises(MinimumSpendNotMet) as refused:
            await _redeem(coupon.code, await make_store(), spend_fen=4999)
        assert refused.value.errors[0].field == "spend_fen"
        assert (await Coupon.get(id=coupon.id)).state == CouponState.CLAIMED

    async def test_scope_store_channel_and_category(self):
        here, elsewhere = await make_store(), await make_store()
        coupon = await _claimed(store_ids=[here.id], channels=["store"], categories=[ProductCategory.HOME.value])
        for store, details, field in [(elsewhere, {"category": "home"}, "store_id"),
                                      (here, {"category": "home", "channel": "app"}, "channel"),
                                      (here, {"category": "light"}, "category"), (here, {}, "category")]:
            with pytest.raises(OutOfScope) as refused:
                await _redeem(coupon.code, store, **details)
            assert refused.value.errors[0].field == field
        assert (await _redeem(coupon.code, here, category="home")).coupon.redeemed_store_id == here.id

    async def test_outside_the_time_window(self):
        coupon = await _claimed(valid_days=None, valid_from=NOW - DAY, valid_until=NOW + DAY)
        store = await make_store()
        with pytest.raises(CouponNotYetValid):
            await _redeem(coupon.code, store, now=NOW - DAY - HOUR)
        with pytest.raises(CouponNotRedeemable, match="expired"):
            await _redeem(coupon.code, store, now=NOW + DAY)
        assert (await _redeem(coupon.code, store, now=NOW + DAY - HOUR)).coupon.state == CouponState.REDEEMED

    async def test_expiry_is_checked_at_read_time_before_any_job_marks_it(self):
        coupon = await _claimed(valid_days=3)
        later = NOW + 3 * DAY
        with pytest.raises(CouponNotRedeemable, match="expired"):
            await _redeem(coupon.code, await make_store(), now=later)
        assert (await Coupon.get(id=coupon.id)).state == CouponState.CLAIMED  # stored state untouched
        _, by_state = await wallet.wallet(customer_id=coupon.owner_id, now=later)
        assert [c.id for c in by_state[CouponState.EXPIRED]] == [coupon.id]

    async def test_a_replayed_redemption_returns_the_original_discount_and_acts_once(self):
        coupon, store = await _claimed(), await make_store()
        first = await _redeem(coupon.code, store, spend_fen=300, request="pos:1")
        again = await _redeem(coupon.code, store, spend_fen=300, request="pos:1")
        assert again.replayed and (again.entry.id, again.entry.amount_fen) == (first.entry.id, 300)
        assert await CouponLedger.filter(coupon_id=coupon.id).count() == 2  # claim + one redeem

    async def test_concurrent_copies_of_one_redemption_all_get_its_answer(self):
        coupon, store = await _claimed(), await make_store()
        results = await asyncio.gather(*(_redeem(coupon.code, store, request="pos:2") for _ in range(20)))
        assert {r.entry.id for r in results} == {results[0].entry.id}


class TestCancelRedemption:
    async def test_cancel_returns_the_coupon_to_claimed_and_it_can_be_redeemed_again(self):
        coupon, store = await _claimed(), await make_store()
        await _redeem(coupon.code, store, order_ref="T-1")
        cancelled = await _cancel(coupon.code, store, order_ref="T-1", now=NOW + HOUR)
        assert (cancelled.entry.amount_fen, cancelled.coupon.state) == (500, CouponState.CLAIMED)
        assert cancelled.coupon.redeemed_store_id is None
        again = await _redeem(coupon.code, store, order_ref="T-2", now=NOW + 2 * HOUR)
        assert again.coupon.redeemed_order_ref == "T-2"

    async def test_only_the_same_shanghai_day(self):
        coupon, store = await _claimed(), await make_store()
        await _redeem(coupon.code, store)  # 12:00 in Shanghai
        with pytest.raises(CancelWindowPassed):
            await _cancel(coupon.code, store, now=NOW + 12 * HOUR)  # 00:00 the next day there
        assert (await _cancel(coupon.code, store, now=NOW + 11 * HOUR)).coupon.state == CouponState.CLAIMED

    async def test_only_at_the_redeeming_store_and_with_its_order(self):
        coupon, store = await _claimed(), await make_store()
        await _redeem(coupon.code, store, order_ref="T-1")
        with pytest.raises(RedeemedElsewhere):
            await _cancel(coupon.code, await make_store())
        with pytest.raises(InvalidInput) as refused:
            await _cancel(coupon.code, store, order_ref="T-9")
        assert refused.value.errors[0].field == "order_ref"

    async def test_a_coupon_that_lapsed_meanwhile_goes_back_to_expired(self):
        coupon = await _claimed(valid_days=None, valid_from=NOW - DAY, valid_until=NOW + HOUR)
        store = await make_store()
        await _redeem(coupon.code, store)
        assert (await _cancel(coupon.code, store, now=NOW + 2 * HOUR)).coupon.state == CouponState.EXPIRED

    async def test_an_unredeemed_coupon_cannot_be_cancelled(self):
        coupon = await _claimed()
        with pytest.raises(CouponNotRedeemed):
            await _cancel(coupon.code, await make_store())

    async def test_concurrent_cancel_and_redeem_leave_a_consistent_ledger(self):
        coupon, store = await _claimed(), await make_store()
        await _redeem(coupon.code, store)
        work = [_cancel(coupon.code, store, now=NOW + HOUR) for _ in range(10)]
        work += [_redeem(coupon.code, store, now=NOW + HOUR) for _ in range(10)]
        await asyncio.gather(*work, return_exceptions=True)
        await _assert_ledger_replays(coupon.id)


class TestReturn:
    async def _return(self, coupon, *, now, order_ref=None):
        async with transaction():
            return await redemptions.return_coupon(code=coupon.code, order_ref=order_ref, request_id=request_id(),
                                                   actor=OPS, now=now)

    async def test_a_refund_returns_the_coupon_within_the_batchs_days_from_any_day(self):
        coupon, store = await _claimed(return_days=7), await make_store()
        await _redeem(coupon.code, store, order_ref="O-1")
        returned = await self._return(coupon, order_ref="O-1", now=NOW + 7 * DAY)
        assert (returned.entry.operation, returned.entry.store_id, returned.entry.amount_fen) == (
            "return", store.id, 500)
        assert returned.coupon.state == CouponState.CLAIMED
        assert (await _redeem(coupon.code, store, now=NOW + 7 * DAY)).coupon.state == CouponState.REDEEMED
        await _assert_ledger_replays(coupon.id)

    async def test_too_late_or_for_another_order_is_refused(self):
        coupon = await _claimed(return_days=7)
        await _redeem(coupon.code, await make_store(), order_ref="O-1")
        with pytest.raises(ReturnWindowPassed):
            await self._return(coupon, now=NOW + 7 * DAY + HOUR)
        with pytest.raises(InvalidInput):
            await self._return(coupon, order_ref="O-2", now=NOW + DAY)
        assert (await Coupon.get(id=coupon.id)).state == CouponState.REDEEMED


class TestVoid:
    async def test_a_voided_coupon_can_never_be_redeemed(self):
        coupon = await _claimed()
        async with transaction():
            voided = await wallet.void(code=coupon.code, request_id=request_id(), actor=OPS)
        assert voided.coupon.state == CouponState.VOIDED
        with pytest.raises(CouponNotRedeemable, match="voided"):
            await _redeem(coupon.code, await make_store())

    async def test_a_redeemed_coupon_cannot_be_voided(self):
        coupon, store = await _claimed(), await make_store()
        await _redeem(coupon.code, store)
        with pytest.raises(CouponNotVoidable):
            await wallet.void(code=coupon.code, request_id=request_id(), actor=OPS)


async def _assert_ledger_replays(coupon_id: int) -> None:
    """Folding the ledger from nothing passes through each row's from_state and ends in the coupon's state."""
    state = None
    for from_state, to_state in await ledger_states(coupon_id):
        assert from_state == state
        state = to_state
    assert state == (await Coupon.get(id=coupon_id)).state.value


async def test_the_ledger_replays_to_every_coupons_current_state():
    store = await make_store()
    batch = await make_batch(per_customer_limit=10, valid_days=1)
    customer = await make_customer()
    coupons = [(await claim(batch, customer)).coupon for _ in range(6)]
    await _redeem(coupons[0].code, store)
    await _redeem(coupons[1].code, store)
    await _cancel(coupons[1].code, store)
    await _redeem(coupons[2].code, store)
    await _cancel(coupons[2].code, store)
    await _redeem(coupons[2].code, store)
    async with transaction():
        await wallet.void(code=coupons[3].code, request_id=request_id(), actor=OPS)
    operations = [await _attempt(_redeem(coupons[4].code, store, now=NOW + 2 * DAY)), await _attempt(
        _cancel(coupons[5].code, store))]
    assert operations == [CouponNotRedeemable, CouponNotRedeemed]
    states = [(await Coupon.get(id=c.id)).state for c in coupons]
    assert states == ["redeemed", "claimed", "redeemed", "voided", "claimed", "claimed"]
    for coupon in coupons:
        await _assert_ledger_replays(coupon.id)


async def _attempt(work) -> type[HubError] | None:
    try:
        await work
    except HubError as exc:
        return type(exc)
    return None


class TestDiscountBudget:
    """A discount coupon's worth depends on the spend, so its batch's budget is kept at each redemption."""

    async def test_a_discount_that_would_pass_the_budget_is_refused_until_an_undo_gives_some_back(self):
        batch = await make_batch(kind=BatchKind.DISCOUNT, face_value_fen=0, discount_percent=10, budget_fen=1500)
        first, second = [(await claim(batch, await make_customer())).coupon for _ in range(2)]
        store = await make_store()
        assert (await _redeem(first.code, store, spend_fen=10_000)).entry.amount_fen == 1000
        with pytest.raises(redemptions.BudgetSpent):
            await _redeem(second.code, store, spend_fen=10_000)
        assert (await Coupon.get(id=second.id)).state == CouponState.CLAIMED
        assert (await _redeem(second.code, store, spend_fen=5_000)).entry.amount_fen == 500  # fits exactly
        await _cancel(first.code, store, now=NOW + HOUR)
        batch = await CouponBatch.get(id=batch.id)
        assert batch.discount_given_fen == 500

    async def test_concurrent_redemptions_never_give_more_than_the_budget(self):
        batch = await make_batch(kind=BatchKind.DISCOUNT, face_value_fen=0, discount_percent=10, budget_fen=5000,
                                 per_customer_limit=1)
        coupons = [(await claim(batch, await make_customer())).coupon for _ in range(20)]
        store = await make_store()
        results = await asyncio.gather(*(_redeem(c.code, store, spend_fen=10_000) for c in coupons),
                                       return_exceptions=True)
        assert sum(not isinstance(r, Exception) for r in results) == 5
        assert {type(r) for r in results if isinstance(r, Exception)} == {redemptions.BudgetSpent}
        assert (await CouponBatch.get(id=batch.id)).discount_given_fen == 5000
        assert await Coupon.filter(batch_id=batch.id, state=CouponState.REDEEMED).count() == 5
