"""Statements written once, for the hot paths.

Tortoise builds a query's SQL anew on every call: for a join with two subqueries that was about a
millisecond of CPU, more than the database spent on it (README, "Where the time goes"). A hot statement is
written here instead, as SQL with ``?`` placeholders, turned into the dialect's form once, and its rows
become models through Tortoise's own loader, so the rest of the code sees the same objects. It runs on
Tortoise's connection: inside ``transaction()`` it is part of the unit of work, and the bare-write guard
sees it like any other statement.
"""

from __future__ import annotations

import functools
import re
from typing import Any, TypeVar

from tortoise import Tortoise
from tortoise.models import Model

M = TypeVar("M", bound=Model)
_MARK = re.compile(r"\?")


@functools.cache
def _for_dialect(sql: str, dialect: str) -> str:
    """PostgreSQL numbers its placeholders ($1, $2, …); SQLite takes ``?`` as written."""
    if dialect != "postgres":
        return sql
    numbers = iter(range(1, sql.count("?") + 1))
    return _MARK.sub(lambda _: f"${next(numbers)}", sql)


def _connection():
    return Tortoise.get_connection("default")


async def fetch(sql: str, *values: Any) -> list[dict]:
    """The rows of one statement, as dicts of column → value as the driver gives them."""
    connection = _connection()
    return await connection.execute_query_dict(_for_dialect(sql, connection.capabilities.dialect), list(values))


async def execute(sql: str, *values: Any) -> int:
    """Run one statement; the number of rows it changed."""
    connection = _connection()
    changed, _rows = await connection.execute_query(_for_dialect(sql, connection.capabilities.dialect), list(values))
    return changed


@functools.cache
def columns(model: type[Model], alias: str, prefix: str = "") -> str:
    """``alias."column" AS "prefixcolumn", …`` for every column of ``model``, for a hand-written SELECT."""
    return ", ".join(f'{alias}."{name}" AS "{prefix}{name}"' for name in model._meta.db_fields)


def load(model: type[M], row: dict, prefix: str = "") -> M:
    """A model instance from the columns that ``columns(model, alias, prefix)`` selected, converted as
    Tortoise converts its own query's rows (JSON text, SQLite's booleans and times)."""
    if prefix:
        row = {name: row[prefix + name] for name in model._meta.db_fields}
    return model._init_from_db(**row)


def table(model: type[Model]) -> str:
    return model._meta.db_table


def column(model: type[Model], field: str) -> str:
    """The column a model field is stored in (``batch`` → ``batch_id``)."""
    return model._meta.fields_db_projection[field]
