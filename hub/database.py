"""Tortoise ORM set-up, and the one transaction helper every write goes through.

``transaction()`` is the unit of work: the edge that opens it (``hub.edge`` for a request, the job's own
code for a job) owns the commit, services only run inside it. Work that must happen only once the
change is durable (enqueueing outbox deliveries) is registered with ``after_commit`` and runs after
the outermost block commits.

Inside ``writes_need_transaction()`` (every request, and every job through ``job_edge()``) an INSERT,
UPDATE or DELETE sent outside a transaction raises ``WriteOutsideTransaction``: the engine in
``hub.dbengine`` checks each statement, so the rule is held by the code, not by review.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hub import packages
from hub.settings import Settings

log = logging.getLogger("hub.database")

def tortoise_config(settings: Settings) -> dict:
    """The Tortoise config for these settings, migrations modules included."""
    return {
        "connections": {"default": _guarded_connection(settings)},
        "apps": {
            "hub": {
                "models": packages.model_modules(),  # one app "hub", one set of migrations
                "migrations": "hub.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection_url(settings: Settings) -> str:
    url = settings.database_url
    if settings.is_sqlite:
        path = urlsplit(url).netloc + urlsplit(url).path
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # WAL lets the CLI, the API and in-process jobs read while one of them writes.
        sep = "&" if "?" in url else "?"
        if "busy_timeout" not in url:
            url += f"{sep}journal_mode=WAL&busy_timeout=10000&synchronous=NORMAL"
    return url


def _guarded_connection(settings: Settings) -> dict:
    """The connection's config with its engine wrapped by ``hub.dbengine``'s write check."""
    db_info = expand_db_url(_connection_url(settings))
    engine = db_info["engine"].rsplit(".", 1)[-1]  # "tortoise.backends.sqlite" -> hub.dbengine.sqlite
    return {**db_info, "engine": f"hub.dbengine.{engine}"}


async def connect(settings: Settings) -> bool:
    """Initialise Tortoise once per process; returns False when it was already initialised."""
    if Tortoise._inited:
        return False
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)
    return True


async def disconnect() -> None:
    await Tortoise.close_connections()


async def ping() -> None:
    """Raise when the database does not answer a trivial query."""
    await Tortoise.get_connection("default").execute_query("SELECT 1")


def dialect() -> str:
    return Tortoise.get_connection("default").capabilities.dialect


class UnitOfWork:
    """The state of one open transaction: hooks to run once it has committed."""

    def __init__(self) -> None:
        self._after_commit: list[Callable[[], Awaitable[None]]] = []

    def after_commit(self, hook: Callable[[], Awaitable[None]]) -> None:
        self._after_commit.append(hook)

    async def _run_hooks(self) -> None:
        for hook in self._after_commit:
            try:
                await hook()
            except Exception:  # the change is committed; the outbox sweeper will pick up the rest
                log.exception("after-commit hook failed")


_current: ContextVar[UnitOfWork | None] = ContextVar("hub_unit_of_work", default=None)


@asynccontextmanager
async def transaction() -> AsyncIterator[UnitOfWork]:
    """Open the unit of work, or join the one already open: then the outer block commits, and this block is
    a savepoint, so an error its caller catches (a refused claim shown as a page) undoes only this block."""
    outer = _current.get()
    if outer is not None:
        async with in_transaction("default"):
            yield outer
        return
    uow = UnitOfWork()
    token = _current.set(uow)
    try:
        async with in_transaction("default"):
            yield uow
    finally:
        _current.reset(token)
    await uow._run_hooks()


def current_unit_of_work() -> UnitOfWork:
    """The open unit of work; writing an outbox row outside one is a programming error."""
    uow = _current.get()
    if uow is None:
        raise RuntimeError("this write must run inside hub.database.transaction()")
    return uow


class WriteOutsideTransaction(RuntimeError):
    """A request or job wrote without opening ``transaction()``: a bug, never a client's fault."""


_writes_need_transaction: ContextVar[bool] = ContextVar("hub_writes_need_transaction", default=False)
_WRITES = ("INSERT", "UPDATE", "DELETE")


@contextmanager
def writes_need_transaction() -> Iterator[None]:
    """Within this block a write outside ``transaction()`` raises (the edge wraps requests and jobs)."""
    token = _writes_need_transaction.set(True)
    try:
        yield
    finally:
        _writes_need_transaction.reset(token)


@contextmanager
def job_edge() -> Iterator[None]:
    """The rules every job runs under, wherever it was enqueued from: no unit of work open, and writes only
    inside ``transaction()``.

    An in-process job is an asyncio task, and a task starts with a copy of its creator's context variables:
    enqueued while a transaction was open, it would see that unit of work as its own and Tortoise's
    transaction client as its connection, and write into (or after) someone else's transaction. The frozen
    clock (``hub.clock``) is inherited on purpose and left alone.
    """
    connections = get_connections()
    client = connections.get("default")
    root = client
    while isinstance(root, TransactionalDBClient):
        root = root._parent
    connection_token = connections.set("default", root) if root is not client else None
    uow_token = _current.set(None)
    guard_token = _writes_need_transaction.set(True)
    try:
        yield
    finally:
        _writes_need_transaction.reset(guard_token)
        _current.reset(uow_token)
        connections.reset(connection_token)


def check_bare_write(sql: str) -> None:
    """Called by ``hub.dbengine`` for each statement sent outside a transaction."""
    if _writes_need_transaction.get() and sql.lstrip()[:6].upper() in _WRITES:
        raise WriteOutsideTransaction(f"write outside hub.database.transaction(): {sql[:80]}")


@asynccontextmanager
async def unique_or(error: Exception) -> AsyncIterator[None]:
    """Turn a unique-constraint violation inside the block into ``error``, a typed client error: the
    case a service's own existence check could not see because another request wrote meanwhile."""
    try:
        yield
    except IntegrityError as exc:
        raise error from exc
