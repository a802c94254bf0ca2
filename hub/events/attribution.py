"""The attribution a funnel event carries: which code (and so which store, staff member, product, campaign
and channel) brought the visitor. One value type for the signed link token, the visitor's first and last
touch, and the attribution columns of every event.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

# Event columns an attribution fills (Event.code_id, store_id, ... channel).
COLUMNS = ("code_id", "store_id", "staff_id", "product_id", "campaign_id", "channel")


@dataclass(frozen=True, slots=True)
class Attribution:
    code_id: int | None = None
    slug: str = ""
    store_id: int | None = None
    staff_id: int | None = None
    product_id: int | None = None
    campaign_id: int | None = None
    channel: str = ""
    visitor_id: str | None = None
    at: int = 0  # when the touch happened (the token's issued-at), Unix seconds
    expires_at: int | None = None  # set on tokens only

    def columns(self) -> dict[str, Any]:
        """The Event columns this attribution fills."""
        return {name: getattr(self, name) for name in COLUMNS}

    def to_json(self) -> dict[str, Any]:
        """What Visitor.first_attribution / last_attribution store (no expiry: a touch does not expire)."""
        data = asdict(self)
        data.pop("expires_at")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Attribution | None:
        """The attribution stored in a Visitor column, or None for an empty one."""
        if not data or data.get("code_id") is None:
            return None
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    @property
    def touched_at(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)

