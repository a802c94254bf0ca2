from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from coupons.models import Operation
from coupons.gifting.models import ShareStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('hub', '0006_coupon_ledger_and_merge_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CouponShare',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('coupon', fields.ForeignKeyField('hub.Coupon', source_field='coupon_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('token', fields.CharField(unique=True, max_length=64)),
                ('status', fields.CharEnumField(default=ShareStatus.PENDING, description='PENDING: pending\nACCEPTED: accepted\nEXPIRED: expired\nREVOKED: revoked', enum_type=ShareStatus, max_length=16)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('from_customer', fields.ForeignKeyField('hub.Customer', source_field='from_customer_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('to_customer', fields.ForeignKeyField('hub.Customer', source_field='to_customer_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'coupon_share', 'app': 'hub', 'indexes': [Index(fields=['coupon_id', 'status'])], 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.AddIndex(
            model_name='Coupon',
            index=Index(fields=['redeemed_order_ref']),
        ),
        ops.AddField(
            model_name='CouponBatch',
            name='stackable',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='CouponBatch',
            name='transferable',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='CouponBatch',
            name='usable_hours',
            field=fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='CouponBatch',
            name='usable_weekdays',
            field=fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AlterField(
            model_name='CouponLedger',
            name='operation',
            field=fields.CharEnumField(description='ISSUE: issue\nCLAIM: claim\nLOCK: lock\nRELEASE: release\nREDEEM: redeem\nCANCEL_REDEMPTION: cancel_redemption\nRETURN: return\nVOID: void\nEXPIRE: expire\nGIFT: gift\nACCEPT: accept\nREVOKE_GIFT: revoke_gift', enum_type=Operation, max_length=24),
        ),
        ops.AddField(
            model_name='CouponLedger',
            name='detail',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
