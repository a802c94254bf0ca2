import asyncio
import os

from hub.auth.models import Role
from hub.customers import service
from hub.customers.models import ChannelConsent, Customer, Identity, IdentityKind
from hub.customers.phones import phone_hash
from hub.idempotency.models import IdempotencyRecord
from tests.factories import make_key, make_store

PHONE = "13800138000"
URL = "/api/v1/customers"


async def ops():
    return await make_key(role=Role.OPS)


async def make_customer(client, headers=None, **body):
    response = await client.post(URL, headers=headers or await ops(), json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def all_rows() -> list[dict]:
    return [*await Customer.all().values(), *await Identity.all().values(), *await ChannelConsent.all().values(),
            *await IdempotencyRecord.all().values()]


class TestPhonePrivacy:
    async def test_clear_number_is_never_stored(self, client):
        headers = {**await ops(), "Idempotency-Key": "c-1"}
        created = await make_customer(client, headers, phone="+86 138-0013-8000", display_name="张三")
        rows = await all_rows()
        assert rows and not any(PHONE in str(value) for row in rows for value in row.values())
        identity = await Identity.get(customer_id=created["id"])
        assert (identity.kind, identity.value, identity.verified) == ("phone_hash", phone_hash(PHONE), True)
        assert (await Customer.get(id=created["id"])).phone_masked == "138****8000"

    async def test_answers_show_the_masked_number_never_the_hash(self, client):
        created = await make_customer(client, phone=PHONE)
        body = (await client.get(f"{URL}/{created['id']}", headers=await ops())).text
        assert "138****8000" in body
        assert PHONE not in body and phone_hash(PHONE) not in body
        assert created["identities"] == [{**created["identities"][0], "kind": "phone_hash", "value": None,
                                          "masked": "138****8000", "verified": True}]

    async def test_lookup_by_phone_in_any_spelling(self, client):
        created = await make_customer(client, phone=PHONE)
        await make_customer(client, phone="13900139000")
        page = (await client.get(f"{URL}?phone=%2B86%20138-0013-8000", headers=await ops())).json()
        assert [c["id"] for c in page["items"]] == [created["id"]]
        assert (await service.find_by_phone(phone="0086 13800138000")).id == created["id"]
        assert (await client.get(f"{URL}?phone=13700137000", headers=await ops())).json()["items"] == []

    async def test_invalid_phone_is_422_naming_phone_and_writes_nothing(self, client):
        response = await client.post(URL, headers=await ops(), json={"phone": "12345"})
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["phone"]
        assert "12345" not in response.text
        assert await Customer.all().count() == 0
        assert (await client.get(f"{URL}?phone=12345", headers=await ops())).status_code == 422


class TestCreateCustomer:
    async def test_creates_with_identities_and_home_store(self, client):
        store = await make_store()
        created = await make_customer(client, display_name="李四", home_store_code=store.code,
                                      identities=[{"kind": "app_user", "value": "u-1", "verified": True},
                                                  {"kind": "wecom_external", "value": "wm-1"}])
        assert created["home_store_id"] == store.id and created["region_id"] == store.region_id
        assert created["phone_masked"] == "" and created["merged_into_id"] is None
        rows = await Identity.filter(customer_id=created["id"]).order_by("id").values_list("kind", "value", "verified")
        assert [tuple(r) for r in rows] == [("app_user", "u-1", True), ("wecom_external", "wm-1", False)]

    async def test_taken_identity_is_409_naming_field_and_owner_and_writes_nothing(self, client):
        first = await make_customer(client, identities=[{"kind": "unionid", "value": "union-1"}])
        response = await client.post(URL, headers=await ops(), json={
            "phone": "13900139000", "identities": [{"kind": "app_user", "value": "u-9"},
                                                   {"kind": "unionid", "value": "union-1"}]})
        assert response.status_code == 409
        problem = response.json()
        assert problem["errors"][0]["field"] == "identities[1].value"
        assert str(first["id"]) in problem["detail"]
        assert await Customer.all().count() == 1 and await Identity.all().count() == 1

    async def test_taken_phone_is_409_naming_phone(self, client):
        first = await make_customer(client, phone=PHONE)
        response = await client.post(URL, headers=await ops(), json={"phone": "138 0013 8000"})
        assert response.status_code == 409
        assert response.json()["errors"][0]["field"] == "phone" and str(first["id"]) in response.json()["detail"]
        assert await Customer.all().count() == 1

    async def test_bad_input_names_the_field(self, client):
        cases = [
            ({"identities": [{"kind": "phone_hash", "value": "abc"}]}, "identities[0].kind"),
            ({"identities": [{"kind": "pager", "value": "abc"}]}, "identities[0].kind"),
            ({"identities": [{"kind": "app_user", "value": "u"}, {"kind": "app_user", "value": "u"}]},
             "identities[1].value"),
            ({"region_code": "NOPE"}, "region_code"),
            ({"home_store_code": "NOPE"}, "home_store_code"),
            ({"display_name": "x" * 65}, "display_name"),
        ]
        for body, field in cases:
            response = await client.post(URL, headers=await ops(), json=body)
            assert response.status_code == 422, body
            assert response.json()["errors"][0]["field"] == field
        assert await Customer.all().count() == 0

    async def test_idempotent_create_returns_first_answer(self, client):
        headers = {**await make_key(role=Role.CARRIER_APP), "Idempotency-Key": "app-signup-7"}
        first = await client.post(URL, headers=headers, json={"phone": PHONE})
        respelled = await client.post(URL, headers=headers, json={"phone": "+86 138 0013 8000"})
        assert first.status_code == respelled.status_code == 201 and first.json() == respelled.json()
        other = await client.post(URL, headers=headers, json={"phone": PHONE, "display_name": "别人"})
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
        assert await Customer.all().count() == 1


class TestRoles:
    async def test_store_roles_may_not_touch_customers(self, client):
        store = await make_store()
        created = await make_customer(client, phone=PHONE)
        for role in (Role.STAFF, Role.STORE_MANAGER):
            headers = await make_key(role=role, store=store)
            assert (await client.get(URL, headers=headers)).status_code == 403
            assert (await client.get(f"{URL}/{created['id']}", headers=headers)).status_code == 403
            assert (await client.post(URL, headers=headers, json={})).status_code == 403
        assert await Customer.all().count() == 1

    async def test_carrier_app_creates_and_looks_up_by_identity_only(self, client):
        app = await make_key(role=Role.CARRIER_APP)
        created = await make_customer(client, app, identities=[{"kind": "app_user", "value": "u-1"}])
        page = (await client.get(f"{URL}?identity_kind=app_user&identity_value=u-1", headers=app)).json()
        assert [c["id"] for c in page["items"]] == [created["id"]]
        assert (await client.get(URL, headers=app)).status_code == 403
        assert (await client.get(f"{URL}/{created['id']}", headers=app)).status_code == 403
        link = await client.post(f"{URL}/{created['id']}/identities", headers=app,
                                 json={"phone": PHONE, "verified": True})
        assert link.status_code == 200 and link.json()["phone_masked"] == "138****8000"


class TestListCustomers:
    async def test_filters_by_store_region_and_do_not_disturb(self, client):
        store, other = await make_store(), await make_store()
        a = await make_customer(client, home_store_code=store.code)
        b = await make_customer(client, home_store_code=other.code)
        await Customer.filter(id=b["id"]).update(do_not_disturb=True)
        headers = await ops()

        async def ids(query):
            return [c["id"] for c in (await client.get(f"{URL}?{query}", headers=headers)).json()["items"]]

        assert await ids(f"home_store_id={store.id}") == [a["id"]]
        assert await ids(f"region_id={other.region_id}") == [b["id"]]
        assert await ids("do_not_disturb=true") == [b["id"]]
        assert await ids("identity_kind=unionid&identity_value=nobody") == []

    async def test_bad_filters_are_422(self, client):
        headers = await ops()
        for query in ("identity_kind=app_user", "identity_kind=phone_hash&identity_value=x",
                      "identity_kind=pager&identity_value=x", "identity_kind=app_user&identity_value=%00",
                      "home_store_id=99999999999", "region_id=0", "do_not_disturb=perhaps", "limit=501"):
            assert (await client.get(f"{URL}?{query}", headers=headers)).status_code == 422, query

    async def test_ids_are_bounded(self, client):
        headers = await ops()
        for path in ("99999999999999999999", "abc", "0"):
            assert (await client.get(f"{URL}/{path}", headers=headers)).status_code == 422
            response = await client.put(f"{URL}/{path}/do-not-disturb", headers=headers, json={"do_not_disturb": True})
            assert response.status_code == 422
        assert (await client.get(f"{URL}/9223372036854775807", headers=headers)).status_code == 404


async def put_channel(client, customer_id, channel, *, consent=True, dnd=False, source="test"):
    response = await client.put(f"{URL}/{customer_id}/channels/{channel}", headers=await ops(),
                                json={"consent": consent, "do_not_disturb": dnd, "source": source})
    assert response.status_code == 200, response.text
    return response.json()


class TestLinkIdentity:
    async def test_links_a_new_identity(self, client):
        created = await make_customer(client)
        response = await client.post(f"{URL}/{created['id']}/identities", headers=await ops(),
                                     json={"kind": "wecom_external", "value": "wm-1"})
        assert response.status_code == 200, response.text
        assert [(i["kind"], i["value"], i["verified"]) for i in response.json()["identities"]] == [
            ("wecom_external", "wm-1", False)]

    async def test_linking_a_phone_sets_the_masked_copy(self, client):
        created = await make_customer(client)
        response = await client.post(f"{URL}/{created['id']}/identities", headers=await ops(), json={"phone": PHONE})
        assert response.json()["phone_masked"] == "138****8000"
        assert (await service.find_by_phone(phone=PHONE)).id == created["id"]

    async def test_relinking_own_identity_verified_marks_it_verified(self, client):
        created = await make_customer(client, identities=[{"kind": "unionid", "value": "un-1"}])
        response = await client.post(f"{URL}/{created['id']}/identities", headers=await ops(),
                                     json={"kind": "unionid", "value": "un-1", "verified": True})
        assert response.json()["identities"][0]["verified"] is True
        assert await Identity.all().count() == 1

    async def test_unverified_link_to_another_customers_identity_is_409(self, client):
        owner = await make_customer(client, phone=PHONE)
        other = await make_customer(client)
        response = await client.post(f"{URL}/{other['id']}/identities", headers=await ops(),
                                     json={"phone": PHONE, "verified": False})
        assert response.status_code == 409
        assert response.json()["errors"][0]["field"] == "phone" and str(owner["id"]) in response.json()["detail"]
        assert (await Identity.get(kind="phone_hash")).customer_id == owner["id"]
        assert (await Customer.get(id=owner["id"])).merged_into_id is None

    async def test_ambiguous_or_incomplete_targets_are_422(self, client):
        created = await make_customer(client)
        for body, field in (({"phone": PHONE, "kind": "app_user", "value": "u"}, "phone"), ({"value": "u"}, "kind"),
                            ({"kind": "app_user"}, "value"), ({"kind": "phone_hash", "value": "ab"}, "kind"),
                            ({"phone": "999"}, "phone"), ({"kind": "pager", "value": "x"}, "kind")):
            response = await client.post(f"{URL}/{created['id']}/identities", headers=await ops(), json=body)
            assert response.status_code == 422, body
            assert response.json()["errors"][0]["field"] == field, body
        assert await Identity.all().count() == 0

    async def test_unknown_customer_is_404(self, client):
        response = await client.post(f"{URL}/777/identities", headers=await ops(), json={"phone": PHONE})
        assert response.status_code == 404
        assert await Identity.all().count() == 0


class TestVerifiedLinkMerges:
    async def _pair(self, client):
        """A survivor (app login) and an absorbed customer (phone, WeCom) with overlapping channels."""
        store = await make_store()
        survivor = await make_customer(client, identities=[{"kind": "app_user", "value": "u-1"}])
        absorbed = await make_customer(client, phone=PHONE, display_name="王五", home_store_code=store.code,
                                       identities=[{"kind": "wecom_external", "value": "wm-1"}])
        await put_channel(client, survivor["id"], "sms", consent=True, dnd=False, source="app")
        await put_channel(client, absorbed["id"], "sms", consent=False, dnd=False, source="call")
        await put_channel(client, survivor["id"], "wecom", consent=True, dnd=False)
        await put_channel(client, absorbed["id"], "wecom", consent=True, dnd=True)
        await put_channel(client, absorbed["id"], "call", consent=True, dnd=False, source="store")
        await Customer.filter(id=absorbed["id"]).update(do_not_disturb=True)
        return survivor["id"], absorbed["id"], store

    async def test_merge_moves_identities_and_keeps_the_strictest_consent(self, client):
        survivor_id, absorbed_id, store = await self._pair(client)
        response = await client.post(f"{URL}/{survivor_id}/identities", headers=await ops(),
                                     json={"phone": PHONE, "verified": True})
        assert response.status_code == 200, response.text
        body = response.json()
        assert sorted(i["kind"] for i in body["identities"]) == ["app_user", "phone_hash", "wecom_external"]
        assert await Identity.filter(customer_id=absorbed_id).count() == 0
        assert (await Identity.get(kind="phone_hash")).verified is True
        channels = {c["channel"]: (c["consent"], c["do_not_disturb"]) for c in body["channels"]}
        assert channels == {"sms": (False, False), "wecom": (True, True), "call": (True, False)}
        assert await ChannelConsent.filter(customer_id=absorbed_id).count() == 0
        survivor = await Customer.get(id=survivor_id)
        assert survivor.do_not_disturb is True
        assert (survivor.phone_masked, survivor.display_name, survivor.home_store_id) == (
            "138****8000", "王五", store.id)
        assert (await Customer.get(id=absorbed_id)).merged_into_id == survivor_id

    async def test_absorbed_customer_answers_with_merged_into_and_refuses_writes(self, client):
        survivor_id, absorbed_id, _ = await self._pair(client)
        await client.post(f"{URL}/{survivor_id}/identities", headers=await ops(),
                          json={"kind": "wecom_external", "value": "wm-1", "verified": True})
        shown = (await client.get(f"{URL}/{absorbed_id}", headers=await ops())).json()
        assert shown["merged_into_id"] == survivor_id and shown["identities"] == []
        listed = (await client.get(URL, headers=await ops())).json()["items"]
        assert [c["id"] for c in listed] == [survivor_id]
        for method, path, body in (("put", "do-not-disturb", {"do_not_disturb": False}),
                                   ("put", "channels/app", {"consent": True, "do_not_disturb": False, "source": "x"}),
                                   ("post", "identities", {"kind": "unionid", "value": "un-2"})):
            response = await client.request(method, f"{URL}/{absorbed_id}/{path}", headers=await ops(), json=body)
            assert response.status_code == 409, path
            assert str(survivor_id) in response.json()["detail"]
        assert (await Customer.get(id=absorbed_id)).do_not_disturb is True
        assert await Identity.filter(value="un-2").count() == 0

    async def test_earlier_merges_are_repointed_to_the_new_survivor(self, client):
        a = await make_customer(client, identities=[{"kind": "app_user", "value": "a"}])
        b = await make_customer(client, identities=[{"kind": "app_user", "value": "b"}])
        c = await make_customer(client, identities=[{"kind": "app_user", "value": "c"}])
        await service_link(b["id"], "a")
        await service_link(c["id"], "b")
        assert (await Customer.get(id=a["id"])).merged_into_id == c["id"]
        assert (await Customer.get(id=b["id"])).merged_into_id == c["id"]
        assert await Identity.filter(customer_id=c["id"]).count() == 3

    async def test_two_opposite_merges_at_once_leave_exactly_one_survivor(self, client):
        a = await make_customer(client, identities=[{"kind": "app_user", "value": "a"}])
        b = await make_customer(client, identities=[{"kind": "app_user", "value": "b"}])
        headers = await ops()
        answers = await asyncio.gather(
            client.post(f"{URL}/{a['id']}/identities", headers=headers,
                        json={"kind": "app_user", "value": "b", "verified": True}),
            client.post(f"{URL}/{b['id']}/identities", headers=headers,
                        json={"kind": "app_user", "value": "a", "verified": True}),
        )
        assert sorted(r.status_code for r in answers) == [200, 409]
        survivor_id = next(r.json()["id"] for r in answers if r.status_code == 200)
        rows = {c.id: c.merged_into_id for c in await Customer.all()}
        assert sorted(rows.values(), key=str) == [survivor_id, None]
        assert await Identity.filter(customer_id=survivor_id).count() == 2


async def service_link(customer_id, app_user):
    from hub.customers.merge import link_identity
    from hub.database import transaction

    async with transaction():
        return await link_identity(customer_id=customer_id, kind=IdentityKind.APP_USER, value=app_user, verified=True)


class TestConsent:
    async def test_channel_put_creates_then_updates_one_row(self, client):
        created = await make_customer(client)
        first = await put_channel(client, created["id"], "sms", consent=True, dnd=False, source="store")
        second = await put_channel(client, created["id"], "sms", consent=False, dnd=True, source="call_center")
        assert (first["consent"], second["consent"], second["do_not_disturb"]) == (True, False, True)
        rows = await ChannelConsent.filter(customer_id=created["id"]).values(
            "channel", "consent", "do_not_disturb", "source")
        assert rows == [{"channel": "sms", "consent": False, "do_not_disturb": True, "source": "call_center"}]
        shown = (await client.get(f"{URL}/{created['id']}", headers=await ops())).json()
        assert shown["channels"][0]["source"] == "call_center"

    async def test_global_do_not_disturb_is_set_and_cleared(self, client):
        created = await make_customer(client)
        for flag in (True, False):
            response = await client.put(f"{URL}/{created['id']}/do-not-disturb", headers=await ops(),
                                        json={"do_not_disturb": flag})
            assert response.status_code == 200 and response.json()["do_not_disturb"] is flag
            assert (await Customer.get(id=created["id"])).do_not_disturb is flag

    async def test_bad_channel_or_body_is_422_and_unknown_customer_404(self, client):
        created = await make_customer(client)
        good = {"consent": True, "do_not_disturb": False, "source": "x"}
        for channel, body in (("fax", good), ("sms", {**good, "source": "x" * 33}), ("sms", {**good, "source": ""}),
                              ("sms", {**good, "consent": "sometimes"}), ("sms", {"consent": True})):
            response = await client.put(f"{URL}/{created['id']}/channels/{channel}", headers=await ops(), json=body)
            assert response.status_code == 422, (channel, body)
        assert (await client.put(f"{URL}/4242/channels/sms", headers=await ops(), json=good)).status_code == 404
        assert await ChannelConsent.all().count() == 0


class TestServiceHelpers:
    async def test_get_or_create_by_identity_creates_once(self):
        first = await service.get_or_create_by_identity(kind=IdentityKind.UNIONID, value="un-1")
        again = await service.get_or_create_by_identity(kind=IdentityKind.UNIONID, value="un-1", verified=True)
        assert first.id == again.id and await Customer.all().count() == 1
        assert (await Identity.get(value="un-1")).verified is True
        assert await service.owner_of(service.identity_key(IdentityKind.UNIONID, "un-1")) == first.id
        assert await service.owner_of(service.identity_key(IdentityKind.UNIONID, "un-2")) is None

    async def test_phone_identities_take_the_clear_number_and_keep_only_hash_and_mask(self):
        customer = await service.get_or_create_by_identity(kind=IdentityKind.PHONE_HASH, value=PHONE, verified=True)
        assert customer.phone_masked == "138****8000"
        assert (await Identity.get(customer_id=customer.id)).value == phone_hash(PHONE)
        assert (await service.find_by_phone(phone="138-0013-8000")).id == customer.id
        assert await service.find_by_phone(phone="13900139000") is None


class TestCli:
    async def test_show_by_phone_prints_the_masked_number(self, client):
        created = await make_customer(client, phone=PHONE, display_name="赵六",
                                      identities=[{"kind": "app_user", "value": "u-77"}])
        await put_channel(client, created["id"], "sms", consent=False, source="store")
        proc = await asyncio.create_subprocess_exec(
            ".venv/bin/hub", "customers", "show", "--phone", "138 0013 8000", env={**os.environ, "COLUMNS": "200"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        text = out.decode()
        assert f"Customer {created['id']} 赵六" in text and "Phone: 138****8000" in text
        assert "u-77" in text and "sms" in text and PHONE not in text
