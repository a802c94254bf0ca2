from datetime import UTC, datetime

from coupons.models import BatchStatus, Coupon, CouponLedger
from hub.auth.models import Role
from hub.customers import merge
from hub.customers.models import Customer, Identity, IdentityKind
from hub.database import transaction
from tests.coupons.helpers import NOW, claim, make_batch
from tests.factories import make_key, make_staff, make_store


async def _customer_with(kind: IdentityKind, value: str) -> Customer:
    customer = await Customer.create()
    await Identity.create(customer=customer, kind=kind, value=value)
    return customer


def _wallet_url(app_user_id: str) -> str:
    return f"/api/v1/app/users/{app_user_id}/coupons"


def _claims_url(app_user_id: str) -> str:
    return f"/api/v1/app/users/{app_user_id}/claims"


class TestWallet:
    async def test_a_merged_customer_shows_one_wallet_under_the_app_user_id(self, client):
        app_side = await _customer_with(IdentityKind.APP_USER, "u-100")
        wecom_side = await _customer_with(IdentityKind.WECOM_EXTERNAL, "wm-100")
        now = datetime.now(UTC)
        from_app = await claim(await make_batch(), app_side, now=now)
        from_wecom = await claim(await make_batch(), wecom_side, now=now, channel="wecom")
        app = await make_key(role=Role.CARRIER_APP)

        before = await client.get(_wallet_url("u-100"), headers=app)
        assert [c["code"] for c in before.json()["coupons"]] == [from_app.coupon.code]

        # The WeCom contact proves to be the app user: its customer merges into the app user's.
        async with transaction():
            await merge.link_identity(customer_id=wecom_side.id, kind=IdentityKind.APP_USER, value="u-100",
                                      verified=True)
        after = await client.get(_wallet_url("u-100"), headers=app)
        assert after.status_code == 200, after.text
        assert after.json()["customer_id"] == wecom_side.id
        assert [c["code"] for c in after.json()["coupons"]] == [from_wecom.coupon.code, from_app.coupon.code]

    async def test_the_state_filter_uses_the_state_a_coupon_is_really_in(self, client):
        customer = await _customer_with(IdentityKind.APP_USER, "u-200")
        lapsed = await claim(await make_batch(valid_days=30), customer, now=NOW)  # stored claimed, long lapsed
        fresh = await claim(await make_batch(), customer, now=datetime.now(UTC))
        app = await make_key(role=Role.CARRIER_APP)
        expired = await client.get(_wallet_url("u-200"), params={"state": "expired"}, headers=app)
        assert [(c["code"], c["state"]) for c in expired.json()["coupons"]] == [(lapsed.coupon.code, "expired")]
        claimed = await client.get(_wallet_url("u-200"), params={"state": "claimed"}, headers=app)
        assert [c["code"] for c in claimed.json()["coupons"]] == [fresh.coupon.code]

    async def test_an_unknown_app_user_has_an_empty_wallet_and_nothing_is_created(self, client):
        response = await client.get(_wallet_url("never-seen"), headers=await make_key(role=Role.CARRIER_APP))
        assert response.status_code == 200
        assert response.json() == {"app_user_id": "never-seen", "customer_id": None, "coupons": []}
        assert await Customer.all().count() == 0


