"""Recognising crawlers and link-preview fetchers, and the in-app browsers of real people."""

from __future__ import annotations

import pytest

from hub.links.useragents import BOT_TOKENS, classify

PEOPLE = {
    # WeChat on iPhone and Android, desktop WeChat on Windows and macOS
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
    "MicroMessenger/8.0.49(0x18003127) NetType/WIFI Language/zh_CN": ("mobile", "wechat"),
    "Mozilla/5.0 (Linux; Android 14; 23049RAD8C Build/UKQ1.230804.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/122.0.6261.120 Mobile Safari/537.36 XWEB/1220133 MMWEBSDK/20240404 MMWEBID/2307 "
    "MicroMessenger/8.0.49.2600(0x2800315A) WeChat/arm64 Weixin NetType/5G Language/zh_CN "
    "ABI/arm64": ("mobile", "wechat"),
    "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.138 Safari/537.36 "
    "NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63090a13) XWEB/9129 "
    "Flue": ("desktop", "wechat"),
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "MicroMessenger/6.8.0(0x16080000) MacWechat/3.8.7(0x13080710) Safari/605.1.15 NetType/WIFI": ("desktop", "wechat"),
    # WeCom on Android, iPhone and Windows
    "Mozilla/5.0 (Linux; Android 13; V2145A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 wxwork/4.1.16 MicroMessenger/7.0.1 NetType/WIFI "
    "Language/zh ColorScheme/Light": ("mobile", "wecom"),
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
    "wxwork/4.1.10 MicroMessenger/7.0.1 Language/zh ColorScheme/Dark": ("mobile", "wecom"),
    "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.5359.95 Safari/537.36 "
    "wxwork/4.1.10 (MicroMessenger/6.2) WindowsWechat MailPlugin_Electron WeMail embeddisabled": ("desktop", "wecom"),
    # other apps and plain browsers
    "Mozilla/5.0 (Linux; Android 12; M2012K11AC) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
    "Chrome/101.0.4951.61 Mobile Safari/537.36 AlipayClient/10.5.36.8100 Language/zh-Hans": ("mobile", "other_app"),
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
    "QQ/9.0.60.612 V1_IPH_SQ_9.0.60_1_APP_A Pixel/1179 Core/WKWebView NetType/WIFI "
    "QBWebViewType/1": ("mobile", "other_app"),
    "Mozilla/5.0 (Linux; Android 13; 22081212C Build/TKQ1.220829.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/109.0.5414.86 Mobile Safari/537.36 aweme_290100 JsSdk/1.0 "
    "NetType/WIFI": ("mobile", "other_app"),
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Mobile/15E148 Safari/604.1": ("mobile", "none"),
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Mobile/15E148 Safari/604.1": ("tablet", "none"),
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36": ("desktop", "none"),
    "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00; HMSCore 6.13.0.302) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.6.300 Mobile Safari/537.36": ("mobile", "none"),
}

BOTS = {
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)": "preview:facebookexternalhit",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)": "preview:slackbot",
    "TelegramBot (like TwitterBot)": "preview:telegrambot",
    "Twitterbot/1.0": "preview:twitterbot",
    "WhatsApp/2.23.20.0 A": "preview:whatsapp",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)": "crawler:googlebot",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)": "crawler:bingbot",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)": "crawler:baiduspider",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/69.0.3497.81 "
    "YisouSpider/5.0 Safari/537.36": "crawler:yisouspider",
    "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)": "crawler:sogou web spider",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/50.0.2661.102 "
    "Safari/537.36; 360Spider": "crawler:360spider",
    "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; "
    "Bytespider; spider-feedback@bytedance.com)": "crawler:bytespider",
    "curl/8.5.0": "tool:curl/",
    "Wget/1.21.4": "tool:wget/",
    "python-requests/2.32.3": "tool:python-requests",
    "python-httpx/0.27.0": "tool:python-httpx",
    "Go-http-client/1.1": "tool:go-http-client",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 "
    "Safari/537.36": "headless:headlesschrome",
    # our WeChat / WeCom heuristics: the in-app UA without any platform token is the share-card fetcher
    "Mozilla/5.0 MicroMessenger/8.0.49": "preview:wechat_card",
    "MicroMessenger Client": "preview:wechat_card",
    "Mozilla/5.0 wxwork/4.1.10 MicroMessenger/7.0.1": "preview:wecom_card",
    # anything that is not a browser at all
    "Dalvik/2.1.0 (Linux; U; Android 12)": "bot:not_a_browser",
    "": "bot:no_user_agent",
}


@pytest.mark.parametrize("ua,expected", PEOPLE.items(), ids=[ua[-40:] for ua in PEOPLE])
def test_people_are_counted_with_their_app(ua, expected):
    found = classify(ua)
    assert found.bot is None and found.counted
    assert (found.ua_class, found.in_app) == expected


@pytest.mark.parametrize("ua,reason", BOTS.items(), ids=[ua[:40] or "empty" for ua in BOTS])
def test_bots_and_previews_are_flagged_with_a_reason(ua, reason):
    found = classify(ua)
    assert found.bot == reason and not found.counted
    assert found.ua_class == ("preview" if reason.startswith("preview:") else "bot")
    assert found.in_app == "none"


def test_the_maintained_list_has_the_common_fetchers():
    for token in ("facebookexternalhit", "slackbot", "telegrambot", "twitterbot", "whatsapp", "googlebot", "bingbot",
                  "baiduspider", "yisouspider", "sogou web spider", "360spider", "bytespider", "curl/", "wget/",
                  "python-requests", "python-httpx", "go-http-client", "headlesschrome"):
        assert token in BOT_TOKENS
    assert set(BOT_TOKENS.values()) == {"crawler", "preview", "tool", "headless", "monitor"}
