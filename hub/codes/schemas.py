"""Codes in and out of the API, by hand: attribution by id in; ids, codes and public links out."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from hub.codes.models import Code, CodeKind, TargetKind
from hub.codes.slugs import public_url, qr_url
from hub.schemas import DbId, InTime, OutTime, Text

# Where a code is shared, as a short code: "poster", "wecom_moments", "livestream".
Channel = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32, pattern=r"^([a-z][a-z0-9_]*)?$")]
# Letters (any script), digits, "_", "." and "-": no quotes or spaces, so a tag is safe in any filter.
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[\w.-]+$")]
Tags = Annotated[list[Tag], Field(max_length=20)]
# Taken as sent (no stripping): hub.codes.targets checks the exact string that will be stored.
TargetUrl = Annotated[str, Field(max_length=4000)]
ScanLimit = Annotated[int, Field(ge=1, le=10**9)]
ProductIds = Annotated[list[DbId], Field(max_length=200)]


def _unique(values: list) -> list:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a value")
    return values


class CodeIn(BaseModel):
    """A new code; which attribution ids a kind needs is checked by the service (422 naming the field)."""

    model_config = ConfigDict(extra="forbid")

    kind: CodeKind
    name: Annotated[str, Text(100, min_length=0)] = ""
    target_kind: TargetKind = TargetKind.STOREFRONT
    target_url: TargetUrl | None = Field(
        None, description="livestream targets: the live room; wecom_contact: leave out and the hub makes the "
                          "contact-me code (GET/PUT /codes/{id}/wecom), or give one made elsewhere"
    )
    store_id: DbId | None = None
    staff_id: DbId | None = None
    product_id: DbId | None = None
    campaign_id: DbId | None = None
    channel: Channel = ""
    valid_from: InTime | None = None
    valid_until: InTime | None = None
    scan_limit: ScanLimit | None = None
    tags: Tags = []
    live_starts_at: InTime | None = None
    live_ends_at: InTime | None = None
    product_ids: ProductIds = Field([], description="Livestream codes: the products sold in the live session")

    @field_validator("tags", "product_ids")
    @classmethod
    def _unique_lists(cls, value):
        return _unique(value)


class CodePatch(BaseModel):
    """Only the fields sent change; the validity window, scan limit and live times may be sent as null."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Text(100, min_length=0)] | None = None
    target_url: TargetUrl | None = None
    valid_from: InTime | None = None
    valid_until: InTime | None = None
    scan_limit: ScanLimit | None = None
    active: bool | None = None
    tags: Tags | None = None
    channel: Channel | None = None
    live_starts_at: InTime | None = None
    live_ends_at: InTime | None = None
    product_ids: ProductIds | None = None

    @field_validator("name", "target_url", "active", "tags", "channel", "product_ids", mode="before")
    @classmethod
    def _not_null(cls, value):
        # These columns have no "empty" state: null would otherwise reach the database as a 409 or 500.
        if value is None:
            raise ValueError("may be left out but not null")
        return value

    @field_validator("tags", "product_ids")
    @classmethod
    def _unique_lists(cls, value):
        return _unique(value)


class CodeOut(BaseModel):
    id: int
    slug: str
    kind: CodeKind
    name: str
    public_url: str = Field(description="The link to share: /c/{slug}")
    qr_url: str = Field(description="The link to put in QR codes (scans through it count as QR scans)")
    target_kind: TargetKind
    target_url: str
    store_id: int | None
    store_code: str | None
    staff_id: int | None
    staff_no: str | None
    product_id: int | None
    product_sku: str | None
    campaign_id: int | None
    channel: str
    valid_from: OutTime | None
    valid_until: OutTime | None
    scan_limit: int | None
    scans_counted: int
    active: bool
    tags: list[str]
    live_starts_at: OutTime | None
    live_ends_at: OutTime | None
    product_ids: list[int]
    wecom_config_id: str | None
    wecom_qr_code: str | None
    created_by: str | None = Field(description="Prefix of the API key that created it (none from the CLI)")
    version: int
    created_at: OutTime
    updated_at: OutTime

    @classmethod
    def of(cls, code: Code) -> CodeOut:
        """From a code loaded by ``hub.codes.service`` (attribution joined, products prefetched)."""
        c = code
        return cls(
            id=c.id, slug=c.slug, kind=c.kind, name=c.name, public_url=public_url(c.slug), qr_url=qr_url(c.slug),
            target_kind=c.target_kind, target_url=c.target_url,
            store_id=c.store_id, store_code=c.store.code if c.store else None,
            staff_id=c.staff_id, staff_no=c.staff.staff_no if c.staff else None,
            product_id=c.product_id, product_sku=c.product.sku if c.product else None,
            campaign_id=c.campaign_id, channel=c.channel, valid_from=c.valid_from, valid_until=c.valid_until,
            scan_limit=c.scan_limit, scans_counted=c.scans_counted, active=c.active, tags=list(c.tags or []),
            live_starts_at=c.live_starts_at, live_ends_at=c.live_ends_at,
            product_ids=sorted(p.id for p in c.products), wecom_config_id=c.wecom_config_id,
            wecom_qr_code=c.wecom_qr_code, created_by=c.created_by.prefix if c.created_by else None,
            version=c.version, created_at=c.created_at, updated_at=c.updated_at,
        )