class TestClaims:
    async def test_an_unknown_app_user_becomes_an_unverified_customer_holding_the_coupon(self, client):
        batch = await make_batch()
        response = await client.post(_claims_url("u-300"), json={"batch_id": batch.id},
                                     headers=await make_key(role=Role.CARRIER_APP))
        assert response.status_code == 201, response.text
        identity = await Identity.get(kind=IdentityKind.APP_USER, value="u-300")
        assert identity.verified is False
        coupon = await Coupon.get(code=response.json()["coupon"]["code"])
        assert coupon.owner_id == identity.customer_id
        assert (await CouponLedger.get(coupon_id=coupon.id)).channel == "app"

    async def test_a_replay_with_the_same_idempotency_key_gets_the_first_answer(self, client):
        batch, other = await make_batch(), await make_batch()
        headers = {**await make_key(role=Role.CARRIER_APP), "Idempotency-Key": "app-claim-0001"}
        first = await client.post(_claims_url("u-400"), json={"batch_id": batch.id}, headers=headers)
        again = await client.post(_claims_url("u-400"), json={"batch_id": batch.id}, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert await Coupon.all().count() == 1
        reused = await client.post(_claims_url("u-400"), json={"batch_id": other.id}, headers=headers)
        assert reused.status_code == 422 and reused.json()["errors"][0]["field"] == "Idempotency-Key"

    async def test_the_per_person_limit_counts_coupons_claimed_under_another_identity(self, client):
        batch = await make_batch(per_customer_limit=1)
        person = await _customer_with(IdentityKind.WECOM_EXTERNAL, "wm-500")
        await Identity.create(customer=person, kind=IdentityKind.APP_USER, value="u-500")
        await claim(batch, person, now=datetime.now(UTC), channel="wecom")
        response = await client.post(_claims_url("u-500"), json={"batch_id": batch.id},
                                     headers=await make_key(role=Role.CARRIER_APP))
        assert response.status_code == 409
        assert response.json()["title"] == "This customer already holds as many coupons of the batch as allowed"

    async def test_a_refused_claim_leaves_no_customer_behind(self, client):
        app = await make_key(role=Role.CARRIER_APP)
        draft = await make_batch(status=BatchStatus.DRAFT)
        assert (await client.post(_claims_url("u-600"), json={"batch_id": draft.id}, headers=app)).status_code == 409
        missing = await client.post(_claims_url("u-600"), json={"batch_id": draft.id + 1000}, headers=app)
        assert missing.status_code == 404
        assert await Customer.all().count() == 0


async def test_only_the_carrier_app_may_call(client):
    store = await make_store()
    batch = await make_batch()
    await _customer_with(IdentityKind.APP_USER, "u-700")
    for role, scope in ((Role.OPS, {}), (Role.ADMIN, {}), (Role.POS, {"store": store}),
                        (Role.STAFF, {"staff": await make_staff(store=store)}),
                        (Role.STORE_MANAGER, {"store": store}), (Role.STRATEGY_ENGINE, {})):
        headers = await make_key(role=role, **scope)
        assert (await client.get(_wallet_url("u-700"), headers=headers)).status_code == 403, role
        claimed = await client.post(_claims_url("u-700"), json={"batch_id": batch.id}, headers=headers)
        assert claimed.status_code == 403, role
    assert await Coupon.all().count() == 0


async def test_malformed_requests_are_a_422_naming_the_field(client):
    app = await make_key(role=Role.CARRIER_APP)
    cases = [
        ("GET", _wallet_url("a" * 129), None, {}, "path.app_user_id"),
        ("GET", _wallet_url("bad%00id"), None, {}, "path.app_user_id"),
        ("GET", _wallet_url("u-1"), None, {"state": "spent"}, "query.state"),
        ("POST", _claims_url("u 1"), {"batch_id": 1}, {}, "path.app_user_id"),
        ("POST", _claims_url("u-1"), {"batch_id": 0}, {}, "batch_id"),
        ("POST", _claims_url("u-1"), {"batch_id": 2**70}, {}, "batch_id"),
    ]
    for method, url, body, params, field in cases:
        response = await client.request(method, url, json=body, params=params, headers=app)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["errors"][0]["field"] == field, response.text


async def test_the_shared_junk_never_gets_a_500_from_a_carrier_app_key(client):
    """tests/hub/test_no_server_errors.py calls with human keys, which these routes refuse before reading
    the input; the same junk again with the one key they accept."""
    from tests.hub.test_no_server_errors import BAD_BODIES, BAD_PATH_VALUES, BAD_VALUES

    app = await make_key(role=Role.CARRIER_APP)
    batch = await make_batch()
    requests = [("GET", _wallet_url(v), {}, None) for v in BAD_PATH_VALUES]
    requests += [("POST", _claims_url(v), {}, {"batch_id": batch.id}) for v in BAD_PATH_VALUES]
    requests += [("GET", _wallet_url("u-1"), {"state": "" if v is None else str(v)[:2000]}, None) for v in BAD_VALUES]
    requests += [("POST", _claims_url("u-1"), {}, {"batch_id": v}) for v in BAD_VALUES]
    requests += [("POST", _claims_url("u-1"), {}, body) for body in BAD_BODIES]
    failures = []
    for method, url, params, body in requests:
        try:
            response = await client.request(method, url, params=params, json=body, headers=app)
        except ValueError:  # httpx refuses to send some values: nothing reached the app
            continue
        if response.status_code >= 500:
            failures.append(f"{method} {url} {params} {body} -> {response.status_code}")
    assert failures == []
