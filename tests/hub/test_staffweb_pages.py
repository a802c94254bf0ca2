"""The staff home and the session cookie: what a signed-in staff member sees, and what the cookie may read."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from hub.auth.models import Role
from hub.codes.models import Code, CodeKind
from hub.customers.models import Customer
from hub.schemas import SHANGHAI
from hub.staff.models import Staff, StaffRole
from hub.staffweb import service
from hub.staffweb.session import SESSION_COOKIE, SESSION_SECONDS, issue_session, principal_from_session
from hub.wecom.models import ContactStatus, ContactWay, ContactWayStatus, StaffContact
from tests.factories import make_code, make_key, make_staff, make_store

WEEK = service.week_start(datetime.now(UTC))


def cookie(staff: Staff, *, now: float | None = None) -> dict[str, str]:
    """The Cookie header of a browser signed in as ``staff`` (the callback issues the same value)."""
    token = issue_session(staff_id=staff.id, staff_role=staff.role, store_id=staff.store_id, now=now)
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


async def add_contact(staff: Staff, *, name: str, added_at: datetime, code=None,
                      status: ContactStatus = ContactStatus.ACTIVE) -> StaffContact:
    customer = await Customer.create(display_name=name)
    return await StaffContact.create(staff=staff, customer=customer, external_userid=f"wm_{customer.id}",
                                     added_at=added_at, code=code, store_id=staff.store_id, status=status)


async def make_manager(*, store=None) -> Staff:
    manager = await make_staff(store=store)
    await Staff.filter(id=manager.id).update(role=StaffRole.MANAGER)
    return await Staff.get(id=manager.id)


async def principal(staff: Staff):
    """The principal the session of ``staff`` stands for (what the API sees)."""
    token = issue_session(staff_id=staff.id, staff_role=staff.role, store_id=staff.store_id)
    return await principal_from_session(token)


async def home(client, staff: Staff) -> str:
    response = await client.get("/staff/", headers=cookie(staff))
    assert response.status_code == 200, response.text
    return response.text


class TestWeek:
    def test_the_week_starts_on_monday_at_midnight_in_shanghai(self):
        monday = datetime(2026, 11, 23, tzinfo=SHANGHAI)  # a Monday
        assert service.week_start(monday) == monday
        assert service.week_start(monday + timedelta(days=6, hours=23, minutes=59)) == monday
        assert service.week_start(monday - timedelta(seconds=1)) == monday - timedelta(days=7)
        # Sunday 17:00 UTC is already Monday 01:00 in Shanghai.
        assert service.week_start(datetime(2026, 11, 22, 17, tzinfo=UTC)) == monday


class TestHome:
    async def test_signed_out_visit_goes_to_sign_in_keeping_the_page(self, client):
        response = await client.get("/staff/?tab=codes")
        assert response.status_code == 303
        location = urlsplit(response.headers["location"])
        assert location.path == "/staff/signin"
        assert parse_qs(location.query) == {"next": ["/staff/?tab=codes"]}

    async def test_shows_my_codes_my_stores_code_and_only_this_weeks_customers_of_mine(self, client):
        me = await make_staff(name="李店员")
        colleague = await make_staff(store=await me.store)
        mine = await make_code(staff=me, name="我的柜台码")
        store_code = await make_code(kind=CodeKind.STORE, store=await me.store, name="大厅门店码")
        theirs = await make_code(staff=colleague, name="同事的码")
        await add_contact(me, name="本周客户", added_at=WEEK + timedelta(minutes=1), code=mine)
        await add_contact(me, name="上周客户", added_at=WEEK - timedelta(minutes=1), code=mine)
        await add_contact(colleague, name="同事的客户", added_at=WEEK + timedelta(minutes=2), code=theirs)

        page = await home(client, me)
        assert "李店员" in page
        assert f'src="/api/v1/codes/{mine.id}/qr.png' in page and f"http://hub.test/c/{mine.slug}" in page
        assert f'src="/api/v1/codes/{store_code.id}/qr.png' in page and "大厅门店码" in page
        assert "本周客户" in page and "通过 我的柜台码" in page
        assert "上周客户" not in page and "同事的客户" not in page and "同事的码" not in page

    async def test_counts_cover_the_whole_week_while_the_list_is_capped(self, client):
        me = await make_staff()
        for n in range(service.WEEK_CONTACTS + 2):
            await add_contact(me, name=f"客户{n}", added_at=WEEK + timedelta(minutes=n),
                              status=ContactStatus.LOST if n == 0 else ContactStatus.ACTIVE)
        view = await service.home(principal=await principal(me))
        assert view.week_adds == service.WEEK_CONTACTS + 2
        assert view.week_by_status == {ContactStatus.ACTIVE: service.WEEK_CONTACTS + 1, ContactStatus.LOST: 1}
        assert len(view.week_contacts) == service.WEEK_CONTACTS
        assert view.week_contacts[0].name == f"客户{service.WEEK_CONTACTS + 1}"  # the latest first
        page = await home(client, me)
        assert f"仅显示最近 {service.WEEK_CONTACTS} 位，共 {service.WEEK_CONTACTS + 2} 位" in page

    async def test_times_are_shown_in_shanghai(self, client):
        me = await make_staff()
        await add_contact(me, name="早上的客户", added_at=WEEK + timedelta(hours=9, minutes=30))
        page = await home(client, me)
        monday = WEEK.astimezone(SHANGHAI)
        assert f"{monday.month}月{monday.day}日 周一 09:30" in page

    async def test_shows_the_contact_me_status_of_a_wecom_code(self, client):
        me = await make_staff()
        code = await make_code(staff=me, name="企微码")
        await ContactWay.create(code=code, way_type=1, state="s1", status=ContactWayStatus.FAILED)
        assert "企业微信「联系我」：同步失败" in await home(client, me)

    async def test_clerks_do_not_see_the_stores_staff(self, client):
        clerk = await make_staff(name="店员甲")
        await make_staff(store=await clerk.store, name="店员乙")
        page = await home(client, clerk)
        assert "门店店员" not in page and "店员乙" not in page

    async def test_managers_see_their_stores_staff_with_this_weeks_adds_and_codes(self, client):
        store = await make_store()
        manager = await make_manager(store=store)
        await Staff.filter(id=manager.id).update(name="王店长")
        clerk = await make_staff(store=store, name="赵店员")
        elsewhere = await make_staff(name="别店店员")
        code = await make_code(staff=clerk, name="赵的码")
        for minutes in (1, 2, 3):
            await add_contact(clerk, name="x", added_at=WEEK + timedelta(minutes=minutes), code=code)
        await add_contact(clerk, name="x", added_at=WEEK - timedelta(days=1), code=code)

        view = await service.home(principal=await principal(manager))
        team = {m.name: m for m in view.team}
        assert set(team) == {"王店长", "赵店员"}
        assert team["赵店员"].week_adds == 3 and [c.id for c in team["赵店员"].codes] == [code.id]
        page = await home(client, manager)
        assert "门店店员" in page and f'href="/api/v1/codes/{code.id}/qr.png' in page
        assert elsewhere.name not in page

    async def test_a_script_in_a_code_name_is_shown_as_text(self, client):
        me = await make_staff()
        await make_code(staff=me, name='<script>alert("x")</script>')
        page = await home(client, me)
        assert "<script>" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page

    async def test_pages_are_not_cached_and_load_nothing_from_elsewhere(self, client):
        response = await client.get("/staff/", headers=cookie(await make_staff()))
        assert response.headers["cache-control"] == "no-store"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "http" not in response.text.replace("http://hub.test/c/", "")


class TestSession:
    async def test_the_session_is_a_store_scoped_principal_of_the_staff_members_role(self, client):
        clerk = await make_staff()
        body = (await client.get("/api/v1/me", headers=cookie(clerk))).json()
        assert body == {"prefix": "session", "role": "staff", "store_id": clerk.store_id, "staff_id": clerk.id}
        await Staff.filter(id=clerk.id).update(role=StaffRole.MANAGER_ON_DUTY)
        clerk.role = StaffRole.MANAGER_ON_DUTY
        body = (await client.get("/api/v1/me", headers=cookie(clerk))).json()
        assert body["role"] == "store_manager" and body["store_id"] == clerk.store_id

    async def test_a_tampered_cookie_is_signed_out(self, client):
        staff = await make_staff()
        name, _, token = cookie(staff)["Cookie"].partition("=")
        payload, _, tag = token.partition(".")
        flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
        for forged in (f"{flipped}.{tag}", f"{payload}.{tag[:-1]}", payload, "garbage"):
            headers = {"Cookie": f"{name}={forged}"}
            assert (await client.get("/staff/", headers=headers)).status_code == 303
            assert (await client.get("/api/v1/me", headers=headers)).status_code == 401

    async def test_an_expired_cookie_is_signed_out(self, client):
        staff = await make_staff()
        nearly = cookie(staff, now=time.time() - SESSION_SECONDS + 60)
        expired = cookie(staff, now=time.time() - SESSION_SECONDS - 1)
        assert (await client.get("/staff/", headers=nearly)).status_code == 200
        assert (await client.get("/staff/", headers=expired)).status_code == 303
        assert (await client.get("/api/v1/me", headers=expired)).status_code == 401

    async def test_a_deactivated_or_moved_staff_member_is_signed_out_at_once(self, client):
        staff = await make_staff()
        headers = cookie(staff)
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
        await Staff.filter(id=staff.id).update(role=StaffRole.MANAGER)  # a promotion needs a fresh sign-in
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
        await Staff.filter(id=staff.id).update(role=StaffRole.CLERK, store_id=(await make_store()).id)
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
        await Staff.filter(id=staff.id).update(store_id=staff.store_id, active=False)
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
        await Staff.filter(id=staff.id).update(active=True)
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 200

    async def test_sign_out_clears_the_cookie(self, client):
        response = await client.post("/staff/signout", headers=cookie(await make_staff()))
        assert response.status_code == 200 and "已退出登录" in response.text
        set_cookie = response.headers["set-cookie"]
        assert set_cookie.startswith(f'{SESSION_COOKIE}=""') and "Max-Age=0" in set_cookie and "Path=/" in set_cookie


class TestApiReadsWithTheSession:
    async def test_the_cookie_reads_my_own_codes_qr_image(self, client):
        me = await make_staff()
        code = await make_code(staff=me)
        response = await client.get(f"/api/v1/codes/{code.id}/qr.png", headers=cookie(me))
        assert response.status_code == 200
        assert response.content.startswith(b"\x89PNG\r\n\x1a\n")

    async def test_the_cookie_keeps_the_roles_store_scope(self, client):
        store = await make_store()
        clerk = await make_staff(store=store)
        manager = await make_manager(store=store)
        colleagues = await make_code(staff=await make_staff(store=store))
        other_stores = await make_code(staff=await make_staff())
        url = "/api/v1/codes/{}/qr.png"
        assert (await client.get(url.format(colleagues.id), headers=cookie(clerk))).status_code == 403
        assert (await client.get(url.format(colleagues.id), headers=cookie(manager))).status_code == 200
        assert (await client.get(url.format(other_stores.id), headers=cookie(manager))).status_code == 403
        assert (await client.get(url.format(other_stores.id), headers=cookie(clerk))).status_code == 403

    async def test_the_cookie_never_authorises_a_change(self, client):
        me = await make_staff()
        code = await make_code(staff=me)
        headers = {**cookie(me), "Content-Type": "application/json"}
        created = await client.post("/api/v1/codes", headers=headers,
                                    content=f'{{"kind": "staff", "staff_id": {me.id}}}')
        assert created.status_code == 401
        changed = await client.patch(f"/api/v1/codes/{code.id}", headers=headers, content='{"name": "改名"}')
        assert changed.status_code == 401
        assert await Code.filter(staff_id=me.id).count() == 1 and (await Code.get(id=code.id)).name == ""
        # The staff member's own key may make the same change: the refusal is the cookie's, not the role's.
        key = await make_key(role=Role.STAFF, staff=me)
        changed = await client.patch(f"/api/v1/codes/{code.id}", headers={**headers, **key}, content='{"name": "改名"}')
        assert changed.status_code == 200

    async def test_a_bearer_key_wins_over_the_cookie(self, client):
        headers = {**cookie(await make_staff()), **await make_key(role=Role.OPS)}
        assert (await client.get("/api/v1/me", headers=headers)).json()["role"] == "ops"
