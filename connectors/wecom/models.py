"""The connector's one table: access tokens shared by every process when there is no Redis."""

from tortoise import fields
from tortoise.models import Model


# One row per corp secret (cache_key is a hash of corp id and secret, never the secret).
class WecomAccessToken(Model):
    id = fields.IntField(primary_key=True)
    cache_key = fields.CharField(max_length=64, unique=True)
    token = fields.CharField(max_length=512, default="")
    expires_at = fields.DatetimeField()
    fetched_at = fields.DatetimeField()

    class Meta:
        table = "wecom_access_token"
