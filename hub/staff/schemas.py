from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, AliasPath, BaseModel, Field, StringConstraints, field_validator

from hub.schemas import Code, Out, OutTime, Text
from hub.staff.models import StaffRole

# WeCom userids are 1-64 letters, digits and _ - . @ (set by the corp admin).
WecomUserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                               pattern=r"^[A-Za-z0-9_.@-]+$")]


class StaffIn(BaseModel):
    staff_no: Code
    name: Annotated[str, Text(64)]
    store_code: Code
    role: StaffRole = StaffRole.CLERK
    wecom_userid: WecomUserId | None = None


class StaffPatch(BaseModel):
    """Only the fields sent change; ``wecom_userid`` may be sent as null to unlink WeCom."""

    name: Annotated[str, Text(64)] | None = None
    role: StaffRole | None = None
    wecom_userid: WecomUserId | None = None
    active: bool | None = None
    store_code: Code | None = None

    @field_validator("name", "role", "active", "store_code", mode="before")
    @classmethod
    def _not_null(cls, value):
        # These columns have no "empty" state: null would otherwise reach the database as a 409 or 500.
        if value is None:
            raise ValueError("may be left out but not null")
        return value


class StaffOut(Out):
    id: int
    staff_no: str
    name: str
    store_id: int
    # From the ORM row (staff.store.code, loaded with select_related) or from a stored answer.
    store_code: str = Field(validation_alias=AliasChoices("store_code", AliasPath("store", "code")))
    role: StaffRole
    wecom_userid: str | None
    active: bool
    created_at: OutTime
    updated_at: OutTime
