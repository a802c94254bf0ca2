"""Keyset pagination (stable and fast at any depth, unlike OFFSET on tables of millions of rows) and filters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from tortoise.fields import BigIntField, SmallIntField
from tortoise.models import Model
from tortoise.queryset import QuerySet

from hub import rawsql
from hub.schemas import Page

T = TypeVar("T")


def filter_given(query: QuerySet, **filters: Any) -> QuerySet:
    """Apply each filter whose value was given: None (and an empty search text) means "any"."""
    return query.filter(**{name: value for name, value in filters.items() if value is not None and value != ""})


def largest_key(model: type[Model]) -> int:
    """The largest id the model's table holds: ``after`` past it has nothing after it (and a 4-byte key
    column would refuse the number as a parameter)."""
    pk = model._meta.pk
    return 2**63 - 1 if isinstance(pk, BigIntField) else 2**15 - 1 if isinstance(pk, SmallIntField) else 2**31 - 1


async def paginate(query: QuerySet, *, limit: int, after: int | None, to_out: Callable[[Any], T]) -> Page[T]:
    """Fetch one page ordered by id, one row more than asked to know whether another page follows."""
    if after is not None and after >= largest_key(query.model):
        return Page[T](items=[], next_after=None)
    if after is not None:
        query = query.filter(id__gt=after)
    rows = await query.order_by("id").limit(limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[T](items=[to_out(r) for r in rows], next_after=rows[-1].id if more and rows else None)


async def sql_page(select: str, where: rawsql.Where, *, model: type[Model], id_column: str, limit: int,
                   after: int | None) -> tuple[list[dict], int | None]:
    """One keyset page of a hand-written SELECT of ``model``'s table (``hub.rawsql``), for the hot lists:
    the rows as the driver gives them (an ``id`` column among them), and the ``next_after`` of the
    following page."""
    if after is not None and after >= largest_key(model):
        return [], None
    where.greater(id_column, after)
    rows = await rawsql.fetch(f"{select}{where.sql()} ORDER BY {id_column} LIMIT ?", *where.values, limit + 1)
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1]["id"]
    return rows, None
