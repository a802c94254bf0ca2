"""The carrier's organisation map: province, city, county and grid (网格)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields

from hub.modelbase import TimestampedModel


class RegionLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    GRID = "grid"


# Which level a parent must have for each level.
PARENT_LEVEL = {
    RegionLevel.PROVINCE: None,
    RegionLevel.CITY: RegionLevel.PROVINCE,
    RegionLevel.COUNTY: RegionLevel.CITY,
    RegionLevel.GRID: RegionLevel.COUNTY,
}


class Region(TimestampedModel):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=64)
    level = fields.CharEnumField(RegionLevel, max_length=16)
    parent: fields.ForeignKeyNullableRelation[Region] = fields.ForeignKeyField(
        "hub.Region", null=True, related_name="children", on_delete=fields.RESTRICT
    )
    parent_id: int | None

    class Meta:
        table = "region"
