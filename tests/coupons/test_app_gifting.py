from datetime import UTC, datetime, timedelta

from coupons.codes import new_code
from coupons.gifting.models import CouponShare, ShareStatus
from coupons.models import Coupon, CouponLedger, CouponState
from hub.auth.models import Role
from hub.customers.models import Customer, Identity, IdentityKind
from hub.events.models import Event, EventType
from tests.coupons.helpers import claim, issue, make_batch
from tests.envs import settings_env
from tests.factories import make_key


async def _app_user(app_user_id: str) -> Customer:
    customer = await Customer.create()
    await Identity.create(customer=customer, kind=IdentityKind.APP_USER, value=app_user_id)
    return customer


def _url(app_user_id: str, rest: str) -> str:
    return f"/api/v1/app/users/{app_user_id}/{rest}"


async def _wallet(client, headers, app_user_id: str) -> list[tuple[str, str, int | None]]:
    response = await client.get(_url(app_user_id, "coupons"), headers=headers)
    assert response.status_code == 200, response.text
    return [(c["code"], c["state"], c["owner_id"]) for c in response.json()["coupons"]]


async def _issued_to(customer: Customer) -> Coupon:
    """A coupon issued (unclaimed) to ``customer`` now: the API runs on the wall clock."""
    return (await issue(await make_batch(), customer, now=datetime.now(UTC))).coupon


async def _post_twice(client, url: str, headers: dict, **kwargs):
    """The same write sent twice with one Idempotency-Key; both answers."""
    first = await client.post(url, headers=headers, **kwargs)
    again = await client.post(url, headers=headers, **kwargs)
    return first, again


class TestTheFullFlow:
    async def test_issued_claimed_shared_and_accepted_moves_the_coupon_between_two_app_wallets(self, client):
        giver = await _app_user("u-giver")
        ops = await make_key(role=Role.OPS)
        batch = await make_batch(valid_days=30)
        issued = await client.post(f"/api/v1/coupons/batches/{batch.id}/issues", headers=ops,
                                   json={"customer_id": giver.id, "channel": "wecom"})
        assert issued.status_code == 201, issued.text
        code = issued.json()["coupon"]["code"]
        app = await make_key(role=Role.CARRIER_APP)
        assert await _wallet(client, app, "u-giver") == [(code, "issued", giver.id)]

        first, again = await _post_twice(client, _url("u-giver", f"coupons/{code}/claim"),
                                         {**app, "Idempotency-Key": "claim-0001"})
        assert first.status_code == again.status_code == 200, first.text
        assert again.json() == first.json()
        assert (first.json()["entry"]["operation"], first.json()["entry"]["channel"],
                first.json()["coupon"]["state"]) == ("claim", "app", "claimed")
        assert await CouponLedger.filter(operation="claim").count() == 1

        with settings_env({"HUB_PUBLIC_BASE_URL": "https://hub.example.cn/"}):
            shared, again = await _post_twice(client, _url("u-giver", f"coupons/{code}/shares"),
                                              {**app, "Idempotency-Key": "share-0001"}, json={"ttl_hours": 2})
        assert shared.status_code == again.status_code == 201, shared.text
        assert again.json() == shared.json()
        token = shared.json()["token"]
        assert shared.json()["url"] == f"https://hub.example.cn/s/gifts/{token}"
        assert shared.json()["status"] == "pending"
        link = await CouponShare.get(token=token)
        assert datetime.fromisoformat(shared.json()["expires_at"]) == link.expires_at
        assert timedelta(hours=1, minutes=59) < link.expires_at - link.created_at <= timedelta(hours=2)
        assert await CouponShare.all().count() == 1

        # The friend is new to the hub: accepting makes their customer, as a first claim does.
        accepted, again = await _post_twice(client, _url("u-friend", f"shares/{token}/accept"),
                                            {**app, "Idempotency-Key": "accept-0001"})
        assert accepted.status_code == again.status_code == 200, accepted.text
        assert again.json() == accepted.json()
        friend = await Identity.get(kind=IdentityKind.APP_USER, value="u-friend")
        assert friend.verified is False
        assert (accepted.json()["status"], accepted.json()["to_customer_id"],
                accepted.json()["coupon"]["owner_id"]) == ("accepted", friend.customer_id, friend.customer_id)
        assert await _wallet(client, app, "u-giver") == []
        new_code = accepted.json()["coupon"]["code"]  # a new code: the giver saw the old one
        assert new_code != code
        assert await _wallet(client, app, "u-friend") == [(new_code, "claimed", friend.customer_id)]
        coupon = await Coupon.get(code=new_code)
        assert [r.operation.value for r in await CouponLedger.filter(coupon_id=coupon.id).order_by("id")] == [
            "issue", "claim", "gift", "accept"]

        # The friend's accept is their claim in the funnel, once despite the replay.
        claims = await Event.filter(type=EventType.CLAIM).order_by("id")
        assert [(e.customer_id, e.props["operation"]) for e in claims] == [
            (giver.id, "claim"), (friend.customer_id, "accept")]
        assert (claims[1].props["share_id"], claims[1].props["from_customer_id"],
                claims[1].props["coupon_id"]) == (link.id, giver.id, coupon.id)

    async def test_a_revoked_link_gives_the_coupon_back_to_share_again(self, client):
        giver = await _app_user("u-giver")
        coupon = (await claim(await make_batch(), giver, now=datetime.now(UTC))).coupon
        app = await make_key(role=Role.CARRIER_APP)
        shared = await client.post(_url("u-giver", f"coupons/{coupon.code}/shares"), headers=app)
        assert shared.status_code == 201, shared.text
        assert shared.json()["expires_at"]  # no body: the default time to live
        token = shared.json()["token"]

        revoked, again = await _post_twice(client, _url("u-giver", f"shares/{token}/revoke"),
                                           {**app, "Idempotency-Key": "revoke-0001"})
        assert revoked.status_code == again.status_code == 200, revoked.text
        assert again.json() == revoked.json()
        assert (revoked.json()["status"], revoked.json()["entry"]["operation"]) == ("revoked", "revoke_gift")
        assert await CouponLedger.filter(operation="revoke_gift").count() == 1

        too_late = await client.post(_url("u-friend", f"shares/{token}/accept"), headers=app)
        assert too_late.status_code == 409, too_late.text
        assert await _wallet(client, app, "u-giver") == [(coupon.code, "claimed", giver.id)]
        assert (await client.post(_url("u-giver", f"coupons/{coupon.code}/shares"), headers=app)).status_code == 201


