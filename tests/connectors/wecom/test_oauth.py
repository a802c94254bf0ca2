"""Staff web sign-in: the authorize URL, the sandbox's "sign in as" page, single-use codes, getuserinfo."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from connectors.wecom.client import WecomClient
from connectors.wecom.errors import WecomError
from connectors.wecom.tokens import MemoryTokenStore

REDIRECT = "http://hub.test/staff/signed-in?next=/staff/home"


def test_the_authorize_url_is_the_platform_s_shape():
    client = WecomClient(corp_id="ww123", secret="s", api_base="https://qyapi.weixin.qq.com/cgi-bin/",
                         token_store=MemoryTokenStore(), agent_id=1000002)
    assert client.oauth_url(redirect_uri=REDIRECT, state="a1b2") == (
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid=ww123"
        "&redirect_uri=http%3A%2F%2Fhub.test%2Fstaff%2Fsigned-in%3Fnext%3D%2Fstaff%2Fhome"
        "&response_type=code&scope=snsapi_base&state=a1b2&agentid=1000002#wechat_redirect")


async def test_signing_in_on_the_page_redirects_with_a_code_for_that_member(wecom_sandbox):
    await wecom_sandbox.load_users([{"userid": "zhangsan", "name": "张三"}, {"userid": "lisi", "name": "李四"}])
    async with wecom_sandbox.client() as client, httpx.AsyncClient() as browser:
        page = await browser.get(client.oauth_url(redirect_uri=REDIRECT, state="xyz"))
        assert page.status_code == 200 and "张三 (zhangsan)" in page.text and "李四 (lisi)" in page.text
        form = next(f for f in re.findall(r"<form.*?</form>", page.text) if 'value="lisi"' in f)
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
        action = re.search(r'action="([^"]+)"', form).group(1)
        chosen = await browser.post(wecom_sandbox.url + action, data=fields)
        assert chosen.status_code == 302
        location = urlsplit(chosen.headers["location"])
        query = parse_qs(location.query)
        assert (location.netloc, location.path, query["next"], query["state"]) \
            == ("hub.test", "/staff/signed-in", ["/staff/home"], ["xyz"])
        assert (await client.get_user_info(query["code"][0]))["userid"] == "lisi"


async def test_a_code_works_once(wecom_sandbox):
    code = await wecom_sandbox.oauth_code("zhangsan")
    async with wecom_sandbox.client() as client:
        assert await client.get_user_info(code) == {"userid": "zhangsan"}
        with pytest.raises(WecomError) as caught:
            await client.get_user_info(code)
    assert caught.value.errcode == 40029


async def test_a_code_expires(wecom_sandbox_factory):
    sandbox = wecom_sandbox_factory(oauth_code_seconds=0.2)
    code = await sandbox.oauth_code("zhangsan")
    await asyncio.sleep(0.3)
    async with sandbox.client() as client:
        with pytest.raises(WecomError) as caught:
            await client.get_user_info(code)
    assert caught.value.errcode == 40029


async def test_someone_outside_the_corp_gets_an_openid_not_a_userid(wecom_sandbox):
    code = await wecom_sandbox.oauth_code()
    async with wecom_sandbox.client() as client:
        who = await client.get_user_info(code)
    assert set(who) == {"openid"} and who["openid"].startswith("o")


async def test_the_page_refuses_another_corp_s_appid(wecom_sandbox):
    async with httpx.AsyncClient() as browser:
        page = await browser.get(wecom_sandbox.oauth_url, params={
            "appid": "wwother", "redirect_uri": REDIRECT, "response_type": "code", "scope": "snsapi_base"})
    assert page.status_code == 400 and "appid" in page.text
