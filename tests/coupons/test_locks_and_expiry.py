from datetime import timedelta

import pytest

from coupons.locks import service as locks
from coupons.locks.jobs import coupons_release_lapsed_locks
from coupons.locks.service import CouponNotLockable, NotTheLockHolder
from coupons.models import Coupon, CouponLedger, CouponState
from coupons.redemptions import service as redemptions
from coupons.redemptions.service import CouponLocked
from coupons.wallet import service as expiry
from coupons.wallet.jobs import coupons_expire
from hub import clock
from hub.database import transaction
from hub.jobs.registry import PERIODIC, load_job_modules
from tests.coupons.helpers import DAY, NOW, OPS, claim, ledger_states, make_batch, make_customer, request_id
from tests.factories import make_store

MINUTE = timedelta(minutes=1)


async def _claimed(**batch_fields) -> Coupon:
    return (await claim(await make_batch(**batch_fields), await make_customer())).coupon


async def _lock(coupon, holder="T-1", *, now=NOW, ttl_minutes=10):
    async with transaction():
        return await locks.lock(code=coupon.code, holder=holder, ttl_minutes=ttl_minutes, request_id=request_id(),
                                actor=OPS, now=now)


async def _redeem(coupon, *, order_ref, now=NOW):
    async with transaction():
        return await redemptions.redeem(code=coupon.code, store_id=(await make_store()).id, channel="store",
                                        spend_fen=1000, order_ref=order_ref, request_id=request_id(), actor=OPS,
                                        now=now)


class TestLocks:
    async def test_only_the_holder_redeems_a_locked_coupon(self):
        coupon = await _claimed()
        assert (await _lock(coupon)).coupon.lock_until == NOW + 10 * MINUTE
        with pytest.raises(CouponLocked):
            await _redeem(coupon, order_ref="T-2", now=NOW + MINUTE)
        redeemed = await _redeem(coupon, order_ref="T-1", now=NOW + MINUTE)
        assert (redeemed.entry.from_state, redeemed.coupon.state) == (CouponState.LOCKED, CouponState.REDEEMED)
        assert redeemed.coupon.lock_holder is None

    async def test_another_holder_cannot_lock_until_the_lock_runs_out(self):
        coupon = await _claimed()
        await _lock(coupon)
        with pytest.raises(CouponLocked):
            await _lock(coupon, "T-2", now=NOW + 9 * MINUTE)
        assert (await _lock(coupon, "T-2", now=NOW + 10 * MINUTE)).coupon.lock_holder == "T-2"

    async def test_a_lapsed_lock_reads_as_claimed_and_anyone_redeems_it(self):
        coupon = await _claimed()
        await _lock(coupon)
        assert (await _redeem(coupon, order_ref="T-9", now=NOW + 11 * MINUTE)).coupon.state == CouponState.REDEEMED

    async def test_the_holder_releases_and_nobody_else(self):
        coupon = await _claimed()
        await _lock(coupon)
        with pytest.raises(NotTheLockHolder):
            await locks.release(code=coupon.code, holder="T-2", request_id=request_id(), actor=OPS, now=NOW)
        async with transaction():
            released = await locks.release(code=coupon.code, holder="T-1", request_id=request_id(), actor=OPS, now=NOW)
        assert (released.coupon.state, released.coupon.lock_holder) == (CouponState.CLAIMED, None)

    async def test_a_redeemed_coupon_cannot_be_locked(self):
        coupon = await _claimed()
        await _redeem(coupon, order_ref="T-1")
        with pytest.raises(CouponNotLockable):
            await _lock(coupon)

    async def test_the_job_releases_lapsed_locks_once_and_expires_lapsed_coupons(self):
        held, lapsing = await _claimed(), await _claimed(valid_days=None, valid_from=NOW - DAY,
                                                         valid_until=NOW + 5 * MINUTE)
        fresh = await _claimed()
        await _lock(held)
        await _lock(lapsing)
        await _lock(fresh, now=NOW + 5 * MINUTE)
        async with transaction():
            assert await locks.release_lapsed(now=NOW + 10 * MINUTE) == 2
        async with transaction():
            assert await locks.release_lapsed(now=NOW + 10 * MINUTE) == 0
        states = [(await Coupon.get(id=c.id)).state for c in (held, lapsing, fresh)]
        assert states == [CouponState.CLAIMED, CouponState.EXPIRED, CouponState.LOCKED]
        assert await ledger_states(held.id) == [(None, "claimed"), ("claimed", "locked"), ("locked", "claimed")]


class TestExpiry:
    async def test_lapsed_coupons_are_expired_in_bulk_with_a_ledger_row_each(self):
        batch = await make_batch(per_customer_limit=10, valid_days=1)
        customer = await make_customer()
        coupons = [(await claim(batch, customer)).coupon for _ in range(3)]
        await _redeem(coupons[0], order_ref="T-1")
        later = await claim(batch, customer, now=NOW + DAY)
        async with transaction():
            assert await expiry.expire_lapsed(now=NOW + DAY, limit=1) == 1
        async with transaction():
            assert await expiry.expire_lapsed(now=NOW + DAY) == 1
        async with transaction():
            assert await expiry.expire_lapsed(now=NOW + DAY) == 0
        states = [(await Coupon.get(id=c.id)).state for c in [*coupons, later.coupon]]
        assert states == [CouponState.REDEEMED, CouponState.EXPIRED, CouponState.EXPIRED, CouponState.CLAIMED]
        assert await CouponLedger.filter(operation="expire", actor_role="system").count() == 2

    async def test_the_periodic_jobs_are_registered_and_work_through_every_chunk(self, monkeypatch):
        load_job_modules()
        assert {"coupons_expire", "coupons_release_lapsed_locks"} <= set(PERIODIC)
        monkeypatch.setattr("hub.jobs.chunks.CHUNK", 2)
        batch = await make_batch(per_customer_limit=10, valid_days=1)
        customer = await make_customer()
        for _ in range(5):
            await claim(batch, customer, now=NOW - 2 * DAY)
        assert await coupons_expire({}) == 5
        assert await coupons_release_lapsed_locks({}) == 0
        assert await Coupon.filter(state=CouponState.EXPIRED).count() == 5

    async def test_the_periodic_expiry_reads_the_one_clock(self):
        batch = await make_batch(per_customer_limit=10, valid_days=1)
        customer = await make_customer()
        for _ in range(2):
            await claim(batch, customer, now=NOW)
        with clock.frozen(NOW + DAY / 2):  # still valid then, though lapsed long ago in real time
            assert await coupons_expire({}) == 0
        with clock.frozen(NOW + 2 * DAY):
            assert await coupons_expire({}) == 2
        assert await Coupon.filter(state=CouponState.EXPIRED).count() == 2
