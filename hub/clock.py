"""The one clock every rule that depends on time reads (quiet hours, daily caps, validity, leases).

Services call ``clock.now()`` (or take ``now=`` from their caller, which got it here); a test fixes the
time for everything it calls with ``with clock.frozen(at): ...``. The frozen time lives in a context
variable, so it holds for the request or job started inside the block and never leaks into another test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_frozen: ContextVar[datetime | None] = ContextVar("hub_clock_frozen", default=None)


def now() -> datetime:
    """The current time, aware and in UTC."""
    return _frozen.get() or datetime.now(UTC)


def unix() -> float:
    """``now()`` in Unix seconds, for code that keeps times as numbers (signed tokens, the public link)."""
    return now().timestamp()


@contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    """Fix ``now()`` at ``at`` (an aware datetime) inside the block."""
    if at.tzinfo is None:
        raise ValueError("a frozen time must be aware (UTC is stored)")
    token = _frozen.set(at.astimezone(UTC))
    try:
        yield at
    finally:
        _frozen.reset(token)
