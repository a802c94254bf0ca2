from datetime import UTC

from hub.auth.models import ApiKey, Role
from hub.auth.service import create_key, hash_key, revoke_key
from tests.factories import make_key, make_staff, make_store


class TestKeys:
    async def test_only_the_hash_is_stored(self):
        key, clear = await create_key(role=Role.OPS, name="ops desk")
        row = await ApiKey.get(id=key.id)
        assert row.secret_hash == hash_key(clear)
        assert clear.startswith(f"hub_{row.prefix}_")
        assert clear not in (row.secret_hash, row.prefix, row.name)

    async def test_store_roles_need_a_store(self, client):
        import pytest

        from hub.errors import InvalidInput

        with pytest.raises(InvalidInput):
            await create_key(role=Role.STAFF)


class TestAuthentication:
    async def test_missing_key_is_401_with_a_problem_body(self, client):
        response = await client.get("/api/v1/regions")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == 401 and body["type"] == "/problems/unauthenticated"
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_wrong_key_is_401(self, client):
        headers = await make_key(role=Role.OPS)
        wrong = headers["Authorization"][:-3] + "xyz"
        response = await client.get("/api/v1/regions", headers={"Authorization": wrong})
        assert response.status_code == 401

    async def test_revoked_key_is_401(self, client):
        headers = await make_key(role=Role.OPS)
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
        prefix = headers["Authorization"].split("_")[1]
        await revoke_key(prefix=prefix)
        response = await client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert "revoked" in response.json()["detail"]

    async def test_me_names_role_and_store(self, client):
        store = await make_store()
        headers = await make_key(role=Role.STORE_MANAGER, store=store)
        body = (await client.get("/api/v1/me", headers=headers)).json()
        assert body["role"] == "store_manager" and body["store_id"] == store.id

    async def test_right_key_wrong_role_is_403(self, client):
        headers = await make_key(role=Role.CARRIER_APP)
        response = await client.post("/api/v1/regions", headers=headers,
                                     json={"code": "X", "name": "x", "level": "province"})
        assert response.status_code == 403
        assert response.json()["type"] == "/problems/forbidden"


class TestKeyCache:
    async def test_revocation_elsewhere_takes_effect_within_the_cache_window(self, client, monkeypatch):
        import asyncio
        from datetime import datetime

        from hub.settings import get_settings

        monkeypatch.setenv("HUB_AUTH_CACHE_SECONDS", "0.3")
        get_settings.cache_clear()
        try:
            headers = await make_key(role=Role.OPS)
            assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
            # Another process revokes it: this one trusts its cache for at most the window, then asks again.
            prefix = headers["Authorization"].split("_")[1]
            await ApiKey.filter(prefix=prefix).update(revoked_at=datetime.now(UTC))
            assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
            await asyncio.sleep(0.35)
            assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
        finally:
            monkeypatch.delenv("HUB_AUTH_CACHE_SECONDS")
            get_settings.cache_clear()


class TestStaffKeys:
    """A key made for a staff member follows their record (the probe: a deactivated manager's key still made
    managers; a clerk moved to another store still read the old store's redemptions)."""

    async def test_the_key_moves_with_its_staff_member_and_stops_when_they_leave(self, client, monkeypatch):
        from hub.settings import get_settings
        from hub.staff.models import Staff

        monkeypatch.setenv("HUB_AUTH_CACHE_SECONDS", "0")
        get_settings.cache_clear()
        try:
            old, new = await make_store(), await make_store()
            manager = await make_staff(store=old)
            headers = await make_key(role=Role.STORE_MANAGER, staff=manager)
            assert (await client.get("/api/v1/me", headers=headers)).json()["store_id"] == old.id

            await Staff.filter(id=manager.id).update(store_id=new.id)
            assert (await client.get("/api/v1/me", headers=headers)).json()["store_id"] == new.id
            listed = (await client.get("/api/v1/stores", headers=headers)).json()["items"]
            assert [s["id"] for s in listed] == [new.id]

            await Staff.filter(id=manager.id).update(active=False)
            refused = await client.get("/api/v1/me", headers=headers)
            assert refused.status_code == 401 and "no longer active" in refused.json()["detail"]
        finally:
            monkeypatch.delenv("HUB_AUTH_CACHE_SECONDS")
            get_settings.cache_clear()
