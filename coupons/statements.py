"""The statements on the hot paths of coupons, written once (``hub.rawsql``): a redemption's or lock's read
of the coupon with all it is checked against, the compare-and-set move of a coupon's state, and a claim's
reads of the person and the batch and its take of the stock."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coupons.gifting.models import CouponShare, ShareStatus
from coupons.models import BatchStatus, Coupon, CouponBatch, CouponLedger, CouponState, Operation
from hub import rawsql
from hub.customers.models import Customer
from hub.database import dialect


@dataclass(frozen=True)
class CouponForUse:
    """A coupon with its batch, whether this very request already ran (its ledger row), and whether a
    share link holds the coupon."""

    coupon: Coupon
    earlier_id: int | None
    pending_share_id: int | None


@functools.cache
def _read_sql() -> str:
    # Names come from the models' metadata and every value is a placeholder (hence the S608 notes).
    earlier = f"SELECT l.id FROM {rawsql.table(CouponLedger)} l WHERE l.operation = ? AND l.request_id = ?"  # noqa: S608
    share = (f"SELECT s.id FROM {rawsql.table(CouponShare)} s "  # noqa: S608
             "WHERE s.coupon_id = c.id AND s.status = ? AND s.expires_at > ? LIMIT 1")
    return (f"SELECT {rawsql.columns(Coupon, 'c')}, {rawsql.columns(CouponBatch, 'b', 'b_')}, "  # noqa: S608
            f"({earlier}) AS earlier_id, ({share}) AS pending_share_id "
            f"FROM {rawsql.table(Coupon)} c JOIN {rawsql.table(CouponBatch)} b ON b.id = c.batch_id WHERE c.code = ?")


async def coupon_for_use(*, code: str, operation: Operation, request_id: str, now: datetime) -> CouponForUse | None:
    """One statement: the coupon with this (normalised) code and its batch, this request's earlier ledger
    row, and a pending share link; None when no coupon has the code."""
    rows = await rawsql.fetch(_read_sql(), operation.value, request_id, ShareStatus.PENDING.value, now, code)
    if not rows:
        return None
    row = rows[0]
    coupon = rawsql.load(Coupon, row)
    coupon.batch = rawsql.load(CouponBatch, row, "b_")
    return CouponForUse(coupon, row["earlier_id"], row["pending_share_id"])


_GUARDS = {"": "=", "gt": ">"}  # the conditions a transition may add: equal, or later than


@functools.cache
def _move_sql(changed: tuple[str, ...], guarded: tuple[str, ...]) -> str:
    assignments = ", ".join(f'"{rawsql.column(Coupon, name)}" = ?' for name in changed)
    conditions = ""
    for condition in guarded:
        name, _, operator = condition.partition("__")
        conditions += f' AND "{rawsql.column(Coupon, name)}" {_GUARDS[operator]} ?'
    return (f'UPDATE {rawsql.table(Coupon)} SET "state" = ?, "version" = "version" + 1, {assignments} '  # noqa: S608
            f'WHERE "id" = ? AND "state" = ? AND "version" = ?{conditions}')


def move(coupon: Coupon, *, to_state: CouponState, changes: dict[str, Any],
         guard: dict[str, Any]) -> tuple[str, list[Any]]:
    """The UPDATE that moves the coupon from the state and version it was read in, with ``changes``, when
    ``guard`` still holds (``{"valid_until__gt": now}``, ``{"owner_id": 7}``); it changes no row when another
    request changed the coupon first. Run by ``coupons.ledger.apply`` with the ledger row it appends."""
    values = [to_state, *changes.values(), coupon.id, coupon.state, coupon.version, *guard.values()]
    return _move_sql(tuple(changes), tuple(guard)), [rawsql.db_value(value) for value in values]


@dataclass(frozen=True)
class Person:
    """The live customer behind the id a claim names, its row locked for the transaction."""

    live_id: int
    merged_into_id: int | None  # set when a merge took the live customer meanwhile: the claim must retry


@functools.cache
def _person_sql(dialect: str) -> str:
    lock = " FOR UPDATE OF live" if dialect == "postgres" else ""  # SQLite: one writer at a time already
    return (f"SELECT live.id AS live_id, live.merged_into_id FROM {rawsql.table(Customer)} asked "  # noqa: S608
            f"JOIN {rawsql.table(Customer)} live ON live.id = COALESCE(asked.merged_into_id, asked.id) "
            f"WHERE asked.id = ?{lock}")


async def lock_person(customer_id: int) -> Person | None:
    """The person a claim is for (merge chains are one step long), their row locked: claims of one person
    queue here. None when there is no such customer. Nothing else is read in this statement: what it read
    besides the locked row would be as it was before the wait (PostgreSQL's statement snapshot)."""
    rows = await rawsql.fetch(_person_sql(dialect()), customer_id)
    return Person(rows[0]["live_id"], rows[0]["merged_into_id"]) if rows else None


@dataclass(frozen=True)
class BatchForClaim:
    batch: CouponBatch
    held: int  # the batch's coupons the person holds
    earlier_id: int | None  # this request's ledger row, when it ran before


@functools.cache
def _batch_sql() -> str:
    person = f"SELECT p.id FROM {rawsql.table(Customer)} p WHERE p.id = ? OR p.merged_into_id = ?"  # noqa: S608
    held = f"SELECT count(*) FROM {rawsql.table(Coupon)} c WHERE c.batch_id = b.id AND c.owner_id IN ({person})"  # noqa: S608
    earlier = f"SELECT l.id FROM {rawsql.table(CouponLedger)} l WHERE l.operation = ? AND l.request_id = ?"  # noqa: S608
    return (f"SELECT {rawsql.columns(CouponBatch, 'b')}, ({held}) AS held, ({earlier}) AS earlier_id "  # noqa: S608
            f"FROM {rawsql.table(CouponBatch)} b WHERE b.id = ?")


async def batch_for_claim(*, batch_id: int, owner_id: int, operation: Operation,
                          request_id: str) -> BatchForClaim | None:
    """One statement, run once the person is locked: the batch, how many of its coupons the person living
    on ``owner_id`` holds, and whether this request already ran."""
    rows = await rawsql.fetch(_batch_sql(), owner_id, owner_id, operation.value, request_id, batch_id)
    if not rows:
        return None
    return BatchForClaim(rawsql.load(CouponBatch, rows[0]), int(rows[0]["held"]), rows[0]["earlier_id"])


async def take_one(batch_id: int) -> bool:
    """One coupon of the batch's stock, when it is active and has any left: the database re-checks the
    condition after waiting for the row, so the last coupon goes to exactly one caller."""
    return await rawsql.execute(
        f"UPDATE {rawsql.table(CouponBatch)} SET issued_count = issued_count + 1 "  # noqa: S608
        "WHERE id = ? AND status = ? AND issued_count < total_quantity", batch_id, BatchStatus.ACTIVE.value) == 1
