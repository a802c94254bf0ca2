"""The callback crypto against wechatpy's published vectors, and each check refusing what it must."""

from __future__ import annotations

import base64
import time

import pytest

from connectors.wecom.crypto import MAX_BODY_BYTES, CallbackCrypto, CallbackRejected, parse_fields
from tests.webhooks.wecom_cipher import WecomCipher, event_xml

# wechatpy/wechatpy tests/test_crypto.py: the enterprise (WeCom) known-answer vectors.
GOLDEN = {"token": "123456", "aes_key": "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "corp_id": "wx49f0ab532d5d035a"}
ECHO = {
    "msg_signature": "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96",
    "timestamp": "1411443780",
    "nonce": "437374425",
    "echostr": "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==",
}
ECHO_PLAINTEXT = "5927782489442352469"  # what wechatpy 1.8.18's check_signature returns for ECHO
MESSAGE_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6y"
    "dJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/T"
    "ywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5"
    "t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)
MESSAGE_BODY = (
    "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n"
    f"<Encrypt><![CDATA[{MESSAGE_ENCRYPT}]]></Encrypt>\n<AgentID><![CDATA[1]]></AgentID>\n</xml>"
).encode()
MESSAGE = {"msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "timestamp": "1411525903", "nonce": "461056294"}
# test_encrypt_message: this reply, with the random prefix fixed to "1234567890123456", encrypts to this.
REPLY = (
    "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
    "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n"
    "<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>"
)
REPLY_ENCRYPT = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesE"
    "l5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsD"
    "f03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nT"
    "YjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)
REPLY_SIGNATURE = "407518b7649e86ef23978113f92d27afa9296533"


def golden_crypto(at: int) -> CallbackCrypto:
    return CallbackCrypto(GOLDEN["token"], GOLDEN["aes_key"], GOLDEN["corp_id"], clock=lambda: at)


def reason_of(call) -> str:
    with pytest.raises(CallbackRejected) as caught:
        call()
    return caught.value.reason


class TestPublishedVectors:
    def test_url_verification_echo_decrypts(self):
        assert golden_crypto(1411443780).verify_url(**ECHO) == ECHO_PLAINTEXT

    def test_url_verification_with_another_nonce_is_refused(self):
        other_nonce = {**ECHO, "nonce": "437374424"}
        assert reason_of(lambda: golden_crypto(1411443780).verify_url(**other_nonce)) == "bad_signature"

    def test_message_decrypts_to_its_fields(self):
        fields = parse_fields(golden_crypto(1411525903).open_event(**MESSAGE, body=MESSAGE_BODY))
        assert fields == {
            "ToUserName": "wx49f0ab532d5d035a", "FromUserName": "messense", "CreateTime": "1411525903",
            "MsgType": "text", "Content": "test", "MsgId": "4363689963896700987", "AgentID": "1",
        }

    def test_the_test_cipher_reproduces_the_published_encryption(self):
        cipher = WecomCipher(GOLDEN["token"], GOLDEN["aes_key"], GOLDEN["corp_id"])
        encrypted = cipher.encrypt(REPLY, prefix=b"1234567890123456")
        assert encrypted == REPLY_ENCRYPT
        assert cipher.sign("1411525903", "461056294", encrypted) == REPLY_SIGNATURE

    def test_published_encryption_opens(self):
        body = f"<xml><Encrypt><![CDATA[{REPLY_ENCRYPT}]]></Encrypt></xml>".encode()
        opened = golden_crypto(1411525903).open_event(
            msg_signature=REPLY_SIGNATURE, timestamp="1411525903", nonce="461056294", body=body
        )
        assert opened == REPLY


NOW = 1_750_000_000
CIPHER = WecomCipher()
MESSAGE_XML = event_xml(ToUserName=CIPHER.corp_id, FromUserName="sys", CreateTime=NOW, MsgType="event",
                        Event="change_external_contact", ChangeType="add_external_contact")


def crypto(*, clock: float = NOW) -> CallbackCrypto:
    return CallbackCrypto(CIPHER.token, CIPHER.aes_key, CIPHER.corp_id, clock=lambda: clock)


def open_event(params: dict[str, str], body: bytes, *, clock: float = NOW) -> str:
    return crypto(clock=clock).open_event(**params, body=body)


class TestOpenEvent:
    def test_a_correct_event_opens(self):
        params, body = CIPHER.event(MESSAGE_XML, timestamp=NOW)
        assert parse_fields(open_event(params, body))["ChangeType"] == "add_external_contact"

    def test_the_encrypt_element_may_come_without_cdata(self):
        encrypted = CIPHER.encrypt(MESSAGE_XML)
        body = f"<xml><Encrypt>{encrypted}</Encrypt></xml>".encode()
        assert open_event(CIPHER.params(encrypted, timestamp=NOW, nonce="1"), body) == MESSAGE_XML

    @pytest.mark.parametrize("skew", [-301, 301, -86_400 * 365])
    def test_timestamps_more_than_five_minutes_off_either_way_are_stale(self, skew):
        params, body = CIPHER.event(MESSAGE_XML, timestamp=NOW + skew)
        assert reason_of(lambda: open_event(params, body)) == "stale_timestamp"

    @pytest.mark.parametrize("skew", [-300, 300])
    def test_timestamps_within_five_minutes_pass(self, skew):
        params, body = CIPHER.event(MESSAGE_XML, timestamp=NOW + skew)
        assert open_event(params, body) == MESSAGE_XML

    def test_signature_is_checked_before_the_timestamp(self):
        params, body = CIPHER.event(MESSAGE_XML, timestamp=NOW - 10_000)
        assert reason_of(lambda: open_event({**params, "msg_signature": "0" * 40}, body)) == "bad_signature"

    def test_signature_by_another_token_is_refused(self):
        params, body = WecomCipher(token="someoneElse").event(MESSAGE_XML, timestamp=NOW)
        assert reason_of(lambda: open_event(params, body)) == "bad_signature"

    def test_a_signed_timestamp_that_is_not_a_number_is_refused(self):
        encrypted = CIPHER.encrypt(MESSAGE_XML)
        params = {"msg_signature": CIPHER.sign("soon", "1", encrypted), "timestamp": "soon", "nonce": "1"}
        body = f"<xml><Encrypt>{encrypted}</Encrypt></xml>".encode()
        assert reason_of(lambda: open_event(params, body)) == "bad_timestamp"

    @pytest.mark.parametrize(
        ("knobs", "reason"),
        [
            ({"padding": lambda n: bytes(n)}, "bad_padding"),  # pad byte 0
            ({"padding": lambda n: bytes([n + 32]) * (n + 32)}, "bad_padding"),  # over the 32-byte block
            ({"padding": lambda n: bytes([7]) * (n + 31) + bytes([32])}, "bad_padding"),  # says 32, bytes differ
            ({"receive_id": "ww_another_corp_0"}, "bad_receive_id"),
            ({"receive_id": ""}, "bad_receive_id"),
            ({"length": 100_000}, "bad_length"),
            ({"length": 3}, "bad_receive_id"),  # the rest of the message then reads as the receive id
        ],
    )
    def test_broken_plaintext_of_a_signed_event_is_refused(self, knobs, reason):
        params, body = CIPHER.event(MESSAGE_XML, timestamp=NOW, **knobs)
        assert reason_of(lambda: open_event(params, body)) == reason

    @pytest.mark.parametrize(
        ("encrypted", "reason"),
        [
            ("not*base64", "missing_field"),  # outside the base64 alphabet: no Encrypt element is taken
            ("QUJD", "bad_ciphertext"),  # 3 bytes: not whole AES blocks
            ("QUJDRA", "bad_base64"),  # missing padding
            ("", "bad_ciphertext"),
            (base64.b64encode(b"x" * 32).decode(), "bad_padding"),  # random blocks decrypt to garbage
        ],
    )
    def test_broken_ciphertext_of_a_signed_event_is_refused(self, encrypted, reason):
        body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
        assert reason_of(lambda: open_event(CIPHER.params(encrypted, timestamp=NOW, nonce="1"), body)) == reason

    def test_two_encrypt_elements_are_refused(self):
        encrypted = CIPHER.encrypt(MESSAGE_XML)
        body = f"<xml><Encrypt>{encrypted}</Encrypt><Encrypt>{encrypted}</Encrypt></xml>".encode()
        assert reason_of(lambda: open_event(CIPHER.params(encrypted, timestamp=NOW, nonce="1"), body)) == "not_xml"

    def test_body_over_the_cap_is_refused_before_anything_else(self):
        params, body = CIPHER.event(MESSAGE_XML, timestamp=NOW)
        padded = body.replace(b"</xml>", b" " * MAX_BODY_BYTES + b"</xml>")
        assert reason_of(lambda: open_event(params, padded)) == "too_large"

    @pytest.mark.parametrize(
        "prolog",
        [
            '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
            '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>',
            "<!-- a comment -->",
        ],
    )
    def test_outer_markup_declarations_are_refused_before_the_signature(self, prolog):
        params, body = CIPHER.event(MESSAGE_XML, timestamp=NOW)
        assert reason_of(lambda: open_event(params, prolog.encode() + body)) == "doctype"

    def test_a_body_that_is_not_utf8_is_refused(self):
        params, body = CIPHER.event(MESSAGE_XML, timestamp=NOW)
        assert reason_of(lambda: open_event(params, body + b"\xff")) == "not_xml"

    def test_echo_is_checked_like_an_event(self):
        params = CIPHER.echo("hello", timestamp=NOW)
        assert crypto().verify_url(**params) == "hello"
        assert reason_of(lambda: crypto(clock=NOW + 3600).verify_url(**params)) == "stale_timestamp"
        truncated = {**params, "echostr": params["echostr"][:-4]}
        assert reason_of(lambda: crypto().verify_url(**truncated)) == "bad_signature"

    def test_real_clock_is_the_default(self):
        params, body = CIPHER.event(MESSAGE_XML)
        assert CallbackCrypto(CIPHER.token, CIPHER.aes_key, CIPHER.corp_id).open_event(**params, body=body)
        stale, body = CIPHER.event(MESSAGE_XML, timestamp=int(time.time()) - 600)
        with pytest.raises(CallbackRejected):
            CallbackCrypto(CIPHER.token, CIPHER.aes_key, CIPHER.corp_id).open_event(**stale, body=body)


class TestParseFields:
    def test_fields_are_the_root_children(self):
        xml = event_xml(UserID="zhangsan", CreateTime=NOW)
        assert parse_fields(xml) == {"UserID": "zhangsan", "CreateTime": str(NOW)}

    @pytest.mark.parametrize(
        "xml",
        [
            '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><UserID>&xxe;</UserID></xml>',
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            "<xml><UserID>&b;</UserID></xml>",
            '<xml><!ENTITY a "x"><UserID>a</UserID></xml>',
        ],
    )
    def test_declarations_are_refused(self, xml):
        assert reason_of(lambda: parse_fields(xml)) == "doctype"

    def test_declaration_text_inside_cdata_is_just_text(self):
        xml = "<xml><Content><![CDATA[<!DOCTYPE x> hi]]></Content></xml>"
        assert parse_fields(xml) == {"Content": "<!DOCTYPE x> hi"}

    @pytest.mark.parametrize("xml", ["not xml", "<xml><a>&undefined;</a></xml>", "<xml><![CDATA[open", "<xml>"])
    def test_malformed_xml_is_refused(self, xml):
        assert reason_of(lambda: parse_fields(xml)) == "not_xml"