class TestWhoMayAct:
    async def test_another_app_user_cannot_claim_share_or_revoke_the_owners_coupon(self, client):
        owner, stranger = await _app_user("u-owner"), await _app_user("u-stranger")
        app = await make_key(role=Role.CARRIER_APP)
        issued = await _issued_to(owner)
        refused = await client.post(_url("u-stranger", f"coupons/{issued.code}/claim"), headers=app)
        assert refused.status_code == 403, refused.text
        claimed = (await claim(await make_batch(), owner, now=datetime.now(UTC))).coupon
        refused = await client.post(_url("u-stranger", f"coupons/{claimed.code}/shares"), headers=app)
        assert refused.status_code == 403, refused.text
        token = (await client.post(_url("u-owner", f"coupons/{claimed.code}/shares"), headers=app)).json()["token"]
        refused = await client.post(_url("u-stranger", f"shares/{token}/revoke"), headers=app)
        assert refused.status_code == 403, refused.text
        assert refused.json()["title"] == "The coupon belongs to another customer"
        own = await client.post(_url("u-owner", f"shares/{token}/accept"), headers=app)
        assert own.status_code == 409, own.text
        assert (await Coupon.get(id=issued.id)).state == CouponState.ISSUED
        assert (await CouponShare.get(token=token)).status == ShareStatus.PENDING
        assert stranger.id not in await Coupon.all().values_list("owner_id", flat=True)

    async def test_an_unknown_app_user_is_a_404_naming_the_app_user_id_and_nothing_is_created(self, client):
        owner = await _app_user("u-owner")
        app = await make_key(role=Role.CARRIER_APP)
        issued = await _issued_to(owner)
        claimed = (await claim(await make_batch(), owner, now=datetime.now(UTC))).coupon
        token = (await client.post(_url("u-owner", f"coupons/{claimed.code}/shares"), headers=app)).json()["token"]
        for n, rest in enumerate((f"coupons/{issued.code}/claim", f"coupons/{claimed.code}/shares",
                                  f"shares/{token}/revoke")):
            response = await client.post(_url("never-seen", rest), headers={**app, "Idempotency-Key": f"unknown-{n}"})
            assert response.status_code == 404, (rest, response.text)
            assert response.json()["errors"][0]["field"] == "app_user_id", response.text
        assert await Customer.all().count() == 1
        assert (await CouponShare.get(token=token)).status == ShareStatus.PENDING

    async def test_unknown_codes_and_tokens_are_404s_and_a_mistyped_code_a_422(self, client):
        await _app_user("u-owner")
        app = await make_key(role=Role.CARRIER_APP)
        unknown_token = "x" * 32
        for rest in (f"coupons/{new_code()}/claim", f"coupons/{new_code()}/shares", f"shares/{unknown_token}/revoke",
                     f"shares/{unknown_token}/accept"):
            response = await client.post(_url("u-owner", rest), headers=app)
            assert response.status_code == 404, (rest, response.text)
        code = new_code()
        typo = code[:-1] + ("0" if code[-1] != "0" else "1")
        mistyped = await client.post(_url("u-owner", f"coupons/{typo}/claim"), headers=app)
        assert mistyped.status_code == 422 and mistyped.json()["errors"][0]["field"] == "code", mistyped.text
        assert await Customer.all().count() == 1  # a refused accept leaves no new customer behind

    async def test_only_the_carrier_app_may_call(self, client):
        owner = await _app_user("u-owner")
        coupon = (await claim(await make_batch(), owner, now=datetime.now(UTC))).coupon
        for role in (Role.OPS, Role.ADMIN, Role.STRATEGY_ENGINE):
            headers = await make_key(role=role)
            response = await client.post(_url("u-owner", f"coupons/{coupon.code}/shares"), headers=headers)
            assert response.status_code == 403, role
        assert await CouponShare.all().count() == 0


