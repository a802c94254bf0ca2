"""Idempotent client writes: a retried request with the same Idempotency-Key gets the first answer
(for 24 hours; ``idempotency_prune`` forgets older answers).

The key is claimed before the work, inside the request's transaction, by inserting its record: the
unique (scope, key) index makes a concurrent repeat wait until the first transaction ends. If the
first committed, the repeat finds its answer and replays it byte for byte; if it rolled back (an
error), the repeat's insert goes through and it does the work itself. A repeat that cannot wait
``HUB_IDEMPOTENCY_WAIT_SECONDS`` is told 409 "in progress" with Retry-After, never a misleading error.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from fastapi import BackgroundTasks, UploadFile
from pydantic_core import to_jsonable_python
from starlette.requests import HTTPConnection
from starlette.responses import Response
from tortoise.exceptions import OperationalError

from hub import clock, rawsql
from hub.database import dialect
from hub.errors import Conflict, InvalidInput
from hub.idempotency.models import IdempotencyRecord
from hub.links.tokens import derive_key
from hub.settings import get_settings

KEY_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
KEY_DESCRIPTION = "Send the same key when retrying a write: the first answer is returned again."

_TABLE = "idempotency_record"
# Endpoint arguments that are plumbing, not what the client asked for.
_NOT_REQUEST_DATA = (HTTPConnection, Response, BackgroundTasks)
_COLUMNS = 'scope, "key", endpoint, request_hash, status_code, body, created_at'


class IdempotencyInProgress(Conflict):
    slug = "idempotency-in-progress"
    title = "A request with this Idempotency-Key is still in progress"
    headers = {"Retry-After": "1"}


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: str


async def fingerprint(values: dict[str, Any]) -> str:
    """What makes two requests "the same": the endpoint's validated arguments (path, query, body as
    parsed, an uploaded file by name and content), so spelling and key order do not matter. Keyed, so
    the stored digest of a body holding a phone number cannot be reversed by trying every number."""
    plain: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, UploadFile):
            content = await value.read()
            await value.seek(0)
            plain[name] = [value.filename, hashlib.sha256(content).hexdigest()]
        elif not isinstance(value, _NOT_REQUEST_DATA):
            plain[name] = to_jsonable_python(value, fallback=repr)
    canonical = json.dumps(plain, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hmac.new(derive_key(get_settings().secret, "idempotency"), canonical, hashlib.sha256).hexdigest()


async def claim(*, scope: str, key: str, endpoint: str, request_hash: str) -> int | StoredAnswer:
    """Claim the key for this request (its record's id), or the answer a finished first request left.
    Runs inside the request's transaction."""
    now = clock.now()
    wait = get_settings().idempotency_wait_seconds
    try:
        if dialect() == "postgres":
            # set_config runs before the insert can wait on the index, so this statement's wait is bounded.
            rows = await rawsql.fetch(
                f"INSERT INTO {_TABLE} ({_COLUMNS}) SELECT ?, ?, ?, ?, 0, '', ? "  # noqa: S608  constant table, values are parameters
                f"FROM (SELECT set_config('lock_timeout', ?, true)) AS bounded_wait "
                f'ON CONFLICT (scope, "key") DO NOTHING RETURNING id',
                scope, key, endpoint, request_hash, now, f"{int(wait * 1000)}ms",
            )
        else:  # SQLite: one writer at a time; busy_timeout bounds the wait for another process
            rows = await rawsql.fetch(
                f"INSERT INTO {_TABLE} ({_COLUMNS}) VALUES (?, ?, ?, ?, 0, '', ?) "  # noqa: S608  constant table, values are parameters
                f'ON CONFLICT (scope, "key") DO NOTHING RETURNING id',
                scope, key, endpoint, request_hash, now,
            )
    except Exception as exc:  # the drivers' own lock errors: asyncpg's is not translated by Tortoise
        if _is_lock_wait(exc):
            raise IdempotencyInProgress("Retry after a moment: the first request is still running") from exc
        raise
    if rows:
        return int(rows[0]["id"])
    return await _stored_answer(scope=scope, key=key, endpoint=endpoint, request_hash=request_hash)


async def _stored_answer(*, scope: str, key: str, endpoint: str, request_hash: str) -> StoredAnswer:
    rows = await rawsql.fetch(
        f'SELECT endpoint, request_hash, status_code, body FROM {_TABLE} WHERE scope = ? AND "key" = ?',  # noqa: S608  constant table, values are parameters
        scope, key,
    )
    if not rows or rows[0]["status_code"] == 0:  # pruned meanwhile, or a claim seen without its answer
        raise IdempotencyInProgress("Retry after a moment: the first request is still running")
    record = rows[0]
    if record["endpoint"] != endpoint or record["request_hash"] != request_hash:
        raise InvalidInput.field("Idempotency-Key", "was already used for a different request")
    return StoredAnswer(status_code=int(record["status_code"]), body=record["body"])


async def store_answer(*, record_id: int, status_code: int, body: bytes) -> None:
    """Fill the claimed record with the answer; commits with the work. By hand, as ``claim``: it is on
    every idempotent write."""
    await rawsql.execute(f"UPDATE {_TABLE} SET status_code = ?, body = ? WHERE id = ?",  # noqa: S608  constant table, values are parameters
                         status_code, body.decode(), record_id)


async def release(*, record_id: int) -> None:
    """Give the key up without an answer (a response that cannot be stored, such as a stream)."""
    await IdempotencyRecord.filter(id=record_id).delete()


def _is_lock_wait(exc: Exception) -> bool:
    """PostgreSQL's lock_timeout (SQLSTATE 55P03) or SQLite's busy timeout."""
    if getattr(exc, "sqlstate", None) == "55P03":
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)

