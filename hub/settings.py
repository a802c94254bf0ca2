"""Settings from the environment (prefix ``HUB_``) and an optional ``.env`` file.

A bad value stops start-up with one line naming the variable (see ``load_settings``).
"""

from __future__ import annotations

import logging
import re
import secrets
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger("hub.settings")

TIMEZONE = "Asia/Shanghai"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    # An empty variable counts as unset (compose files pass `${HUB_X:-}` through as "").
    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore", env_ignore_empty=True)

    database_url: str = "sqlite://./var/hub.db"
    redis_url: str | None = None
    secret_key: SecretStr | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    var_dir: Path = Path("./var")
    log_level: str = "INFO"
    log_json: bool = True

    wecom_corp_id: str | None = None
    wecom_secret: SecretStr | None = None
    wecom_agent_id: int | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_api_base: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    # Web sign-in for staff inside WeCom (OAuth2 authorize page); the sandbox serves its own.
    wecom_oauth_url: str = "https://open.weixin.qq.com/connect/oauth2/authorize"
    wecom_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Our own ceiling per API per minute, below the platform's 10,000 (WECOM.md, path/90454).
    wecom_calls_per_minute: int = Field(default=6000, ge=1, le=10_000)
    # Callbacks whose timestamp is further off than this are refused (replays).
    wecom_callback_max_age_seconds: int = Field(default=300, ge=1, le=3600)

    # Codes and the public link /c/{slug}: hosts a code may point at besides our own storefront
    # (comma-separated; a leading dot allows subdomains), and how scans are written.
    wecom_contact_hosts: str = "work.weixin.qq.com,wework.qpic.cn"
    livestream_hosts: str = "channels.weixin.qq.com,live.weixin.qq.com"
    attribution_token_days: int = Field(default=30, ge=1, le=365)
    scan_flush_seconds: float = Field(default=0.5, gt=0, le=60)
    scan_buffer_max: int = Field(default=2000, ge=1, le=1_000_000)

    card_font: str | None = None  # a .ttf/.ttc with Chinese glyphs for code cards; default: the first found

    # /metrics: with a token, scrapers send it as a bearer token; without one, only loopback clients are
    # answered (a Prometheus or exporter on the same host), so a public listener does not publish it.
    metrics_token: SecretStr | None = None

    # Seconds a checked API key is trusted without a lookup; a revocation reaches other processes within it.
    auth_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # Seconds a repeated write waits for the first one with its Idempotency-Key, then 409 "in progress".
    idempotency_wait_seconds: float = Field(default=10.0, gt=0, le=60)

    # Jobs: retries apply the same way in arq workers and in the in-process runner.
    job_retry_base_seconds: float = Field(default=1.0, gt=0, le=60)
    outbox_max_attempts: int = Field(default=5, ge=1, le=50)
    outbox_sweep_seconds: int = Field(default=30, ge=1)
    outbox_stale_seconds: int = Field(default=60, ge=1)
    # How long a claimed outbox message or WeCom receipt stays with its worker without a heartbeat; the
    # worker renews it every third of this while the work runs, so a dead worker's work is taken back by
    # the next sweep after it lapses (sweeps run every 5 s): seconds, not the longest a job may take.
    lease_seconds: float = Field(default=6.0, ge=1, le=300)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme == "postgresql":
            return "postgres" + value[len("postgresql") :]
        if scheme not in {"sqlite", "postgres"}:
            raise ValueError("must start with sqlite:// or postgres://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("public_base_url", "wecom_api_base", "wecom_oauth_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") + ("/" if value.endswith("/") else "")

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @field_validator("wecom_token")
    @classmethod
    def _wecom_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9]{1,32}", value.get_secret_value()):
            raise ValueError("must be 1 to 32 letters and digits")
        return value

    @field_validator("wecom_aes_key")
    @classmethod
    def _wecom_aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9]{43}", value.get_secret_value()):
            raise ValueError("must be exactly 43 letters and digits (WeCom's EncodingAESKey)")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return value.upper()

    @model_validator(mode="after")
    def _fill_secret_key(self) -> Settings:
        if self.secret_key is None:
            self.secret_key = SecretStr(_generated_secret(self.var_dir))
        return self

    @field_validator("wecom_contact_hosts", "livestream_hosts")
    @classmethod
    def _host_list(cls, value: str) -> str:
        for host in filter(None, (h.strip().lower() for h in value.split(","))):
            if not re.fullmatch(r"\.?[a-z0-9-]+(\.[a-z0-9-]+)+", host):
                raise ValueError(f"{host!r} is not a host name (comma-separated, e.g. a.example,.b.example)")
        return value

    @staticmethod
    def hosts(value: str) -> list[str]:
        return [h.strip().lower() for h in value.split(",") if h.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def required_redis_url(self) -> str:
        """``redis_url`` for code that runs only when Redis is configured (the queue, the worker, readiness)."""
        if self.redis_url is None:
            raise SettingsError("HUB_REDIS_URL is not set, and this needs Redis")
        return self.redis_url

    @property
    def secret(self) -> bytes:
        if self.secret_key is None:  # filled in by _fill_secret_key when the settings are made
            raise RuntimeError("the settings have no secret key")
        return self.secret_key.get_secret_value().encode()


def _generated_secret(var_dir: Path) -> str:
    """Read ``var/secret_key``, creating it on first run: fine for a laptop, never for production."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    log.warning("HUB_SECRET_KEY is not set: generated one into %s (set it in production)", path)
    return value


def load_settings(**overrides) -> Settings:
    """Build settings, turning a validation failure into one line that names the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"bad setting HUB_{field.upper()}: {message}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
