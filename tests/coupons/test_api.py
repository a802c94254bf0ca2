from coupons.models import BatchStatus, Coupon, CouponBatch, CouponLedger, CouponState
from hub.auth.models import Role
from tests.coupons.helpers import make_batch, make_customer
from tests.factories import make_key, make_staff, make_store

BATCH = {"name": "满50减10", "kind": "threshold", "face_value_fen": 1000, "min_spend_fen": 5000,
         "total_quantity": 100, "valid_days": 30, "channels": ["store", "app"]}


async def _claim(client, batch_id, customer_id, headers=None):
    headers = headers or await make_key(role=Role.CARRIER_APP)
    return await client.post(f"/api/v1/coupons/batches/{batch_id}/claims", headers=headers,
                             json={"customer_id": customer_id, "channel": "app"})


async def _claimed_code(client, **batch_fields) -> str:
    claimed = await _claim(client, (await make_batch(**batch_fields)).id, (await make_customer()).id)
    return claimed.json()["coupon"]["code"]


class TestBatches:
    async def test_drafted_by_one_ops_key_approved_by_another_then_active(self, client):
        author, other = await make_key(role=Role.OPS), await make_key(role=Role.OPS)
        created = await client.post("/api/v1/coupons/batches", json=BATCH, headers=author)
        assert created.status_code == 201, created.text
        batch_id = created.json()["id"]
        own = await client.post(f"/api/v1/coupons/batches/{batch_id}/approve", headers=author)
        assert own.status_code == 403 and own.headers["content-type"] == "application/problem+json"
        # One rule with campaigns: a sign-off is ops' alone; admin manages keys.
        admin = await client.post(f"/api/v1/coupons/batches/{batch_id}/approve",
                                  headers=await make_key(role=Role.ADMIN))
        assert admin.status_code == 403, admin.text
        approved = await client.post(f"/api/v1/coupons/batches/{batch_id}/approve", headers=other)
        assert approved.json()["status"] == "approved"
        active = await client.post(f"/api/v1/coupons/batches/{batch_id}/activate", headers=author)
        assert active.json()["status"] == "active"
        again = await client.post(f"/api/v1/coupons/batches/{batch_id}/activate", headers=author)
        assert again.status_code == 409
        assert again.json()["detail"].endswith("only an approved batch can be activated"), again.text
        listed = await client.get("/api/v1/coupons/batches", params={"status": "active"}, headers=other)
        assert [b["id"] for b in listed.json()["items"]] == [batch_id]

    async def test_a_staff_key_cannot_draft(self, client):
        staff = await make_key(role=Role.STAFF, staff=await make_staff())
        response = await client.post("/api/v1/coupons/batches", json=BATCH, headers=staff)
        assert response.status_code == 403
        assert await CouponBatch.all().count() == 0

    async def test_inconsistent_rules_answer_a_problem_naming_the_field(self, client):
        response = await client.post("/api/v1/coupons/batches", headers=await make_key(),
                                     json={**BATCH, "min_spend_fen": 500})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "min_spend_fen"

    async def test_a_stale_quantity_change_is_a_409_and_changes_nothing(self, client):
        batch = await make_batch(total_quantity=100)
        ops = await make_key()
        url = f"/api/v1/coupons/batches/{batch.id}/quantity"
        assert (await client.post(url, headers=ops, json={"expected": 100, "total_quantity": 120})).status_code == 200
        stale = await client.post(url, headers=ops, json={"expected": 100, "total_quantity": 90})
        assert stale.status_code == 409
        assert (await CouponBatch.get(id=batch.id)).total_quantity == 120


