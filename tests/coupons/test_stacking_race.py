"""Two coupons of one order redeemed at the same instant: redemptions with one order_ref queue for each other
(an advisory lock on PostgreSQL, the one connection on SQLite), so the stacking rule holds under a race."""

import asyncio

import pytest
from tortoise import Tortoise

from coupons.models import Coupon, CouponState
from coupons.redemptions import service as redemptions
from coupons.redemptions.service import NotStackable
from hub.database import dialect, transaction
from tests.coupons.helpers import NOW, OPS, claim, make_batch, make_customer, request_id
from tests.factories import make_store

ROUNDS = 20


async def _redeem(coupon: Coupon, store, order_ref: str):
    async with transaction():
        return await redemptions.redeem(code=coupon.code, store_id=store.id, channel="store", spend_fen=10_000,
                                        order_ref=order_ref, request_id=request_id(), actor=OPS, now=NOW)


async def _coupons_of_two_customers(*, stackable: tuple[bool, bool] = (False, False)) -> list[Coupon]:
    return [(await claim(await make_batch(stackable=s), await make_customer())).coupon for s in stackable]


async def _race(coupons: list[Coupon], store, order_ref: str) -> list:
    return await asyncio.gather(*(_redeem(c, store, order_ref) for c in coupons), return_exceptions=True)


async def _redeemed(coupons: list[Coupon]) -> list[int]:
    return await Coupon.filter(id__in=[c.id for c in coupons], state=CouponState.REDEEMED).values_list("id", flat=True)


async def test_two_non_stackable_coupons_of_one_order_redeemed_at_once_never_both_pass():
    store = await make_store()
    for round_no in range(ROUNDS):
        coupons = await _coupons_of_two_customers()
        results = await _race(coupons, store, f"ORDER-{round_no}")
        won = [r for r in results if not isinstance(r, Exception)]
        assert len(won) == 1, (dialect(), round_no, results)
        assert [type(r) for r in results if isinstance(r, Exception)] == [NotStackable], results
        assert await _redeemed(coupons) == [won[0].coupon.id]


async def test_a_stackable_and_a_non_stackable_coupon_never_both_pass_either():
    store = await make_store()
    for round_no in range(ROUNDS // 2):
        coupons = await _coupons_of_two_customers(stackable=(True, False))
        results = await _race(coupons, store, f"MIXED-{round_no}")
        assert sum(not isinstance(r, Exception) for r in results) == 1, results
        assert len(await _redeemed(coupons)) == 1


async def test_stackable_coupons_of_one_order_and_coupons_of_other_orders_all_pass_at_once():
    store = await make_store()
    stacked = await _coupons_of_two_customers(stackable=(True, True))
    apart = await _coupons_of_two_customers()
    results = await asyncio.gather(*(_redeem(c, store, "STACKED") for c in stacked),
                                   *(_redeem(c, store, f"APART-{n}") for n, c in enumerate(apart)),
                                   return_exceptions=True)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert len(await _redeemed(stacked + apart)) == 4


async def _advisory_locks_held(*, own: bool) -> int:
    """Advisory locks of this database held by the current connection (own) or by any connection."""
    where = ("pid = pg_backend_pid()" if own
             else "database = (SELECT oid FROM pg_database WHERE datname = current_database())")
    rows = await Tortoise.get_connection("default").execute_query_dict(
        f"SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND {where}")
    return rows[0]["n"]


async def test_a_second_redemption_of_the_order_waits_for_the_first_transaction_to_end():
    """On PostgreSQL by the order's advisory lock, held by the redeeming transaction alone; on SQLite by the
    one connection running one transaction at a time."""
    postgres = dialect() == "postgres"
    store = await make_store()
    coupon, other = await _coupons_of_two_customers()
    go = asyncio.Event()

    async def redeem_the_other():
        await go.wait()
        return await _redeem(other, store, "HELD")

    waiting = asyncio.ensure_future(redeem_the_other())  # made outside the transaction, so it has its own
    async with transaction():
        await redemptions.redeem(code=coupon.code, store_id=store.id, channel="store", spend_fen=10_000,
                                 order_ref="HELD", request_id=request_id(), actor=OPS, now=NOW)
        if postgres:
            assert await _advisory_locks_held(own=True) == 1
        go.set()  # another redemption of the order waits for this transaction instead of reading around it
        await asyncio.sleep(0.3)
        assert not waiting.done()
    with pytest.raises(NotStackable):
        await waiting
    if postgres:
        assert await _advisory_locks_held(own=False) == 0  # released by the commit and the rollback
