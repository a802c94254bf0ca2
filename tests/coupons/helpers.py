"""Coupon test data: batches straight in the table (the approval flow is tested on its own), customers,
and a claim in a transaction of its own, as a request would make it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from coupons.claims import service as claims
from coupons.issues import service as issues
from coupons.ledger import Actor, Transition
from coupons.models import BatchKind, BatchStatus, CouponBatch, CouponLedger
from hub.auth.models import Role
from hub.auth.service import create_key
from hub.customers.models import Customer
from hub.database import transaction

NOW = datetime(2026, 7, 10, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
DAY = timedelta(days=1)
OPS = Actor(key_id=None, role="ops")
_requests = itertools.count(1)


async def make_batch(*, status: BatchStatus = BatchStatus.ACTIVE, kind: BatchKind = BatchKind.CASH,
                     face_value_fen: int = 500, total_quantity: int = 100, **fields) -> CouponBatch:
    key, _ = await create_key(role=Role.OPS)
    fields.setdefault("valid_days", 30)
    return await CouponBatch.create(status=status, kind=kind, face_value_fen=face_value_fen, name="券",
                                    total_quantity=total_quantity, created_by_id=key.id, **fields)


async def make_customer() -> Customer:
    return await Customer.create()


def request_id() -> str:
    return f"test:{next(_requests)}"


async def claim(batch: CouponBatch, customer: Customer | int, *, now: datetime = NOW, channel: str = "app",
                request: str | None = None) -> Transition:
    customer_id = customer if isinstance(customer, int) else customer.id
    async with transaction():
        return await claims.claim(batch_id=batch.id, customer_id=customer_id, channel=channel,
                                  request_id=request or request_id(), actor=OPS, now=now)


async def ledger_states(coupon_id: int) -> list[tuple[str | None, str]]:
    rows = await CouponLedger.filter(coupon_id=coupon_id).order_by("id")
    return [(r.from_state and r.from_state.value, r.to_state.value) for r in rows]


async def issue(batch: CouponBatch, customer: Customer | int, *, now: datetime = NOW,
                request: str | None = None) -> Transition:
    customer_id = customer if isinstance(customer, int) else customer.id
    async with transaction():
        return await issues.issue(batch_id=batch.id, customer_id=customer_id, channel="wecom",
                                  request_id=request or request_id(), actor=OPS, now=now)


async def claim_issued(code: str, customer: Customer | int, *, now: datetime = NOW,
                       request: str | None = None) -> Transition:
    customer_id = customer if isinstance(customer, int) else customer.id
    async with transaction():
        return await issues.claim_issued(code=code, customer_id=customer_id, channel="app",
                                         request_id=request or request_id(), actor=OPS, now=now)
