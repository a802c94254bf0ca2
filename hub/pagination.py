"""Keyset pagination (stable and fast at any depth, unlike OFFSET on tables of millions of rows) and filters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from tortoise.queryset import QuerySet

from hub import rawsql
from hub.schemas import Page

T = TypeVar("T")


def filter_given(query: QuerySet, **filters: Any) -> QuerySet:
    """Apply each filter whose value was given: None (and an empty search text) means "any"."""
    return query.filter(**{name: value for name, value in filters.items() if value is not None and value != ""})


async def paginate(query: QuerySet, *, limit: int, after: int | None, to_out: Callable[[Any], T],
                   columns: dict[str, str] | None = None) -> Page[T]:
    """Fetch one page ordered by id, one row more than asked to know whether another page follows. With
    ``columns`` (output name → field path, "id" among them) the rows are dicts, not models: on a hot list,
    building a model and its related model per row cost more than the query."""
    if after is not None:
        query = query.filter(id__gt=after)
    page = query.order_by("id").limit(limit + 1)
    rows = await (page.values(**columns) if columns else page)
    more = len(rows) > limit
    rows = rows[:limit]
    last = (rows[-1]["id"] if isinstance(rows[-1], dict) else rows[-1].id) if more and rows else None
    return Page[T](items=[to_out(r) for r in rows], next_after=last)


async def sql_page(select: str, where: rawsql.Where, *, id_column: str, limit: int,
                   after: int | None) -> tuple[list[dict], int | None]:
    """One keyset page of a hand-written SELECT (``hub.rawsql``), for the hot lists: the rows as the driver
    gives them, and the ``next_after`` of the following page."""
    where.greater(id_column, after)
    rows = await rawsql.fetch(f"{select}{where.sql()} ORDER BY {id_column} LIMIT ?", *where.values, limit + 1)
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1]["id"]
    return rows, None
