import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from coupons.claims.service import PerCustomerLimitReached
from coupons.gifting import service as gifting
from coupons.gifting.jobs import coupons_expire_lapsed_shares
from coupons.gifting.models import CouponShare, ShareStatus
from coupons.gifting.pending import CouponBeingGifted
from coupons.gifting.service import CouponNotTransferable, OwnShare, ShareNotPending
from coupons.issues.service import NotTheOwner
from coupons.locks import service as locks
from coupons.models import Coupon, CouponLedger
from coupons.redemptions import service as redemptions
from coupons.wallet import service as wallet
from hub.auth.models import Role
from hub.database import transaction
from hub.errors import HubError
from hub.events.models import Event, EventType
from hub.jobs.registry import PERIODIC
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
                                  "to_customer_id": friend.id, "code_before": coupon.code}

    async def test_the_coupon_gets_a_new_code_so_the_giver_cannot_use_it(self):
        coupon, owner = await _owned()
        token = (await _share(coupon, owner)).share.token
        accepted = await _accept(token, await make_customer())
        new_code = accepted.transition.coupon.code
        assert new_code != coupon.code and (await Coupon.get(id=coupon.id)).code == new_code
        store = await make_store()
        for code, refused in ((coupon.code, True), (new_code, False)):
            try:
                async with transaction():
                    await redemptions.redeem(code=code, store_id=store.id, channel="store", spend_fen=10_000,
                                             request_id=request_id(), actor=OPS, now=NOW + 2 * HOUR)
                assert not refused
            except redemptions.CouponNotFound:
                assert refused

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
        coupon, owner = await _owned(now=datetime.now(UTC))  # the API runs on the wall clock
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


class TestFunnel:
    async def test_an_accept_is_the_receivers_claim_naming_the_share_and_the_giver_once(self):
        coupon, owner = await _owned()
        friend = await make_customer()
        shared = await _share(coupon, owner)
        await _accept(shared.share.token, friend, request="app:f1")
        await _accept(shared.share.token, friend, request="app:f1")  # a replay adds no event
        events = await Event.filter(type=EventType.CLAIM).order_by("id")
        assert [(e.customer_id, e.props["operation"]) for e in events] == [(owner.id, "claim"), (friend.id, "accept")]
        assert events[1].props == {"coupon_id": coupon.id, "batch_id": coupon.batch_id, "operation": "accept",
                                   "store_id": None, "amount_fen": None, "share_id": shared.share.id,
                                   "from_customer_id": owner.id}
        assert events[1].occurred_at == NOW + HOUR

    async def test_a_refused_accept_records_no_event(self):
        coupon, owner = await _owned()
        token = (await _share(coupon, owner, ttl_hours=1)).share.token
        with pytest.raises(ShareNotPending):
            await _accept(token, await make_customer(), now=NOW + 2 * HOUR)
        assert await Event.filter(type=EventType.CLAIM).count() == 1  # the owner's own claim


class TestLapsedSharesJob:
    async def test_only_pending_shares_past_their_expiry_are_stored_expired_and_a_rerun_does_nothing(self):
        lapsed = [await _share(*await _owned(), ttl_hours=1) for _ in range(3)]
        waiting = await _share(*await _owned(), ttl_hours=72)
        accepted = await _share(*await _owned(), ttl_hours=1)
        await _accept(accepted.share.token, await make_customer(), now=NOW + HOUR / 2)
        coupon, owner = await _owned()
        revoked = await _share(coupon, owner, ttl_hours=1)
        await _revoke(revoked.share.token, owner, now=NOW + HOUR / 2)

        moved = []
        for _ in range(3):
            async with transaction():
                moved.append(await gifting.expire_lapsed(now=NOW + 2 * HOUR, limit=2))
        assert moved == [2, 1, 0]
        statuses = {s.id: (s.status, s.updated_at) for s in await CouponShare.all()}
        assert {statuses[g.share.id] for g in lapsed} == {(ShareStatus.EXPIRED, NOW + 2 * HOUR)}
        assert statuses[waiting.share.id][0] == ShareStatus.PENDING
        assert statuses[accepted.share.id][0] == ShareStatus.ACCEPTED
        assert statuses[revoked.share.id][0] == ShareStatus.REVOKED
        # Reads said expired before the job ran and still do; the coupons were free all along.
        assert {gifting.effective_status(await CouponShare.get(id=g.share.id), NOW + 2 * HOUR)
                for g in lapsed} == {ShareStatus.EXPIRED}

    async def test_the_periodic_job_runs_on_the_wall_clock(self):
        now = datetime.now(UTC)
        old = await _share(*await _owned(now=now - 3 * HOUR), now=now - 2 * HOUR, ttl_hours=1)
        fresh = await _share(*await _owned(now=now), now=now, ttl_hours=1)
        assert "coupons_expire_lapsed_shares" in PERIODIC
        assert await coupons_expire_lapsed_shares({}) == 1
        assert (await CouponShare.get(id=old.share.id)).status == ShareStatus.EXPIRED
        assert (await CouponShare.get(id=fresh.share.id)).status == ShareStatus.PENDING
        assert await coupons_expire_lapsed_shares({}) == 0
