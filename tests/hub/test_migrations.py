"""The committed migrations are the schema: they must match the models and apply cleanly."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


HUB = str(Path(sys.executable).with_name("hub"))


class TestMigrations:
    def test_models_and_committed_migrations_agree(self):
        # In a subprocess: the autodetector initialises Tortoise afresh, which must not touch this process.
        result = subprocess.run([HUB, "makemigrations", "--check"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"models changed without a migration: {result.stdout}{result.stderr}"
        assert "Models and migrations agree." in result.stdout

    def test_check_fails_when_a_model_has_no_migration(self):
        # The same check with one more (unmigrated) model module must report the missing migration.
        script = (
            "import sys, hub.database as d; d.HUB_MODEL_MODULES.append('tests.hub.unmigrated_model'); "
            "from hub.cli import main; sys.argv = ['hub', 'makemigrations', '--check']; main()"
        )
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert result.returncode == 1
        assert "Missing migration for hub: CreateModel" in result.stdout

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
