"""The signed attribution token: what it carries, and that nothing else is ever trusted."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time

import pytest
from prometheus_client import REGISTRY

from hub.events.attribution import Attribution
from hub.links.tokens import Signer, derive_key, signer, verify
from hub.settings import get_settings

ATTRIBUTION = Attribution(code_id=7, slug="AbCdEfGh12", store_id=3, staff_id=9, product_id=None, campaign_id=4,
                          channel="海报", visitor_id="vVisitor0123456789ab")


def _rejected(reason: str) -> float:
    return REGISTRY.get_sample_value("hub_attribution_token_rejected_total", {"reason": reason}) or 0.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TestTokens:
    def test_a_signed_token_verifies_to_its_attribution(self):
        now = int(time.time())
        token = signer().sign_attribution(ATTRIBUTION, now=now)
        found = verify(token)
        assert found is not None
        assert (found.code_id, found.slug, found.store_id, found.staff_id, found.product_id, found.campaign_id) == (
            7, "AbCdEfGh12", 3, 9, None, 4)
        assert (found.channel, found.visitor_id, found.at) == ("海报", "vVisitor0123456789ab", now)
        assert found.expires_at == now + get_settings().attribution_token_days * 86400
        assert len(token) < 200
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")

    def test_an_attribution_without_a_code_is_not_signed(self):
        # verify() refuses a token without a code as malformed, so signing one would only make a dud.
        with pytest.raises(ValueError, match="names the code"):
            signer().sign_attribution(dataclasses.replace(ATTRIBUTION, code_id=None))

    def test_a_tampered_token_is_refused_and_counted(self):
        token = signer().sign_attribution(ATTRIBUTION)
        body, tag = token.split(".")
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        payload[1] = 8  # another code
        forged = _b64(json.dumps(payload, separators=(",", ":")).encode()) + "." + tag
        before = _rejected("tampered")
        assert verify(forged) is None
        assert verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB")) is None
        assert _rejected("tampered") == before + 2

    def test_a_token_signed_with_another_key_is_refused(self):
        other = Signer(b"another-secret-that-is-long-enough-0123456789", days=30)
        before = _rejected("tampered")
        assert verify(other.sign_attribution(ATTRIBUTION)) is None
        assert _rejected("tampered") == before + 1

    def test_an_expired_token_is_refused_and_counted(self):
        days = get_settings().attribution_token_days
        issued = int(time.time()) - days * 86400 - 10
        token = signer().sign_attribution(ATTRIBUTION, now=issued)
        before = _rejected("expired")
        assert verify(token) is None
        assert verify(token, now=issued + 60) is not None  # the same token, inside its window
        assert _rejected("expired") == before + 1

    def test_malformed_tokens_are_refused_and_counted(self):
        before = _rejected("malformed")
        key = derive_key(get_settings().secret, "attribution-token")
        signed_junk = b'{"not":"a list"}'
        junk = _b64(signed_junk) + "." + _b64(hmac.new(key, signed_junk, hashlib.sha256).digest()[:16])
        for token in ("", "nodot", "a.b.c", "!!!.###", "x" * 2000, None, junk):
            assert verify(token) is None
        assert _rejected("malformed") == before + 7

    def test_keys_are_derived_per_purpose(self):
        secret = get_settings().secret
        assert derive_key(secret, "attribution-token") != derive_key(secret, "visitor-hash")
        assert secret not in derive_key(secret, "attribution-token")
