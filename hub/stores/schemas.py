from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, AliasPath, BaseModel, Field, StringConstraints, field_validator

from hub.schemas import Code, Out, OutTime, Text
from hub.stores.models import StoreKind

# A hall's public landline or mobile as printed on its door; customers' phones never come here.
StorePhone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32, pattern=r"^[0-9+() -]*$")]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class StoreIn(BaseModel):
    code: Code
    name: Annotated[str, Text(100)]
    kind: StoreKind = StoreKind.HALL
    region_code: Code
    address: Annotated[str, Text(200, min_length=0)] = ""
    phone: StorePhone = ""
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    active: bool = True


class StorePatch(BaseModel):
    """Only the fields sent change; ``latitude``/``longitude`` may be sent as null to clear them."""

    name: Annotated[str, Text(100)] | None = None
    kind: StoreKind | None = None
    address: Annotated[str, Text(200, min_length=0)] | None = None
    phone: StorePhone | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    active: bool | None = None
    region_code: Code | None = None

    @field_validator("name", "kind", "address", "phone", "active", "region_code", mode="before")
    @classmethod
    def _not_null(cls, value):
        # These columns have no "empty" state: null would otherwise reach the database as a 409 or 500.
        if value is None:
            raise ValueError("may be left out but not null")
        return value


class StoreOut(Out):
    id: int
    code: str
    name: str
    kind: StoreKind
    region_id: int
    # From the ORM row (store.region.code, loaded with select_related) or from a stored answer.
    region_code: str = Field(validation_alias=AliasChoices("region_code", AliasPath("region", "code")))
    address: str
    phone: str
    latitude: float | None
    longitude: float | None
    active: bool
    created_at: OutTime
    updated_at: OutTime
