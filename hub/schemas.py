"""Shared pydantic building blocks: safe text, Shanghai times, keyset pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated, Generic, TypeVar
from zoneinfo import ZoneInfo

from annotated_types import GroupedMetadata
from fastapi import Depends, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

from hub.settings import TIMEZONE

SHANGHAI = ZoneInfo(TIMEZONE)


def shanghai_day(moment: datetime) -> date:
    """The Asia/Shanghai calendar day of an aware datetime."""
    return moment.astimezone(SHANGHAI).date()


def shanghai_midnight(day: date) -> datetime:
    """The first instant of a Shanghai day, in UTC as the database stores times. Shanghai has kept UTC+8
    without daylight saving since 1991, so a day is always the 24 hours from its midnight."""
    return datetime.combine(day, time.min, SHANGHAI).astimezone(UTC)

T = TypeVar("T")


def _no_control_chars(value: str) -> str:
    # PostgreSQL refuses NUL in text; other control characters only ever come from broken clients.
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValueError("must not contain control characters")
    return value


@dataclass(frozen=True, slots=True)
class Text(GroupedMetadata):
    """A stripped string without control characters, bounded in length: ``Annotated[str, Text(64)]``, or
    ``Annotated[str, Text(200, min_length=0)]`` where empty is allowed. Metadata rather than a function that
    returns the ``Annotated`` type, so type checkers read the field as ``str``; pydantic unpacks the group
    into the same string constraints and validator as if they were written out."""

    max_length: int
    min_length: int = 1

    def __iter__(self) -> Iterator[object]:
        yield from StringConstraints(strip_whitespace=True, min_length=self.min_length, max_length=self.max_length)
        yield AfterValidator(_no_control_chars)


# The times the hub accepts: from the Unix epoch to a year short of Python's last (so that no offset can push
# a time past what a datetime holds). Nothing the hub records is older or further off.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9998, 12, 31, tzinfo=UTC)
# Shown with a fixed +08:00: Shanghai's rules before 1991 (daylight saving, local mean time before 1901 as
# +08:05:43) are no concern of a time the hub shows, and RFC 3339 wants whole-minute offsets.
UTC_PLUS_8 = timezone(timedelta(hours=8), "CST")


def _as_utc(value: datetime) -> datetime:
    if not EARLIEST.year <= value.year <= LATEST.year:  # before converting: far-off years overflow astimezone
        raise ValueError(f"must be between {EARLIEST.date()} and {LATEST.date()}")
    if value.tzinfo is None:  # a time without offset is taken as Shanghai time, as people type it
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(UTC)


def _to_shanghai(value: datetime) -> str:
    return value.astimezone(UTC_PLUS_8).isoformat()


# Incoming times: any offset (none means Asia/Shanghai), kept in UTC.
InTime = Annotated[datetime, AfterValidator(_as_utc)]
# Outgoing times: shown in Asia/Shanghai with the offset spelled out.
OutTime = Annotated[datetime, PlainSerializer(_to_shanghai, return_type=str)]

SearchText = Annotated[str, Text(64)]  # a free-text filter such as ?q=
Code = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
]
Fen = Annotated[int, Field(ge=0, le=10**12, description="Money in fen (分), an integer")]
DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Out(BaseModel):
    """Base of response models: built from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_after`` as ``after`` to get the next one."""

    items: list[T]
    next_after: int | None = None


class PageParams(BaseModel):
    limit: int = Field(50, ge=1, le=500)
    after: int | None = Field(None, ge=0, le=2**63 - 1, description="Last id of the previous page")


async def page_params(
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="Last id of the previous page")] = None,
) -> PageParams:
    """The page asked for. An async function, not the model as a dependency: FastAPI runs a class's
    constructor in a worker thread, which cost every list request a thread hop."""
    return PageParams.model_construct(limit=limit, after=after)


PageQuery = Annotated[PageParams, Depends(page_params)]
