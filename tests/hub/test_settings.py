import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.settings import SettingsError, load_settings

HUB = str(Path(sys.executable).with_name("hub"))


class TestSettings:
    def test_defaults_are_sqlite_and_in_process_jobs(self, tmp_path, monkeypatch):
        for name in ("HUB_DATABASE_URL", "HUB_REDIS_URL", "HUB_SECRET_KEY"):
            monkeypatch.delenv(name, raising=False)
        settings = load_settings(var_dir=tmp_path)
        assert settings.database_url == "sqlite://./var/hub.db" and settings.redis_url is None

    def test_missing_secret_is_generated_once_into_var(self, tmp_path, monkeypatch):
        monkeypatch.delenv("HUB_SECRET_KEY", raising=False)
        first = load_settings(var_dir=tmp_path)
        second = load_settings(var_dir=tmp_path)
        assert first.secret == second.secret and len(first.secret) >= 32
        assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0

    def test_required_redis_url_is_the_url_or_names_the_missing_variable(self, tmp_path, monkeypatch):
        monkeypatch.delenv("HUB_REDIS_URL", raising=False)
        assert load_settings(var_dir=tmp_path, redis_url="redis://r:6379/0").required_redis_url == "redis://r:6379/0"
        with pytest.raises(SettingsError, match="HUB_REDIS_URL"):
            load_settings(var_dir=tmp_path).required_redis_url  # noqa: B018  the property raises

    def test_postgresql_scheme_is_accepted(self):
        assert load_settings(database_url="postgresql://u@h/db").database_url == "postgres://u@h/db"

    @pytest.mark.parametrize(
        ("field", "value", "needle"),
        [
            ("database_url", "mysql://x", "HUB_DATABASE_URL"),
            ("redis_url", "http://x", "HUB_REDIS_URL"),
            ("secret_key", "short", "HUB_SECRET_KEY"),
            ("wecom_aes_key", "abc", "HUB_WECOM_AES_KEY"),
            ("public_base_url", "not a url", "HUB_PUBLIC_BASE_URL"),
        ],
    )
    def test_bad_setting_names_the_variable(self, field, value, needle):
        with pytest.raises(SettingsError, match=needle):
            load_settings(**{field: value})

    def test_bad_setting_stops_the_cli_with_one_line(self):
        env = {**os.environ, "HUB_DATABASE_URL": "mysql://nope"}
        result = subprocess.run([HUB, "migrate"], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines == ["hub: bad setting HUB_DATABASE_URL: must start with sqlite:// or postgres://"]


def test_an_empty_variable_counts_as_unset(monkeypatch):
    """docker-compose passes `${HUB_WECOM_AGENT_ID:-}` through as an empty string."""
    from hub.settings import Settings

    monkeypatch.setenv("HUB_WECOM_AGENT_ID", "")
    monkeypatch.setenv("HUB_WECOM_TOKEN", "")
    settings = Settings()
    assert settings.wecom_agent_id is None and settings.wecom_token is None
