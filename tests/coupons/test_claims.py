import asyncio

import pytest

from coupons.batches.service import BatchWrongStatus
from coupons.claims.service import BatchOver, DailyCapReached, OutOfStock, PerCustomerLimitReached
from coupons.codes import normalise
from coupons.models import BatchStatus, Coupon, CouponBatch, CouponBatchDay, CouponLedger, CouponState
from hub.customers.merge import merge_into
from hub.database import transaction
from hub.errors import HubError, InvalidInput
from tests.coupons.helpers import DAY, NOW, claim, make_batch, make_customer


async def _claim_all(batch, customers):
    """Claim concurrently, each in its own transaction; returns the successes and the refusals."""
    results = await asyncio.gather(*(claim(batch, c) for c in customers), return_exceptions=True)
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, HubError)]
    assert unexpected == []
    return [r for r in results if not isinstance(r, Exception)], [r for r in results if isinstance(r, HubError)]


class TestStock:
    async def test_500_concurrent_claims_on_a_stock_of_100_issue_exactly_100(self):
        batch = await make_batch(total_quantity=100)
        customers = [await make_customer() for _ in range(500)]
        won, refused = await _claim_all(batch, customers)
        assert len(won) == 100
        assert {type(r) for r in refused} == {OutOfStock}
        assert await Coupon.filter(batch_id=batch.id).count() == 100
        assert (await CouponBatch.get(id=batch.id)).issued_count == 100
        assert await CouponLedger.filter(operation="claim").count() == 100

    async def test_the_daily_cap_holds_under_concurrency_and_counts_per_shanghai_day(self):
        batch = await make_batch(total_quantity=100, daily_cap=30)
        won, refused = await _claim_all(batch, [await make_customer() for _ in range(80)])
        assert len(won) == 30
        assert {type(r) for r in refused} == {DailyCapReached}
        assert (await CouponBatch.get(id=batch.id)).issued_count == 30  # refused claims gave their stock back
        tomorrow = await claim(batch, await make_customer(), now=NOW + DAY)
        assert tomorrow.coupon.state == CouponState.CLAIMED
        assert sorted(await CouponBatchDay.filter(batch_id=batch.id).values_list("issued", flat=True)) == [1, 30]

    async def test_a_paused_batch_refuses_claims_and_a_resumed_one_takes_them_again(self):
        batch = await make_batch(status=BatchStatus.PAUSED)
        customer = await make_customer()
        with pytest.raises(BatchWrongStatus):
            await claim(batch, customer)
        await CouponBatch.filter(id=batch.id).update(status=BatchStatus.ACTIVE)
        assert (await claim(batch, customer)).coupon.owner_id == customer.id

    async def test_a_batch_whose_fixed_window_is_over_refuses_claims(self):
        batch = await make_batch(valid_days=None, valid_from=NOW - 2 * DAY, valid_until=NOW - DAY)
        with pytest.raises(BatchOver):
            await claim(batch, await make_customer())
        assert (await CouponBatch.get(id=batch.id)).issued_count == 0


class TestValidity:
    async def test_n_days_from_claim(self):
        batch = await make_batch(valid_days=7)
        coupon = (await claim(batch, await make_customer())).coupon
        assert (coupon.valid_from, coupon.valid_until) == (NOW, NOW + 7 * DAY)

    async def test_a_fixed_window_is_the_batchs(self):
        batch = await make_batch(valid_days=None, valid_from=NOW - DAY, valid_until=NOW + 3 * DAY)
        coupon = (await claim(batch, await make_customer())).coupon
        assert (coupon.valid_from, coupon.valid_until) == (NOW - DAY, NOW + 3 * DAY)

    async def test_codes_are_unique_and_carry_a_valid_check_symbol(self):
        batch = await make_batch()
        coupons = [(await claim(batch, await make_customer())).coupon for _ in range(20)]
        codes = [c.code for c in coupons]
        assert len(set(codes)) == 20
        assert all(len(code) >= 12 and normalise(code) == code for code in codes)


class TestPerCustomerLimit:
    async def test_one_customer_claiming_concurrently_gets_exactly_the_limit(self):
        batch = await make_batch(per_customer_limit=3)
        customer = await make_customer()
        won, refused = await _claim_all(batch, [customer] * 40)
        assert len(won) == 3
        assert {type(r) for r in refused} == {PerCustomerLimitReached}
        assert await Coupon.filter(owner_id=customer.id).count() == 3
        assert (await CouponBatch.get(id=batch.id)).issued_count == 3

    async def test_the_limit_counts_the_person_across_merged_customers(self):
        batch = await make_batch(per_customer_limit=1)
        app_user, phone_user = await make_customer(), await make_customer()
        await claim(batch, app_user)
        async with transaction():
            await merge_into(survivor_id=phone_user.id, absorbed_id=app_user.id)
        with pytest.raises(PerCustomerLimitReached):
            await claim(batch, phone_user)
        with pytest.raises(PerCustomerLimitReached):
            await claim(batch, app_user)

    async def test_a_claim_for_a_merged_customer_goes_to_the_survivor(self):
        batch = await make_batch()
        absorbed, survivor = await make_customer(), await make_customer()
        async with transaction():
            await merge_into(survivor_id=survivor.id, absorbed_id=absorbed.id)
        assert (await claim(batch, absorbed)).coupon.owner_id == survivor.id


class TestReplay:
    async def test_the_same_request_twice_returns_the_first_coupon_and_issues_one(self):
        batch = await make_batch(per_customer_limit=5)
        customer = await make_customer()
        first = await claim(batch, customer, request="app:42")
        again = await claim(batch, customer, request="app:42")
        assert again.replayed and again.coupon.code == first.coupon.code and again.entry.id == first.entry.id
        assert (await CouponBatch.get(id=batch.id)).issued_count == 1

    async def test_concurrent_copies_of_one_request_issue_one_coupon(self):
        batch = await make_batch(per_customer_limit=5)
        customer = await make_customer()
        results = await asyncio.gather(*(claim(batch, customer, request="app:7") for _ in range(10)))
        assert {r.coupon.id for r in results} == {results[0].coupon.id}
        assert (await CouponBatch.get(id=batch.id)).issued_count == 1

    async def test_a_request_id_reused_for_another_customer_is_refused(self):
        batch = await make_batch()
        await claim(batch, await make_customer(), request="app:8")
        with pytest.raises(InvalidInput) as refused:
            await claim(batch, await make_customer(), request="app:8")
        assert refused.value.errors[0].field == "request_id"

    async def test_a_request_id_reused_for_another_batch_is_refused(self):
        customer = await make_customer()
        await claim(await make_batch(), customer, request="app:9")
        with pytest.raises(InvalidInput) as refused:
            await claim(await make_batch(), customer, request="app:9")
        assert refused.value.errors[0].field == "request_id"
