"""Test set-up: a real database (SQLite by default, PostgreSQL with HUB_TEST_DATABASE_URL) migrated once,
emptied after every test; Redis from HUB_TEST_REDIS_URL for the arq tests.

Under CI=true a missing PostgreSQL or Redis fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="hub-tests-"))
DATABASE_URL = os.environ.get("HUB_TEST_DATABASE_URL") or f"sqlite://{_TMP}/test.db"
REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"

# Settings are read from the environment everywhere, so the tests configure them there, before any import.
os.environ.update(
    HUB_DATABASE_URL=DATABASE_URL,
    HUB_SECRET_KEY="test-secret-key-that-is-long-enough-0123456789",
    HUB_VAR_DIR=str(_TMP / "var"),
    HUB_JOB_RETRY_BASE_SECONDS="0.05",
    HUB_LOG_JSON="false",
    HUB_PUBLIC_BASE_URL="http://hub.test",
)
os.environ.pop("HUB_REDIS_URL", None)

import httpx  # noqa: E402
import pytest_asyncio  # noqa: E402
from tortoise import Tortoise  # noqa: E402

from hub import database, jobs  # noqa: E402
from hub.app import create_app  # noqa: E402
from hub.migrate import apply_migrations  # noqa: E402
from hub.settings import get_settings  # noqa: E402

pytest_plugins = ["tests.sandboxes", "tests.workers", "tests.processes"]  # sandboxes, arq workers, real processes

if IN_CI and not DATABASE_URL.startswith("postgres"):
    raise pytest.UsageError("CI=true needs HUB_TEST_DATABASE_URL=postgres://...: the suite must run on PostgreSQL")


async def _recreate_postgres_database(url: str) -> None:
    import asyncpg

    base, name = url.rsplit("/", 1)
    conn = await asyncpg.connect(base.replace("postgres://", "postgresql://", 1) + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@pytest_asyncio.fixture(scope="session", autouse=True)
async def migrated_database():
    """Build the schema from the committed migrations (never generate_schemas): they are what ships."""
    get_settings.cache_clear()
    settings = get_settings()
    if DATABASE_URL.startswith("postgres"):
        try:
            await _recreate_postgres_database(DATABASE_URL)
        except OSError as exc:
            pytest.exit(f"PostgreSQL at {DATABASE_URL} does not answer: {exc}", returncode=3)
    await apply_migrations(settings)
    await database.connect(settings)
    yield settings
    await database.disconnect()


async def _empty_tables() -> None:
    conn = Tortoise.get_connection("default")
    tables = [m._meta.db_table for app in Tortoise.apps.values() for m in app.values()]
    tables += ["campaign_product", "code_product"]  # many-to-many tables have no model
    if database.dialect() == "postgres":
        await conn.execute_script(f"TRUNCATE {', '.join(sorted(set(tables)))} RESTART IDENTITY CASCADE")
    else:
        script = "PRAGMA foreign_keys=OFF;" + "".join(f"DELETE FROM {t};" for t in set(tables))
        await conn.execute_script(script + "DELETE FROM sqlite_sequence; PRAGMA foreign_keys=ON;")


@pytest_asyncio.fixture(autouse=True)
async def clean_database(migrated_database):
    yield
    await _empty_tables()


@pytest_asyncio.fixture(autouse=True)
async def queue(migrated_database):
    """The in-process queue, drained after each test so no job outlives it."""
    q = await jobs.open_queue(migrated_database, run_periodic=False)
    yield q
    await q.drain(timeout=30)
    await jobs.close_queue()


@pytest.fixture
def settings(migrated_database):
    return migrated_database


@pytest_asyncio.fixture
async def client(migrated_database):
    app = create_app(migrated_database, manage_resources=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        yield c


@pytest_asyncio.fixture
async def redis_url():
    """A reachable Redis, flushed; skipped locally without one, a failure under CI=true."""
    url = REDIS_URL
    problem = None
    if not url:
        problem = "HUB_TEST_REDIS_URL is not set"
    else:
        from redis.asyncio import Redis

        client = Redis.from_url(url)
        try:
            await asyncio.wait_for(client.ping(), 2)
            await client.flushdb()
        except Exception as exc:
            problem = f"Redis at {url} does not answer: {exc!r}"
        finally:
            await client.aclose()
    if problem:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)  # CI guard above: only on a developer's bare machine
    return url
