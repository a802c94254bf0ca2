import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from coupons import gifting, locks, redemptions, wallet
from coupons.claims import PerCustomerLimitReached
from coupons.gifting import CouponNotTransferable, OwnShare, ShareNotPending
from coupons.issues import NotTheOwner
from coupons.models import Coupon, CouponLedger, ShareStatus
from coupons.pending_shares import CouponBeingGifted
from hub.auth.models import Role
from hub.database import transaction
from hub.errors import HubError
from tests.coupons.helpers import NOW, OPS, claim, make_batch, make_customer, request_id
from tests.factories import make_key, make_store

HOUR = timedelta(hours=1)


async def _share(coupon, owner, *, now=NOW, request=None, ttl_hours=72):
    async with transaction():
        return await gifting.share(code=coupon.code, customer_id=owner.id, ttl_hours=ttl_hours,
                                   request_id=request or request_id(), actor=OPS, now=now)


async def _accept(token, friend, *, now=NOW + HOUR, request=None):
    async with transaction():
        return await gifting.accept(token=token, customer_id=friend.id, request_id=request or request_id(), actor=OPS,
                                    now=now)


async def _revoke(token, owner, *, now=NOW + HOUR):
    async with transaction():
        return await gifting.revoke(token=token, customer_id=owner.id, request_id=request_id(), actor=OPS, now=now)


async def _owned(*, now=NOW, **batch_fields):
    owner = await make_customer()
    return (await claim(await make_batch(**batch_fields), owner, now=now)).coupon, owner


class TestShareAndAccept:
    async def test_accepting_moves_the_coupon_to_the_friends_wallet(self):
        coupon, owner = await _owned()
        friend = await make_customer()
        shared = await _share(coupon, owner)
        assert (shared.share.status, shared.share.expires_at) == (ShareStatus.PENDING, NOW + 72 * HOUR)
        assert len(shared.share.token) >= 32
        accepted = await _accept(shared.share.token, friend)
        assert (accepted.share.status, accepted.share.to_customer_id) == (ShareStatus.ACCEPTED, friend.id)
        assert accepted.transition.coupon.owner_id == friend.id
        assert (await wallet.wallet(customer_id=owner.id, now=NOW + HOUR))[1] == {}
        _, friends = await wallet.wallet(customer_id=friend.id, now=NOW + HOUR)
        assert [c.id for coupons in friends.values() for c in coupons] == [coupon.id]
        rows = await CouponLedger.filter(coupon_id=coupon.id).order_by("id")
        assert [r.operation.value for r in rows] == ["claim", "gift", "accept"]
        assert rows[2].detail == {"share_id": shared.share.id, "from_customer_id": owner.id,
                                  "to_customer_id": friend.id}

    async def test_a_link_is_single_use(self):
        coupon, owner = await _owned()
        token = (await _share(coupon, owner)).share.token
        await _accept(token, await make_customer())
        with pytest.raises(ShareNotPending):
            await _accept(token, await make_customer())

    async def test_an_expired_link_is_refused_and_frees_the_coupon(self):
        coupon, owner = await _owned()
        token = (await _share(coupon, owner, ttl_hours=2)).share.token
        with pytest.raises(ShareNotPending) as refused:
            await _accept(token, await make_customer(), now=NOW + 2 * HOUR)
        assert "expired" in refused.value.detail
        assert (await _share(coupon, owner, now=NOW + 2 * HOUR)).share.status == ShareStatus.PENDING

    async def test_a_revoked_link_is_refused_and_only_the_giver_can_revoke(self):
        coupon, owner = await _owned()
        friend = await make_customer()
        token = (await _share(coupon, owner)).share.token
        with pytest.raises(NotTheOwner):
            await _revoke(token, friend)
        assert (await _revoke(token, owner)).share.status == ShareStatus.REVOKED
        with pytest.raises(ShareNotPending):
            await _accept(token, friend)
        assert (await Coupon.get(id=coupon.id)).owner_id == owner.id

    async def test_concurrent_accepts_of_one_link_have_exactly_one_winner(self):
        coupon, owner = await _owned()
        token = (await _share(coupon, owner)).share.token
        friends = [await make_customer() for _ in range(20)]
        results = await asyncio.gather(*(_accept(token, f) for f in friends), return_exceptions=True)
        won = [r for r in results if not isinstance(r, Exception)]
        assert [r for r in results if isinstance(r, Exception) and not isinstance(r, HubError)] == []
        assert len(won) == 1
        assert {type(r) for r in results if isinstance(r, Exception)} == {ShareNotPending}
        assert (await Coupon.get(id=coupon.id)).owner_id == won[0].share.to_customer_id
        assert await CouponLedger.filter(coupon_id=coupon.id, operation="accept").count() == 1

    async def test_the_giver_cannot_accept_their_own_link(self):
        coupon, owner = await _owned()
        token = (await _share(coupon, owner)).share.token
        with pytest.raises(OwnShare):
            await _accept(token, owner)

    async def test_the_receivers_per_person_limit_holds(self):
        batch = await make_batch(per_customer_limit=1)
        owner, friend = await make_customer(), await make_customer()
        coupon = (await claim(batch, owner)).coupon
        await claim(batch, friend)
        token = (await _share(coupon, owner)).share.token
        with pytest.raises(PerCustomerLimitReached):
            await _accept(token, friend)

    async def test_a_replayed_share_and_accept_return_the_first_answer(self):
        coupon, owner = await _owned()
        friend = await make_customer()
        first = await _share(coupon, owner, request="app:s1")
        assert (await _share(coupon, owner, request="app:s1")).share.token == first.share.token
        accepted = await _accept(first.share.token, friend, request="app:a1")
        again = await _accept(first.share.token, friend, request="app:a1")
        assert again.transition.replayed and again.transition.entry.id == accepted.transition.entry.id