class TestClaimAndRedeem:
    async def test_claim_redeem_at_the_staffs_store_cancel_and_wallet(self, client):
        store = await make_store()
        batch = await make_batch(store_ids=[store.id], min_spend_fen=0)
        customer = await make_customer()
        claimed = await _claim(client, batch.id, customer.id)
        assert claimed.status_code == 201, claimed.text
        code = claimed.json()["coupon"]["code"]
        assert claimed.json()["entry"]["to_state"] == "claimed"

        staff_key = await make_key(role=Role.STAFF, staff=await make_staff(store=store))
        redeemed = await client.post("/api/v1/coupons/redemptions", headers=staff_key,
                                     json={"code": code, "spend_fen": 8000, "order_ref": "T-1"})
        assert redeemed.status_code == 200, redeemed.text
        assert redeemed.json()["entry"]["amount_fen"] == 500
        assert redeemed.json()["coupon"]["redeemed_store_id"] == store.id
        assert redeemed.json()["entry"]["staff_id"] is not None

        pos = await make_key(role=Role.POS, store=store)
        without_order = await client.post("/api/v1/coupons/redemptions/cancel", headers=pos, json={"code": code})
        assert without_order.status_code == 422 and without_order.json()["errors"][0]["field"] == "order_ref"
        cancelled = await client.post("/api/v1/coupons/redemptions/cancel", headers=pos,
                                      json={"code": code, "order_ref": "T-1"})
        assert cancelled.json()["coupon"]["state"] == "claimed", cancelled.text

        wallet = await client.get(f"/api/v1/coupons/wallets/{customer.id}", headers=await make_key())
        assert [c["code"] for c in wallet.json()["coupons"]["claimed"]] == [code]
        history = await client.get(f"/api/v1/coupons/codes/{code}", headers=await make_key())
        assert [e["operation"] for e in history.json()["ledger"]] == ["claim", "redeem", "cancel_redemption"]

    async def test_a_staff_key_cannot_redeem_for_another_store(self, client):
        coupon_code = await _claimed_code(client)
        staff_key = await make_key(role=Role.STAFF, staff=await make_staff())
        other_store = await make_store()
        response = await client.post("/api/v1/coupons/redemptions", headers=staff_key,
                                     json={"code": coupon_code, "spend_fen": 100, "store_id": other_store.id})
        assert response.status_code == 403
        assert await CouponLedger.filter(operation="redeem").count() == 0

    async def test_a_pos_key_without_a_store_must_name_one(self, client):
        coupon_code = await _claimed_code(client)
        pos = await make_key(role=Role.POS)
        for body in ({"code": coupon_code, "spend_fen": 100}, {"code": coupon_code, "spend_fen": 100, "store_id": 999}):
            response = await client.post("/api/v1/coupons/redemptions", headers=pos, json=body)
            assert response.status_code == 422 and response.json()["errors"][0]["field"] == "store_id"
        store = await make_store()
        response = await client.post("/api/v1/coupons/redemptions", headers=pos,
                                     json={"code": coupon_code, "spend_fen": 100, "store_id": store.id})
        assert response.json()["coupon"]["redeemed_store_id"] == store.id

    async def test_a_replayed_redemption_with_the_same_key_gets_the_same_answer(self, client):
        store = await make_store()
        coupon_code = await _claimed_code(client)
        headers = {**await make_key(role=Role.POS, store=store), "Idempotency-Key": "till-7-0001"}
        body = {"code": coupon_code, "spend_fen": 9000}
        first = await client.post("/api/v1/coupons/redemptions", headers=headers, json=body)
        again = await client.post("/api/v1/coupons/redemptions", headers=headers, json=body)
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()
        assert await CouponLedger.filter(operation="redeem").count() == 1
        other = await client.post("/api/v1/coupons/redemptions", headers=headers, json={**body, "spend_fen": 1})
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"

    async def test_a_second_redemption_is_a_409_problem(self, client):
        store = await make_store()
        coupon_code = await _claimed_code(client)
        pos = await make_key(role=Role.POS, store=store)
        assert (await client.post("/api/v1/coupons/redemptions", headers=pos,
                                  json={"code": coupon_code, "spend_fen": 900})).status_code == 200
        second = await client.post("/api/v1/coupons/redemptions", headers=pos,
                                   json={"code": coupon_code, "spend_fen": 900})
        assert second.status_code == 409 and "redeemed" in second.json()["detail"]

    async def test_claiming_past_the_stock_is_a_409(self, client):
        batch = await make_batch(total_quantity=1)
        assert (await _claim(client, batch.id, (await make_customer()).id)).status_code == 201
        late = await _claim(client, batch.id, (await make_customer()).id)
        assert late.status_code == 409 and late.json()["title"] == "The coupon batch is out of stock"

    async def test_ops_return_a_coupon_after_a_refund_and_a_pos_cannot(self, client):
        store = await make_store()
        coupon_code = await _claimed_code(client)
        pos = await make_key(role=Role.POS, store=store)
        await client.post("/api/v1/coupons/redemptions", headers=pos,
                          json={"code": coupon_code, "spend_fen": 900, "order_ref": "O-1"})
        body = {"code": coupon_code, "order_ref": "O-1"}
        assert (await client.post("/api/v1/coupons/returns", headers=pos, json=body)).status_code == 403
        returned = await client.post("/api/v1/coupons/returns", headers=await make_key(), json=body)
        assert (returned.json()["entry"]["operation"], returned.json()["coupon"]["state"]) == ("return", "claimed")

    async def test_the_order_center_returns_the_coupon_of_an_order_it_refunded(self, client):
        store = await make_store()
        coupon_code = await _claimed_code(client)
        pos = await make_key(role=Role.POS, store=store)
        await client.post("/api/v1/coupons/redemptions", headers=pos,
                          json={"code": coupon_code, "spend_fen": 900, "order_ref": "O-2"})
        order_center = await make_key(role=Role.ORDER_CENTER)
        wrong = await client.post("/api/v1/coupons/returns", headers=order_center,
                                  json={"code": coupon_code, "order_ref": "O-9"})
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "order_ref"
        returned = await client.post("/api/v1/coupons/returns", headers=order_center,
                                     json={"code": coupon_code, "order_ref": "O-2"})
        assert returned.status_code == 200 and returned.json()["entry"]["actor_role"] == "order_center"
        # The order center returns coupons; it does not run batches.
        assert (await client.post("/api/v1/coupons/batches", headers=order_center, json=BATCH)).status_code == 403

    async def test_void_by_ops(self, client):
        coupon_code = await _claimed_code(client)
        voided = await client.post(f"/api/v1/coupons/codes/{coupon_code}/void", headers=await make_key())
        assert voided.json()["coupon"]["state"] == "voided"
        assert (await Coupon.get(code=coupon_code)).state == CouponState.VOIDED

    async def test_a_draft_batch_cannot_be_claimed(self, client):
        batch = await make_batch(status=BatchStatus.DRAFT)
        response = await _claim(client, batch.id, (await make_customer()).id)
        assert response.status_code == 409


