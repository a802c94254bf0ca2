"""The two statements every redemption and lock runs, written once (``hub.rawsql``): the read of the
coupon with all it is checked against, and the compare-and-set move of its state."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coupons.gifting.models import CouponShare, ShareStatus
from coupons.models import Coupon, CouponBatch, CouponLedger, CouponState, Operation
from hub import rawsql


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
    return _move_sql(tuple(changes), tuple(guard)), [
        to_state.value, *(_db(value) for value in changes.values()), coupon.id, coupon.state.value, coupon.version,
        *(_db(value) for value in guard.values())]


def _db(value: Any) -> Any:
    """Enums as their text; the rest as the drivers take them (JSON columns are not moved here)."""
    return value.value if isinstance(value, CouponState) else value
