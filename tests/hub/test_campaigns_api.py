from hub.auth.models import ApiKey, Role
from hub.campaigns.models import Campaign, CampaignStatus
from hub.idempotency.models import IdempotencyRecord
from tests.factories import make_key, make_product, make_store

URL = "/api/v1/campaigns"


def draft_body(**overrides) -> dict:
    body = {
        "name": "暑期流量包",
        "description": "July data-pack push",
        "starts_at": "2025-07-01T00:00:00",
        "ends_at": "2025-08-01T00:00:00",
        "channels": ["app", "wecom"],
        "budget_fen": 500_000,
    }
    return {**body, **overrides}


def prefix_of(headers: dict) -> str:
    return headers["Authorization"].split("_")[1]


async def draft(client, headers: dict, **overrides) -> dict:
    response = await client.post(URL, headers=headers, json=draft_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def approved(client) -> dict:
    drafter, approver = await make_key(role=Role.OPS), await make_key(role=Role.OPS)
    campaign = await draft(client, drafter)
    response = await client.post(f"{URL}/{campaign['id']}/approve", headers=approver)
    assert response.status_code == 200, response.text
    return response.json()


class TestCreate:
    async def test_ops_drafts_a_campaign_with_products(self, client):
        ops = await make_key(role=Role.OPS)
        p1, p2 = await make_product(), await make_product()
        body = await draft(client, ops, product_ids=[p2.id, p1.id])
        assert body["status"] == "draft" and body["version"] == 1
        assert body["product_ids"] == sorted([p1.id, p2.id])
        assert body["drafted_by"] == prefix_of(ops) and body["approved_by"] is None
        assert body["starts_at"] == "2025-07-01T00:00:00+08:00"  # no offset in means Shanghai time
        row = await Campaign.get(id=body["id"])
        assert row.starts_at.utcoffset().total_seconds() == 0 and row.starts_at.hour == 16
        assert row.channels == ["app", "wecom"] and row.budget_fen == 500_000
        assert sorted(p.id for p in await row.products) == sorted([p1.id, p2.id])
        assert (await ApiKey.get(id=row.drafted_by_id)).prefix == prefix_of(ops)

    async def test_idempotency_key_creates_one_campaign(self, client):
        headers = {**await make_key(role=Role.OPS), "Idempotency-Key": "july-push-1"}
        first = await client.post(URL, headers=headers, json=draft_body())
        second = await client.post(URL, headers=headers, json=draft_body())
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert await Campaign.all().count() == 1
        other = await client.post(URL, headers=headers, json=draft_body(name="别的"))
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"

    async def test_strategy_engine_and_store_roles_cannot_create(self, client):
        store = await make_store()
        for headers in (await make_key(role=Role.STRATEGY_ENGINE),
                        await make_key(role=Role.STORE_MANAGER, store=store)):
            response = await client.post(URL, headers=headers, json=draft_body())
            assert response.status_code == 403
        assert await Campaign.all().count() == 0


class TestValidation:
    async def test_end_before_start_names_ends_at(self, client):
        ops = await make_key(role=Role.OPS)
        response = await client.post(URL, headers=ops, json=draft_body(ends_at="2025-06-30T00:00:00"))
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["ends_at"]
        assert await Campaign.all().count() == 0

    async def test_unknown_product_names_product_ids(self, client):
        ops = await make_key(role=Role.OPS)
        product = await make_product()
        response = await client.post(URL, headers=ops, json=draft_body(product_ids=[product.id, 999_999]))
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "product_ids", "message": "no product 999999"}]
        assert await Campaign.all().count() == 0

    async def test_bad_channels_and_fields_are_named(self, client):
        ops = await make_key(role=Role.OPS)
        cases = [
            ({"channels": []}, "channels"),
            ({"channels": ["app", "app"]}, "channels"),
            ({"channels": ["fax"]}, "channels[0]"),
            ({"budget_fen": -1}, "budget_fen"),
            ({"name": "  "}, "name"),
            ({"name": "bad\x00name"}, "name"),
            ({"starts_at": "someday"}, "starts_at"),
            ({"product_ids": [0]}, "product_ids[0]"),
        ]
        for override, field in cases:
            response = await client.post(URL, headers=ops, json=draft_body(**override))
            assert response.status_code == 422, override
            assert [e["field"] for e in response.json()["errors"]] == [field], override