async def test_malformed_requests_are_a_422_naming_the_field(client):
    app = await make_key(role=Role.CARRIER_APP)
    cases = [
        (_url("u 1", f"coupons/{new_code()}/claim"), None, "path.app_user_id"),
        (_url("u-1", "coupons/bad%00code/claim"), None, "path.code"),
        (_url("u-1", f"coupons/{new_code()}/shares"), {"ttl_hours": 0}, "ttl_hours"),
        (_url("u-1", f"coupons/{new_code()}/shares"), {"ttl_hours": 10_000}, "ttl_hours"),
        (_url("u-1", "shares/short/accept"), None, "path.token"),
        (_url("u-1", f"shares/{'x' * 65}/revoke"), None, "path.token"),
    ]
    for url, body, field in cases:
        response = await client.post(url, json=body, headers=app)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["errors"][0]["field"] == field, response.text
    assert await Customer.all().count() == 0


async def test_the_shared_junk_never_gets_a_500(client):
    from tests.hub.test_no_server_errors import BAD_BODIES, BAD_PATH_VALUES, BAD_VALUES

    owner = await _app_user("u-1")
    app = await make_key(role=Role.CARRIER_APP)
    coupon = (await claim(await make_batch(), owner, now=datetime.now(UTC))).coupon
    token = "y" * 32
    urls = [_url(v, f"coupons/{coupon.code}/{action}") for v in BAD_PATH_VALUES for action in ("claim", "shares")]
    urls += [_url("u-1", f"coupons/{v}/{action}") for v in BAD_PATH_VALUES for action in ("claim", "shares")]
    urls += [_url("u-1", f"shares/{v}/{action}") for v in BAD_PATH_VALUES for action in ("accept", "revoke")]
    urls += [_url(v, f"shares/{token}/{action}") for v in BAD_PATH_VALUES for action in ("accept", "revoke")]
    requests = [(url, None) for url in urls]
    requests += [(_url("u-1", f"coupons/{coupon.code}/shares"), body) for body in BAD_BODIES]
    requests += [(_url("u-1", f"coupons/{coupon.code}/shares"), {"ttl_hours": v}) for v in BAD_VALUES]
    failures = []
    for url, body in requests:
        try:
            response = await client.post(url, json=body, headers=app)
        except ValueError:  # httpx refuses to send some values: nothing reached the app
            continue
        if response.status_code >= 500:
            failures.append(f"{url} {body} -> {response.status_code}")
    assert failures == []
