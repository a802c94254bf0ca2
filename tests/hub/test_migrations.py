"""The committed migrations are the schema: they must match the models and apply cleanly."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from hub.migrate import detect_model_changes
from hub.settings import load_settings

HUB = str(Path(sys.executable).with_name("hub"))


class TestMigrations:
    async def test_models_and_committed_migrations_agree(self):
        changes = await detect_model_changes(load_settings(database_url="sqlite://:memory:"))
        pending = [f"{w.app_label}.{w.name}: {[type(op).__name__ for op in w.operations]}" for w in changes]
        assert pending == [], "models changed without a migration: run `hub makemigrations --name ...`"

    def test_hub_migrate_builds_a_fresh_sqlite_database_and_is_idempotent(self, tmp_path):
        env = {**os.environ, "HUB_DATABASE_URL": f"sqlite://{tmp_path}/fresh.db", "HUB_VAR_DIR": str(tmp_path)}
        first = subprocess.run([HUB, "migrate"], env=env, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        assert "applied hub.0001_initial" in first.stdout
        second = subprocess.run([HUB, "migrate"], env=env, capture_output=True, text=True, timeout=120)
        assert "(0 migration(s) applied)" in second.stdout
        with sqlite3.connect(tmp_path / "fresh.db") as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            journal = db.execute("PRAGMA journal_mode").fetchone()[0]
        assert {"store", "staff", "outbox_message", "api_key", "customer_identity"} <= tables
        assert journal == "wal"
