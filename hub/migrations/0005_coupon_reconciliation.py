from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from coupons.reconciliation.models import Comparison, LineClass, LineKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('hub', '0004_coupons')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ReconciliationRun',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('source', fields.CharField(max_length=64)),
                ('period_from', fields.DateField()),
                ('period_to', fields.DateField()),
                ('file_name', fields.CharField(max_length=200)),
                ('file_sha256', fields.CharField(max_length=64)),
                ('pos_file_name', fields.CharField(null=True, max_length=200)),
                ('pos_file_sha256', fields.CharField(null=True, max_length=64)),
                ('created_by', fields.ForeignKeyField('hub.ApiKey', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('counts', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'coupon_reconciliation_run', 'app': 'hub', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReconciliationLine',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run', fields.ForeignKeyField('hub.ReconciliationRun', source_field='run_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('comparison', fields.CharEnumField(description='PARTNER_HUB: partner_hub\nPOS_HUB: pos_hub\nPOS_PARTNER: pos_partner', enum_type=Comparison, max_length=16)),
                ('line_class', fields.CharEnumField(description='MATCHED: matched\nMISSING_IN_HUB: missing_in_hub\nMISSING_AT_PARTNER: missing_at_partner\nMISSING_IN_POS: missing_in_pos\nAMOUNT_DIFFERS: amount_differs\nSTORE_OR_DAY_DIFFERS: store_or_day_differs\nDUPLICATED_IN_FILE: duplicated_in_file\nREVERSED_ONE_SIDE_ONLY: reversed_one_side_only', enum_type=LineClass, max_length=32)),
                ('coupon_code', fields.CharField(max_length=40)),
                ('store_code', fields.CharField(max_length=32)),
                ('day', fields.DateField()),
                ('amount_file_fen', fields.BigIntField(null=True)),
                ('amount_hub_fen', fields.BigIntField(null=True)),
                ('partner_ref', fields.CharField(default='', max_length=64)),
                ('kind', fields.CharEnumField(description='REDEMPTION: redemption\nREVERSAL: reversal', enum_type=LineKind, max_length=16)),
                ('file_line', fields.IntField(null=True)),
                ('detail', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'coupon_reconciliation_line', 'app': 'hub', 'indexes': [Index(fields=['run_id', 'comparison', 'line_class'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
