from datetime import UTC, datetime, timedelta

from coupons.ledger import Transition
from coupons.models import CouponLedger
from coupons.redemptions import service as redemptions
from hub.auth.models import Role
from hub.database import transaction
from hub.staff.models import Staff
from hub.stores.models import Store
from tests.coupons.helpers import DAY, NOW, OPS, claim, make_batch, make_customer, request_id
from tests.factories import make_key, make_staff, make_store

LIST_URL = "/api/v1/coupons/redemptions"
DAILY_URL = "/api/v1/coupons/redemptions/daily"


async def _happened_at(done: Transition, at: datetime) -> None:
    """The ledger stamps rows with the wall clock; put this one at the moment the test says it happened."""
    await CouponLedger.filter(id=done.entry.id).update(created_at=at)


async def _redeemed(store: Store, *, at: datetime = NOW, staff: Staff | None = None,
                    face_value_fen: int = 500) -> Transition:
    """A coupon claimed the day before and redeemed at ``store`` at ``at``, for its whole face value, by a
    till transaction of its own (coupons of one transaction would have to be stackable)."""
    claimed = await claim(await make_batch(face_value_fen=face_value_fen), await make_customer(), now=at - DAY)
    async with transaction():
        done = await redemptions.redeem(code=claimed.coupon.code, store_id=store.id,
                                        staff_id=staff.id if staff else None, channel="store", spend_fen=10_000,
                                        order_ref=f"T-{request_id()}", request_id=request_id(),
                                        actor=OPS, now=at)
    await _happened_at(done, at)
    return done


async def _redeemed_again(done: Transition, store: Store, *, at: datetime) -> Transition:
    async with transaction():
        again = await redemptions.redeem(code=done.coupon.code, store_id=store.id, channel="store", spend_fen=10_000,
                                         request_id=request_id(), actor=OPS, now=at)
    await _happened_at(again, at)
    return again


async def _cancelled(done: Transition, *, at: datetime) -> Transition:
    async with transaction():
        undone = await redemptions.cancel_redemption(code=done.coupon.code, store_id=done.entry.store_id,
                                                     request_id=request_id(), actor=OPS, now=at)
    await _happened_at(undone, at)
    return undone


async def _returned(done: Transition, *, at: datetime) -> Transition:
    async with transaction():
        undone = await redemptions.return_coupon(code=done.coupon.code, request_id=request_id(), actor=OPS, now=at)
    await _happened_at(undone, at)
    return undone


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


