"""Staff sign-in through WeCom's web sign-in, played by the sandbox over real HTTP on loopback.

The hub runs in-process (ASGI); the sandbox's authorize page is fetched and its "sign in as …" form
submitted like a browser would, and the redirect it answers is followed back into the hub.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hub.customers.models import Customer
from hub.settings import get_settings
from hub.staff.models import Staff
from hub.staffweb import service
from hub.staffweb.session import SESSION_COOKIE, SESSION_SECONDS, SIGNIN_COOKIE, issue_session, start_signin
from hub.wecom.models import StaffContact
from tests.factories import make_code, make_staff

EVIL_NEXTS = ["//evil.example/x", "https://evil.example/", "/\\evil.example", "/\t/evil.example",
              "javascript:alert(1)", "staff/", "/" + "a" * 600]


class _Forms(HTMLParser):
    """The forms of the sandbox's authorize page: action and input values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append((attrs["action"], {}))
        elif tag == "input" and self.forms:
            self.forms[-1][1][attrs["name"]] = attrs.get("value", "")


async def authorize_as(wecom, authorize_url: str, userid: str | None) -> str:
    """Open WeCom's authorize page and pick who signs in (None: a WeChat user outside the corp).

    Returns where WeCom sends the browser back: the hub's callback with ``code`` and ``state``.
    """
    async with httpx.AsyncClient(base_url=wecom.url) as browser:
        page = await browser.get(authorize_url)
        assert page.status_code == 200, page.text
        # What a clerk sees is Chinese, as WeCom's own page is.
        assert '<html lang="zh-CN">' in page.text and "以企业外的微信用户身份登录" in page.text
        parser = _Forms()
        parser.feed(page.text)
        action, fields = next((a, f) for a, f in parser.forms if f.get("userid") == userid)
        chosen = await browser.post(action, data=fields)
    assert chosen.status_code == 302
    return chosen.headers["location"]


async def sign_in(client, wecom, userid: str | None, *, next_path: str = "/staff/") -> httpx.Response:
    """The whole round trip; the hub's answer to WeCom's redirect back."""
    start = await client.get("/staff/signin", params={"next": next_path})
    assert start.status_code == 303
    return await client.get(await authorize_as(wecom, start.headers["location"], userid))


def session_cookie_set(response: httpx.Response) -> bool:
    return any(h.startswith(f"{SESSION_COOKIE}=") and "Max-Age=0" not in h
               for h in response.headers.get_list("set-cookie"))


