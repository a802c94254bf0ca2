"""Statements written once, for the hot paths.

Tortoise builds a query's SQL anew on every call: for a join with two subqueries that was about a
millisecond of CPU, more than the database spent on it (README, "Where the time goes"). A hot statement is
written here instead, as SQL with ``?`` placeholders, turned into the dialect's form once, and its rows
become models through Tortoise's own loader, so the rest of the code sees the same objects. It runs on
Tortoise's connection: inside ``transaction()`` it is part of the unit of work, and the bare-write guard
sees it like any other statement. A ``?`` in the SQL is always a placeholder (no PostgreSQL ``?`` operators).
"""

from __future__ import annotations

import functools
import re
from enum import Enum
from typing import Any, TypeVar

from tortoise import Tortoise
from tortoise.models import Model

from hub import clock

M = TypeVar("M", bound=Model)
_MARK = re.compile(r"\?")
_LENGTH = re.compile(r"\(\d+\)")


@functools.lru_cache(maxsize=1024)  # lists build a statement per combination of filters
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


def db_value(value: Any) -> Any:
    """A value as the drivers take it: an enum as its value (they do not know our enums)."""
    return value.value if isinstance(value, Enum) else value


def table(model: type[Model]) -> str:
    return model._meta.db_table


def column(model: type[Model], field: str) -> str:
    """The column a model field is stored in (a relation by its id field: ``owner_id``)."""
    return model._meta.fields_db_projection[field]


class Where:
    """The conditions of a hand-written SELECT, each added only when its value is given (``None`` means
    "any", as ``hub.pagination.filter_given``)."""

    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.values: list[Any] = []

    def equal(self, column: str, value: Any) -> Where:
        if value is not None:
            self.conditions.append(f"{column} = ?")
            self.values.append(db_value(value))
        return self

    def any_of(self, column: str, values: list[int] | None) -> Where:
        if values is not None:
            self.conditions.append(f"{column} IN ({', '.join('?' * len(values))})" if values else "1 = 0")
            self.values.extend(values)
        return self

    def contains(self, column: str, text: str | None) -> Where:
        """Case-insensitive substring, with ``%`` and ``_`` in the text taken literally."""
        if text:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            self.conditions.append(f"UPPER({column}) LIKE UPPER(?) ESCAPE '\\'")
            self.values.append(f"%{escaped}%")
        return self

    def greater(self, column: str, value: Any) -> Where:
        if value is not None:
            self.conditions.append(f"{column} > ?")
            self.values.append(value)
        return self

    def sql(self) -> str:
        return f" WHERE {' AND '.join(self.conditions)}" if self.conditions else ""


@functools.cache
def _insert_plan(model: type[Model]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """The columns an INSERT of ``model`` writes (all but a generated key) and their fields."""
    meta = model._meta
    names = tuple(sorted(name for name in meta.db_fields if not (name == meta.db_pk_column and meta.pk.generated)))
    return names, tuple(meta.fields_map[meta.fields_db_projection_reverse[name]] for name in names)


def _row_values(model: type[Model], values: dict[str, Any]) -> tuple[tuple[str, ...], list[Any]]:
    """Every column's value as the driver takes it: the given ones, else the field's default (Tortoise's own
    conversions: enums to text, JSON to text)."""
    names, fields = _insert_plan(model)
    row = []
    for name, field in zip(names, fields, strict=True):
        if name in values:
            value = values[name]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = clock.now()
        else:
            value = field.default() if callable(field.default) else field.default
        row.append(field.to_db_value(value, model))
    return names, row


@functools.cache
def _insert_sql(model: type[Model], source: str) -> str:
    names, fields = _insert_plan(model)
    columns = ", ".join(f'"{name}"' for name in names)
    if source == "values":
        return f"INSERT INTO {table(model)} ({columns}) VALUES ({', '.join('?' * len(names))}) RETURNING id"  # noqa: S608  names from the model's metadata
    # INSERT … SELECT: PostgreSQL types a bare parameter in a select list as text, so each says its type.
    # Without a length: a cast to VARCHAR(n) would cut a longer value instead of refusing it.
    typed = ", ".join(f"?::{_LENGTH.sub('', field.get_for_dialect('postgres', 'SQL_TYPE'))}" for field in fields)
    return f"INSERT INTO {table(model)} ({columns}) SELECT {typed} FROM changed RETURNING id"  # noqa: S608  as above


async def insert(model: type[M], **values: Any) -> M:
    """Insert one row (``values`` by column name, e.g. ``coupon_id``; the others take their defaults) and
    return it as a model, without Tortoise building the instance and the statement first."""
    names, row = _row_values(model, values)
    found = await fetch(_insert_sql(model, "values"), *row)
    return _inserted(model, names, row, found[0]["id"])


async def insert_if_changed(update: str, update_values: list[Any], model: type[M], *,
                            also: tuple[type[Model], dict[str, Any]] | None = None, **values: Any) -> M | None:
    """Run ``update`` and, when it changed a row, insert one row of ``model`` (and the row ``also`` names):
    a compare-and-set and its records. One statement on PostgreSQL (a data-modifying CTE, one round trip);
    one per write on SQLite, which has none. None when the update changed nothing (nothing was inserted)."""
    connection = _connection()
    if connection.capabilities.dialect != "postgres":
        if await execute(update, *update_values) != 1:
            return None
        if also is not None:
            await insert(also[0], **also[1])
        return await insert(model, **values)
    names, row = _row_values(model, values)
    sql, args = f"WITH changed AS ({update} RETURNING 1)", [*update_values]
    if also is not None:
        _also_names, also_row = _row_values(*also)
        sql += f", also AS ({_insert_sql(also[0], 'select')})"
        args += also_row
    found = await fetch(f"{sql} {_insert_sql(model, 'select')}", *args, *row)
    if not found:
        return None
    return _inserted(model, names, row, found[0]["id"])


def _inserted(model: type[M], names: tuple[str, ...], row: list[Any], row_id: int) -> M:
    """The row just inserted as a model: what was written, converted back as a read would be, and its id."""
    return model._init_from_db(id=row_id, **dict(zip(names, row, strict=True)))
