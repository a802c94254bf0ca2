"""Products (SKUs) the carrier sells, in the categories of the marketing design."""

from enum import StrEnum

from tortoise import fields

from hub.modelbase import TimestampedModel


class ProductCategory(StrEnum):
    LIGHT = "light"  # 轻量产品: data packs, add-ons
    FINANCE = "finance"  # 金融: instalments, bill credit
    TERMINAL = "terminal"  # 终端: handsets, devices
    HOME = "home"  # 家庭: broadband, smart home
    PREFERENCE = "preference"  # 偏好: interest-based packs
    SCENARIO = "scenario"  # 场景: travel, gaming, campus
    EQUITY = "equity"  # 权益: video memberships, vouchers


class Product(TimestampedModel):
    id = fields.IntField(primary_key=True)
    sku = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=100)
    category = fields.CharEnumField(ProductCategory, max_length=16)
    price_fen = fields.BigIntField()
    description = fields.TextField(default="")
    active = fields.BooleanField(default=True)

    class Meta:
        table = "product"
