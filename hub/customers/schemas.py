from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, field_validator

from hub.customers.models import Channel, ChannelConsent, Customer, Identity, IdentityKind
from hub.customers.phones import normalise_phone
from hub.schemas import Code, OutTime, Text

# Customers are the one table expected to pass 2**31 rows, so their ids are bigint.
CustomerId = Annotated[int, Field(ge=1, le=2**63 - 1)]
# A clear number, normalised on the way in (so two spellings are one request), then only ever hashed and
# masked by the service. A bad number is a 422 on the field whose message never repeats the number.
Phone = Annotated[str, Text(32), AfterValidator(normalise_phone)]


class IdentityIn(BaseModel):
    kind: IdentityKind
    value: Annotated[str, Text(128)]
    verified: bool = False

    @field_validator("kind")
    @classmethod
    def _no_bare_hash(cls, kind: IdentityKind) -> IdentityKind:
        if kind == IdentityKind.PHONE_HASH:
            raise ValueError("send the number as phone; a phone_hash is never accepted from outside")
        return kind


class CustomerIn(BaseModel):
    phone: Phone | None = None
    display_name: Annotated[str, Text(64, min_length=0)] = ""
    region_code: Code | None = None
    home_store_code: Code | None = None
    identities: list[IdentityIn] = Field(default_factory=list, max_length=10)


class IdentityLinkIn(BaseModel):
    """Either ``phone`` or ``kind`` + ``value``."""

    kind: IdentityKind | None = None
    value: Annotated[str, Text(128)] | None = None
    phone: Phone | None = None
    verified: bool = False


class ChannelIn(BaseModel):
    consent: bool
    do_not_disturb: bool
    source: Annotated[str, Text(32)]


class DoNotDisturbIn(BaseModel):
    do_not_disturb: bool


class IdentityOut(BaseModel):
    id: int
    kind: IdentityKind
    value: str | None = Field(description="Absent for phone_hash: the hash is never shown")
    masked: str | None = Field(None, description="For phone_hash: the masked number, when known")
    verified: bool
    created_at: OutTime


class ChannelOut(BaseModel):
    channel: Channel
    consent: bool
    do_not_disturb: bool
    source: str
    updated_at: OutTime

    @classmethod
    def of(cls, row: ChannelConsent) -> ChannelOut:
        return cls(channel=row.channel, consent=row.consent, do_not_disturb=row.do_not_disturb,
                   source=row.source, updated_at=row.updated_at)


class CustomerOut(BaseModel):
    id: int
    display_name: str
    phone_masked: str
    region_id: int | None
    home_store_id: int | None
    do_not_disturb: bool
    merged_into_id: int | None
    identities: list[IdentityOut]
    channels: list[ChannelOut]
    created_at: OutTime
    updated_at: OutTime

    @classmethod
    def of(cls, customer: Customer) -> CustomerOut:
        """Build from a customer with ``identities`` and ``channels`` prefetched."""
        identities: list[Identity] = sorted(customer.identities, key=lambda i: i.id)
        phones = [i for i in identities if i.kind == IdentityKind.PHONE_HASH]
        # The customer keeps one masked copy; with several numbers (after a merge) it fits none for sure.
        masked = (customer.phone_masked or None) if len(phones) == 1 else None
        return cls(
            id=customer.id,
            display_name=customer.display_name,
            phone_masked=customer.phone_masked,
            region_id=customer.region_id,
            home_store_id=customer.home_store_id,
            do_not_disturb=customer.do_not_disturb,
            merged_into_id=customer.merged_into_id,
            identities=[
                IdentityOut(id=i.id, kind=i.kind, verified=i.verified, created_at=i.created_at,
                            value=None if i.kind == IdentityKind.PHONE_HASH else i.value,
                            masked=masked if i.kind == IdentityKind.PHONE_HASH else None)
                for i in identities
            ],
            channels=[ChannelOut.of(c) for c in sorted(customer.channels, key=lambda c: c.channel)],
            created_at=customer.created_at,
            updated_at=customer.updated_at,
        )