class TestSignIn:
    async def test_staff_member_signs_in_and_sees_their_codes_and_this_weeks_customers(self, client, wecom):
        me = await make_staff(name="孙店员")
        colleague = await make_staff(store=await me.store, name="周店员")
        await wecom.load_users([{"userid": me.wecom_userid, "name": me.name},
                                {"userid": colleague.wecom_userid, "name": colleague.name}])
        code = await make_code(staff=me, name="孙的企微码")
        week = service.week_start(datetime.now(UTC))
        for staff, name, added_at in [(me, "本周的客户", week + timedelta(minutes=5)),
                                      (me, "上周的客户", week - timedelta(minutes=5)),
                                      (colleague, "同事的客户", week + timedelta(minutes=6))]:
            customer = await Customer.create(display_name=name)
            await StaffContact.create(staff=staff, customer=customer, external_userid=f"wm{customer.id}",
                                      added_at=added_at, code=code if staff is me else None, store_id=staff.store_id)

        first = await client.get("/staff/")
        assert first.status_code == 303 and first.headers["location"] == "/staff/signin?next=%2Fstaff%2F"
        start = await client.get(first.headers["location"])
        authorize = urlsplit(start.headers["location"])
        query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
        assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == wecom.oauth_url
        assert authorize.fragment == "wechat_redirect"
        assert query["appid"] == wecom.config.corp_id and query["agentid"] == str(wecom.config.agent_id)
        assert query["redirect_uri"] == "http://hub.test/staff/auth/callback"
        assert (query["response_type"], query["scope"]) == ("code", "snsapi_base")
        assert re.fullmatch(r"[A-Za-z0-9]{1,128}", query["state"])  # all WeCom carries back

        back = await client.get(await authorize_as(wecom, start.headers["location"], me.wecom_userid))
        assert back.status_code == 303 and back.headers["location"] == "/staff/"
        session = next(h for h in back.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}="))
        assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/" in session
        assert f"Max-Age={SESSION_SECONDS}" in session and "Secure" not in session
        assert SIGNIN_COOKIE not in client.cookies  # used up

        page = await client.get("/staff/")
        assert page.status_code == 200
        assert "孙店员" in page.text and "孙的企微码" in page.text
        assert f'src="/api/v1/codes/{code.id}/qr.png' in page.text
        assert "本周的客户" in page.text
        assert "上周的客户" not in page.text and "同事的客户" not in page.text
        image = await client.get(f"/api/v1/codes/{code.id}/qr.png")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"

    async def test_the_cookie_is_secure_when_the_hub_is_served_over_https(self, client, wecom, monkeypatch):
        me = await make_staff()
        await wecom.load_users([{"userid": me.wecom_userid, "name": me.name}])
        monkeypatch.setenv("HUB_PUBLIC_BASE_URL", "https://hub.test")
        get_settings.cache_clear()
        try:
            start = await client.get("/staff/signin")
            assert "Secure" in start.headers["set-cookie"]
            assert parse_qs(urlsplit(start.headers["location"]).query)["redirect_uri"] == [
                "https://hub.test/staff/auth/callback"]
            client.cookies.set(SIGNIN_COOKIE, start.cookies[SIGNIN_COOKIE], domain="hub.test",
                               path="/staff/auth/")  # httpx keeps Secure cookies off plain http
            back = await client.get(await authorize_as(wecom, start.headers["location"], me.wecom_userid))
            assert back.status_code == 303
            assert "Secure" in next(h for h in back.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
        finally:
            monkeypatch.delenv("HUB_PUBLIC_BASE_URL")
            get_settings.cache_clear()

    async def test_next_is_kept_when_it_is_a_path_on_this_site(self, client, wecom):
        me = await make_staff()
        await wecom.load_users([{"userid": me.wecom_userid, "name": me.name}])
        back = await sign_in(client, wecom, me.wecom_userid, next_path="/staff/?tab=codes")
        assert back.headers["location"] == "/staff/?tab=codes"

    @pytest.mark.parametrize("evil", EVIL_NEXTS)
    async def test_next_never_leads_off_the_site(self, client, wecom, evil):
        me = await make_staff()
        await wecom.load_users([{"userid": me.wecom_userid, "name": me.name}])
        back = await sign_in(client, wecom, me.wecom_userid, next_path=evil)
        assert back.status_code == 303 and back.headers["location"] == "/staff/"


class TestRefusals:
    async def test_unknown_userid_is_refused_and_nothing_is_set(self, client, wecom):
        await wecom.load_users([{"userid": "not_in_the_hub", "name": "外人"}])
        back = await sign_in(client, wecom, "not_in_the_hub")
        assert back.status_code == 403 and "没有对应的在岗店员" in back.text
        assert not session_cookie_set(back)
        assert (await client.get("/staff/")).status_code == 303

    async def test_an_inactive_staff_member_is_refused(self, client, wecom):
        me = await make_staff()
        await Staff.filter(id=me.id).update(active=False)
        await wecom.load_users([{"userid": me.wecom_userid, "name": me.name}])
        back = await sign_in(client, wecom, me.wecom_userid)
        assert back.status_code == 403 and not session_cookie_set(back)

    async def test_someone_outside_the_corp_is_refused(self, client, wecom):
        back = await sign_in(client, wecom, None)
        assert back.status_code == 403 and "成员账号" in back.text and not session_cookie_set(back)

    async def test_a_state_from_another_browser_is_refused(self, client, wecom):
        """Login CSRF: an attacker's own sign-in link, opened in the victim's browser, must not sign them in."""
        attacker = await make_staff()
        await wecom.load_users([{"userid": attacker.wecom_userid, "name": attacker.name}])
        start = await client.get("/staff/signin")
        callback = await authorize_as(wecom, start.headers["location"], attacker.wecom_userid)
        client.cookies.clear()  # the victim's browser has no sign-in cookie
        back = await client.get(callback)
        assert back.status_code == 400 and "登录已失效" in back.text and not session_cookie_set(back)
        assert (await wecom.stats())["calls"].get("auth/getuserinfo", 0) == 0  # refused before asking WeCom

    async def test_a_state_cannot_be_used_twice(self, client, wecom):
        me = await make_staff()
        await wecom.load_users([{"userid": me.wecom_userid, "name": me.name}])
        start = await client.get("/staff/signin")
        callback = await authorize_as(wecom, start.headers["location"], me.wecom_userid)
        assert (await client.get(callback)).status_code == 303
        await client.post("/staff/signout")
        state = parse_qs(urlsplit(callback).query)["state"][0]
        fresh_code = await wecom.oauth_code(me.wecom_userid)
        again = await client.get("/staff/auth/callback", params={"code": fresh_code, "state": state})
        assert again.status_code == 400 and not session_cookie_set(again)

    async def test_a_forged_or_expired_state_is_refused(self, client, wecom):
        me = await make_staff()
        await wecom.load_users([{"userid": me.wecom_userid, "name": me.name}])
        await client.get("/staff/signin")
        forged = await client.get("/staff/auth/callback",
                                  params={"code": await wecom.oauth_code(me.wecom_userid), "state": "0" * 32})
        assert forged.status_code == 400 and not session_cookie_set(forged)

        state, expired = start_signin("/staff/", now=time.time() - 601)
        client.cookies.set(SIGNIN_COOKIE, expired, domain="hub.test", path="/staff/auth/")
        late = await client.get("/staff/auth/callback",
                                params={"code": await wecom.oauth_code(me.wecom_userid), "state": state})
        assert late.status_code == 400 and not session_cookie_set(late)
        assert (await wecom.stats())["calls"].get("auth/getuserinfo", 0) == 0

    async def test_a_session_cookie_is_no_sign_in_state(self, client, wecom):
        """Each seal has its own key: a valid session cookie does not pass as a sign-in state."""
        me = await make_staff()
        await wecom.load_users([{"userid": me.wecom_userid, "name": me.name}])
        state, _ = start_signin("/staff/")
        session = issue_session(staff_id=me.id, staff_role=me.role, store_id=me.store_id)
        client.cookies.set(SIGNIN_COOKIE, session, domain="hub.test", path="/staff/auth/")
        back = await client.get("/staff/auth/callback",
                                params={"code": await wecom.oauth_code(me.wecom_userid), "state": state})
        assert back.status_code == 400

    async def test_an_invalid_code_is_refused(self, client, wecom):
        start = await client.get("/staff/signin")
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        back = await client.get("/staff/auth/callback", params={"code": "no-such-code", "state": state})
        assert back.status_code == 400 and "登录码无效" in back.text and not session_cookie_set(back)
        assert (await wecom.stats())["calls"]["auth/getuserinfo"] == 1
        for code in (None, "x" * 513):  # no code at all; longer than any WeCom code
            start = await client.get("/staff/signin")
            params = {"state": parse_qs(urlsplit(start.headers["location"]).query)["state"][0], "code": code}
            refused = await client.get("/staff/auth/callback", params={k: v for k, v in params.items() if v})
            assert refused.status_code == 400 and "登录码无效" in refused.text
        assert (await wecom.stats())["calls"]["auth/getuserinfo"] == 1  # neither was sent to WeCom

    async def test_wecom_failing_is_a_page_not_an_error(self, client, wecom):
        me = await make_staff()
        await wecom.load_users([{"userid": me.wecom_userid, "name": me.name}])
        await wecom.fault("auth/getuserinfo", 48002)  # API forbidden for the app
        back = await sign_in(client, wecom, me.wecom_userid)
        assert back.status_code == 502 and "企业微信暂时无法访问" in back.text and not session_cookie_set(back)

    async def test_without_wecom_settings_sign_in_says_so(self, client):
        response = await client.get("/staff/signin")
        assert response.status_code == 503 and "企业微信登录尚未配置" in response.text
        assert "set-cookie" not in response.headers
