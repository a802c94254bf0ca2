"""The target allowlist: every open-redirect form is refused with a 422 on target_url."""

import pytest

from hub.codes.models import TargetKind
from hub.codes.targets import check_target_url, check_url, storefront_url
from hub.errors import InvalidInput

WECOM = ["work.weixin.qq.com", "wework.qpic.cn"]
# Our own host is listed here on purpose: the self-loop rule must hold even when someone allows it.
LIVE = ["channels.weixin.qq.com", ".live.example.com", "hub.example.com"]
BASE = "https://hub.example.com"


def refused(url: str, hosts: list[str] = WECOM, base: str = BASE) -> str:
    with pytest.raises(InvalidInput) as caught:
        check_url(url, allowed_hosts=hosts, public_base_url=base)
    assert [e.field for e in caught.value.errors] == ["target_url"]
    return caught.value.errors[0].message


OPEN_REDIRECTS = {
    "no scheme": "evil.example/x",
    "relative path": "/c/abc",
    "protocol-relative": "//evil.example/x",
    "protocol-relative to an allowed host": "//work.weixin.qq.com/ca/x",
    "scheme without slashes": "https:evil.example",
    "scheme with one slash": "https:/evil.example",
    "scheme with three slashes": "https:///evil.example",
    "userinfo trusted@evil": "https://trusted@evil.example/x",
    "userinfo with the allowed host": "https://work.weixin.qq.com@evil.example/x",
    "userinfo before the allowed host": "https://user:pass@work.weixin.qq.com/ca/x",
    "backslash before @": "https://work.weixin.qq.com\\@evil.example",
    "backslashes as slashes": "https:\\\\evil.example",
    "backslash in the path": "https://work.weixin.qq.com/ca\\x",
    "NUL": "https://work.weixin.qq.com/ca/\x00x",
    "tab in the scheme": "ht\ttps://work.weixin.qq.com/ca/x",
    "newline": "https://work.weixin.qq.com/ca/x\nLocation: https://evil.example",
    "leading space": " https://work.weixin.qq.com/ca/x",
    "space in the path": "https://work.weixin.qq.com/ca/a b",
    "DEL": "https://work.weixin.qq.com/ca/\x7f",
    "encoded slash before @": "https://work.weixin.qq.com%2F@evil.example/x",
    "encoded dot in the host": "https://work%2eweixin.qq.com/ca/x",
    "encoded at in the host": "https://work.weixin.qq.com%40evil.example/x",
    "encoded backslash in the host": "https://work.weixin.qq.com%5C@evil.example/x",
    "encoded slash inside the host": "https://evil.example%2F.work.weixin.qq.com/x",
    "homoglyph host (Cyrillic o)": "https://w\u043erk.weixin.qq.com/ca/x",
    "fullwidth dots": "https://work\uff0eweixin\uff0eqq\uff0ecom/ca/x",
    "punycode look-alike": "https://xn--wrk-jxb.weixin.qq.com/ca/x",
    "other port": "https://work.weixin.qq.com:8443/ca/x",
    "port zero": "https://work.weixin.qq.com:0/ca/x",
    "empty port": "https://work.weixin.qq.com:/ca/x",
    "garbage port": "https://work.weixin.qq.com:443abc/ca/x",
    "javascript": "javascript:alert(document.cookie)",
    "javascript with slashes": "JavaScript://work.weixin.qq.com/%0aalert(1)",
    "data": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "ftp": "ftp://work.weixin.qq.com/ca/x",
    "plain http to an allowed host": "http://work.weixin.qq.com/ca/x",
    "too long": "https://work.weixin.qq.com/ca/" + "a" * 1000,
    "host not listed": "https://evil.example/ca/x",
    "allowed host as a prefix": "https://work.weixin.qq.com.evil.example/x",
    "allowed host as a bare suffix": "https://evilwork.weixin.qq.com/x",
    "subdomain of an exact entry": "https://sub.work.weixin.qq.com/x",
    "trailing dot": "https://work.weixin.qq.com./ca/x",
    "IPv6 literal": "https://[::1]/x",
    "IP address": "https://127.0.0.1/x",
    "empty": "",
}


class TestOpenRedirectFormsAreRefused:
    @pytest.mark.parametrize("url", OPEN_REDIRECTS.values(), ids=OPEN_REDIRECTS.keys())
    def test_refused(self, url):
        refused(url)


