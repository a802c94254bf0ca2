from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from coupons.models import BatchKind, BatchStatus, CouponState, Operation
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('hub', '0003_wecom_contacts_and_receipts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CouponBatch',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('kind', fields.CharEnumField(description='CASH: cash\nTHRESHOLD: threshold\nDISCOUNT: discount\nGIFT: gift\nEQUITY: equity', enum_type=BatchKind, max_length=16)),
                ('face_value_fen', fields.BigIntField(default=0)),
                ('min_spend_fen', fields.BigIntField(default=0)),
                ('discount_percent', fields.SmallIntField(null=True)),
                ('discount_cap_fen', fields.BigIntField(null=True)),
                ('total_quantity', fields.IntField()),
                ('issued_count', fields.IntField(default=0)),
                ('budget_fen', fields.BigIntField(null=True)),
                ('daily_cap', fields.IntField(null=True)),
                ('per_customer_limit', fields.IntField(default=1)),
                ('return_days', fields.IntField(default=7)),
                ('valid_from', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('valid_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('valid_days', fields.IntField(null=True)),
                ('store_ids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('categories', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('channels', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=BatchStatus.DRAFT, description='DRAFT: draft\nAPPROVED: approved\nACTIVE: active\nPAUSED: paused\nENDED: ended', enum_type=BatchStatus, max_length=16)),
                ('campaign', fields.ForeignKeyField('hub.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_by', fields.ForeignKeyField('hub.ApiKey', source_field='created_by_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('approved_by', fields.ForeignKeyField('hub.ApiKey', source_field='approved_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('approved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'coupon_batch', 'app': 'hub', 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='Coupon',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('batch', fields.ForeignKeyField('hub.CouponBatch', source_field='batch_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('owner', fields.ForeignKeyField('hub.Customer', source_field='owner_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('state', fields.CharEnumField(description='ISSUED: issued\nCLAIMED: claimed\nLOCKED: locked\nREDEEMED: redeemed\nEXPIRED: expired\nVOIDED: voided', enum_type=CouponState, max_length=16)),
                ('valid_from', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('valid_until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('lock_holder', fields.CharField(null=True, max_length=128)),
                ('lock_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('redeemed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('redeemed_store', fields.ForeignKeyField('hub.Store', source_field='redeemed_store_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('redeemed_staff', fields.ForeignKeyField('hub.Staff', source_field='redeemed_staff_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('redeemed_order_ref', fields.CharField(null=True, max_length=64)),
                ('redeemed_spend_fen', fields.BigIntField(null=True)),
                ('redeemed_discount_fen', fields.BigIntField(null=True)),
                ('attribution', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'coupon', 'app': 'hub', 'indexes': [Index(fields=['owner_id', 'batch_id'])], 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='CouponBatchDay',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('batch', fields.ForeignKeyField('hub.CouponBatch', source_field='batch_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('issued', fields.IntField(default=0)),
            ],
            options={'table': 'coupon_batch_day', 'app': 'hub', 'unique_together': (('batch', 'day'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CouponLedger',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('coupon', fields.ForeignKeyField('hub.Coupon', source_field='coupon_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('operation', fields.CharEnumField(description='CLAIM: claim\nLOCK: lock\nRELEASE: release\nREDEEM: redeem\nCANCEL_REDEMPTION: cancel_redemption\nRETURN: return\nVOID: void\nEXPIRE: expire', enum_type=Operation, max_length=24)),
                ('from_state', fields.CharEnumField(null=True, description='ISSUED: issued\nCLAIMED: claimed\nLOCKED: locked\nREDEEMED: redeemed\nEXPIRED: expired\nVOIDED: voided', enum_type=CouponState, max_length=16)),
                ('to_state', fields.CharEnumField(description='ISSUED: issued\nCLAIMED: claimed\nLOCKED: locked\nREDEEMED: redeemed\nEXPIRED: expired\nVOIDED: voided', enum_type=CouponState, max_length=16)),
                ('actor_key', fields.ForeignKeyField('hub.ApiKey', source_field='actor_key_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('actor_role', fields.CharField(max_length=20)),
                ('channel', fields.CharField(default='', max_length=16)),
                ('store', fields.ForeignKeyField('hub.Store', source_field='store_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('staff', fields.ForeignKeyField('hub.Staff', source_field='staff_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('order_ref', fields.CharField(null=True, max_length=64)),
                ('amount_fen', fields.BigIntField(null=True)),
                ('request_id', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'coupon_ledger', 'app': 'hub', 'unique_together': (('operation', 'request_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