class TestApproval:
    async def test_drafting_key_cannot_approve_its_own_campaign(self, client):
        ops = await make_key(role=Role.OPS)
        campaign = await draft(client, ops)
        response = await client.post(f"{URL}/{campaign['id']}/approve", headers=ops)
        assert response.status_code == 403
        assert "drafted with this key" in response.json()["detail"]
        row = await Campaign.get(id=campaign["id"])
        assert row.status == CampaignStatus.DRAFT and row.approved_by_id is None and row.version == 1

    async def test_another_ops_key_approves(self, client):
        drafter, approver = await make_key(role=Role.OPS), await make_key(role=Role.OPS)
        campaign = await draft(client, drafter)
        response = await client.post(f"{URL}/{campaign['id']}/approve", headers=approver)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "approved" and body["version"] == 2
        assert body["approved_by"] == prefix_of(approver) and body["approved_at"].endswith("+08:00")
        row = await Campaign.get(id=campaign["id"])
        assert row.status == CampaignStatus.APPROVED and row.approved_at is not None
        assert (await ApiKey.get(id=row.approved_by_id)).prefix == prefix_of(approver)

    async def test_admin_and_store_manager_cannot_approve(self, client):
        campaign = await draft(client, await make_key(role=Role.OPS))
        store = await make_store()
        for headers in (await make_key(role=Role.ADMIN), await make_key(role=Role.STORE_MANAGER, store=store)):
            response = await client.post(f"{URL}/{campaign['id']}/approve", headers=headers)
            assert response.status_code == 403
        assert (await Campaign.get(id=campaign["id"])).status == CampaignStatus.DRAFT

    async def test_second_approval_is_rejected(self, client):
        campaign = await approved(client)
        response = await client.post(f"{URL}/{campaign['id']}/approve", headers=await make_key(role=Role.OPS))
        assert response.status_code == 409 and response.json()["title"] == "The campaign is no longer a draft"
        row = await Campaign.get(id=campaign["id"])
        assert row.version == 2 and (await ApiKey.get(id=row.approved_by_id)).prefix == campaign["approved_by"]

    async def test_repeated_approval_with_idempotency_key_returns_first_answer(self, client):
        drafter, approver = await make_key(role=Role.OPS), await make_key(role=Role.OPS)
        campaign = await draft(client, drafter)
        headers = {**approver, "Idempotency-Key": "approve-1"}
        first = await client.post(f"{URL}/{campaign['id']}/approve", headers=headers)
        second = await client.post(f"{URL}/{campaign['id']}/approve", headers=headers)
        assert first.status_code == second.status_code == 200
        assert first.json() == second.json()
        assert (await Campaign.get(id=campaign["id"])).version == 2
        assert await IdempotencyRecord.filter(key="approve-1").count() == 1

    async def test_unknown_campaign_is_404(self, client):
        response = await client.post(f"{URL}/4242/approve", headers=await make_key(role=Role.OPS))
        assert response.status_code == 404


class TestStartAndEnd:
    async def test_approved_starts_then_ends(self, client):
        ops = await make_key(role=Role.ADMIN)
        campaign = await approved(client)
        started = await client.post(f"{URL}/{campaign['id']}/start", headers=ops)
        assert started.status_code == 200 and started.json()["status"] == "running"
        assert started.json()["started_at"] is not None and started.json()["version"] == 3
        ended = await client.post(f"{URL}/{campaign['id']}/end", headers=ops)
        assert ended.status_code == 200 and ended.json()["status"] == "ended" and ended.json()["version"] == 4
        row = await Campaign.get(id=campaign["id"])
        assert row.status == CampaignStatus.ENDED and row.started_at <= row.ended_at

    async def test_draft_cannot_start(self, client):
        ops = await make_key(role=Role.OPS)
        campaign = await draft(client, ops)
        response = await client.post(f"{URL}/{campaign['id']}/start", headers=ops)
        assert response.status_code == 409 and "only approved" in response.json()["detail"]
        assert (await Campaign.get(id=campaign["id"])).status == CampaignStatus.DRAFT

    async def test_draft_can_be_cancelled_but_ended_cannot_end_or_start_again(self, client):
        ops = await make_key(role=Role.OPS)
        campaign = await draft(client, ops)
        assert (await client.post(f"{URL}/{campaign['id']}/end", headers=ops)).json()["status"] == "ended"
        for action in ("end", "start", "approve"):
            response = await client.post(f"{URL}/{campaign['id']}/{action}", headers=await make_key(role=Role.OPS))
            assert response.status_code == 409, action
        row = await Campaign.get(id=campaign["id"])
        assert row.status == CampaignStatus.ENDED and row.started_at is None and row.version == 2

    async def test_running_cannot_start_again(self, client):
        ops = await make_key(role=Role.OPS)
        campaign = await approved(client)
        await client.post(f"{URL}/{campaign['id']}/start", headers=ops)
        response = await client.post(f"{URL}/{campaign['id']}/start", headers=ops)
        assert response.status_code == 409
        assert (await Campaign.get(id=campaign["id"])).version == 3

    async def test_strategy_engine_cannot_start(self, client):
        campaign = await approved(client)
        response = await client.post(f"{URL}/{campaign['id']}/start", headers=await make_key(role=Role.STRATEGY_ENGINE))
        assert response.status_code == 403
        assert (await Campaign.get(id=campaign["id"])).status == CampaignStatus.APPROVED


