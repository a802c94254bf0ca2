import asyncio

import pytest

from coupons.claims.service import OutOfStock, PerCustomerLimitReached
from coupons.issues.service import CouponNotIssued, NotTheOwner
from coupons.models import Coupon, CouponBatch, CouponState
from coupons.rules import effective_state
from hub.auth.models import Role
from hub.errors import HubError
from tests.coupons.helpers import DAY, NOW, claim, claim_issued, issue, ledger_states, make_batch, make_customer
from tests.factories import make_key


class TestIssueThenClaim:
    async def test_an_issued_coupon_is_claimed_by_its_owner_and_its_validity_starts_then(self):
        batch = await make_batch(valid_days=7)
        customer = await make_customer()
        issued = await issue(batch, customer)
        assert (issued.coupon.state, issued.coupon.owner_id, issued.coupon.claimed_at) == (
            CouponState.ISSUED, customer.id, None)
        claimed = await claim_issued(issued.coupon.code, customer, now=NOW + 2 * DAY)
        assert claimed.coupon.state == CouponState.CLAIMED
        assert (claimed.coupon.valid_from, claimed.coupon.valid_until) == (NOW + 2 * DAY, NOW + 9 * DAY)
        assert claimed.coupon.claimed_at == NOW + 2 * DAY
        assert await ledger_states(issued.coupon.id) == [(None, "issued"), ("issued", "claimed")]

    async def test_another_customer_cannot_claim_it_and_it_cannot_be_claimed_twice(self):
        batch = await make_batch()
        customer = await make_customer()
        code = (await issue(batch, customer)).coupon.code
        with pytest.raises(NotTheOwner):
            await claim_issued(code, await make_customer())
        await claim_issued(code, customer)
        with pytest.raises(CouponNotIssued):
            await claim_issued(code, customer)

    async def test_an_issued_coupon_nobody_claims_lapses(self):
        batch = await make_batch(valid_days=7)
        customer = await make_customer()
        coupon = (await issue(batch, customer)).coupon
        assert effective_state(coupon, NOW + 8 * DAY) == CouponState.EXPIRED
        with pytest.raises(CouponNotIssued):
            await claim_issued(coupon.code, customer, now=NOW + 8 * DAY)

    async def test_a_replayed_claim_returns_the_first_answer(self):
        customer = await make_customer()
        code = (await issue(await make_batch(), customer)).coupon.code
        first = await claim_issued(code, customer, request="app:claim-1")
        again = await claim_issued(code, customer, request="app:claim-1")
        assert again.replayed and again.entry.id == first.entry.id

    async def test_a_replayed_issue_returns_the_first_coupon_and_takes_stock_once(self):
        batch = await make_batch(per_customer_limit=5)
        customer = await make_customer()
        first = await issue(batch, customer, request="offer:1")
        again = await issue(batch, customer, request="offer:1")
        assert again.replayed and again.coupon.id == first.coupon.id
        assert (await CouponBatch.get(id=batch.id)).issued_count == 1


class TestIssuedCountAgainstTheStock:
    async def test_concurrent_issues_and_claims_share_the_stock(self):
        batch = await make_batch(total_quantity=20)
        customers = [await make_customer() for _ in range(60)]
        results = await asyncio.gather(*(issue(batch, c) for c in customers[:30]),
                                       *(claim(batch, c) for c in customers[30:]), return_exceptions=True)
        assert [r for r in results if isinstance(r, Exception) and not isinstance(r, HubError)] == []
        assert {type(r) for r in results if isinstance(r, Exception)} == {OutOfStock}
        assert len([r for r in results if not isinstance(r, Exception)]) == 20
        assert await Coupon.filter(batch_id=batch.id).count() == 20
        assert (await CouponBatch.get(id=batch.id)).issued_count == 20

    async def test_issued_coupons_count_against_the_per_person_limit_under_concurrency(self):
        batch = await make_batch(per_customer_limit=2)
        customer = await make_customer()
        results = await asyncio.gather(*(issue(batch, customer) for _ in range(10)),
                                       *(claim(batch, customer) for _ in range(10)), return_exceptions=True)
        assert len([r for r in results if not isinstance(r, Exception)]) == 2
        assert {type(r) for r in results if isinstance(r, Exception)} == {PerCustomerLimitReached}
        assert await Coupon.filter(owner_id=customer.id).count() == 2


class TestApi:
    async def test_the_strategy_engine_issues_and_the_app_claims_for_the_owner(self, client):
        batch, customer = await make_batch(), await make_customer()
        engine = {**await make_key(role=Role.STRATEGY_ENGINE), "Idempotency-Key": "offer-7"}
        body = {"customer_id": customer.id, "channel": "wecom"}
        issued = await client.post(f"/api/v1/coupons/batches/{batch.id}/issues", headers=engine, json=body)
        assert issued.status_code == 201, issued.text
        assert issued.json()["coupon"]["state"] == "issued"
        again = await client.post(f"/api/v1/coupons/batches/{batch.id}/issues", headers=engine, json=body)
        assert again.json() == issued.json()
        code = issued.json()["coupon"]["code"]
        app = await make_key(role=Role.CARRIER_APP)
        claimed = await client.post(f"/api/v1/coupons/codes/{code}/claim", headers=app,
                                    json={"customer_id": customer.id, "channel": "app"})
        assert claimed.status_code == 200, claimed.text
        assert (claimed.json()["entry"]["from_state"], claimed.json()["coupon"]["state"]) == ("issued", "claimed")

    async def test_the_app_cannot_issue_and_a_stranger_cannot_claim(self, client):
        batch, customer = await make_batch(), await make_customer()
        body = {"customer_id": customer.id, "channel": "app"}
        app = await make_key(role=Role.CARRIER_APP)
        refused = await client.post(f"/api/v1/coupons/batches/{batch.id}/issues", headers=app, json=body)
        assert refused.status_code == 403
        code = (await issue(batch, customer)).coupon.code
        stranger = await client.post(f"/api/v1/coupons/codes/{code}/claim", headers=app,
                                     json={"customer_id": (await make_customer()).id, "channel": "app"})
        assert stranger.status_code == 403
