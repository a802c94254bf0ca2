"""Issuing a batch to a list of customers by job, for an offer: every customer gets one outcome, once."""

from coupons.issue_runs import service as issue_runs
from coupons.issue_runs.models import CouponIssueResult, IssueRunStatus
from coupons.issue_runs.service import ISSUED
from coupons.models import BatchStatus, Coupon, CouponState
from hub.auth.models import Role
from hub.outbox.models import OutboxMessage
from tests.coupons.helpers import claim, make_batch, make_customer
from tests.factories import make_key, make_staff

URL = "/api/v1/coupons/batches/{}/issue-runs"


async def _start(client, batch, customer_ids, *, offer_ref="offer-1", key=None, **headers):
    key = key or await make_key(role=Role.STRATEGY_ENGINE)
    return await client.post(URL.format(batch.id), headers={**key, **headers},
                             json={"offer_ref": offer_ref, "channel": "wecom", "customer_ids": customer_ids})


async def test_each_customer_is_issued_once_or_skipped_with_the_reason(client, queue):
    batch = await make_batch(per_customer_limit=1)
    fresh = [(await make_customer()).id for _ in range(3)]
    holder = await make_customer()
    await claim(batch, holder)
    started = await _start(client, batch, [*fresh, holder.id, fresh[0], 999_999])
    assert started.status_code == 202, started.text
    assert started.json()["total"] == 5  # the repeated customer counts once
    await queue.drain()

    run = await client.get(f"/api/v1/coupons/issue-runs/{started.json()['id']}", headers=await make_key())
    assert run.json()["status"] == IssueRunStatus.DONE and run.json()["finished_at"] is not None
    # Codes a program can branch on, not English titles.
    assert run.json()["outcomes"] == {ISSUED: 3, "per_customer_limit_reached": 1, "customer_not_found": 1}
    issued = await Coupon.filter(owner_id__in=fresh)
    assert sorted(c.owner_id for c in issued) == sorted(fresh)
    assert {c.state for c in issued} == {CouponState.ISSUED}


async def test_a_redelivered_chunk_and_a_repeated_offer_issue_nothing_twice(client, queue):
    batch = await make_batch()
    customers = [(await make_customer()).id for _ in range(2)]
    first = (await _start(client, batch, customers)).json()
    await queue.drain()
    [message] = await OutboxMessage.filter(topic=issue_runs.TOPIC)
    await issue_runs.issue_chunk(message)
    again = await _start(client, batch, [customers[1], customers[0], customers[1]])  # the same list
    await queue.drain()

    assert again.status_code == 202 and again.json()["id"] == first["id"] and again.json()["total"] == 2
    assert await Coupon.all().count() == 2
    assert await CouponIssueResult.filter(run_id=first["id"]).count() == 2


async def test_the_same_offer_ref_for_another_list_is_a_409_naming_the_run(client, queue):
    batch = await make_batch()
    customers = [(await make_customer()).id for _ in range(2)]
    first = (await _start(client, batch, customers)).json()
    other = await _start(client, batch, [*customers, (await make_customer()).id])
    assert other.status_code == 409, other.text
    assert f"already started issue run {first['id']}" in other.json()["detail"]
    await queue.drain()
    assert await Coupon.all().count() == 2


async def test_a_long_list_is_split_into_chunks_and_stops_at_the_stock(client, queue):
    batch = await make_batch(total_quantity=250)
    customers = [(await make_customer()).id for _ in range(issue_runs.CHUNK + 100)]
    started = await _start(client, batch, customers)
    await queue.drain()

    assert await OutboxMessage.filter(topic=issue_runs.TOPIC).count() == 2
    run = await client.get(f"/api/v1/coupons/issue-runs/{started.json()['id']}", headers=await make_key())
    assert run.json()["outcomes"] == {ISSUED: 250, "out_of_stock": 50}
    assert await Coupon.all().count() == 250


async def test_refusals_before_anything_is_stored(client):
    paused = await make_batch(status=BatchStatus.PAUSED)
    assert (await _start(client, paused, [(await make_customer()).id])).status_code == 409
    active = await make_batch()
    staff = await make_key(role=Role.STAFF, staff=await make_staff())
    assert (await _start(client, active, [1], key=staff)).status_code == 403
    empty = await _start(client, active, [])
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "customer_ids"
    assert await OutboxMessage.filter(topic=issue_runs.TOPIC).count() == 0