class TestEdit:
    async def test_draft_edit_changes_only_sent_fields(self, client):
        ops = await make_key(role=Role.OPS)
        product = await make_product()
        campaign = await draft(client, ops)
        response = await client.patch(f"{URL}/{campaign['id']}", headers=ops,
                                      json={"name": "新名字", "budget_fen": None, "product_ids": [product.id],
                                            "channels": ["sms"]})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["name"] == "新名字" and body["budget_fen"] is None and body["product_ids"] == [product.id]
        assert body["channels"] == ["sms"] and body["version"] == 2
        row = await Campaign.get(id=campaign["id"])
        assert row.name == "新名字" and row.budget_fen is None and row.description == "July data-pack push"
        assert row.channels == ["sms"] and row.starts_at.isoformat() == "2025-06-30T16:00:00+00:00"

    async def test_edit_after_approval_is_409(self, client):
        campaign = await approved(client)
        response = await client.patch(f"{URL}/{campaign['id']}", headers=await make_key(role=Role.OPS),
                                      json={"name": "too late"})
        assert response.status_code == 409 and response.json()["title"] == "The campaign is no longer a draft"
        row = await Campaign.get(id=campaign["id"])
        assert row.name == "暑期流量包" and row.version == 2

    async def test_edit_checks_the_window_against_stored_dates(self, client):
        ops = await make_key(role=Role.OPS)
        campaign = await draft(client, ops)
        response = await client.patch(f"{URL}/{campaign['id']}", headers=ops, json={"starts_at": "2025-09-01T00:00:00"})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "ends_at"
        null_name = await client.patch(f"{URL}/{campaign['id']}", headers=ops, json={"name": None})
        assert null_name.status_code == 422 and null_name.json()["errors"][0]["field"] == "name"
        assert (await Campaign.get(id=campaign["id"])).version == 1


class TestRead:
    async def test_strategy_engine_reads_list_and_one(self, client):
        campaign = await draft(client, await make_key(role=Role.OPS))
        engine = await make_key(role=Role.STRATEGY_ENGINE)
        page = (await client.get(URL, headers=engine)).json()
        assert [c["id"] for c in page["items"]] == [campaign["id"]] and page["next_after"] is None
        one = await client.get(f"{URL}/{campaign['id']}", headers=engine)
        assert one.status_code == 200 and one.json() == campaign

    async def test_pages_walk_every_campaign_once(self, client):
        ops = await make_key(role=Role.OPS)
        product = await make_product()
        made = [(await draft(client, ops, name=f"c{i}", product_ids=[product.id]))["id"] for i in range(5)]
        seen, after = [], None
        while True:
            page = (await client.get(f"{URL}?limit=2" + (f"&after={after}" if after else ""), headers=ops)).json()
            assert all(c["product_ids"] == [product.id] for c in page["items"])
            seen += [c["id"] for c in page["items"]]
            if (after := page["next_after"]) is None:
                break
        assert seen == made

    async def test_other_machine_roles_cannot_read(self, client):
        for role in (Role.CARRIER_APP, Role.POS):
            assert (await client.get(URL, headers=await make_key(role=role))).status_code == 403

    async def test_filters_by_status_name_and_active_time(self, client):
        ops = await make_key(role=Role.OPS)
        july = await draft(client, ops, name="July push")
        august = await draft(client, ops, name="August push", starts_at="2025-08-01T00:00:00",
                             ends_at="2025-09-01T00:00:00")
        await client.post(f"{URL}/{august['id']}/end", headers=ops)

        async def ids(query: str) -> list[int]:
            response = await client.get(f"{URL}?{query}", headers=ops)
            assert response.status_code == 200, response.text
            return [c["id"] for c in response.json()["items"]]

        assert await ids("status=draft") == [july["id"]]
        assert await ids("status=ended") == [august["id"]]
        assert await ids("q=aug") == [august["id"]]
        assert await ids("active_at=2025-07-31T23:59:59") == [july["id"]]
        assert await ids("active_at=2025-08-01T00:00:00") == [august["id"]]  # the end is exclusive
        assert await ids("active_at=2025-07-31T16:30:00Z") == [august["id"]]  # 00:30 in Shanghai
        assert await ids("active_at=2025-06-30T23:59:59") == []
        bad = await client.get(f"{URL}?status=paused", headers=ops)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.status"