SELF_LOOPS = {
    "code link": "https://hub.example.com/c/Abc123XYZ0",
    "upper-case C": "https://hub.example.com/C/Abc123XYZ0",
    "double slash": "https://hub.example.com//c/Abc123XYZ0",
    "dot segments": "https://hub.example.com/s/../c/Abc123XYZ0",
    "encoded c": "https://hub.example.com/%63/Abc123XYZ0",
    "encoded slash": "https://hub.example.com/c%2FAbc123XYZ0",
    "double-encoded slash": "https://hub.example.com/c%252FAbc123XYZ0",
    "bare /c": "https://hub.example.com/c",
    "with the QR marker": "https://hub.example.com/c/Abc123XYZ0?src=qr",
}


class TestSelfLoopsAreRefused:
    @pytest.mark.parametrize("url", SELF_LOOPS.values(), ids=SELF_LOOPS.keys())
    def test_own_code_links_are_refused_even_when_the_host_is_listed(self, url):
        assert "loop" in refused(url, hosts=LIVE)

    def test_loop_under_a_base_path_is_refused(self):
        message = refused("https://hub.example.com/hub/c/Abc123XYZ0", hosts=LIVE, base="https://hub.example.com/hub")
        assert "loop" in message

    def test_own_storefront_page_on_a_listed_host_is_allowed(self):
        url = "https://hub.example.com/s/S1"
        assert check_url(url, allowed_hosts=LIVE, public_base_url=BASE) == url


ALLOWED = {
    "contact-me": ("https://work.weixin.qq.com/ca/cawcde1234567890", WECOM),
    "upper-case scheme and host": ("HTTPS://WORK.WEIXIN.QQ.COM/ca/x", WECOM),
    "explicit default port": ("https://work.weixin.qq.com:443/ca/x", WECOM),
    "query and fragment": ("https://wework.qpic.cn/wwpic/1.png?x=%E4%B8%AD&y=1#top", WECOM),
    "at sign in the path": ("https://work.weixin.qq.com/ca/x@y", WECOM),
    "exact livestream host": ("https://channels.weixin.qq.com/live/123", LIVE),
    "subdomain of a dotted entry": ("https://room.live.example.com/r/9", LIVE),
    "deep subdomain of a dotted entry": ("https://a.b.live.example.com/r/9", LIVE),
}


class TestAllowedTargets:
    @pytest.mark.parametrize(("url", "hosts"), ALLOWED.values(), ids=ALLOWED.keys())
    def test_allowed_urls_come_back_unchanged(self, url, hosts):
        assert check_url(url, allowed_hosts=hosts, public_base_url=BASE) == url

    def test_dotted_entry_does_not_allow_the_bare_domain_or_punycode_below_it(self):
        refused("https://live.example.com/r/9", hosts=LIVE)
        refused("https://xn--80ak6aa92e.live.example.com/r/9", hosts=LIVE)

    def test_http_only_for_our_own_origin_when_the_base_is_http(self):
        url = "http://127.0.0.1:8000/s/S1"
        assert check_url(url, allowed_hosts=[], public_base_url="http://127.0.0.1:8000", allow_own_origin=True) == url
        refused(url, hosts=[], base="https://127.0.0.1:8000")
        refused("http://hub.example.com/s/S1", hosts=LIVE)


class TestTargetsFromSettings:
    def test_wecom_and_livestream_lists_come_from_settings(self):
        contact = "https://work.weixin.qq.com/ca/cawcde1"
        assert check_target_url(contact, target_kind=TargetKind.WECOM_CONTACT) == contact
        live = "https://channels.weixin.qq.com/live/1"
        assert check_target_url(live, target_kind=TargetKind.LIVESTREAM) == live
        with pytest.raises(InvalidInput):  # a contact host is not a livestream host
            check_target_url(contact, target_kind=TargetKind.LIVESTREAM)

    def test_storefront_urls_are_never_taken_from_the_caller(self):
        with pytest.raises(InvalidInput) as caught:
            check_target_url("http://hub.test/s/S1", target_kind=TargetKind.STOREFRONT)
        assert caught.value.errors[0].field == "target_url"


class TestStorefrontUrls:
    def test_store_product_and_campaign_parts(self):
        assert storefront_url(store_code="S1") == "http://hub.test/s/S1"
        assert storefront_url(store_code="S1", product_sku="P-9") == "http://hub.test/s/S1/p/P-9"
        assert storefront_url(store_code=None, product_sku="P 9/x") == "http://hub.test/p/P%209%2Fx"
        assert storefront_url(store_code="S1", campaign_id=7) == "http://hub.test/s/S1?campaign=7"
        assert storefront_url(store_code=None, campaign_id=7) == "http://hub.test/s?campaign=7"
