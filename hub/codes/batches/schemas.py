"""Batches in and out of the API, by hand: the scope asked for, and the batch's progress with its links."""

from __future__ import annotations

from pydantic import BaseModel, Field

from hub.codes.batches.items import Per
from hub.codes.batches.models import CodeBatch
from hub.codes.models import BatchStatus
from hub.schemas import DbId, OutTime


class BatchIn(BaseModel):
    per: Per = Field(description="One code per staff member, per product (in each store) or per store")
    store_id: DbId | None = Field(None, description="Only this store")
    region_id: DbId | None = Field(None, description="Every store under this region (a city, county or grid)")
    province: bool = Field(False, description="Every store")


class BatchOut(BaseModel):
    id: str
    per: Per
    status: BatchStatus
    done: int
    total: int
    created: int
    reused: int
    skipped_inactive: int
    error: str
    created_at: OutTime
    finished_at: OutTime | None
    status_url: str
    download_url: str | None

    @classmethod
    def of(cls, row: CodeBatch) -> BatchOut:
        url = f"/api/v1/codes/batches/{row.id}"
        fields = {name: getattr(row, name) for name in cls.model_fields if hasattr(row, name)}
        download = url + "/download" if row.status == BatchStatus.DONE else None
        return cls(**fields, status_url=url, download_url=download)


# Coupons has a BatchIn and a BatchOut too, so OpenAPI names both pairs by their module's path. These keep the
# names the API was published with (hub__codes__images_api__BatchIn, …): clients generated from it keep theirs.
for _schema in (BatchIn, BatchOut):
    _schema.__module__ = "hub.codes.images_api"
    _schema.model_rebuild(force=True)