class TestRedemptionList:
    async def test_a_staff_key_sees_its_whole_store_and_never_another(self, client):
        store, other_store = await make_store(), await make_store()
        me, colleague = await make_staff(store=store), await make_staff(store=store)
        mine = await _redeemed(store, staff=me)
        theirs = await _redeemed(store, staff=colleague)
        await _redeemed(other_store)
        staff_key = await make_key(role=Role.STAFF, staff=me)
        assert _ids(await client.get(LIST_URL, headers=staff_key)) == [mine.entry.id, theirs.entry.id]
        assert _ids(await client.get(LIST_URL, params={"store_id": store.id}, headers=staff_key)) == [
            mine.entry.id, theirs.entry.id]
        asked = await client.get(LIST_URL, params={"store_id": other_store.id}, headers=staff_key)
        assert asked.status_code == 403 and asked.headers["content-type"] == "application/problem+json"

    async def test_a_store_manager_sees_only_its_store_and_ops_see_any(self, client):
        store, other_store = await make_store(), await make_store()
        here, there = await _redeemed(store), await _redeemed(other_store)
        manager = await make_key(role=Role.STORE_MANAGER, store=store)
        assert _ids(await client.get(LIST_URL, headers=manager)) == [here.entry.id]
        assert (await client.get(LIST_URL, params={"store_id": other_store.id}, headers=manager)).status_code == 403
        ops = await make_key(role=Role.OPS)
        assert _ids(await client.get(LIST_URL, headers=ops)) == [here.entry.id, there.entry.id]
        assert _ids(await client.get(LIST_URL, params={"store_id": other_store.id}, headers=ops)) == [there.entry.id]
        unknown = await client.get(LIST_URL, params={"store_id": other_store.id + 1000}, headers=ops)
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "query.store_id"

    async def test_pages_follow_the_keyset(self, client):
        store = await make_store()
        made = [(await _redeemed(store)).entry.id for _ in range(3)]
        manager = await make_key(role=Role.STORE_MANAGER, store=store)
        first = await client.get(LIST_URL, params={"limit": 2}, headers=manager)
        assert _ids(first) == made[:2] and first.json()["next_after"] == made[1]
        rest = await client.get(LIST_URL, params={"limit": 2, "after": made[1]}, headers=manager)
        assert _ids(rest) == made[2:] and rest.json()["next_after"] is None

    async def test_the_day_is_a_shanghai_day(self, client):
        store = await make_store()
        late = await _redeemed(store, at=datetime(2026, 7, 10, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai
        next_day = await _redeemed(store, at=datetime(2026, 7, 10, 16, 0, tzinfo=UTC))  # 00:00 on the 11th
        ops = await make_key(role=Role.OPS)
        assert _ids(await client.get(LIST_URL, params={"day": "2026-07-10"}, headers=ops)) == [late.entry.id]
        eleventh = await client.get(LIST_URL, params={"day": "2026-07-11"}, headers=ops)
        assert _ids(eleventh) == [next_day.entry.id]
        assert eleventh.json()["items"][0]["redeemed_at"] == "2026-07-11T00:00:00+08:00"

    async def test_each_redemption_shows_whether_it_was_undone(self, client):
        store = await make_store()
        first = await _redeemed(store, at=NOW)
        await _cancelled(first, at=NOW + timedelta(minutes=5))
        again = await _redeemed_again(first, store, at=NOW + timedelta(minutes=10))
        kept = await _redeemed(store, at=NOW + timedelta(minutes=20), face_value_fen=800)
        returned = await _redeemed(store, at=NOW + timedelta(minutes=30))
        await _returned(returned, at=NOW + 2 * DAY)
        items = (await client.get(LIST_URL, headers=await make_key(role=Role.OPS))).json()["items"]
        assert [(i["id"], i["undone_by"]) for i in items] == [
            (first.entry.id, "cancel_redemption"), (again.entry.id, None), (kept.entry.id, None),
            (returned.entry.id, "return")]
        assert items[0]["undone_at"] == "2026-07-10T12:05:00+08:00"
        assert items[2]["discount_fen"] == 800 and items[2]["code_tail"] == kept.coupon.code[-4:]
        assert kept.coupon.code not in str(items)


class TestDailyTotals:
    async def test_totals_per_shanghai_day_with_cancels_and_returns_apart(self, client):
        store, other_store = await make_store(), await make_store()
        tenth = datetime(2026, 7, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
        cancelled = await _redeemed(store, at=tenth, face_value_fen=300)
        await _cancelled(cancelled, at=tenth + timedelta(hours=1))
        returned = await _redeemed(store, at=tenth, face_value_fen=500)
        await _returned(returned, at=datetime(2026, 7, 11, 17, 0, tzinfo=UTC))  # 01:00 on the 12th
        await _redeemed(store, at=datetime(2026, 7, 9, 16, 30, tzinfo=UTC), face_value_fen=700)  # the 10th
        await _redeemed(other_store, at=tenth, face_value_fen=9000)
        manager = await make_key(role=Role.STORE_MANAGER, store=store)
        response = await client.get(DAILY_URL, params={"from": "2026-07-10", "to": "2026-07-12"}, headers=manager)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["store_id"], body["from"], body["to"]) == (store.id, "2026-07-10", "2026-07-12")
        figures = [(d["day"], d["redeemed"], d["redeemed_fen"], d["cancelled"], d["cancelled_fen"], d["returned"],
                    d["returned_fen"], d["net_fen"]) for d in body["days"]]
        assert figures == [
            ("2026-07-10", 3, 1500, 1, 300, 0, 0, 1200),
            ("2026-07-11", 0, 0, 0, 0, 0, 0, 0),
            ("2026-07-12", 0, 0, 0, 0, 1, 500, -500),
        ]

    async def test_who_may_ask_for_which_store(self, client):
        store, other_store = await make_store(), await make_store()
        await _redeemed(other_store, at=NOW)
        days = {"from": "2026-07-10", "to": "2026-07-10"}
        manager = await make_key(role=Role.STORE_MANAGER, store=store)
        asked = await client.get(DAILY_URL, params={**days, "store_id": other_store.id}, headers=manager)
        assert asked.status_code == 403
        staff = await make_key(role=Role.STAFF, staff=await make_staff(store=store))
        assert (await client.get(DAILY_URL, params=days, headers=staff)).status_code == 403
        ops = await make_key(role=Role.OPS)
        unnamed = await client.get(DAILY_URL, params=days, headers=ops)
        assert unnamed.status_code == 422 and unnamed.json()["errors"][0]["field"] == "query.store_id"
        named = await client.get(DAILY_URL, params={**days, "store_id": other_store.id}, headers=ops)
        assert named.json()["days"][0]["redeemed"] == 1

    async def test_the_range_is_bounded(self, client):
        manager = await make_key(role=Role.STORE_MANAGER, store=await make_store())
        quarter = await client.get(DAILY_URL, params={"from": "2026-01-01", "to": "2026-04-02"}, headers=manager)
        assert quarter.status_code == 200 and len(quarter.json()["days"]) == 92
        longer = await client.get(DAILY_URL, params={"from": "2026-01-01", "to": "2026-04-03"}, headers=manager)
        assert longer.status_code == 422 and longer.json()["errors"][0]["field"] == "query.from"
        backwards = await client.get(DAILY_URL, params={"from": "2026-07-10", "to": "2026-07-09"}, headers=manager)
        assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "query.to"


async def test_junk_query_parameters_are_a_422_naming_the_field(client):
    manager = await make_key(role=Role.STORE_MANAGER, store=await make_store())
    cases = [
        (LIST_URL, {"day": "2026-13-45"}, "query.day"),
        (LIST_URL, {"day": "9999-12-31"}, "query.day"),
        (LIST_URL, {"limit": "0"}, "query.limit"),
        (LIST_URL, {"after": "-1"}, "query.after"),
        (LIST_URL, {"store_id": "abc"}, "query.store_id"),
        (LIST_URL, {"store_id": str(2**70)}, "query.store_id"),
        (DAILY_URL, {"from": "x", "to": "2026-07-10"}, "query.from"),
        (DAILY_URL, {"from": "2026-07-10"}, "query.to"),
        (DAILY_URL, {"from": "0001-01-01", "to": "0001-01-02"}, "query.from"),
    ]
    for url, params, field in cases:
        response = await client.get(url, params=params, headers=manager)
        assert response.status_code == 422, (url, params, response.text)
        assert response.json()["errors"][0]["field"] == field, response.text