class TestWhatASharedCouponCannotDo:
    async def test_a_coupon_with_a_pending_link_cannot_be_redeemed_locked_or_shared_again(self):
        coupon, owner = await _owned()
        await _share(coupon, owner)
        store = await make_store()
        with pytest.raises(CouponBeingGifted):
            async with transaction():
                await redemptions.redeem(code=coupon.code, store_id=store.id, channel="store", spend_fen=1000,
                                         request_id=request_id(), actor=OPS, now=NOW + HOUR)
        with pytest.raises(CouponBeingGifted):
            async with transaction():
                await locks.lock(code=coupon.code, holder="T-1", ttl_minutes=5, request_id=request_id(), actor=OPS,
                                 now=NOW + HOUR)
        with pytest.raises(CouponBeingGifted):
            await _share(coupon, owner, now=NOW + HOUR)

    async def test_a_non_transferable_coupon_cannot_be_shared(self):
        coupon, owner = await _owned(transferable=False)
        with pytest.raises(CouponNotTransferable):
            await _share(coupon, owner)

    async def test_only_the_owner_can_share(self):
        coupon, _ = await _owned()
        with pytest.raises(NotTheOwner):
            await _share(coupon, await make_customer())


class TestApi:
    async def test_share_accept_and_a_second_accept_over_http(self, client):
        coupon, owner = await _owned(now=datetime.now(timezone.utc))  # the API runs on the wall clock
        friend = await make_customer()
        app = {**await make_key(role=Role.CARRIER_APP), "Idempotency-Key": "share-1"}
        shared = await client.post(f"/api/v1/coupons/codes/{coupon.code}/shares", headers=app,
                                   json={"customer_id": owner.id})
        assert shared.status_code == 201, shared.text
        assert (shared.json()["status"], shared.json()["entry"]["operation"]) == ("pending", "gift")
        again = await client.post(f"/api/v1/coupons/codes/{coupon.code}/shares", headers=app,
                                  json={"customer_id": owner.id})
        assert again.json() == shared.json()
        token = shared.json()["token"]
        app = await make_key(role=Role.CARRIER_APP)
        accepted = await client.post(f"/api/v1/coupons/shares/{token}/accept", headers=app,
                                     json={"customer_id": friend.id})
        assert accepted.status_code == 200, accepted.text
        assert (accepted.json()["status"], accepted.json()["coupon"]["owner_id"]) == ("accepted", friend.id)
        second = await client.post(f"/api/v1/coupons/shares/{token}/accept", headers=app,
                                   json={"customer_id": (await make_customer()).id})
        assert second.status_code == 409
        revoked = await client.post(f"/api/v1/coupons/shares/{token}/revoke", headers=app,
                                    json={"customer_id": owner.id})
        assert revoked.status_code == 409
        unknown = await client.post(f"/api/v1/coupons/shares/{'x' * 32}/accept", headers=app,
                                    json={"customer_id": friend.id})
        assert unknown.status_code == 404
