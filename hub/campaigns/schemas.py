from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from hub.campaigns.models import Campaign, CampaignStatus
from hub.customers.models import Channel
from hub.schemas import DbId, Fen, InTime, OutTime, Text

Channels = Annotated[list[Channel], Field(min_length=1, max_length=len(Channel))]
ProductIds = Annotated[list[DbId], Field(max_length=200)]


def _unique(values: list) -> list:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a value")
    return values


class CampaignIn(BaseModel):
    name: Annotated[str, Text(100)]
    description: Annotated[str, Text(4000, min_length=0)] = ""
    starts_at: InTime
    ends_at: InTime
    channels: Channels
    budget_fen: Fen | None = None
    product_ids: ProductIds = []

    @field_validator("channels", "product_ids")
    @classmethod
    def _unique_lists(cls, value):
        return _unique(value)


class CampaignPatch(BaseModel):
    """Only the fields sent change; ``budget_fen: null`` removes the budget."""

    name: Annotated[str, Text(100)] | None = None
    description: Annotated[str, Text(4000, min_length=0)] | None = None
    starts_at: InTime | None = None
    ends_at: InTime | None = None
    channels: Channels | None = None
    budget_fen: Fen | None = None
    product_ids: ProductIds | None = None

    @field_validator("name", "description", "starts_at", "ends_at", "channels", "product_ids", mode="before")
    @classmethod
    def _not_null(cls, value):
        # None is the "not sent" default; an explicit null would blank a required column.
        if value is None:
            raise ValueError("may not be null")
        return value

    @field_validator("channels", "product_ids")
    @classmethod
    def _unique_lists(cls, value):
        return _unique(value)


class CampaignOut(BaseModel):
    id: int
    name: str
    description: str
    status: CampaignStatus
    starts_at: OutTime
    ends_at: OutTime
    channels: list[Channel]
    budget_fen: int | None
    product_ids: list[int]
    drafted_by: str = Field(description="Prefix of the API key that drafted it")
    approved_by: str | None = Field(description="Prefix of the API key that approved it")
    approved_at: OutTime | None
    started_at: OutTime | None
    ended_at: OutTime | None
    version: int
    created_at: OutTime
    updated_at: OutTime

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignOut:
        """From a campaign loaded by ``hub.campaigns.service`` (keys joined, products prefetched)."""
        c = campaign
        return cls(
            id=c.id, name=c.name, description=c.description, status=c.status, starts_at=c.starts_at,
            ends_at=c.ends_at, channels=c.channels, budget_fen=c.budget_fen,
            product_ids=sorted(p.id for p in c.products), drafted_by=c.drafted_by.prefix,
            approved_by=c.approved_by.prefix if c.approved_by else None, approved_at=c.approved_at,
            started_at=c.started_at, ended_at=c.ended_at, version=c.version, created_at=c.created_at,
            updated_at=c.updated_at,
        )