class TestLocks:
    async def test_the_pos_locks_then_redeems_with_its_transaction_and_others_are_refused(self, client):
        store = await make_store()
        code = await _claimed_code(client)
        pos = await make_key(role=Role.POS, store=store)
        locked = await client.post("/api/v1/coupons/locks", headers=pos, json={"code": code, "holder": "T-1"})
        assert locked.json()["coupon"]["state"] == "locked", locked.text
        app = await make_key(role=Role.CARRIER_APP)
        taken = await client.post("/api/v1/coupons/locks", headers=app, json={"code": code, "holder": "order-9"})
        assert taken.status_code == 409
        other = await client.post("/api/v1/coupons/redemptions", headers=pos,
                                  json={"code": code, "spend_fen": 900, "order_ref": "T-2"})
        assert other.status_code == 409
        redeemed = await client.post("/api/v1/coupons/redemptions", headers=pos,
                                     json={"code": code, "spend_fen": 900, "order_ref": "T-1"})
        assert redeemed.json()["entry"]["from_state"] == "locked", redeemed.text

    async def test_a_store_key_cannot_hold_a_coupon_not_valid_at_its_store(self, client):
        """From the hardening probe: a GZ001 till could hold a coupon only GZ002 takes, for up to two hours."""
        own, other = await make_store(), await make_store()
        code = await _claimed_code(client, store_ids=[own.id])
        refused = await client.post("/api/v1/coupons/locks", headers=await make_key(role=Role.POS, store=other),
                                    json={"code": code, "holder": "T-9"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "code"
        assert (await Coupon.get(code=code)).state == CouponState.CLAIMED
        held = await client.post("/api/v1/coupons/locks", headers=await make_key(role=Role.POS, store=own),
                                 json={"code": code, "holder": "T-1"})
        assert held.json()["coupon"]["state"] == "locked", held.text

    async def test_release_by_the_holder(self, client):
        code = await _claimed_code(client)
        app = await make_key(role=Role.CARRIER_APP)
        await client.post("/api/v1/coupons/locks", headers=app, json={"code": code, "holder": "order-1"})
        released = await client.post("/api/v1/coupons/locks/release", headers=app,
                                     json={"code": code, "holder": "order-1"})
        assert released.json()["coupon"]["state"] == "claimed", released.text
