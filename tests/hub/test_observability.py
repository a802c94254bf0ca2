import json
import logging

import httpx

from hub.app import create_app
from hub.auth.models import Role
from hub.logging import JsonFormatter, redact, request_id_var
from hub.settings import get_settings
from tests.factories import make_key


class TestHealth:
    async def test_healthz_and_readyz_answer(self, client):
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}

    async def test_readyz_is_503_when_redis_does_not_answer(self, client, monkeypatch):
        monkeypatch.setenv("HUB_REDIS_URL", "redis://127.0.0.1:1/0")
        get_settings.cache_clear()
        try:
            response = await client.get("/readyz")
        finally:
            monkeypatch.delenv("HUB_REDIS_URL")
            get_settings.cache_clear()
        assert response.status_code == 503
        assert response.json()["checks"] == {"database": "ok", "redis": "unavailable"}


class TestMetrics:
    async def test_requests_are_counted_by_route_template(self, client):
        ops = await make_key(role=Role.OPS)
        await client.get("/api/v1/regions/123", headers=ops)
        text = (await client.get("/metrics")).text
        assert 'hub_http_requests_total{method="GET",route="/api/v1/regions/{region_id}",status="404"}' in text
        assert 'hub_outbox_messages{status="dead"} 0.0' in text
        assert "hub_outbox_oldest_pending_seconds" in text

    async def test_only_this_host_reads_them_without_a_token(self, settings):
        async with _client(settings, host="203.0.113.9") as outsider:
            refused = await outsider.get("/metrics")
        assert refused.status_code == 403 and "HUB_METRICS_TOKEN" in refused.json()["detail"]
        async with _client(settings, host="127.0.0.1") as local:
            assert (await local.get("/metrics")).status_code == 200

    async def test_with_a_token_a_scraper_anywhere_sends_it(self, settings, monkeypatch):
        monkeypatch.setenv("HUB_METRICS_TOKEN", "scrape-me-0123456789")
        get_settings.cache_clear()
        try:
            async with _client(settings, host="203.0.113.9") as scraper:
                assert (await scraper.get("/metrics")).status_code == 401
                wrong = await scraper.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
                assert wrong.status_code == 401
                right = await scraper.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"})
                assert right.status_code == 200 and "hub_http_requests_total" in right.text
        finally:
            monkeypatch.delenv("HUB_METRICS_TOKEN")
            get_settings.cache_clear()

    async def test_request_id_is_echoed_or_made(self, client):
        echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        assert echoed.headers["x-request-id"] == "abc-123"
        made = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
        assert made.headers["x-request-id"] != "bad id with spaces" and len(made.headers["x-request-id"]) == 32
        problem = (await client.get("/api/v1/me", headers={"X-Request-ID": "req-9"})).json()
        assert problem["request_id"] == "req-9"


class TestLogs:
    def test_phone_numbers_keys_and_secrets_are_redacted(self):
        text = redact(
            "call 13812345678 or +86 139-0000-1111? key hub_AbCdEfGh_s3cr3tS3cr3t "
            "Authorization: Bearer abc.def corpsecret=XYZ&x=1"
        )
        assert "13812345678" not in text and "138****5678" in text
        assert "s3cr3t" not in text and "hub_AbCdEfGh_***" in text
        assert "abc.def" not in text and "XYZ" not in text

    def test_json_log_line_carries_the_request_id(self):
        token = request_id_var.set("rid-1")
        try:
            record = logging.LogRecord("hub", logging.INFO, __file__, 1, "customer %s", ("13800138000",), None)
            line = json.loads(JsonFormatter().format(record))
        finally:
            request_id_var.reset(token)
        assert line["request_id"] == "rid-1" and line["message"] == "customer 138****8000"


def _client(settings, *, host: str) -> httpx.AsyncClient:
    """The app as a client at ``host`` reaches it (the shared ``client`` fixture is on loopback)."""
    app = create_app(settings, manage_resources=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(host, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://hub.test")
