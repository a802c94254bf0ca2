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
            "import dataclasses, sys, hub.package as p; "
            "p.PACKAGE = dataclasses.replace(p.PACKAGE, models=(*p.PACKAGE.models, 'tests.hub.unmigrated_model')); "
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


LANDED = "hub.0010_code_batches_in_database"  # the newest migration a released database may stop at


def test_a_filled_sqlite_database_upgrades_from_the_last_release(tmp_path):
    """SQLite rebuilds a table to alter a column, which its foreign keys refuse once rows point at it: every
    newer migration must apply to a database full of demo data, not only to an empty one."""
    env = {**os.environ, "HUB_DATABASE_URL": f"sqlite://{tmp_path}/old.db", "HUB_VAR_DIR": str(tmp_path)}
    to_release = (f"import asyncio; from hub.settings import get_settings; from hub.migrate import apply_migrations; "
                  f"asyncio.run(apply_migrations(get_settings(), target={LANDED!r}))")
    counts = "SELECT (SELECT count(*) FROM customer), (SELECT count(*) FROM customer_identity), " \
             "(SELECT count(*) FROM customer_channel), (SELECT count(*) FROM customer WHERE merged_into_id IS NOT NULL)"
    for argv, what in [([sys.executable, "-c", to_release], "release schema"), ([HUB, "demo-data"], "demo data")]:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{what} failed: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    with sqlite3.connect(tmp_path / "old.db") as db:  # one merged customer: a SET NULL reference to keep
        db.execute("UPDATE customer SET merged_into_id = 1 WHERE id = 2")
        before = db.execute(counts).fetchone()

    done = subprocess.run([HUB, "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"upgrade failed: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    with sqlite3.connect(tmp_path / "old.db") as db:
        assert db.execute(counts).fetchone() == before  # no row lost to a cascade, no link nulled
        assert before[0] == 5000 and before[1] > 5000 and before[3] == 1
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
